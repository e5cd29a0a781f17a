package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadNode writes arbitrary bytes to a file and loads it as a node
// configuration. LoadNode must never panic, and whatever it accepts must
// validate.
func FuzzLoadNode(f *testing.F) {
	f.Add([]byte(validNodeTOML))
	f.Add([]byte(`data_dir = "/d"`))
	f.Add([]byte("data_dir = \"/d\"\nmu = \"0s\"\n"))
	f.Add([]byte("data_dir = \"/d\"\nlambda_m = nan\n"))
	f.Add([]byte("data_dir = \"/d\"\nmu = 5\nepoch_length = 1979-05-27T07:32:00Z\n"))
	f.Add([]byte("data_dir = \"/d\"\n[x]\ny = [1, {a = 2}]\n"))
	f.Add([]byte("listen_addrs = [[\"a\"]]\n"))
	f.Add([]byte(""))
	f.Add([]byte("\x00\xff"))

	dir := f.TempDir()
	path := filepath.Join(dir, "node.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := LoadNode(path)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("LoadNode returned a configuration that does not validate: %v", err)
		}
	})
}
