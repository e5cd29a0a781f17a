package testnet_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

func testLogger(t testing.TB) *slog.Logger {
	lvl := slog.LevelWarn
	if os.Getenv("KOMRADE_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

func startNet(t testing.TB, opts testnet.Options) *testnet.Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	net, err := testnet.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, n := range net.Nodes {
			if n != nil {
				t.Logf("node %d (%s): %+v", i, n.ID().Short(), n.Metrics().Snapshot())
			}
		}
	})
	return net
}

func dial(t testing.TB, net *testnet.Network) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, net.Client, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echoes sends n echo requests, at most par at a time, and returns how many
// came back.
func echoes(t *testing.T, c *client.Client, n, par int, timeout time.Duration) int {
	t.Helper()
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if _, err := c.Echo(ctx); err != nil {
				t.Logf("echo: %v", err)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

func TestEcho200(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 9})
	c := dial(t, net)
	dir := c.Directory()
	for l, nodes := range dir.Layer {
		if len(nodes) != 3 {
			t.Fatalf("layer %d has %d nodes, want 3", l+1, len(nodes))
		}
	}
	if got := echoes(t, c, 200, 20, 20*time.Second); got != 200 {
		t.Fatalf("%d/200 echo replies", got)
	}
}
