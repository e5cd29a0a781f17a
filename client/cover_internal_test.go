package client

import (
	"context"
	"testing"
)

// TestBackgroundWaits checks that a background request's packet takes a
// slot only when no other packet waits, and that a packet whose request
// gave up takes none.
func TestBackgroundWaits(t *testing.T) {
	cv := &cover{queue: make(chan queued, 4), bulk: make(chan queued, 4)}
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	cv.bulk <- queued{[]byte("feed"), Background(ctx)}
	cv.queue <- queued{[]byte("stale"), gone}
	cv.queue <- queued{[]byte("message"), ctx}
	for _, want := range []string{"message", "feed", ""} {
		if got := string(cv.next()); got != want {
			t.Fatalf("next = %q, want %q", got, want)
		}
	}
	if !isBackground(Background(ctx)) || isBackground(ctx) {
		t.Fatal("Background mark")
	}
}
