// Package backoff is the one pacing rule for trying again after a failure,
// used by every retry loop in Komrade (mix links, gateway failover, directory
// fetches, descriptor publication, requests through the mix network): the
// wait doubles from Min up to Max, each wait is drawn uniformly from its
// upper half so that many peers that failed together do not retry together,
// and a success starts over from Min.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff paces the tries of one loop. The zero value waits nothing; set
// Min and Max. A Backoff is not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the wait before the next try, in [d/2, d] where d doubles
// from Min to Max with each call.
func (b *Backoff) Next() time.Duration {
	d := min(max(b.cur, b.Min), max(b.Max, b.Min))
	b.cur = 2 * d
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Reset starts over from Min, after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Wait sleeps for Next(), or until ctx ends, and returns ctx's error then.
func (b *Backoff) Wait(ctx context.Context) error { return Sleep(ctx, b.Next()) }

// Sleep waits d, or until ctx ends, and returns ctx's error then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
