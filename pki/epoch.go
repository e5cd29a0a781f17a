package pki

import (
	"fmt"
	"time"
)

// Clock turns wall time into epochs of a fixed length counted from the Unix
// epoch. Every participant of a network must use the same length.
type Clock struct {
	Period time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// NewClock returns a clock with the given epoch length.
func NewClock(period time.Duration) Clock { return Clock{Period: period} }

func (c Clock) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Current returns the current epoch.
func (c Clock) Current() uint64 { return c.At(c.now()) }

// At returns the epoch containing t.
func (c Clock) At(t time.Time) uint64 {
	if c.Period <= 0 {
		panic(fmt.Sprintf("directory: epoch period %v", c.Period))
	}
	return uint64(t.UnixNano() / int64(c.Period))
}

// Start returns when epoch e begins.
func (c Clock) Start(e uint64) time.Time { return time.Unix(0, int64(e)*int64(c.Period)) }

// Position returns the current epoch and how long ago it began.
func (c Clock) Position() (epoch uint64, into time.Duration) {
	now := c.now()
	epoch = c.At(now)
	return epoch, now.Sub(c.Start(epoch))
}

// UntilNext returns the time left in the current epoch.
func (c Clock) UntilNext() time.Duration {
	now := c.now()
	return c.Start(c.At(now) + 1).Sub(now)
}

// Fresh reports whether a descriptor issued in epoch e is acceptable now:
// from the previous, current or next epoch (one epoch of clock skew).
func (c Clock) Fresh(e uint64) bool {
	cur := c.Current()
	return e+1 >= cur && e <= cur+1
}
