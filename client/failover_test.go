package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestGatewayFailover: when the gateway in use stops, the client moves to
// another gateway of its config by itself; requests and loop cover work
// again without a new Dial.
func TestGatewayFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("through the mix network")
	}
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, net.Client, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.StartCover(ctx, client.Rates{LambdaP: 5, LambdaL: 5, LambdaD: 1}); err != nil {
		t.Fatal(err)
	}
	first := c.Gateway()
	if first != net.Nodes[0].PeerID() {
		t.Fatalf("client uses %s, want the first gateway", first)
	}
	echo := func() error {
		ectx, cancel := context.WithTimeout(ctx, c.ReplyTimeout())
		defer cancel()
		_, err := c.Echo(ectx)
		return err
	}
	if err := echo(); err != nil {
		t.Fatal(err)
	}
	if err := net.StopNode(0); err != nil {
		t.Fatal(err)
	}
	for c.Failovers() < 1 {
		if ctx.Err() != nil {
			t.Fatal("the client did not fail over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The directory still lists node 0 until it expires from the others'
	// views, so some paths may fail for a while: poll.
	var last error
	for {
		if last = echo(); last == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no echo after the gateway stopped: %v", last)
		}
	}
	if c.Gateway() == first || c.Failovers() < 1 {
		t.Fatalf("gateway %s after failover (was %s), %d failovers", c.Gateway(), first, c.Failovers())
	}
	before := c.LoopStats().Returned
	deadline := time.Now().Add(30 * time.Second)
	for c.LoopStats().Returned < before+3 {
		if time.Now().After(deadline) {
			t.Fatalf("loop cover does not come back after failover: %+v", c.LoopStats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Cover packets built ahead for the old gateway were built again: the
	// new one never got a packet it could not open.
	for _, n := range net.Nodes {
		if n != nil && n.PeerID() == c.Gateway() {
			if m := n.Metrics().Snapshot(); m.Dropped[mixnode.DropUnwrap] > 0 {
				t.Fatalf("the new gateway dropped %d packets it could not open: %+v", m.Dropped[mixnode.DropUnwrap], m)
			}
		}
	}
}
