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
// contents): what a global passive observer of the links sees. Its buf
// names the buffer the node holds the packet in, for ForwardObserver to refer to;
// a passive observer does not see it, and only ForwardObserver gives it a
// meaning.
type FrameObserver func(at time.Time, from, to peer.ID, size int, buf *byte)

// ForwardObserver is told that node is handing the packet it read into buf
// (the buf FrameObserver was told of, or a buffer of its own for a packet it made, such
// as a loop) to its link to next: what a corrupt node knows and tells a
// global observer, which link a departure to an arrival. The observer
// decides which nodes are corrupt by which of these reports it keeps.
type ForwardObserver func(at time.Time, node, next peer.ID, buf *byte)

var (
	frameObs atomic.Pointer[FrameObserver]
	fwdObs   atomic.Pointer[ForwardObserver]
)

// ObserveFrames makes every mix node of the process report every frame it
// reads from a link (from a client or another node) and every frame it
// writes to a client, until restore is called (use t.Cleanup). Only the
// anonymity tests (internal/anonymity) set it.
func ObserveFrames(f FrameObserver) (restore func()) {
	old := frameObs.Swap(&f)
	return func() { frameObs.Store(old) }
}

// ObserveForwards makes every mix node of the process report every packet
// it hands to a link to another node, until restore is called: the
// anonymity tests' corrupt nodes.
func ObserveForwards(f ForwardObserver) (restore func()) {
	old := fwdObs.Swap(&f)
	return func() { fwdObs.Store(old) }
}

// Observing reports whether a test set a frame observer: callers guard
// Frame with it, so that without one a frame costs one inlined atomic load
// and none of Frame's arguments are evaluated.
func Observing() bool { return frameObs.Load() != nil }

// Betraying reports whether a test set a forward observer (see Observing).
func Betraying() bool { return fwdObs.Load() != nil }

// Frame reports a frame held in buf to the observer, if a test set one.
func Frame(from, to peer.ID, buf []byte) {
	if f := frameObs.Load(); f != nil && *f != nil {
		(*f)(time.Now(), from, to, len(buf), bufID(buf))
	}
}

// Forward reports that node hands the packet in buf to its link to next,
// if a test set an observer.
func Forward(node, next peer.ID, buf []byte) {
	if f := fwdObs.Load(); f != nil && *f != nil {
		(*f)(time.Now(), node, next, bufID(buf))
	}
}

// bufID names buf by its first byte: a node unwraps a packet in place, so
// the buffer it forwards is the one it read.
func bufID(buf []byte) *byte {
	if len(buf) == 0 {
		return nil
	}
	return &buf[0]
}
