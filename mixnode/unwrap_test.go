package mixnode

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// junk is a packet that passes CheckHeader but no key opens.
func junk(t *testing.T) []byte {
	t.Helper()
	pkt := make([]byte, wire.PacketLength)
	rand.Read(pkt[2:])
	if wire.CheckHeader(pkt) != nil {
		t.Fatal("random group element is low-order")
	}
	return pkt
}

// TestJunkPacketCost: for most of an epoch a junk packet costs one key
// exchange, not one per live key; near a boundary it costs two.
func TestJunkPacketCost(t *testing.T) {
	const period = 20 * time.Minute
	var now time.Time
	n := offlineNode(t)
	n.clock = pki.Clock{Period: period, Now: func() time.Time { return now }}
	start := n.clock.Start(1000)
	now = start
	n.keys = newEpochKeys()
	n.keys.rotate(999)
	n.keys.rotate(1000) // keys for 999, 1000 and 1001 are live
	if len(n.keys.live()) != 3 {
		t.Fatalf("%d live keys, want 3", len(n.keys.live()))
	}
	for _, c := range []struct {
		name   string
		at     time.Duration
		trials uint64
	}{
		{"mid-epoch", period / 2, 1},
		{"just after the boundary", 10 * time.Second, 2},
		{"just before the next", period - 10*time.Second, 2},
	} {
		now = start.Add(c.at)
		before := n.metrics.KeyTrials.Load()
		n.process(junk(t))
		if got := n.metrics.KeyTrials.Load() - before; got != c.trials {
			t.Errorf("%s: %d key exchanges, want %d", c.name, got, c.trials)
		}
	}
	low := make([]byte, wire.PacketLength) // group element 0: low order
	before := n.metrics.KeyTrials.Load()
	n.process(low)
	if got := n.metrics.KeyTrials.Load() - before; got != 0 {
		t.Errorf("low-order packet: %d key exchanges, want 0", got)
	}
}

// TestPreviousEpochPacketWithinGrace: a packet built with the previous
// epoch's key still opens just after the boundary.
func TestPreviousEpochPacketWithinGrace(t *testing.T) {
	const period = 20 * time.Minute
	var now time.Time
	n := offlineNode(t)
	n.clock = pki.Clock{Period: period, Now: func() time.Time { return now }}
	now = n.clock.Start(1000).Add(-time.Second)
	n.keys = newEpochKeys()
	n.keys.rotate(999)
	pub, _ := n.keys.public(999)
	payload, _ := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	pkt, err := wire.NewForward(wire.NewSphinx(), []wire.Hop{hopFor(n, pub)}, payload)
	if err != nil {
		t.Fatal(err)
	}
	now = n.clock.Start(1000).Add(5 * time.Second)
	n.keys.rotate(1000)
	if _, _, err := n.unwrap(pkt); err != nil {
		t.Fatalf("packet of the previous epoch 5 s after the boundary: %v", err)
	}
}
