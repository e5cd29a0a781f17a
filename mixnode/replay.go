package mixnode

import (
	"hash/maphash"
	"math"
	"sync"
)

// Replay filter sizing. Each epoch's filter is a Bloom filter of
// replayFilterBytes with replayHashes probes per tag, which holds
// replayCapacity tags at a false-positive rate of at most 1e-6 (one honest
// packet in a million dropped as a replay once the filter is that full).
// 8.9 million packets per epoch is 7400 per second over a 20-minute epoch,
// more than a node on two cores unwraps. Two epochs are held (the current
// one and the one before), three in the last minutes of an epoch when the
// next epoch's key opens packets (at most 96 MiB), and a page of a filter
// is only resident once a tag touches it.
const (
	replayFilterBytes = 32 << 20
	replayHashes      = 20 // -log2(1e-6)
	replayFPRate      = 1e-6
)

// replayCapacity is how many tags a filter holds at replayFPRate:
// m·ln²2 / -ln p.
var replayCapacity = int(float64(replayFilterBytes*8) * math.Ln2 * math.Ln2 / -math.Log(replayFPRate))

// replayCache remembers the replay tag of every packet processed, per epoch
// of the key that opened it, in a Bloom filter of fixed size: it may call a
// new tag seen (at most replayFPRate, while an epoch has seen at most
// replayCapacity packets) but never misses a replay. Tags of an epoch are
// forgotten with its key: after that no packet for the epoch can be opened,
// so none can be replayed.
type replayCache struct {
	mu      sync.Mutex
	seed    [2]maphash.Seed // keyed hashing: a sender cannot aim at bits
	size    int             // bytes per filter
	filters map[uint64][]uint64
}

func newReplayCache() *replayCache { return newReplayCacheSize(replayFilterBytes) }

func newReplayCacheSize(bytes int) *replayCache {
	return &replayCache{seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, size: bytes, filters: map[uint64][]uint64{}}
}

// seen records tag for epoch and reports whether it was (probably) there.
func (c *replayCache) seen(epoch uint64, tag []byte) bool {
	c.mu.Lock()
	f, ok := c.filters[epoch]
	if !ok {
		// Allocated (32 MiB, zeroed) without the lock, so the other
		// workers do not wait for it at an epoch boundary.
		c.mu.Unlock()
		fresh := make([]uint64, c.size/8)
		c.mu.Lock()
		if f, ok = c.filters[epoch]; !ok {
			f = fresh
			c.filters[epoch] = f
		}
	}
	defer c.mu.Unlock()
	return c.probe(f, tag, true)
}

// probe reports whether every bit of tag is set in f, setting them if set.
func (c *replayCache) probe(f []uint64, tag []byte, set bool) bool {
	h1 := maphash.Bytes(c.seed[0], tag)
	h2 := maphash.Bytes(c.seed[1], tag) | 1
	bits := uint64(len(f)) * 64
	all := true
	for i := range uint64(replayHashes) {
		b := (h1 + i*h2) % bits
		w, m := b/64, uint64(1)<<(b%64)
		if f[w]&m == 0 {
			all = false
			if !set {
				return false
			}
			f[w] |= m
		}
	}
	return all
}

// forgetBefore drops the filters of every epoch older than e.
func (c *replayCache) forgetBefore(e uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.filters {
		if k < e {
			delete(c.filters, k)
		}
	}
}
