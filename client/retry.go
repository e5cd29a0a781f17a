package client

import (
	"context"
	"fmt"
	"time"

	"github.com/komrade-net/komrade/internal/backoff"
	"github.com/komrade-net/komrade/wire"
)

// Retry runs f, one request through the mix network, until it succeeds, up
// to tries times, each try within ReplyTimeout (which follows the measured
// round trips). A mix network loses packets, so its callers repeat only
// reads and puts of the same bytes, which storage nodes take as often as
// they come. A final answer (wire.IsFinal: invalid, not found, too
// large…) is returned at once. Tries are paced by a backoff from one second,
// less the time the try took, so that tries that fail at once (the send
// queue full, no directory yet) are spread over time, not spent in a burst.
//
// Every try waits ReplyTimeout: doubling it per try, as TCP backs off its
// timer, was taken back (lost packets here are losses, not congestion; with
// 5% loss per node a read's tenth try waited 25 s).
func (c *Client) Retry(ctx context.Context, tries int, f func(context.Context) error) error {
	var last error
	bo := backoff.Backoff{Min: time.Second, Max: 8 * time.Second}
	for try := 0; try < tries; try++ {
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, c.ReplyTimeout())
		err := f(tctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wire.IsFinal(err) {
			return err
		}
		last = err
		if try == tries-1 {
			break // no wait after the last try
		}
		c.log.Debug("no answer; trying again", "try", try+1, "err", err)
		if err := backoff.Sleep(ctx, bo.Next()-time.Since(start)); err != nil {
			return err
		}
	}
	return fmt.Errorf("no answer after %d tries: %w", tries, last)
}
