package mixnode

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Node cover traffic (Loopix λM): at Poisson times the node sends a loop
// packet through one node of each layer and back to itself. To every other
// node it looks like any forward packet. Loops that do not come back in time
// are counted as lost, a sign of an active attack or a broken path.

type loopTable struct {
	mu      sync.Mutex
	pending map[[16]byte]time.Time // loop id -> deadline
}

func newLoopTable() *loopTable { return &loopTable{pending: map[[16]byte]time.Time{}} }

func (t *loopTable) add(id [16]byte, deadline time.Time) {
	t.mu.Lock()
	t.pending[id] = deadline
	t.mu.Unlock()
}

// returned reports whether body is the id of a pending loop, and counts it.
func (t *loopTable) returned(body []byte, m *Metrics) bool {
	if len(body) != 16 {
		return false
	}
	var id [16]byte
	copy(id[:], body)
	t.mu.Lock()
	_, ok := t.pending[id]
	delete(t.pending, id)
	t.mu.Unlock()
	if ok {
		m.LoopsReturned.Add(1)
	}
	return ok
}

// sweepLoop counts loops past their deadline as lost.
func (t *loopTable) sweepLoop(m *Metrics) func(ctx context.Context) {
	return func(ctx context.Context) {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				t.mu.Lock()
				for id, dl := range t.pending {
					if now.After(dl) {
						delete(t.pending, id)
						m.LoopsLost.Add(1)
					}
				}
				t.mu.Unlock()
			}
		}
	}
}

func (n *Node) coverLoop(ctx context.Context) {
	if n.cfg.LambdaM <= 0 {
		return
	}
	timer := time.NewTimer(wire.ExpInterval(n.cfg.LambdaM))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n.sendLoop()
		timer.Reset(wire.ExpInterval(n.cfg.LambdaM))
	}
}

// sendLoop builds and sends one loop packet: L1 → L2 → L3 → this node.
func (n *Node) sendLoop() {
	dir := n.Directory()
	if dir == nil {
		return
	}
	self, ok := dir.Lookup(n.id)
	if !ok {
		return // not in the directory (yet): nobody would route to us either
	}
	epoch := n.clock.Current()
	route, err := pki.RandomRoute(dir, n.id) // loops cross other mixes only
	if err != nil {
		return
	}
	hops, err := pki.HopsFor(epoch, n.cfg.Network.Mu, route[0], route[1], route[2], self)
	if err != nil {
		return
	}
	var id [16]byte
	rand.Read(id[:])
	payload, err := wire.EncodeForwardPayload(nil, wire.OpLoop, id[:])
	if err != nil {
		return
	}
	pkt, err := wire.NewForward(n.sphinx, hops, payload)
	if err != nil {
		n.log.Warn("loop packet", "err", err)
		return
	}
	var total time.Duration
	for _, h := range hops {
		total += h.Delay
	}
	n.loops.add(id, time.Now().Add(total+4*n.cfg.Network.MaxDelay+10*time.Second))
	n.metrics.LoopsSent.Add(1)
	n.forward(pki.NodeID(hops[0].ID), pkt)
}
