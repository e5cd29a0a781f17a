// Package golden keeps test vectors of Komrade's wire formats in a
// package's testdata/ directory, so that a change to an encoding is seen in
// review and another implementation can check itself against the same bytes
// (as age's testkit does). Each file holds one encoding in hex; run the
// tests with -update to rewrite them after a deliberate format change.
package golden

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden test vectors in testdata/")

// Check compares got with testdata/name.hex (writing it with -update) and
// returns the stored bytes.
func Check(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".hex")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(wrap(hex.EncodeToString(got))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := Read(t, name)
	if got != nil && !bytes.Equal(got, want) {
		t.Errorf("%s: encoding differs from the test vector %s\n got %x\nwant %x", name, path, got, want)
	}
	return want
}

// Read returns the bytes of testdata/name.hex.
func Read(t *testing.T, name string) []byte {
	t.Helper()
	path := filepath.Join("testdata", name+".hex")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test vector: %v (run the test with -update to write it)", err)
	}
	out, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatalf("test vector %s: %v", path, err)
	}
	return out
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}
