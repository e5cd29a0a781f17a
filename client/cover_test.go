package client_test

import (
	"context"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// ksExp is the Kolmogorov–Smirnov statistic of xs against Exp(rate).
func ksExp(xs []float64, rate float64) float64 {
	sort.Float64s(xs)
	n := float64(len(xs))
	var d float64
	for i, x := range xs {
		f := 1 - math.Exp(-rate*x)
		d = math.Max(d, math.Max(float64(i+1)/n-f, f-float64(i)/n))
	}
	return d
}

// departures records a client's frame departures (and counts arrivals).
type departures struct {
	mu       sync.Mutex
	times    []time.Time
	sizes    map[int]int
	received int
}

func (d *departures) arrive(time.Time, int) {
	d.mu.Lock()
	d.received++
	d.mu.Unlock()
}

func (d *departures) observe(at time.Time, size int) {
	d.mu.Lock()
	d.times = append(d.times, at)
	d.sizes[size]++
	d.mu.Unlock()
}

func (d *departures) gaps() []float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []float64
	for i := 1; i < len(d.times); i++ {
		out = append(out, d.times[i].Sub(d.times[i-1]).Seconds())
	}
	return out
}

func (d *departures) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.times)
}

// TestCoverIndistinguishable: the departures of an idle client and of a busy
// one (a real packet waiting for every slot) both fit Poisson(λP+λL+λD)
// (KS, alpha = 0.001), every frame on the link has the packet size, and the
// two receive about as many frames (λP fillers get replies, as real
// requests do).
func TestCoverIndistinguishable(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test over several seconds")
	}
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	// A mean gap of 100 ms keeps timer lateness on a loaded machine (a few
	// ms) small against the distribution being tested.
	rates := client.Rates{LambdaP: 5, LambdaL: 2.5, LambdaD: 2.5}
	const want = 250

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(busy bool) (*departures, client.LoopStats) {
		c, err := client.Dial(ctx, net.Client, quietLogger())
		if err != nil {
			t.Error(err)
			return nil, client.LoopStats{}
		}
		defer c.Close()
		d := &departures{sizes: map[int]int{}}
		c.SetSendObserver(d.observe)
		c.SetReceiveObserver(d.arrive)
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := c.StartCover(cctx, rates); err != nil {
			t.Error(err)
			return nil, client.LoopStats{}
		}
		var wg sync.WaitGroup
		if busy {
			// Far more requests in flight than λP slots can carry: every
			// real slot finds a packet waiting.
			for i := 0; i < 64; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for cctx.Err() == nil {
						rctx, rcancel := context.WithTimeout(cctx, 20*time.Second)
						c.Echo(rctx)
						rcancel()
					}
				}()
			}
		}
		for d.count() < want && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		stats := c.LoopStats()
		stop()
		wg.Wait()
		return d, stats
	}
	var idle, busy *departures
	var idleStats, busyStats client.LoopStats
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); idle, idleStats = run(false) }()
	go func() { defer wg.Done(); busy, busyStats = run(true) }()
	wg.Wait()
	if t.Failed() {
		return
	}
	crit := func(n int) float64 { return 1.949 / math.Sqrt(float64(n)) }
	for name, d := range map[string]*departures{"idle": idle, "busy": busy} {
		g := d.gaps()
		if len(g) < want-1 {
			t.Fatalf("%s: only %d departures", name, len(g)+1)
		}
		ks := ksExp(g, rates.Total())
		var mean float64
		for _, x := range g {
			mean += x
		}
		mean /= float64(len(g))
		t.Logf("%s: %d gaps, mean %.1f ms (want %.1f), KS D=%.4f, critical %.4f, sizes %v", name, len(g), mean*1000, 1000/rates.Total(), ks, crit(len(g)), d.sizes)
		if ks > crit(len(g)) {
			t.Errorf("%s client departures do not fit Poisson(%v/s): D=%.4f", name, rates.Total(), ks)
		}
		if len(d.sizes) != 1 || d.sizes[wire.PacketLength] == 0 {
			t.Errorf("%s client sent frames of sizes %v", name, d.sizes)
		}
	}
	t.Logf("idle departures %v, loops %d/%d; busy departures %v", idleStats.Departures, idleStats.Returned, idleStats.Sent, busyStats.Departures)
	if idleStats.Departures["real"] != 0 {
		t.Error("the idle client sent real packets")
	}
	if busyStats.Departures["real"] == 0 || busyStats.Departures["fill"] > busyStats.Departures["real"]/2 {
		t.Errorf("the busy client did not fill its real slots: %v", busyStats.Departures)
	}
	// Without replies to fillers the busy client would receive about
	// (λP+λL)/λL = 3 times as many frames as the idle one.
	ratio := float64(busy.received) / float64(max(idle.received, 1))
	t.Logf("frames received: idle %d, busy %d (ratio %.2f)", idle.received, busy.received, ratio)
	if ratio < 0.6 || ratio > 1.6 {
		t.Errorf("busy and idle clients receive different amounts: %d vs %d frames", busy.received, idle.received)
	}
	if idleStats.Sent == 0 || idleStats.Returned == 0 {
		t.Errorf("no loop came back: %+v", idleStats)
	}
}
