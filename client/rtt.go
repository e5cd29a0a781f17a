package client

import (
	"sync"
	"time"
)

// rttEstimator is TCP's retransmission timer (RFC 6298) for requests
// through the mix network: a smoothed round trip (SRTT) and its variation
// (RTTVAR) from every reply, and a timeout of SRTT + 4·RTTVAR, never under
// the floor that the mixing delays set. Every try of a request is a new
// packet with its own SURB, so every reply is an unambiguous sample, also
// one that arrives after its try was given up (Karn's rule, which skips
// retransmitted segments, has no cause here). Those late replies are
// sampled too (readFrames): on a network slower than the floor assumes,
// no reply would otherwise ever come in time to be measured, and the
// timeout would stay below the round trip for good.
type rttEstimator struct {
	mu           sync.Mutex
	srtt, rttvar time.Duration
	samples      int
}

// rtoMax bounds the timeout: past it a request is tried again anyway.
const rtoMax = time.Minute

func (e *rttEstimator) sample(r time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		e.srtt, e.rttvar = r, r/2
	} else {
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.samples++
}

// timeout is the retransmission timeout: initial before any sample, then
// SRTT + 4·RTTVAR within [floor, rtoMax].
func (e *rttEstimator) timeout(floor, initial time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		return initial
	}
	return min(max(e.srtt+4*e.rttvar, floor), rtoMax)
}
