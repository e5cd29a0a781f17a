package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
)

// TestDirectoryCrossCheck: the client's directory is the union of its
// gateway's and another configured gateway's, so a node one gateway leaves
// out is still used. The second gateway here is a plain libp2p host that
// serves the directory protocol: the nine nodes' descriptors plus one of
// its own (validly signed), which the first gateway does not list.
func TestDirectoryCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mix network")
	}
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := transport.NewHost(priv, []string{"/ip4/127.0.0.1/tcp/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	epoch := pki.NewClock(net.Params.EpochLength).Current()
	d := &pki.Descriptor{Epoch: epoch, Issued: time.Now().UnixNano(), Network: net.Params.ID()}
	copy(d.NodeID[:], pub)
	for _, a := range h.Addrs() {
		d.Addrs = append(d.Addrs, a.Bytes())
	}
	for _, e := range []uint64{epoch, epoch + 1} {
		_, key, err := wire.NewEpochKey()
		if err != nil {
			t.Fatal(err)
		}
		d.Keys = append(d.Keys, pki.EpochKey{Epoch: e, Key: key})
	}
	own, err := pki.Sign(d, priv)
	if err != nil {
		t.Fatal(err)
	}
	first := net.Nodes[0].Directory()
	if _, ok := first.Lookup(d.NodeID); ok || len(first.Nodes) != 9 {
		t.Fatalf("first gateway lists %d nodes", len(first.Nodes))
	}
	params, err := net.Params.Encode()
	if err != nil {
		t.Fatal(err)
	}
	body, err := pki.EncodeResponse(&pki.Response{Epoch: epoch, Descriptors: append(first.Raw[:len(first.Raw):len(first.Raw)], own), Params: params})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{}, 8)
	h.SetStreamHandler(wire.DirectoryProtocol, func(s network.Stream) {
		defer s.Close()
		served <- struct{}{}
		s.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
		s.Write(body)
	})

	cfg := net.Client
	cfg.Gateways = []string{net.Client.Gateways[0], h.Addrs()[0].String() + "/p2p/" + h.ID().String()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Gateway() != net.Nodes[0].PeerID() {
		t.Fatalf("client uses %s, want the first gateway", c.Gateway())
	}
	if len(served) == 0 {
		t.Fatal("the second gateway was not asked")
	}
	dir := c.Directory()
	if _, ok := dir.Lookup(d.NodeID); !ok || len(dir.Nodes) != 10 {
		t.Fatalf("client's directory has %d nodes (the second gateway's own listed: %v), want 10", len(dir.Nodes), ok)
	}
	// A refresh from the first gateway alone keeps the other's view.
	if err := c.RefreshDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	if dir := c.Directory(); len(dir.Nodes) != 10 {
		t.Fatalf("after a refresh the directory has %d nodes, want 10", len(dir.Nodes))
	}
	// When no other gateway answers a refresh, the client falls back to
	// its gateway's view rather than keep one that may list nodes that
	// left.
	h.Close()
	if err := c.RefreshDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	if dir := c.Directory(); len(dir.Nodes) != 9 {
		t.Fatalf("with the second gateway gone the directory has %d nodes, want 9", len(dir.Nodes))
	}
}
