package client

import (
	"testing"
	"time"
)

func TestRTTEstimator(t *testing.T) {
	var e rttEstimator
	floor, initial := 2*time.Second, 5*time.Second
	if got := e.timeout(floor, initial); got != initial {
		t.Fatalf("before any sample: %v, want %v", got, initial)
	}
	for range 50 {
		e.sample(300 * time.Millisecond)
	}
	if got := e.timeout(floor, initial); got != floor {
		t.Fatalf("fast and steady: %v, want the floor %v", got, floor)
	}
	// A network that became slow and jittery: the timeout follows it.
	for i := range 50 {
		e.sample(time.Duration(3000+1000*(i%2)) * time.Millisecond)
	}
	got := e.timeout(floor, initial)
	if got < 4*time.Second || got > 8*time.Second {
		t.Fatalf("slow, jittery samples of 3-4 s: timeout %v", got)
	}
	for range 50 {
		e.sample(10 * time.Minute)
	}
	if got := e.timeout(floor, initial); got != rtoMax {
		t.Fatalf("very slow: %v, want the cap %v", got, rtoMax)
	}
}
