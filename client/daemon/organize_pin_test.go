package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestPinAPI: over the API a daemon queues a pin, sends an alert and a
// confirmation, streams both to a running watch, lists them with what a
// map needs, and counts them in its status.
func TestPinAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	cfg := net.Client
	cfg.Watch = []config.WatchArea{{Near: "48.8566,2.3522", RadiusKM: 3}}
	cfg.PinDelayMin, cfg.PinDelayMax = &config.Duration{Duration: time.Second}, &config.Duration{Duration: time.Second}
	cfg.WatchEvery = &config.Duration{Duration: 5 * time.Second}
	api := startDaemon(t, ctx, cfg, log)

	var mu sync.Mutex
	seen := map[string]pin.Marker{}
	started := make(chan struct{})
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- api.Watch(wctx, daemon.PinsRequest{}, func() { close(started) }, func(m pin.Marker) error {
			mu.Lock()
			seen[m.ID] = m
			mu.Unlock()
			return nil
		})
	}()
	<-started

	p, err := api.Pin(ctx, daemon.PinRequest{Kind: "medic", At: "48.857,2.353", Note: "first aid"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Pin(ctx, daemon.PinRequest{Kind: "unicorn", At: "48.857,2.353"}); err == nil {
		t.Fatal("a pin of an unknown kind")
	}
	alertID, err := api.Alert(ctx, daemon.AlertRequest{Near: "48.8566,2.3522", RadiusKM: 1, Text: "kettle: leave by the east"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		mu.Lock()
		a, ok1 := seen[alertID]
		m, ok2 := seen[p.ID]
		mu.Unlock()
		if ok1 && ok2 {
			if a.Type != "alert" || a.Text != "kettle: leave by the east" || m.Kind != "medic" || m.Note != "first aid" {
				t.Fatalf("streamed %+v and %+v", a, m)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the watch did not stream the alert and the pin: %v", seen)
		case <-time.After(200 * time.Millisecond):
		}
	}
	wcancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}

	id, err := api.ConfirmPin(ctx, p.ID[:12], "still")
	if err != nil || id != p.ID {
		t.Fatalf("confirm: %s, %v", id, err)
	}
	r, err := api.Pins(ctx, daemon.PinsRequest{Near: "48.8566,2.3522", RadiusKM: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Watched || len(r.Markers) != 2 || r.Markers[0].Type != "alert" || r.Confirmations != 2 {
		t.Fatalf("pins: %+v", r)
	}
	m := r.Markers[1]
	if m.ID != p.ID || m.Lat == 0 || m.Expires.IsZero() || m.Created.IsZero() || m.Still != 1 || m.Compass == "" {
		t.Fatalf("the pin as listed: %+v", m)
	}
	s, err := api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Watch == nil || s.Watch.Alerts != 1 || s.Watch.Pins != 1 || s.Watch.Areas != 1 {
		t.Fatalf("status counts %+v", s.Watch)
	}
}
