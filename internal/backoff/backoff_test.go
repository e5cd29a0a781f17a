package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNextDoublesWithinBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		if d := b.Next(); d < w/2 || d > w {
			t.Fatalf("wait %d: %v, want in [%v, %v]", i, d, w/2, w)
		}
	}
	b.Reset()
	if d := b.Next(); d > 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want at most Min", d)
	}
}

func TestMaxBelowMin(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Millisecond}
	for range 3 {
		if d := b.Next(); d > time.Second || d < time.Second/2 {
			t.Fatalf("wait %v, want Min's range", d)
		}
	}
}

func TestWaitStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := Backoff{Min: time.Hour, Max: time.Hour}
	if err := b.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait: %v, want context.Canceled", err)
	}
}
