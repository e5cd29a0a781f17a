package testnet_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
)

// TestOtherNetworkRefused: a node whose network file differs from the
// network it bootstraps into (here: `komrade mixnode init`'s defaults next
// to a testnet) does not start "running" outside every directory: Start
// fails naming each differing parameter with both values, and the
// network's directories never list it. A client whose config names another
// network fails the same way.
func TestOtherNetworkRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	net := startNet(t, testnet.Options{Nodes: 3, LambdaM: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cfg := config.DefaultNode() // pki.DefaultParams: 20m epochs, 16 bits of work
	cfg.DataDir = filepath.Join(t.TempDir(), "stranger")
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.Bootstrap = net.Nodes[0].Addrs()[:1]
	priv, err := mixnode.CreateIdentity(cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mixnode.New(cfg, mixnode.Options{Identity: priv, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	err = n.Start(ctx)
	if !errors.Is(err, pki.ErrNetworkMismatch) {
		t.Fatalf("Start of a node of another network: %v", err)
	}
	for _, want := range []string{
		"of this node (network_file network.toml) (here) differ from those of bootstrap node",
		"epoch_length is 20m0s here, 2m0s there", "sets.intro.pow_bits is 16 here, 8 there",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for i, node := range net.Nodes {
		node.RefreshDirectory(ctx)
		if _, ok := node.Directory().Lookup(n.ID()); ok {
			t.Errorf("node %d lists the stranger", i)
		}
	}

	// A client of the default network: only ids to compare...
	cc := net.Client
	cc.Network, cc.NetworkFile, cc.Params = pki.DefaultParams().ID().String(), "", nil
	_, err = client.Dial(ctx, cc, testLogger(t))
	if !errors.Is(err, pki.ErrNetworkMismatch) || !strings.Contains(err.Error(), pki.DefaultParams().ID().String()) || !strings.Contains(err.Error(), net.Params.ID().String()) {
		t.Fatalf("client of another network: %v", err)
	}
	// ... and with its own copy of the parameters, the ones that differ.
	own := pki.DefaultParams()
	cc.Params = &own
	_, err = client.Dial(ctx, cc, testLogger(t))
	if !errors.Is(err, pki.ErrNetworkMismatch) || !strings.Contains(err.Error(), "mu is 50ms here, 5ms there") || !strings.Contains(err.Error(), "this client's config (here) differ from those of gateway") {
		t.Fatalf("client with its own parameters: %v", err)
	}
	// The network's own client works, and learns the parameters.
	c := dial(t, net)
	if c.Params().ID() != net.Params.ID() {
		t.Fatal("client has other parameters than the network's")
	}
}

// syncBuffer is a log sink tests can read while nodes write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestForeignDescriptorLogged: a node of another network that got into the
// DHT anyway (it skipped the bootstrap check) is left out of every
// directory, and the network's nodes log why: both ids, then the
// parameters that differ with both values.
func TestForeignDescriptorLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	net := startNet(t, testnet.Options{Nodes: 3, LambdaM: -1, Logger: log})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	other := net.Params // the same epochs, so the DHT lookups find it
	other.Sets = maps.Clone(other.Sets)
	other.SetPoW(12)
	cfg := config.DefaultNode()
	cfg.Network = other
	cfg.DataDir = filepath.Join(t.TempDir(), "stranger")
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	priv, err := mixnode.CreateIdentity(cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mixnode.New(cfg, mixnode.Options{Identity: priv, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Start(ctx); err != nil { // no bootstrap peers: no check
		t.Fatal(err)
	}
	ai, err := peer.AddrInfoFromString(net.Nodes[0].Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := testseam.NodeDHT(n).Bootstrap(ctx, []peer.AddrInfo{*ai}); err != nil {
		t.Fatal(err)
	}
	for {
		err := n.Publish(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := []string{
		"nodes of another network are left out of the directory",
		"their_network=" + other.ID().String(), "our_network=" + net.Params.ID().String(),
		"differ from those of node " + n.ID().Short(), "sets.intro.pow_bits is 8 here, 12 there",
	}
	for {
		for _, node := range net.Nodes {
			node.RefreshDirectory(ctx)
			if _, ok := node.Directory().Lookup(n.ID()); ok {
				t.Fatal("a node of another network is in the directory")
			}
		}
		got := logs.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("log lacks %q:\n%s", missing, got)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
