package mixnode

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/komrade-net/komrade/wire"
)

// TestLinkSurvivesNextHopRestart: when the next hop drops the connection, as
// a restart does, the node's open mix stream is dead; the first packet after
// that is written again on a new stream, not lost.
func TestLinkSurvivesNextHopRestart(t *testing.T) {
	n := startPinnedNode(t)
	sink := startSink(t, n)
	nodePub, ok := n.keys.public(n.clock.Current())
	if !ok {
		t.Fatal("node has no key for the current epoch")
	}
	hops := []wire.Hop{{ID: n.ID(), Key: nodePub}, sink.hop}
	payload, err := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(want int64) {
		t.Helper()
		pkt, err := wire.NewForward(n.sphinx, hops, payload)
		if err != nil {
			t.Fatal(err)
		}
		n.submit(pkt)
		if !sink.waitCount(want, time.Now().Add(20*time.Second)) {
			t.Fatalf("sink counted %d of %d frames; node metrics %+v", sink.count.Load(), want, n.Metrics().Snapshot())
		}
	}
	for round := int64(1); round <= 3; round++ {
		send(2*round - 1) // opens (or reopens) the link
		if err := sink.host.Network().ClosePeer(n.PeerID()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for n.dht.Host.Network().Connectedness(sink.host.ID()) == network.Connected {
			if time.Now().After(deadline) {
				t.Fatal("the node never saw the connection close")
			}
			time.Sleep(10 * time.Millisecond)
		}
		send(2 * round) // written first on the dead stream
	}
	if snap := n.Metrics().Snapshot(); len(snap.Dropped) > 0 {
		t.Fatalf("node dropped packets: %v", snap.Dropped)
	}
}
