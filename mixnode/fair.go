package mixnode

import (
	"context"
	"sync"
)

// Fairness at the gateway. Packets from mix links go straight to the unwrap
// workers' inbox. Packets from client links wait in a small queue per client
// link, and one dispatcher moves them to the workers round-robin, one packet
// per client in turn, so that a client that floods its link fills and loses
// only its own queue: every other client keeps its turn. The workers take
// from mix links and from the dispatcher alike (select is fair between
// ready channels), so clients together never take more than about half of
// a saturated node from the mix traffic.

// clientQueueLen bounds one client's packets waiting for their turn. A
// client's cover traffic is a few packets a second; 64 is many seconds of it.
// fairTotal bounds the packets of all clients together (peer ids are free,
// so many links must not add up to unbounded memory): 4096 packets, 13 MB.
const (
	clientQueueLen = 64
	fairTotal      = 4096
)

// fairQueue holds the client queues that have packets, in turn order.
type fairQueue struct {
	mu    sync.Mutex
	total int // packets waiting, all clients
	ring  []*clientQueue
	wake  chan struct{} // one token: the ring went from empty to non-empty
}

// clientQueue is one client link's waiting packets.
type clientQueue struct {
	pkts   [][]byte
	inRing bool
}

func newFairQueue() *fairQueue { return &fairQueue{wake: make(chan struct{}, 1)} }

// push queues pkt for client c; false when c's queue, or all clients'
// together, are full (the packet is dropped).
func (f *fairQueue) push(c *clientQueue, pkt []byte) bool {
	f.mu.Lock()
	if len(c.pkts) >= clientQueueLen || f.total >= fairTotal {
		f.mu.Unlock()
		return false
	}
	f.total++
	c.pkts = append(c.pkts, pkt)
	if !c.inRing {
		c.inRing = true
		f.ring = append(f.ring, c)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return true
}

// pop takes the next packet in turn order.
func (f *fairQueue) pop() ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ring) == 0 {
		return nil, false
	}
	c := f.ring[0]
	f.ring[0] = nil
	f.ring = f.ring[1:]
	f.total--
	p := c.pkts[0]
	c.pkts[0] = nil
	c.pkts = c.pkts[1:]
	if len(c.pkts) > 0 {
		f.ring = append(f.ring, c) // to the back: everyone else goes first
	} else {
		c.inRing = false
		c.pkts = nil
	}
	return p, true
}

// dispatch moves client packets to out in turn order until ctx ends.
func (f *fairQueue) dispatch(ctx context.Context, out chan<- inbound) {
	for {
		p, ok := f.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case out <- inbound{pkt: p}:
		}
	}
}
