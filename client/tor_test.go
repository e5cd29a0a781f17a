package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/transport/onion"
)

// torConfig is a client configuration with transport = "tor" and one
// well-formed onion gateway that nobody serves.
func torConfig(t *testing.T) config.Client {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onion.Multiaddr(onion.ServiceID(key), onion.VirtualPort)
	if err != nil {
		t.Fatal(err)
	}
	c := config.DefaultClient()
	c.Gateways = []string{m.String() + "/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg"}
	c.Transport = config.TransportTor
	return c
}

func torLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// TestDialTorNotInstalled: transport = "tor" without tor on the PATH fails
// before anything is sent, and says how to install tor.
func TestDialTorNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := client.Dial(context.Background(), torConfig(t), torLogger())
	if !errors.Is(err, onion.ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install tor") {
		t.Fatalf("Dial without tor: %v", err)
	}
}

// TestDialTorCannotBootstrap: a tor that cannot reach its network makes
// Dial fail when the caller's deadline passes, naming the cause: the
// bootstrap, how far it got, and tor's last log line.
func TestDialTorCannotBootstrap(t *testing.T) {
	if _, err := exec.LookPath("tor"); err != nil {
		t.Skipf("tor not installed; %s", onion.InstallHint)
	}
	// A private network whose only directory authority does not exist.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	torrc := filepath.Join(t.TempDir(), "torrc")
	if err := os.WriteFile(torrc, []byte("TestingTorNetwork 1\nDirAuthority nowhere orport="+port+
		" no-v2 v3ident=0000000000000000000000000000000000000001 127.0.0.1:"+port+
		" 0000000000000000000000000000000000000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := torConfig(t)
	cfg.TorConfig = torrc
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = client.Dial(ctx, cfg, torLogger())
	var be *onion.BootstrapError
	if !errors.As(err, &be) {
		t.Fatalf("Dial with an unreachable Tor network: %v, want a bootstrap error", err)
	}
	t.Logf("user sees: %v", err)
	for _, want := range []string{"transport = tor", "did not finish bootstrapping", "stuck at", "last tor log line: ["} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
}

// TestDialTorNoRunningTor: tor_socks naming a port where no tor listens.
func TestDialTorNoRunningTor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := torConfig(t)
	cfg.TorSOCKS = ln.Addr().String()
	ln.Close()
	_, err = client.Dial(context.Background(), cfg, torLogger())
	if err == nil || !strings.Contains(err.Error(), "no tor SOCKS port at "+cfg.TorSOCKS) {
		t.Fatalf("Dial with no tor at tor_socks: %v", err)
	}
}
