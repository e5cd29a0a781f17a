package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
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
