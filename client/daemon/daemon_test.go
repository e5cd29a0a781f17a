package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestCloseWithLiveContext: Close stops the daemon although the context it
// was started with never ends (it used to wait for that context forever).
func TestCloseWithLiveContext(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	home := t.TempDir()
	if _, err := client.Init(home, []byte("a passphrase")); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), home, []byte("a passphrase"), net.Client, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return within 30 s")
	}
}

// TestStartsOffline: with every gateway down the daemon starts all the
// same, serves local commands and says since when it is offline; when the
// gateways come back it connects by itself.
func TestStartsOffline(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	for i := range net.Nodes {
		net.StopNode(i)
	}
	home := t.TempDir()
	if _, err := client.Init(home, []byte("a passphrase")); err != nil {
		t.Fatal(err)
	}
	// As a user's config usually is: the network id, not its file, so
	// the parameters come only from a gateway.
	cfg := net.Client
	cfg.NetworkFile, cfg.Params = "", nil
	d, err := daemon.Start(ctx, home, []byte("a passphrase"), cfg, log)
	if err != nil {
		t.Fatalf("start with every gateway down: %v", err)
	}
	// Polls and the cover loop run meanwhile; the daemon must not fall over
	// for want of the parameters (the clock had no epoch length).
	t.Cleanup(func() { d.Close() })
	api := daemon.Connect(home)
	s, err := api.Status(ctx)
	if err != nil || s.OfflineSince == nil {
		t.Fatalf("status while offline: %+v, %v", s, err)
	}
	if _, err := api.Invite(ctx, "bob"); err != nil {
		t.Fatalf("a local command while offline: %v", err)
	}
	for i := range net.Nodes {
		if err := net.RestartNode(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	for {
		s, err := api.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.OfflineSince == nil && s.Nodes == len(net.Nodes) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never came online: %+v", s)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startDaemon makes a user (client.Init in a fresh home) and runs its
// daemon on cfg until the test ends; it returns the daemon's API.
func startDaemon(t *testing.T, ctx context.Context, cfg config.Client, log *slog.Logger) *daemon.API {
	t.Helper()
	home := t.TempDir()
	if _, err := client.Init(home, []byte("a passphrase")); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(ctx, home, []byte("a passphrase"), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return daemon.Connect(home)
}
