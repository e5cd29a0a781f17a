package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/pki"
)

// testNetwork is the default network's id.
var testNetwork = pki.DefaultParams().ID().String()

// A syntactically valid libp2p peer id (Ed25519, identity multihash).
const testPeerID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"

const (
	testBootstrap = "/ip4/127.0.0.1/tcp/7700/p2p/" + testPeerID
	testNodeID    = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// writeFile writes content into a fresh file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "cfg.toml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// The network file a node config names by default.
	if err := WriteNetwork(filepath.Join(dir, NetworkFile), pki.DefaultParams()); err != nil {
		t.Fatal(err)
	}
	return p
}

const validNodeTOML = `
data_dir = "/var/lib/komrade"
listen_addrs = ["/ip4/0.0.0.0/tcp/7700", "/ip6/::/udp/7700/quic-v1"]
announce_addrs = ["/ip4/203.0.113.7/tcp/7700"]
bootstrap = ["` + testBootstrap + `"]
lambda_m = 0.5
queue_size = 1000
client_buffer = 64
directory_refresh = "5s"
metrics_addr = "127.0.0.1:9100"
allow_list = ["` + testNodeID + `"]
`

var validClientTOML = `
gateways = ["` + testBootstrap + `"]
network = "` + testNetwork + `"
allow_list = ["` + testNodeID + `"]
`

func TestLoadNodeValid(t *testing.T) {
	n, err := LoadNode(writeFile(t, validNodeTOML))
	if err != nil {
		t.Fatalf("LoadNode: %v", err)
	}
	want := DefaultNode()
	want = Node{
		NetworkFile:          NetworkFile,
		Network:              pki.DefaultParams(),
		RepublishInterval:    want.RepublishInterval,
		StorageTimeout:       want.StorageTimeout,
		SetReplicateInterval: want.SetReplicateInterval,
		DataDir:              "/var/lib/komrade",
		ListenAddrs:          []string{"/ip4/0.0.0.0/tcp/7700", "/ip6/::/udp/7700/quic-v1"},
		AnnounceAddrs:        []string{"/ip4/203.0.113.7/tcp/7700"},
		Bootstrap:            []string{testBootstrap},
		LambdaM:              0.5,
		QueueSize:            1000,
		ClientBuffer:         64,
		DirectoryRefresh:     D(5 * time.Second),
		MetricsAddr:          "127.0.0.1:9100",
		AllowList:            []string{testNodeID},
	}
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("LoadNode:\n got %+v\nwant %+v", n, want)
	}
}

func TestLoadNodeMinimalUsesDefaults(t *testing.T) {
	n, err := LoadNode(writeFile(t, `data_dir = "/d"`+"\n"))
	if err != nil {
		t.Fatalf("LoadNode: %v", err)
	}
	want := DefaultNode()
	want.DataDir = "/d"
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("LoadNode:\n got %+v\nwant %+v", n, want)
	}
}

func TestLoadClientValid(t *testing.T) {
	c, err := LoadClient(writeFile(t, validClientTOML))
	if err != nil {
		t.Fatalf("LoadClient: %v", err)
	}
	want := Client{
		Gateways:  []string{testBootstrap},
		Network:   testNetwork,
		AllowList: []string{testNodeID},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("LoadClient:\n got %+v\nwant %+v", c, want)
	}
}

func TestDefaultsValidate(t *testing.T) {
	n := DefaultNode()
	if err := n.Validate(); err == nil || !strings.Contains(err.Error(), "data_dir") {
		t.Fatalf("default node without data_dir: got %v, want an error naming data_dir", err)
	}
	n.DataDir = t.TempDir()
	if err := n.Validate(); err != nil {
		t.Fatalf("default node with data_dir: %v", err)
	}

	c := DefaultClient()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "gateways") {
		t.Fatalf("default client without gateways: got %v, want an error naming gateways", err)
	}
	c.Gateways = []string{testBootstrap}
	if err := c.Validate(); err != nil {
		t.Fatalf("default client with a gateway: %v", err)
	}
}

func TestLoadNodeUnknownKey(t *testing.T) {
	for _, tc := range []struct{ name, toml, key string }{
		{"top level", "data_dir = \"/d\"\nlisten_adrs = [\"/ip4/0.0.0.0/tcp/1\"]\n", "listen_adrs"},
		{"table", "data_dir = \"/d\"\n[extra]\nfoo = 1\n", "extra"},
		{"second of two", "data_dir = \"/d\"\nlambda_m = 1.0\nmux = \"5ms\"\n", "mux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadNode(writeFile(t, tc.toml))
			if err == nil {
				t.Fatal("LoadNode accepted an unknown key")
			}
			if !strings.Contains(err.Error(), "unknown key") || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %q does not name unknown key %q", err, tc.key)
			}
		})
	}
}

func TestLoadClientUnknownKey(t *testing.T) {
	_, err := LoadClient(writeFile(t, validClientTOML+"data_dir = \"/d\"\n"))
	if err == nil {
		t.Fatal("LoadClient accepted an unknown key")
	}
	if !strings.Contains(err.Error(), "unknown key") || !strings.Contains(err.Error(), "data_dir") {
		t.Fatalf("error %q does not name unknown key data_dir", err)
	}
}

func TestLoadNodeInvalid(t *testing.T) {
	base := "data_dir = \"/d\"\n"
	for _, tc := range []struct {
		name  string
		toml  string
		field string // FieldError.Field
	}{
		{"no data_dir", `lambda_m = 1.0`, "data_dir"},
		{"empty listen_addrs", base + "listen_addrs = []", "listen_addrs"},
		{"bad listen addr", base + `listen_addrs = ["/ip4/0.0.0.0/tcp/1", "not-a-multiaddr"]`, "listen_addrs[1]"},
		{"bad listen protocol", base + `listen_addrs = ["/ip4/300.0.0.1/tcp/1"]`, "listen_addrs[0]"},
		{"bad announce addr", base + `announce_addrs = ["/tcp/x"]`, "announce_addrs[0]"},
		{"bootstrap without p2p", base + `bootstrap = ["/ip4/127.0.0.1/tcp/7700"]`, "bootstrap[0]"},
		{"bootstrap bad multiaddr", base + `bootstrap = ["` + testBootstrap + `", "garbage"]`, "bootstrap[1]"},
		// Network parameters moved to the network file.
		{"epoch_length moved", base + `epoch_length = "10m"`, "epoch_length"},
		{"mu moved", base + `mu = "5ms"`, "mu"},
		{"max_delay moved", base + `max_delay = "1s"`, "max_delay"},
		{"pow_bits moved", base + `pow_bits = 16`, "pow_bits"},
		{"no network_file", base + `network_file = ""`, "network_file"},
		{"lambda negative", base + "lambda_m = -1.0", "lambda_m"},
		{"lambda too high", base + "lambda_m = 1000.5", "lambda_m"},
		{"lambda nan", base + "lambda_m = nan", "lambda_m"},
		{"lambda inf", base + "lambda_m = inf", "lambda_m"},
		{"queue zero", base + "queue_size = 0", "queue_size"},
		{"queue huge", base + "queue_size = 10000001", "queue_size"},
		{"client buffer zero", base + "client_buffer = 0", "client_buffer"},
		{"client buffer huge", base + "client_buffer = 1000001", "client_buffer"},
		{"refresh short", base + `directory_refresh = "99ms"`, "directory_refresh"},
		{"allow not hex", base + `allow_list = ["zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]`, "allow_list[0]"},
		{"allow short", base + `allow_list = ["` + testNodeID + `", "0123"]`, "allow_list[1]"},
		{"allow long", base + `allow_list = ["` + testNodeID + `00"]`, "allow_list[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.toml+"\n")
			_, err := LoadNode(path)
			if err == nil {
				t.Fatal("LoadNode accepted an invalid configuration")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q is not a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Fatalf("error %q names field %q, want %q", err, fe.Field, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not mention %q", err, tc.field)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not mention the file %q", err, path)
			}
		})
	}
}

func TestLoadNodeBadSyntaxOrType(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"bad duration", "data_dir = \"/d\"\ndirectory_refresh = \"fast\"\n", "directory_refresh"},
		{"integer duration", "data_dir = \"/d\"\ndirectory_refresh = 5\n", "directory_refresh"},
		{"wrong type", "data_dir = 5\n", "data_dir"},
		{"syntax", "data_dir = \n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadNode(writeFile(t, tc.toml))
			if err == nil {
				t.Fatal("LoadNode accepted a malformed file")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadClientInvalid(t *testing.T) {
	gw := `gateways = ["` + testBootstrap + `"]` + "\n" + `network = "` + testNetwork + `"` + "\n"
	for _, tc := range []struct{ name, toml, field string }{
		{"no gateways", `network = "` + testNetwork + `"`, "gateways"},
		{"bad network", `gateways = ["` + testBootstrap + `"]` + "\nnetwork = \"abc\"", "network"},
		{"gateway without p2p", `gateways = ["/ip4/127.0.0.1/tcp/7700"]`, "gateways[0]"},
		{"gateway bad multiaddr", `gateways = ["` + testBootstrap + `", "/nope"]`, "gateways[1]"},
		{"mu moved", gw + `mu = "5ms"`, "mu"},
		{"epoch_length moved", gw + `epoch_length = "20m"`, "epoch_length"},
		{"allow bad", gw + `allow_list = ["xyz"]`, "allow_list[0]"},
		{"keep_read negative", gw + `keep_read = "-1s"`, "keep_read"},
		{"keep_read over a year", gw + `keep_read = "8761h"`, "keep_read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadClient(writeFile(t, tc.toml+"\n"))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q, want it to name %q", err, tc.field)
			}
		})
	}
}

// TestClientKeepRead: keep_read defaults to a day when absent, "0s" turns
// history off (and is not taken for absent), and a value that is not a
// duration is refused naming the key.
func TestClientKeepRead(t *testing.T) {
	gw := `gateways = ["` + testBootstrap + `"]` + "\n" + `network = "` + testNetwork + `"` + "\n"
	for _, tc := range []struct {
		name, toml string
		want       time.Duration
	}{
		{"absent", gw, DefaultKeepRead},
		{"off", gw + `keep_read = "0s"`, 0},
		{"set", gw + `keep_read = "1h30m"`, 90 * time.Minute},
		{"a year", gw + `keep_read = "8760h"`, MaxKeepRead},
	} {
		c, err := LoadClient(writeFile(t, tc.toml+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.KeepReadFor(); got != tc.want {
			t.Errorf("%s: keep_read %v, want %v", tc.name, got, tc.want)
		}
	}
	if DefaultKeepRead != 24*time.Hour {
		t.Fatalf("the default keep_read is %v; the README says 24h", DefaultKeepRead)
	}
	_, err := LoadClient(writeFile(t, gw+`keep_read = "a day"`+"\n"))
	if err == nil || !strings.Contains(err.Error(), "keep_read") {
		t.Fatalf("keep_read that is no duration: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing.toml")
	if _, err := LoadNode(p); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadNode(missing): %v", err)
	}
	if _, err := LoadClient(p); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadClient(missing): %v", err)
	}
}

func TestWriteLoadRoundTripNode(t *testing.T) {
	dir := t.TempDir()
	n := DefaultNode()
	n.DataDir = filepath.Join(dir, "data")
	n.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	n.AnnounceAddrs = []string{"/dns4/mix.example.org/tcp/7700"}
	n.Bootstrap = []string{testBootstrap}
	n.Network.EpochLength = 90 * time.Second
	n.Network.Mu = 1500 * time.Microsecond
	n.Network.MaxDelay = 3*time.Second + 250*time.Millisecond
	if err := WriteNetwork(filepath.Join(dir, NetworkFile), n.Network); err != nil {
		t.Fatal(err)
	}
	n.LambdaM = 0.125
	n.QueueSize = 7
	n.ClientBuffer = 3
	n.DirectoryRefresh = D(250 * time.Millisecond)
	n.MetricsAddr = "127.0.0.1:9100"
	n.AllowList = []string{testNodeID, strings.Repeat("ab", 32)}

	path := filepath.Join(dir, "node.toml")
	if err := Write(path, n); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := LoadNode(path)
	if err != nil {
		t.Fatalf("LoadNode: %v", err)
	}
	if !reflect.DeepEqual(got, n) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, n)
	}

	// Defaults survive a round trip too (nil slices stay absent).
	if err := WriteNetwork(filepath.Join(dir, NetworkFile), pki.DefaultParams()); err != nil {
		t.Fatal(err)
	}
	d := DefaultNode()
	d.DataDir = "/d"
	if err := Write(path, d); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err = LoadNode(path)
	if err != nil {
		t.Fatalf("LoadNode: %v", err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip of defaults:\n got %+v\nwant %+v", got, d)
	}
}

func TestWriteLoadRoundTripClient(t *testing.T) {
	c := DefaultClient()
	c.Gateways = []string{testBootstrap, "/ip4/10.0.0.1/udp/1/quic-v1/p2p/" + testPeerID}
	c.AllowList = []string{testNodeID}
	keep := D(0) // off, which must not come back as absent (the default)
	c.KeepRead = &keep
	path := filepath.Join(t.TempDir(), "client.toml")
	if err := Write(path, &c); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := LoadClient(path)
	if err != nil {
		t.Fatalf("LoadClient: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestWriteMode0600(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.toml")
	n := DefaultNode()
	n.DataDir = dir
	if err := Write(path, n); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s: mode %#o, want %#o", path, got, want)
	}
}

func checkContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s: content %q, want %q", path, b, want)
	}
}

func TestNetworkFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := pki.DefaultParams()
	p.Name = "test"
	p.EpochLength = 2 * time.Minute
	p.SetPoW(8)
	path := filepath.Join(dir, NetworkFile)
	if err := WriteNetwork(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := LoadNetwork(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := pki.Diff(p, got); len(d) != 0 || got.ID() != p.ID() {
		t.Fatalf("round trip differs: %v", d)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), p.ID().String()) || !strings.Contains(string(b), `epoch_length = "2m0s"`) || !strings.Contains(string(b), "[sets.intro]") {
		t.Fatalf("network file:\n%s", b)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"missing parameter", "pow_bits = 8\n", "", "pow_bits: missing"},
		{"missing set parameter", "max_items_per_key = 1000\n", "", "sets.intro.max_items_per_key: missing"},
		// A file written before the hourly cap existed is refused by name,
		// not read as "no cap".
		{"missing hourly cap", "max_items_per_key_per_hour = 60\n", "", "sets.intro.max_items_per_key_per_hour: missing"},
		{"negative hourly cap", "max_items_per_key_per_hour = 60\n", "max_items_per_key_per_hour = -1\n", "sets.intro.max_items_per_key_per_hour: -1"},
		{"unknown key", "pow_bits = 8\n", "pow_bits = 8\npow = 3\n", "unknown key(s): pow"},
		{"invalid", `mu = "50ms"`, `mu = "0s"`, "network: mu: 0s"},
		{"invalid set", "[sets.vote]\n", "[sets.vote]\n  ttl = \"0s\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Replace(string(b), tc.from, tc.to, 1)
			if s == string(b) {
				t.Fatalf("%q not in the file", tc.from)
			}
			p := filepath.Join(t.TempDir(), NetworkFile)
			os.WriteFile(p, []byte(s), 0o600)
			_, err := LoadNetwork(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A node's network_file is relative to its config; a client's
// network_file must hash to its network id, else the error names both.
func TestNetworkFileInConfigs(t *testing.T) {
	dir := t.TempDir()
	p := pki.DefaultParams()
	p.Mu = 7 * time.Millisecond
	os.Mkdir(filepath.Join(dir, "net"), 0o700)
	if err := WriteNetwork(filepath.Join(dir, "net", "other.toml"), p); err != nil {
		t.Fatal(err)
	}
	np := filepath.Join(dir, "node.toml")
	os.WriteFile(np, []byte("data_dir = \"/d\"\nnetwork_file = \"net/other.toml\"\n"), 0o600)
	n, err := LoadNode(np)
	if err != nil || n.Network.Mu != 7*time.Millisecond {
		t.Fatalf("LoadNode: %v, mu %v", err, n.Network.Mu)
	}
	cp := filepath.Join(dir, "client.toml")
	base := "gateways = [\"" + testBootstrap + "\"]\nnetwork_file = \"net/other.toml\"\n"
	os.WriteFile(cp, []byte(base+"network = \""+p.ID().String()+"\"\n"), 0o600)
	c, err := LoadClient(cp)
	if err != nil || c.Params == nil || c.Params.ID() != c.NetworkID() {
		t.Fatalf("LoadClient: %v", err)
	}
	os.WriteFile(cp, []byte(base+"network = \""+testNetwork+"\"\n"), 0o600)
	_, err = LoadClient(cp)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "network_file" || !strings.Contains(err.Error(), testNetwork) || !strings.Contains(err.Error(), p.ID().String()) {
		t.Fatalf("mismatched network_file: %v", err)
	}
	// Old keys say where they went.
	os.WriteFile(np, []byte("data_dir = \"/d\"\nepoch_length = \"20m\"\n"), 0o600)
	if _, err := LoadNode(np); err == nil || !strings.Contains(err.Error(), "epoch_length: moved to the network file") {
		t.Fatalf("old key: %v", err)
	}
}

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1h2m3.5s")); err != nil {
		t.Fatal(err)
	}
	if d.Duration != time.Hour+2*time.Minute+3500*time.Millisecond {
		t.Fatalf("parsed %v", d.Duration)
	}
	b, err := d.MarshalText()
	if err != nil || string(b) != "1h2m3.5s" {
		t.Fatalf("MarshalText: %q, %v", b, err)
	}
	if err := d.UnmarshalText([]byte("5 parsecs")); err == nil {
		t.Fatal("UnmarshalText accepted garbage")
	}
}

func TestFieldErrorMessage(t *testing.T) {
	err := fieldErr("mu", "must be at least 1ms")
	if got, want := err.Error(), "config: mu: must be at least 1ms"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// The toml package's ErrorWithPosition panics on a parse error it reports at
// line 0; LoadNode and LoadClient must return an error instead.
func TestLoadParseErrorAtLineZero(t *testing.T) {
	for _, content := range []string{"\"\\", "\"\\\n", "data_dir = \"\\"} {
		p := writeFile(t, content)
		if _, err := LoadNode(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("LoadNode(%q): %v, want an error naming the file", content, err)
		}
		if _, err := LoadClient(p); err == nil {
			t.Fatalf("LoadClient(%q) succeeded", content)
		}
	}
}

// TestClientOrganize: [[watch]] areas and the pin settings load, and a
// wrong value is refused naming its key.
func TestClientOrganize(t *testing.T) {
	gw := `gateways = ["` + testBootstrap + `"]` + "\n" + `network = "` + testNetwork + `"` + "\n"
	c, err := LoadClient(writeFile(t, gw+`pin_confirmations = 3
pin_delay_min = "10s"
pin_delay_max = "1m"
watch_every = "15s"

[[watch]]
near = "52.52,13.405"
radius_km = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Watch) != 1 || c.Watch[0].Point().Lat != 52.52 || c.Watch[0].RadiusKM != 2 || c.PinConfirmations != 3 ||
		c.PinDelayMin.Duration != 10*time.Second || c.PinDelayMax.Duration != time.Minute || c.WatchEvery.Duration != 15*time.Second {
		t.Fatalf("loaded %+v", c)
	}
	for field, toml := range map[string]string{
		"watch[0].near":      "[[watch]]\nnear = \"north\"\nradius_km = 1\n",
		"watch[0].radius_km": "[[watch]]\nnear = \"1,2\"\nradius_km = 26\n",
		"pin_confirmations":  "pin_confirmations = 21\n",
		"pin_delay_max":      "pin_delay_min = \"2m\"\npin_delay_max = \"1m\"\n",
		"watch_every":        "watch_every = \"1s\"\n",
	} {
		_, err := LoadClient(writeFile(t, gw+toml))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}
