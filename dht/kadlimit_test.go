package dht_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
)

func newTestNode(t *testing.T) *dht.Node {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := dht.New(dht.Config{Identity: priv, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Clock: pki.NewClock(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestKadProtocolLimited checks that the kad protocol is the one the
// transport's resource-manager policy limits, and that a message claiming
// more than dht.MaxRequestSize is refused before its body arrives, while
// the node still answers honest requests.
func TestKadProtocolLimited(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	if !slices.Contains(a.Host.Mux().Protocols(), transport.KadProtocol) {
		t.Fatalf("kad-dht does not serve %s: %v", transport.KadProtocol, a.Host.Mux().Protocols())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Host.Connect(ctx, peer.AddrInfo{ID: a.Host.ID(), Addrs: a.Host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Host.NewStream(ctx, a.Host.ID(), transport.KadProtocol)
	if err != nil {
		t.Fatal(err)
	}
	prefix := binary.AppendUvarint(nil, 4<<20)
	if _, err := s.Write(append(prefix, make([]byte, 1000)...)); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(s); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("oversized message: stream ended with %v, want a reset (not our read deadline)", err)
	}
	// b still gets answers on its own streams.
	if err := b.DHT.Ping(ctx, a.Host.ID()); err != nil {
		t.Fatalf("ping after the oversized message: %v", err)
	}
}
