package mixnode

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// offlineNode is a node without a host: enough to run packets through
// unwrap, the replay check, the delay queue and the exit.
func offlineNode(t testing.TB) *Node {
	cfg := config.DefaultNode()
	cfg.DataDir = t.TempDir()
	n := freshState(t, &Node{cfg: cfg, clock: pki.NewClock(cfg.Network.EpochLength), keys: newEpochKeys()})
	n.keys.rotate(n.clock.Current())
	return n
}

// freshState returns a node with base's config, identity, clock and epoch
// keys but nothing else of its state: an empty replay cache, queue and
// counters. Fuzz targets take one per input, so that no input is judged by
// what earlier inputs left behind.
func freshState(t testing.TB, base *Node) *Node {
	n := &Node{
		cfg: base.cfg, id: base.id, log: discardLogger(), clock: base.clock,
		sphinx: wire.NewSphinx(), keys: base.keys, replay: newReplayCacheSize(1 << 12),
		queue: newDelayQueue(64), inbox: make(chan inbound, 64),
		clients: newClientTable(), loops: newLoopTable(),
		known: map[pki.NodeID]knownNode{},
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	t.Cleanup(n.cancel)
	n.links = newLinkPool(n)
	return n
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// seedPackets builds valid packets for n: a forward hop, an exit request
// with a SURB, and a gateway delivery.
func seedPackets(t testing.TB, n *Node) [][]byte {
	e := n.clock.Current()
	pub, _ := n.keys.public(e)
	self := hopFor(n, pub)
	other := wire.Hop{ID: pki.NodeID{1}, Key: pub, Delay: time.Millisecond}
	s := wire.NewSphinx()
	var out [][]byte
	payload, _ := wire.EncodeForwardPayload(nil, wire.OpDrop, []byte("x"))
	if p, err := wire.NewForward(s, []wire.Hop{self, other}, payload); err == nil {
		out = append(out, p)
	}
	surb, err := wire.NewSURB(s, []wire.Hop{other, self}, [32]byte{7})
	if err == nil {
		pl, _ := wire.EncodeForwardPayload(surb.Block, wire.OpEcho, []byte("ping"))
		if p, err := wire.NewForward(s, []wire.Hop{self}, pl); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// hopFor is the path hop for node n with Sphinx key pub.
func hopFor(n *Node, pub []byte) wire.Hop {
	return wire.Hop{ID: n.id, Key: pub, Delay: time.Millisecond}
}

// FuzzProcess feeds arbitrary frames to a node's packet processing: none may
// panic it, whatever the bytes (garbage, flipped bits of valid packets,
// low-order group elements). Each input meets a node of its own (same keys,
// fresh replay cache and queue), so a mutant of a seed is not dropped as a
// replay of it, and a panic inside the Sphinx library fails the target
// instead of being recovered.
func FuzzProcess(f *testing.F) {
	base := offlineNode(f)
	for _, p := range seedPackets(f, base) {
		f.Add(p)
	}
	f.Add(make([]byte, wire.PacketLength))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := freshState(t, base)
		n.panicky = true
		pkt := make([]byte, wire.PacketLength)
		copy(pkt, b)
		n.process(pkt)
		// Drain whatever was queued so the queue never fills up.
		for {
			n.queue.mu.Lock()
			if len(n.queue.items) == 0 {
				n.queue.mu.Unlock()
				break
			}
			a := n.queue.items[0]
			n.queue.items = n.queue.items[1:]
			n.queue.mu.Unlock()
			n.metrics.QueueLength.Add(1)
			n.release(a)
		}
	})
}

// FuzzExit feeds arbitrary payloads to the exit role.
func FuzzExit(f *testing.F) {
	n := offlineNode(f)
	for _, op := range []wire.Op{wire.OpDrop, wire.OpEcho, wire.OpLoop, 99} {
		p, _ := wire.EncodeForwardPayload(make([]byte, wire.Geometry.SURBLength), op, []byte("body"))
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		payload := make([]byte, wire.Geometry.ForwardPayloadLength)
		copy(payload, b)
		n.exit(payload)
	})
}
