// Package testseam lets the tests of other packages of this module reach
// into running mix nodes: inject packet loss, read a node's DHT, and watch
// the frames on every link as a global passive observer would. It is
// internal, so nothing outside this module can use it, and nothing but tests
// sets or calls it; a node that runs without tests never has a drop rate.
package testseam

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
)

var dropRate atomic.Uint64 // float64 bits

// SetDropRate makes every mix node of the process drop this fraction of the
// packets it would forward, until restore is called (use t.Cleanup).
func SetDropRate(r float64) (restore func()) {
	old := dropRate.Swap(math.Float64bits(r))
	return func() { dropRate.Store(old) }
}

// Drop reports whether a node should drop the packet at hand.
func Drop() bool {
	r := math.Float64frombits(dropRate.Load())
	return r > 0 && rand.Float64() < r
}

// NodeDHT returns the DHT of a *mixnode.Node. The mixnode package sets it;
// the indirection keeps the accessor out of mixnode's API.
var NodeDHT func(node any) *dht.Node

// FrameObserver is told of one frame on one link: when, which peer wrote it,
// which peer read it, and its size. It learns nothing else (no keys, no
// contents): what a global passive observer of the links sees.
type FrameObserver func(at time.Time, from, to peer.ID, size int)

var frameObs atomic.Pointer[FrameObserver]

// ObserveFrames makes every mix node of the process report every frame it
// reads from a link (from a client or another node) and every frame it
// writes to a client, until restore is called (use t.Cleanup). Only the
// anonymity tests (internal/anonymity) set it.
func ObserveFrames(f FrameObserver) (restore func()) {
	old := frameObs.Swap(&f)
	return func() { frameObs.Store(old) }
}

// Frame reports a frame to the observer, if a test set one; otherwise it
// costs one atomic load.
func Frame(from, to peer.ID, size int) {
	if f := frameObs.Load(); f != nil && *f != nil {
		(*f)(time.Now(), from, to, size)
	}
}
