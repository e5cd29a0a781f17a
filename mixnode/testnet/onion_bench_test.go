package testnet_test

// What Tor costs a client: echo round trips through one gateway, direct and
// over Tor, on the same networks in the same run. docs/benchmarks.md has the
// results.
//
//	go test -run '^$' -bench EchoTorVsDirect -benchtime 100x ./mixnode/testnet/
//
// Setting up the private Tor network takes 30–45 s; it happens once.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
)

// BenchmarkEchoTorVsDirect sends b.N echo probes from each of two clients
// of gateway 0, one over TCP and one through Tor to the gateway's onion
// address, alternating probe by probe and one at a time, so that changes in
// load hit both alike and no probe queues behind another. Every probe
// crosses 4 + 4 mix hops with an Exp(mu) delay each. It reports the p50 and
// mean round trips of both and their differences; lost probes (left out of
// the timing) are counted.
func BenchmarkEchoTorVsDirect(b *testing.B) {
	env := startTorEnv(b)
	direct := dial(b, env.net)
	cfg := env.clientConfig(b, env.tn.SOCKSAddr())
	cfg.Gateways = cfg.Gateways[:1]
	viaTor := env.dial(b, cfg)
	if direct.Gateway() != viaTor.Gateway() {
		b.Fatalf("clients use different gateways: %s and %s", direct.Gateway(), viaTor.Gateway())
	}
	b.Run("alternating", func(b *testing.B) {
		var d, tr []time.Duration
		lost := 0
		echo := func(c *client.Client, out *[]time.Duration) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rtt, err := c.Echo(ctx)
			if err != nil {
				lost++
				return
			}
			*out = append(*out, rtt)
		}
		for i := 0; i < b.N; i++ {
			echo(direct, &d)
			echo(viaTor, &tr)
		}
		if len(d) == 0 || len(tr) == 0 {
			b.Fatalf("no probe came back (%d lost)", lost)
		}
		slices.Sort(d)
		slices.Sort(tr)
		p50 := func(s []time.Duration) float64 { return benchMS(s[len(s)/2]) }
		mean := func(s []time.Duration) float64 {
			var sum time.Duration
			for _, v := range s {
				sum += v
			}
			return benchMS(sum / time.Duration(len(s)))
		}
		b.ReportMetric(p50(d), "direct-p50-ms")
		b.ReportMetric(p50(tr), "tor-p50-ms")
		b.ReportMetric(mean(d), "direct-mean-ms")
		b.ReportMetric(mean(tr), "tor-mean-ms")
		b.ReportMetric(p50(tr)-p50(d), "tor-minus-direct-p50-ms")
		b.ReportMetric(benchMS(d[0]), "direct-min-ms")
		b.ReportMetric(benchMS(tr[0]), "tor-min-ms")
		b.ReportMetric(float64(lost), "lost")
	})
}
