package testnet_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/config"
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
		"epoch_length is 20m0s for this node", "but 2m0s for bootstrap node",
		"sets.intro.pow_bits is 16 for this node", "but 8 for bootstrap node",
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
	if !errors.Is(err, pki.ErrNetworkMismatch) || !strings.Contains(err.Error(), "mu is 50ms for this client's config but 5ms for gateway") {
		t.Fatalf("client with its own parameters: %v", err)
	}
	// The network's own client works, and learns the parameters.
	c := dial(t, net)
	if c.Params().ID() != net.Params.ID() {
		t.Fatal("client has other parameters than the network's")
	}
}
