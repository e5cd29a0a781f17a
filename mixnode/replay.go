package mixnode

import "sync"

// replayCache remembers the replay tag of every packet processed, per epoch
// of the key that opened it. Tags of an epoch are forgotten with its key:
// after that no packet for the epoch can be opened, so none can be replayed.
type replayCache struct {
	mu     sync.Mutex
	epochs map[uint64]map[[32]byte]struct{}
}

func newReplayCache() *replayCache {
	return &replayCache{epochs: map[uint64]map[[32]byte]struct{}{}}
}

// seen records tag for epoch and reports whether it was already there.
func (c *replayCache) seen(epoch uint64, tag []byte) bool {
	var k [32]byte
	copy(k[:], tag)
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.epochs[epoch]
	if !ok {
		m = map[[32]byte]struct{}{}
		c.epochs[epoch] = m
	}
	if _, dup := m[k]; dup {
		return true
	}
	m[k] = struct{}{}
	return false
}

// forgetBefore drops the tags of every epoch older than e.
func (c *replayCache) forgetBefore(e uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.epochs {
		if k < e {
			delete(c.epochs, k)
		}
	}
}
