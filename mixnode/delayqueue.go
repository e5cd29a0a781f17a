package mixnode

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// action is what happens to a packet when its delay is over.
type action struct {
	kind    actionKind
	pkt     []byte    // forward: the transformed packet; exit: the payload; deliver: the payload
	next    [32]byte  // forward: next hop id; deliver: recipient queue id
	surbID  [16]byte  // deliver
	release time.Time // when to act
	queued  time.Time // when it entered the queue
}

type actionKind uint8

const (
	actForward actionKind = iota + 1
	actDeliver
	actExit
)

// delayQueue holds packets until their release time, ordered by it. It is
// bounded: when full, the packet being added is dropped (the newest), so a
// flood never blocks the link readers and memory never grows past the bound.
type delayQueue struct {
	mu    sync.Mutex
	items actionHeap
	max   int
	wake  chan struct{}
}

func newDelayQueue(max int) *delayQueue {
	return &delayQueue{max: max, wake: make(chan struct{}, 1)}
}

// push adds a; it returns false when the queue is full.
func (q *delayQueue) push(a *action) bool {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.mu.Unlock()
		return false
	}
	heap.Push(&q.items, a)
	first := q.items[0] == a
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (q *delayQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// run releases packets to out at their release time until ctx is done.
func (q *delayQueue) run(ctx context.Context, out func(*action)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		var wait time.Duration = -1
		var ready []*action
		now := time.Now()
		for len(q.items) > 0 {
			if d := q.items[0].release.Sub(now); d > 0 {
				wait = d
				break
			}
			ready = append(ready, heap.Pop(&q.items).(*action))
		}
		q.mu.Unlock()
		for _, a := range ready {
			out(a)
		}
		if len(ready) > 0 {
			continue // time has passed while dispatching; look again
		}
		if wait < 0 {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
	}
}

type actionHeap []*action

func (h actionHeap) Len() int           { return len(h) }
func (h actionHeap) Less(i, j int) bool { return h[i].release.Before(h[j].release) }
func (h actionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)        { *h = append(*h, x.(*action)) }
func (h *actionHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}
