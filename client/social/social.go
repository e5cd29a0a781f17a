package social

import (
	"context"
	"log/slog"
	"sync"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
)

// Social is one user's social layer: what they publish and the local copy
// of what they read. It shares the user's client (the mix-network link),
// identity, store and messenger (contacts: names for authors, friends).
type Social struct {
	c   *client.Client
	id  *client.Identity
	st  *store.Store
	m   *messenger.Messenger
	log *slog.Logger

	tries     int        // tries of one request (messenger.MaxTries)
	profileMu sync.Mutex // one profile publication at a time (see SetProfile)
	fs        feedState  // the refresher's state (refresh.go)
}

// New returns the social layer of a user.
func New(c *client.Client, id *client.Identity, st *store.Store, m *messenger.Messenger, log *slog.Logger) *Social {
	if log == nil {
		log = slog.Default()
	}
	return &Social{c: c, id: id, st: st, m: m, log: log, tries: messenger.MaxTries}
}

// retry runs f, one request through the mix network, as client.Retry
// does, up to s.tries times.
func (s *Social) retry(ctx context.Context, f func(context.Context) error) error {
	return s.c.Retry(ctx, s.tries, f)
}

// window is how many requests one call keeps in flight. They wait for slots
// of the λP stream, and the wait counts against their reply timeout: at
// most three quarters of a timeout's worth of slots is queued, so that a
// try is seldom given up (and sent again) before it has even left, while
// the stream's slots are kept busy. (Half a timeout left slots empty: a
// post with a photo took 33 s at the default rates, against 24 s now, for
// 36 requests in slots of 0.67 s.)
func (s *Social) window() int {
	slot := s.c.SlotInterval()
	if slot <= 0 {
		return maxWindow
	}
	return min(max(int(3*s.c.ReplyTimeout()/(4*slot)), 2), maxWindow)
}

const maxWindow = 8

// parallel runs f(i) for i in [0, n), at most s.window() at once, and
// returns the first error (the others are cancelled).
func (s *Social) parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, s.window())
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}
