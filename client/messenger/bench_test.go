package messenger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
)

// Benchmarks for issue 5 (messaging latency and the cost of an idle client).
// Each starts a 9-node testnet in this process, so they take tens of seconds
// to minutes; run them with a fixed count, e.g.
//
//	go test -run '^$' -bench 'DeliveryLatency|IdleClientCost' -benchtime 20x ./client/messenger/
//
// Both use b.Loop, so the set-up (network, users, invite) runs once.

// benchUser is a user with cover traffic at rates r (the newUser helper of
// messenger_test.go takes a *testing.T).
func benchUser(b *testing.B, ctx context.Context, net *testnet.Network, r client.Rates) *messenger.Messenger {
	b.Helper()
	path := filepath.Join(b.TempDir(), "state.db")
	st, err := store.Create(path, []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	id, err := client.NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.Dial(dctx, net.Client, quiet())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.StartCover(ctx, r); err != nil {
		b.Fatal(err)
	}
	return messenger.New(c, id, st, quiet())
}

func defaultRates() client.Rates {
	return client.Rates{LambdaP: config.DefaultLambdaP, LambdaL: config.DefaultLambdaL, LambdaD: config.DefaultLambdaD}
}

// BenchmarkDeliveryLatency measures, per message, the time from the start of
// alice's Send until bob's messenger (Receive polled continuously, at most
// 10 ms apart) saves it in his inbox. It reports the p50 and p95 of those times, and the
// budget 2·(8·mu + 1/λP): a put-box and a get-box, each 8 hops of mean mu
// plus the mean wait for a λP slot.
func BenchmarkDeliveryLatency(b *testing.B) {
	for _, bc := range []struct {
		name  string
		mu    time.Duration
		rates client.Rates
	}{
		{"default", pki.DefaultMu, defaultRates()},
		{"lowlatency", 5 * time.Millisecond, client.Rates{LambdaP: 20, LambdaL: 2, LambdaD: 2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, Mu: bc.mu, LambdaM: -1, Dir: b.TempDir(), Logger: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(net.Close)
			alice := benchUser(b, ctx, net, bc.rates)
			bob := benchUser(b, ctx, net, bc.rates)
			code, err := alice.Invite("bob")
			if err != nil {
				b.Fatal(err)
			}
			if err := bob.Accept(ctx, code, "alice"); err != nil {
				b.Fatal(err)
			}
			if _, err := alice.Receive(ctx); err != nil { // the hello
				b.Fatal(err)
			}
			if c, _ := alice.Contacts(); c["bob"] != bob.Fingerprint() {
				b.Fatal("alice did not get bob's hello")
			}

			// Bob polls without pause beyond 10 ms; each text is timed when
			// it is saved in his inbox (where `komrade inbox` and `chat` find
			// it), not when the Receive that read it returns: Receive goes on
			// to read the next box, which is not there yet.
			type arrival struct {
				text string
				at   time.Time
			}
			got := make(chan arrival, 16)
			returned := make(chan arrival, 16) // when the Receive that read it returned
			bob.OnArrival(func(m messenger.Message) { got <- arrival{m.Text, time.Now()} })
			errc := make(chan error, 1)
			pollCtx, stopPoll := context.WithCancel(ctx)
			pollDone := make(chan struct{})
			go func() {
				defer close(pollDone)
				for pollCtx.Err() == nil {
					msgs, err := bob.Receive(pollCtx)
					now := time.Now()
					if err != nil && pollCtx.Err() == nil {
						errc <- err
						return
					}
					for _, m := range msgs {
						returned <- arrival{m.Text, now}
					}
					if len(msgs) == 0 {
						time.Sleep(10 * time.Millisecond)
					}
				}
			}()
			defer func() { stopPoll(); <-pollDone }()

			var lat, ret []time.Duration
			i := 0
			for b.Loop() {
				text := fmt.Sprintf("alice #%d", i)
				i++
				start := time.Now()
				if err := alice.Send(ctx, "bob", text); err != nil {
					b.Fatal(err)
				}
				select {
				case a := <-got:
					if a.text != text {
						b.Fatalf("got %q, want %q", a.text, text)
					}
					lat = append(lat, a.at.Sub(start))
				case err := <-errc:
					b.Fatal(err)
				case <-time.After(2 * time.Minute):
					b.Fatalf("%q not received after 2 minutes", text)
				}
				select {
				case r := <-returned:
					ret = append(ret, r.at.Sub(start))
				case err := <-errc:
					b.Fatal(err)
				case <-time.After(2 * time.Minute):
					b.Fatalf("%q not received after 2 minutes", text)
				}
			}
			slices.Sort(lat)
			slices.Sort(ret)
			pct := func(d []time.Duration, p int) float64 {
				return float64(d[(len(d)-1)*p/100]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(lat, 50), "p50-ms")
			b.ReportMetric(pct(lat, 95), "p95-ms")
			// What the benchmark timed before: Receive's return, one more
			// (empty) read of the next box after the message was saved.
			b.ReportMetric(pct(ret, 50), "p50-return-ms")
			budget := 2 * (8*float64(bc.mu)/float64(time.Millisecond) + 1000/bc.rates.LambdaP)
			b.ReportMetric(budget, "budget-ms")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleClientCost runs one idle client with cover traffic at the
// default rates for b.N seconds and reports its departures per hour and the
// process CPU time per hour. The mix nodes run in this process, so the CPU
// figure is an upper bound on the client's cost: it also holds the nodes'
// work on those packets (unwrapping, forwarding, loop replies) and the
// testnet's own background work (DHT, directory refresh every 2 s). For
// comparison, base-cpu-s/hour is the same measure afterwards, over 10 s with
// the client still connected but its cover traffic stopped.
func BenchmarkIdleClientCost(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, Mu: pki.DefaultMu, LambdaM: -1, Dir: b.TempDir(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(net.Close)
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	defer dcancel()
	c, err := client.Dial(dctx, net.Client, quiet())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })

	coverCtx, stopCover := context.WithCancel(ctx)
	defer stopCover()
	if err := c.StartCover(coverCtx, defaultRates()); err != nil {
		b.Fatal(err)
	}
	var start time.Time
	var cpuStart time.Duration
	for b.Loop() {
		if start.IsZero() {
			start, cpuStart = time.Now(), cpuTime()
		}
		time.Sleep(time.Second)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpuStart
	var pkts uint64
	st := c.LoopStats()
	for _, n := range st.Departures {
		pkts += n
	}
	stopCover()
	time.Sleep(2 * time.Second) // let the last packets and loops finish
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(10 * time.Second)
	base := (cpuTime() - cpu0).Seconds() / time.Since(t0).Hours()
	hours := elapsed.Hours()
	b.ReportMetric(float64(pkts)/hours, "pkts/hour")
	b.ReportMetric(cpu.Seconds()/hours, "cpu-s/hour")
	b.ReportMetric(base, "base-cpu-s/hour")
	b.Logf("%v: departures %v, loops %d sent %d returned (mean RTT %v), CPU %v",
		elapsed.Round(time.Millisecond), st.Departures, st.Sent, st.Returned, st.MeanRTT.Round(time.Millisecond), cpu.Round(time.Millisecond))
}
