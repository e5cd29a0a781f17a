package client

import (
	"math"
	"testing"
)

// TestRatesEvent: Event splits [0, 1) in proportion to λP, λL and λD, and
// Interval has mean 1/Λ (the cover loop and the anonymity simulator both
// draw with them).
func TestRatesEvent(t *testing.T) {
	r := Rates{LambdaP: 1.5, LambdaL: 0.5, LambdaD: 0.5}
	for _, c := range []struct {
		u    float64
		want string
	}{{0, EventSlot}, {0.59, EventSlot}, {0.61, EventLoop}, {0.79, EventLoop}, {0.81, EventDrop}, {0.999, EventDrop}} {
		if got := r.Event(c.u); got != c.want {
			t.Errorf("Event(%v) = %s, want %s", c.u, got, c.want)
		}
	}
	if got := (Rates{LambdaP: 1}).Event(0.999); got != EventSlot {
		t.Errorf("with λP alone, Event = %s", got)
	}
	const n = 20000
	var sum float64
	for range n {
		sum += r.Interval().Seconds()
	}
	if mean := sum / n; math.Abs(mean-1/r.Total()) > 0.03/r.Total() {
		t.Errorf("mean interval %.4f s, want %.4f", mean, 1/r.Total())
	}
}
