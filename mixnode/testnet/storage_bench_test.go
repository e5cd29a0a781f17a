package testnet_test

// Storage through the mix network (issue 4): the round trip of a client's
// get-box, against a direct node-side GetRecord of the same box on the same
// 12-node network. docs/benchmarks-storage.md has the results.
//
//	go test -run '^$' -bench GetBoxMixnet -benchtime 200x ./mixnode/testnet/
//
// Give an explicit count (-benchtime=200x): the p50/p99 metrics come from
// the latencies of the b.N operations of the last run.

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire/record"
)

// benchMu is the mean per-hop mixing delay of the benchmark network.
const benchMu = time.Millisecond

// benchMixHops is how many hops delay a request and its reply: the gateway
// and three mix layers out (the last one is the exit), three layers and the
// gateway back (client.Request).
const benchMixHops = 8

// benchLatencies returns the nearest-rank p50 and p99 of lat.
func benchLatencies(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return rank(0.50), rank(0.99)
}

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkGetBoxMixnet times client.GetBox of one stored box through a
// 12-node network (mu = 1 ms, no loop cover traffic), and, as the
// GetRecordDirect12 sub-benchmark, dht.Node.GetRecord of the same box from
// a random node of the same network, so that the ratio
// (mixnet p50 - mixing delay) / direct p50 comes from one run. The Echo
// sub-benchmark is the same round trip without a DHT operation at the exit.
func BenchmarkGetBoxMixnet(b *testing.B) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	net, err := testnet.Start(ctx, testnet.Options{
		Nodes: 12, Mu: benchMu, LambdaM: -1, Logger: discard, Dir: b.TempDir(),
	})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(net.Close)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	c, err := client.Dial(ctx, net.Client, discard)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })

	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	blob := make([]byte, 1024)
	rand.Read(blob)
	id, val, err := record.SealBox(wc, wc.GetFirstMessageBoxIndex(), []byte("komrade bench"), blob, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	_, err = c.PutBox(ctx, id, val)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	mix := benchMixHops * benchMu

	var mixP50 time.Duration
	b.Run("GetBox", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := time.Now()
			box, err := c.GetBox(ctx, id)
			d := time.Since(start)
			cancel()
			if err != nil {
				b.Fatalf("get box: %v", err)
			}
			if string(box.Blob) != string(blob) {
				b.Fatal("box content differs")
			}
			lat = append(lat, d)
		}
		b.StopTimer()
		p50, p99 := benchLatencies(lat)
		mixP50 = p50
		b.ReportMetric(benchMS(p50), "p50-ms")
		b.ReportMetric(benchMS(p99), "p99-ms")
		b.ReportMetric(benchMS(mix), "mixdelay-ms")
		b.ReportMetric(benchMS(p50-mix), "p50-minus-mix-ms")
	})

	// The same round trip without the DHT: what the mix network alone adds.
	b.Run("Echo", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := time.Now()
			_, err := c.Echo(ctx)
			d := time.Since(start)
			cancel()
			if err != nil {
				b.Fatalf("echo: %v", err)
			}
			lat = append(lat, d)
		}
		b.StopTimer()
		p50, p99 := benchLatencies(lat)
		b.ReportMetric(benchMS(p50), "p50-ms")
		b.ReportMetric(benchMS(p99), "p99-ms")
		b.ReportMetric(benchMS(p50-mix), "p50-minus-mix-ms")
	})

	b.Run("GetRecordDirect12", func(b *testing.B) {
		key := record.BoxKey(id)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			n := testseam.NodeDHT(net.Nodes[mrand.IntN(len(net.Nodes))])
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := time.Now()
			v, err := n.GetRecord(ctx, key)
			d := time.Since(start)
			cancel()
			if err != nil {
				b.Fatalf("get record: %v", err)
			}
			if string(v) != string(val) {
				b.Fatal("record differs")
			}
			lat = append(lat, d)
		}
		b.StopTimer()
		p50, p99 := benchLatencies(lat)
		b.ReportMetric(benchMS(p50), "p50-ms")
		b.ReportMetric(benchMS(p99), "p99-ms")
		if mixP50 > 0 && p50 > 0 {
			b.ReportMetric(float64(mixP50-mix)/float64(p50), "mix-excess/direct")
		}
	})
}
