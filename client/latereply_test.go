package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestLateReplyMeasured: a reply that arrives after its request was given
// up still measures the round trip. On a network whose links add 50–150 ms,
// an echo given up after 20 ms comes back later and becomes the estimator's
// sample: without it, a timeout below the real round trip would never see a
// reply in time and never learn.
func TestLateReplyMeasured(t *testing.T) {
	if testing.Short() {
		t.Skip("through a mix network with slow links")
	}
	const min = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quietLogger(),
		Delay: testnet.Delay{Min: min, Max: 3 * min}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	c, err := client.Dial(ctx, net.Client, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, n := client.RTTForTest(c); n != 0 {
		t.Fatalf("%d round trips measured before any request", n)
	}
	// Tries until one packet left and was given up, and its reply came. A
	// try can also end before its packet left (20 ms is short for a
	// directory fetch, when the client needs one) or its packet be lost:
	// then it tries again, until ctx ends.
	for {
		ectx, ecancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := c.Echo(ectx)
		ecancel()
		if err == nil {
			t.Fatal("an echo came back within 20 ms through links of at least 50 ms")
		}
		if ctx.Err() != nil {
			t.Fatalf("no late reply measured: %v", err)
		}
		t.Logf("echo given up: %v", err)
		if !errors.Is(err, context.DeadlineExceeded) {
			// It did not leave: fetch what it lacked with time to do it.
			if err := c.RefreshDirectory(ctx); err != nil {
				t.Logf("directory: %v", err)
			}
			continue
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if srtt, n := client.RTTForTest(c); n > 0 {
				if srtt < 2*min {
					t.Fatalf("measured %v, less than the client's link there and back (%v)", srtt, 2*min)
				}
				t.Logf("late reply measured: %v", srtt)
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no late reply measured: %v", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}
