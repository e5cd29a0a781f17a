package main_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/tornet"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/transport/onion"
)

// randomOnionGateway is a well-formed /onion3 gateway address that nobody
// serves.
func randomOnionGateway(t *testing.T) string {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onion.Multiaddr(onion.ServiceID(key), onion.VirtualPort)
	if err != nil {
		t.Fatal(err)
	}
	return m.String() + "/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg"
}

// TestTorErrors checks what a user sees when tor is missing from the PATH
// and when the gateways do not fit the transport.
func TestTorErrors(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("komrade %v succeeded, want failure:\n%s", args, out)
		}
		return string(out)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noTor := []string{"PATH=" + t.TempDir()}

	onionCfg := write("onion.toml", "gateways = [\""+randomOnionGateway(t)+"\"]\n")
	out := run(noTor, "ping", "--tor", "--config", onionCfg)
	if !strings.Contains(out, "tor is not installed") || !strings.Contains(out, "apt-get install tor") {
		t.Errorf("ping --tor without tor:\n%s", out)
	}
	// Without --tor an onion gateway cannot be used, and the error says so.
	if out := run(nil, "ping", "--config", onionCfg); !strings.Contains(out, "--tor") {
		t.Errorf("onion gateway without --tor:\n%s", out)
	}
	// With --tor a direct gateway is refused: nothing may bypass Tor.
	direct := write("direct.toml", "gateways = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg\"]\n")
	if out := run(nil, "ping", "--tor", "--config", direct); !strings.Contains(out, "/onion3") {
		t.Errorf("direct gateway with --tor:\n%s", out)
	}
	if out := run(nil, "ping", "--config", write("bad.toml", "gateways = [\""+randomOnionGateway(t)+"\"]\ntransport = \"pigeon\"\n")); !strings.Contains(out, "transport") {
		t.Errorf("bad transport not named:\n%s", out)
	}

	nodeDir := filepath.Join(t.TempDir(), "node")
	if out, err := exec.Command(bin, "mixnode", "init", "--datadir", nodeDir, "--listen", "/ip4/127.0.0.1/tcp/0").CombinedOutput(); err != nil {
		t.Fatalf("mixnode init: %v\n%s", err, out)
	}
	out = run(noTor, "mixnode", "run", "--onion", "--config", filepath.Join(nodeDir, "komrade-node.toml"))
	if !strings.Contains(out, "tor is not installed") || !strings.Contains(out, "apt-get install tor") {
		t.Errorf("mixnode run --onion without tor:\n%s", out)
	}
}

// TestMixnodeOnionAndPingTor runs the binary on a private Tor network: a
// node started with `komrade mixnode run --onion` joins an in-process test
// network and prints its onion address; `komrade ping --tor`, whose only
// gateway is that onion address, gets every reply.
func TestMixnodeOnionAndPingTor(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if err := tornet.Available(); err != nil {
		t.Skipf("Tor tests skipped: %v", err)
	}
	if testing.Short() {
		t.Skip("Tor tests skipped with -short (they start a private Tor network)")
	}
	bin := buildKomrade(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	tn, err := tornet.Start(ctx, tornet.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	t.Logf("private Tor network up in %v", time.Since(start).Round(time.Millisecond))

	const epoch = 2 * time.Minute
	// Five nodes and the one below: two per layer, so every layer has a
	// node other than the client's gateway.
	netDir := t.TempDir()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 5, Dir: netDir, EpochLength: epoch, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)

	nodeDir := filepath.Join(t.TempDir(), "node")
	out, err := exec.Command(bin, "mixnode", "init", "--datadir", nodeDir, "--listen", "/ip4/127.0.0.1/tcp/0",
		"--bootstrap", net.Nodes[0].Addrs()[0], "--network", filepath.Join(netDir, config.NetworkFile)).CombinedOutput()
	if err != nil {
		t.Fatalf("mixnode init: %v\n%s", err, out)
	}
	// The test network's tor and timings: tor_config names the private
	// network's authorities.
	nodeCfg := filepath.Join(nodeDir, "komrade-node.toml")
	cfg, err := config.LoadNode(nodeCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TorConfig = tn.ClientTorrc()
	cfg.DirectoryRefresh = config.D(2 * time.Second)
	if err := config.Write(nodeCfg, cfg); err != nil {
		t.Fatal(err)
	}
	_, lines := startProcess(t, bin, "--log-level", "warn", "mixnode", "run", "--onion", "--config", nodeCfg)
	waitLine(t, lines, regexp.MustCompile(`onion address`), 2*time.Minute)
	addr := strings.TrimSpace(waitLine(t, lines, regexp.MustCompile(`^\s*/onion3/`), 5*time.Second))

	clientCfg := net.Client
	clientCfg.Gateways = []string{addr}
	clientCfg.TorConfig = tn.ClientTorrc() // the client starts its own tor
	path := filepath.Join(t.TempDir(), "client.toml")
	if err := config.Write(path, clientCfg); err != nil {
		t.Fatal(err)
	}
	// The new node needs a moment to see the whole directory (and be seen).
	deadline := time.Now().Add(90 * time.Second)
	for {
		start := time.Now()
		out, err = exec.CommandContext(ctx, bin, "ping", "--tor", "--config", path, "--count", "5").CombinedOutput()
		if err == nil && strings.Contains(string(out), "5/5 replies") && strings.Contains(string(out), ", 6 nodes") {
			t.Logf("komrade ping --tor (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("komrade ping --tor never got 5/5 replies from 6 nodes: %v\n%s", err, out)
		}
		t.Logf("not yet: %v\n%s", err, out)
		time.Sleep(2 * time.Second)
	}
}
