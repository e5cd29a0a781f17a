package client

import (
	"context"
	"time"
)

// PingResult is the outcome of one echo probe.
type PingResult struct {
	Seq int
	RTT time.Duration
	Err error
}

// PingSummary sums up a ping run.
type PingSummary struct {
	Sent, Received int
	Min, Avg, Max  time.Duration
}

// Ping sends count echo probes through full random paths, one every interval
// (they overlap in flight), waits for each reply up to timeout, and reports
// each result to report (called from one goroutine, in sequence order).
func (c *Client) Ping(ctx context.Context, count int, interval, timeout time.Duration, report func(PingResult)) PingSummary {
	results := make([]chan PingResult, count)
	for i := range results {
		results[i] = make(chan PingResult, 1)
	}
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < count; i++ {
			go func(i int) {
				pctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				rtt, err := c.Echo(pctx)
				results[i] <- PingResult{Seq: i + 1, RTT: rtt, Err: err}
			}(i)
			if i+1 < count {
				select {
				case <-ctx.Done():
					for j := i + 1; j < count; j++ {
						results[j] <- PingResult{Seq: j + 1, Err: ctx.Err()}
					}
					return
				case <-tick.C:
				}
			}
		}
	}()
	var s PingSummary
	var total time.Duration
	for i := range results {
		r := <-results[i]
		s.Sent++
		if r.Err == nil {
			s.Received++
			total += r.RTT
			if s.Min == 0 || r.RTT < s.Min {
				s.Min = r.RTT
			}
			if r.RTT > s.Max {
				s.Max = r.RTT
			}
		}
		if report != nil {
			report(r)
		}
	}
	if s.Received > 0 {
		s.Avg = total / time.Duration(s.Received)
	}
	return s
}
