// Package testseam lets the tests of other packages of this module reach
// into running mix nodes: inject packet loss, and read a node's DHT. It is
// internal, so nothing outside this module can use it, and nothing but tests
// sets or calls it; a node that runs without tests never has a drop rate.
package testseam

import (
	"math"
	"math/rand/v2"
	"sync/atomic"

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
