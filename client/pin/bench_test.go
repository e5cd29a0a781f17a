package pin_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire/geo"
)

// BenchmarkAlertLatency measures an alert's latency: from Alert returning
// on the author's client to the watcher's watch showing it, at the
// defaults a user gets (the network's mixing delays, the client's Loopix
// rates, the watch interval, and the decoys of the watched area). Each
// alert is sent at a random moment of the watcher's round, so that the
// rounds' phase is sampled evenly. It reports the latencies' p50, p95 and
// max in seconds, and the watcher's reads a minute.
//
//	go test ./client/pin/ -run '^$' -bench AlertLatency -benchtime 20x -timeout 30m
func BenchmarkAlertLatency(b *testing.B) {
	net := startNet(b, testnet.Options{Mu: pki.DefaultMu, MaxDelay: pki.DefaultMaxDelay})
	p, l, d := (&config.Client{}).Rates()
	rates := &client.Rates{LambdaP: p, LambdaL: l, LambdaD: d}
	here := geo.Point{Lat: 52.5219, Lon: 13.4132}
	alice := newUser(b, net, rates, pin.Config{})
	bob := newUser(b, net, rates, pin.Config{Areas: []pin.Area{{Near: here, RadiusM: 2000}}})
	ctx := context.Background()
	every := bob.p.Config().WatchEvery
	// The first round reads the area's (empty) sets; measure after it.
	waitFor(b, "the watcher's first round", 2*time.Minute, func() bool {
		st, err := bob.p.Stats()
		return err == nil && st.Rounds > 0
	})
	st0, _ := bob.p.Stats()
	start := time.Now()
	var lat []float64
	b.ResetTimer()
	for i := range b.N {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(every)))
		time.Sleep(time.Duration(n.Int64()))
		id, err := alice.p.Alert(ctx, pin.AlertOptions{Near: here, RadiusM: 1000, Text: fmt.Sprintf("alert %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		sent := time.Now()
		waitFor(b, "the watcher shows the alert", 5*time.Minute, func() bool { return bob.saw(id.String()) })
		bob.mu.Lock()
		lat = append(lat, bob.at[id.String()].Sub(sent).Seconds())
		bob.mu.Unlock()
	}
	b.StopTimer()
	st1, _ := bob.p.Stats()
	slices.Sort(lat)
	q := func(f float64) float64 { return lat[min(int(f*float64(len(lat))), len(lat)-1)] }
	b.ReportMetric(q(0.5), "p50-s")
	b.ReportMetric(q(0.95), "p95-s")
	b.ReportMetric(lat[len(lat)-1], "max-s")
	b.ReportMetric(float64(st1.Requests-st0.Requests)/time.Since(start).Minutes(), "reads/min")
	b.ReportMetric(0, "ns/op")
}
