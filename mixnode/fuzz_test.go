package mixnode

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/dht/directory"
	"github.com/komrade-net/komrade/mixnode/packet"
)

// offlineNode is a node without a host: enough to run packets through
// unwrap, the replay check, the delay queue and the exit.
func offlineNode(t testing.TB) *Node {
	cfg := config.DefaultNode()
	cfg.DataDir = t.TempDir()
	n := &Node{
		cfg: cfg, log: discardLogger(), clock: directory.NewClock(cfg.EpochLength.Duration),
		sphinx: packet.NewSphinx(), keys: newEpochKeys(), replay: newReplayCache(),
		queue: newDelayQueue(64), inbox: make(chan inbound, 64),
		clients: newClientTable(), loops: newLoopTable(),
		known: map[directory.NodeID]knownNode{},
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	t.Cleanup(n.cancel)
	n.links = newLinkPool(n)
	n.keys.rotate(n.clock.Current())
	return n
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// seedPackets builds valid packets for n: a forward hop, an exit request
// with a SURB, and a gateway delivery.
func seedPackets(t testing.TB, n *Node) [][]byte {
	e := n.clock.Current()
	pub, _ := n.keys.public(e)
	self := hopFor(n, pub)
	other := packet.Hop{ID: directory.NodeID{1}, Key: pub, Delay: time.Millisecond}
	s := packet.NewSphinx()
	var out [][]byte
	payload, _ := packet.EncodeForwardPayload(nil, packet.OpDrop, []byte("x"))
	if p, err := packet.NewForward(s, []packet.Hop{self, other}, payload); err == nil {
		out = append(out, p)
	}
	surb, err := packet.NewSURB(s, []packet.Hop{other, self}, [32]byte{7})
	if err == nil {
		pl, _ := packet.EncodeForwardPayload(surb.Block, packet.OpEcho, []byte("ping"))
		if p, err := packet.NewForward(s, []packet.Hop{self}, pl); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// hopFor is the path hop for node n with Sphinx key pub.
func hopFor(n *Node, pub []byte) packet.Hop {
	return packet.Hop{ID: n.id, Key: pub, Delay: time.Millisecond}
}

// FuzzProcess feeds arbitrary frames to a node's packet processing: none may
// panic it, whatever the bytes (garbage, flipped bits of valid packets,
// low-order group elements).
func FuzzProcess(f *testing.F) {
	n := offlineNode(f)
	for _, p := range seedPackets(f, n) {
		f.Add(p)
	}
	f.Add(make([]byte, packet.PacketLength))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkt := make([]byte, packet.PacketLength)
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
	for _, op := range []packet.Op{packet.OpDrop, packet.OpEcho, packet.OpLoop, 99} {
		p, _ := packet.EncodeForwardPayload(make([]byte, packet.Geometry.SURBLength), op, []byte("body"))
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		payload := make([]byte, packet.Geometry.ForwardPayloadLength)
		copy(payload, b)
		n.exit(payload)
	})
}
