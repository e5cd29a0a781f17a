package transport

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestKadStreamsPerPeer checks that a listening host refuses a peer's inbound
// kad streams beyond KadStreamsPerPeer while the others stay open, and that
// another peer still gets its streams.
func TestKadStreamsPerPeer(t *testing.T) {
	srv, err := NewHost(nil, []string{"/ip4/127.0.0.1/tcp/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	release := make(chan struct{})
	var wg sync.WaitGroup
	srv.SetStreamHandler(KadProtocol, func(s network.Stream) {
		wg.Add(1)
		defer wg.Done()
		s.Write([]byte{1})
		<-release
		s.Reset()
	})
	defer wg.Wait()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	count := func(n int) int {
		cli, err := NewHost(nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close() })
		if err := cli.Connect(ctx, peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
			t.Fatal(err)
		}
		ok := 0
		for range n {
			s, err := cli.NewStream(ctx, srv.ID(), KadProtocol)
			if err != nil {
				continue
			}
			var b [1]byte
			if _, err := io.ReadFull(s, b[:]); err == nil {
				ok++
			}
		}
		return ok
	}
	if got := count(KadStreamsPerPeer + 8); got != KadStreamsPerPeer {
		t.Fatalf("one peer got %d kad streams, want %d", got, KadStreamsPerPeer)
	}
	if got := count(4); got != 4 {
		t.Fatalf("a second peer got %d kad streams, want 4", got)
	}
}
