package testnet_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
)

// TestFloodingClientLosesOnlyItsOwn: while one client floods its gateway
// with well-formed frames as fast as it can write, another client of the
// same gateway gets every echo back, and the flood is dropped from the
// flooder's own queue.
func TestFloodingClientLosesOnlyItsOwn(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 9, LambdaM: -1})
	honest := dial(t, net)
	gw := net.Nodes[0]
	if honest.Gateway() != gw.PeerID() {
		t.Fatalf("client picked gateway %s, want node 0", honest.Gateway())
	}
	gwStart := time.Now()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent [4]int
	for i := range sent {
		s := rawStream(t, gw, wire.ClientProtocol)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Reset()
			frame := make([]byte, wire.PacketLength)
			for ctx.Err() == nil {
				rand.Read(frame[2:]) // version 0, a random group element: costs a key exchange
				if wire.WriteFrame(s, frame) != nil {
					return
				}
				sent[i]++
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	// Wait until the flood fills the flooder's queues: the gateway is loaded.
	for gw.Metrics().Dropped(mixnode.DropClientQueueFull) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("flood stopped")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(gwStart) > time.Minute {
			t.Fatal("the flood never filled the flooder's queue within a minute")
		}
	}
	if got := echoes(t, honest, 10, 5, 30*time.Second); got != 10 {
		t.Errorf("%d/10 echoes of the honest client came back during the flood", got)
	}
	stop()
	wg.Wait()
	total := sent[0] + sent[1] + sent[2] + sent[3]
	dropped := gw.Metrics().Dropped(mixnode.DropClientQueueFull)
	t.Logf("flooder wrote %d frames; the gateway dropped %d from the flooder's queues, %d as overload",
		total, dropped, gw.Metrics().Dropped(mixnode.DropOverload))
	if dropped == 0 {
		t.Error("the flood never filled the flooder's queue: the test did not load the gateway")
	}
}
