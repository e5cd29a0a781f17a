package dht_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire/record"
)

func newAllowNode(t *testing.T, priv ed25519.PrivateKey, allow map[pki.NodeID]bool) *dht.Node {
	t.Helper()
	n, err := dht.New(dht.Config{
		Identity:    priv,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Clock:       pki.NewClock(time.Hour),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Allow:       allow,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func profile(t *testing.T) (string, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v, err := record.SignProfile(record.NewProfile(1, time.Hour, []byte("hello")), priv)
	if err != nil {
		t.Fatal(err)
	}
	return record.ProfileKey(priv.Public().(ed25519.PublicKey)), v
}

// With allow_list set on every node, an unlisted node that reaches them can
// neither enter their routing tables nor store a record through them, while
// the listed nodes store and read records among themselves.
func TestAllowListClosesTheDHT(t *testing.T) {
	const listed = 4
	allow := map[pki.NodeID]bool{}
	privs := make([]ed25519.PrivateKey, listed)
	for i := range privs {
		_, privs[i], _ = ed25519.GenerateKey(rand.Reader)
		var id pki.NodeID
		copy(id[:], privs[i].Public().(ed25519.PublicKey))
		allow[id] = true
	}
	nodes := make([]*dht.Node, listed)
	for i := range nodes {
		nodes[i] = newAllowNode(t, privs[i], allow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	boot := []peer.AddrInfo{{ID: nodes[0].Host.ID(), Addrs: nodes[0].Host.Addrs()}}
	for _, n := range nodes[1:] {
		if err := n.Bootstrap(ctx, boot); err != nil {
			t.Fatal(err)
		}
	}
	// The outsider runs an open DHT of the same protocol and connects to
	// every listed node.
	_, xpriv, _ := ed25519.GenerateKey(rand.Reader)
	x := newAllowNode(t, xpriv, nil)
	for _, n := range nodes {
		if err := x.Host.Connect(ctx, peer.AddrInfo{ID: n.Host.ID(), Addrs: n.Host.Addrs()}); err != nil {
			t.Fatalf("connect: %v", err)
		}
	}
	for _, n := range nodes {
		select {
		case <-n.DHT.RefreshRoutingTable():
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	time.Sleep(500 * time.Millisecond) // let identify finish on every connection
	for i, n := range nodes {
		for _, p := range n.DHT.RoutingTable().ListPeers() {
			if p == x.Host.ID() {
				t.Fatalf("node %d has the unlisted node in its routing table", i)
			}
		}
		if s := n.DHT.RoutingTable().Size(); s != listed-1 {
			t.Fatalf("node %d routing table holds %d peers, want %d", i, s, listed-1)
		}
	}

	// The outsider cannot store through them.
	key, value := profile(t)
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	acks, err := x.PutRecord(pctx, key, value)
	pcancel()
	if err == nil || acks > 1 { // its own store may count, no other
		t.Fatalf("unlisted PutRecord: %d acks, err %v", acks, err)
	}
	pctx, pcancel = context.WithTimeout(ctx, 10*time.Second)
	err = x.DHT.PutValue(pctx, key, value)
	pcancel()
	_ = err // kad-dht's PutValue reports success even when nobody stored it
	for i, n := range nodes {
		if v, err := n.LocalRecord(ctx, key); err == nil && v != nil {
			t.Fatalf("node %d stored the unlisted node's record", i)
		}
	}

	// Listed nodes work as before.
	key, value = profile(t)
	acks, err = nodes[1].PutRecord(ctx, key, value)
	if err != nil || acks < dht.Replication {
		t.Fatalf("listed PutRecord: %d acks, err %v", acks, err)
	}
	got, err := nodes[3].GetRecord(ctx, key)
	if err != nil || string(got) != string(value) {
		t.Fatalf("listed GetRecord: %v", err)
	}
}
