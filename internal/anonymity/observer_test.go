package anonymity_test

import (
	"context"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/internal/anonymity"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// The small real network: 9 nodes, 10 clients at 5/2.5/2.5 packets a
// second (busy clients fill every λP slot with echo requests), the
// default mean delay of 50 ms, node loops at 1 a second.
const (
	realNodes   = 9
	realClients = 10
	realBusy    = 5 // clients 0..4 are busy, 5..9 idle
	realMu      = 50 * time.Millisecond
	realLambdaM = 1.0
	realRecord  = 12 * time.Second
)

var realRates = client.Rates{LambdaP: 5, LambdaL: 2.5, LambdaD: 2.5}

type frameLog struct {
	mu     sync.Mutex
	start  time.Time
	frames []obs
}

type obs struct {
	at       time.Time
	from, to peer.ID
	size     int
	buf      *byte // testseam's name for the packet's buffer at the node
}

func (l *frameLog) add(at time.Time, from, to peer.ID, size int, buf *byte) {
	l.mu.Lock()
	l.frames = append(l.frames, obs{at, from, to, size, buf})
	l.mu.Unlock()
}

// forward records a node handing the packet in buf to its link to next
// (testseam.ObserveForwards): what the node would tell the observer if it
// were corrupt. It is kept in the frame log as a frame with size -1.
func (l *frameLog) forward(at time.Time, node, next peer.ID, buf *byte) {
	l.add(at, node, next, -1, buf)
}

// observed is one recording of the real network, shared by the tests of
// this file (starting a network costs seconds).
type observed struct {
	trace *anonymity.Trace
	// sends and recvs are each client's frame times to and from its
	// gateway, as the observer sees them.
	sends, recvs [][]float64
	sizes        map[int]int
	// bufs are the buffers of the trace's frames (parallel to
	// trace.Frames), and forwards every node's reports of the packets it
	// forwarded: what corrupt nodes tell the observer (betray).
	bufs     []*byte
	forwards []report
	// gateways is how many nodes the clients enter by: client i by node
	// i mod gateways, in the simulator too.
	gateways int
}

// report is one node's report of a packet it forwarded (testseam.Forward).
type report struct {
	t          float64
	node, next int32
	buf        *byte
}

var (
	realOnce sync.Once
	realObs  *observed
	realErr  string
)

// observeReal runs the small real network once, with the observer hook of
// internal/testseam on every mix node's links, and returns its trace.
func observeReal(t *testing.T) *observed {
	if testing.Short() {
		t.Skip("runs a real network for several seconds")
	}
	realOnce.Do(func() { realObs, realErr = runReal() })
	if realObs == nil {
		t.Fatal(realErr)
	}
	return realObs
}

func runReal() (*observed, string) {
	dir, err := os.MkdirTemp("", "anon-observer")
	if err != nil {
		return nil, err.Error()
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: realNodes, Mu: realMu, MaxDelay: 20 * realMu, LambdaM: realLambdaM, Dir: dir, Logger: quiet()})
	if err != nil {
		return nil, err.Error()
	}
	defer net.Close()
	ids := map[peer.ID]int32{}
	layer := make([]int, realNodes)
	d := net.Nodes[0].Directory()
	for i, n := range net.Nodes {
		ids[n.PeerID()] = int32(i)
		layer[i] = d.LayerOf(n.ID())
	}
	log := &frameLog{}
	restore := testseam.ObserveFrames(log.add)
	defer restore()
	restoreFwd := testseam.ObserveForwards(log.forward)
	defer restoreFwd()
	var clients []*client.Client
	var own []*frameLog
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range realClients {
		cfg := net.Client
		gws := append([]string(nil), cfg.Gateways...)
		cfg.Gateways = append(gws[i%len(gws):], gws[:i%len(gws)]...) // spread over the gateways
		c, err := client.Dial(ctx, cfg, quiet())
		if err != nil {
			return nil, err.Error()
		}
		clients = append(clients, c)
		// The same link seen at the client's end: its own frames, to
		// tell busy clients from idle ones.
		l := &frameLog{}
		own = append(own, l)
		c.SetSendObserver(func(at time.Time, size int) { l.add(at, "send", "", size, nil) })
		c.SetReceiveObserver(func(at time.Time, size int) { l.add(at, "recv", "", size, nil) })
		if err := c.StartCover(cctx, realRates); err != nil {
			return nil, err.Error()
		}
		if i < realBusy {
			for range 32 { // far more requests than λP slots carry
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
	}
	// Let every client's cover reach its rate, then record.
	warm := time.NewTimer(2 * time.Second)
	select {
	case <-warm.C:
	case <-ctx.Done():
		return nil, ctx.Err().Error()
	}
	log.mu.Lock()
	log.frames, log.start = nil, time.Now()
	log.mu.Unlock()
	for _, l := range own {
		l.mu.Lock()
		l.frames = nil
		l.mu.Unlock()
	}
	rec := time.NewTimer(realRecord)
	select {
	case <-rec.C:
	case <-ctx.Done():
		return nil, ctx.Err().Error()
	}
	restore()
	restoreFwd()
	log.mu.Lock()
	frames := log.frames
	log.mu.Unlock()
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].at.Before(frames[j].at) })

	// Clients are the peers that are not nodes, numbered in order of
	// appearance after the nodes.
	o := &observed{sizes: map[int]int{}, gateways: len(net.Client.Gateways)}
	tr := &anonymity.Trace{Nodes: realNodes, Layer: layer, MeanDelay: realMu.Seconds(), End: realRecord.Seconds()}
	cid := map[peer.ID]int32{}
	idOf := func(p peer.ID) int32 {
		if i, ok := ids[p]; ok {
			return i
		}
		if i, ok := cid[p]; ok {
			return i
		}
		cid[p] = int32(realNodes + len(cid))
		return cid[p]
	}
	for _, f := range frames {
		at := f.at.Sub(log.start).Seconds()
		if f.size < 0 {
			o.forwards = append(o.forwards, report{at, idOf(f.from), idOf(f.to), f.buf})
			continue
		}
		tr.Frames = append(tr.Frames, anonymity.Frame{T: at, From: idOf(f.from), To: idOf(f.to), Pkt: -1})
		o.bufs = append(o.bufs, f.buf)
		o.sizes[f.size]++
	}
	tr.Clients = len(cid)
	tr.Index()
	o.trace = tr
	o.sends, o.recvs = make([][]float64, realClients), make([][]float64, realClients)
	for i, l := range own {
		l.mu.Lock()
		for _, f := range l.frames {
			if t := f.at.Sub(log.start).Seconds(); t >= 0 && t <= realRecord.Seconds() {
				if f.from == "send" {
					o.sends[i] = append(o.sends[i], t)
				} else {
					o.recvs[i] = append(o.recvs[i], t)
				}
			}
		}
		l.mu.Unlock()
	}
	return o, ""
}

// simSmall simulates the small real network's setting at the rate its
// clients really sent: on a loaded machine the cover loop skips events it
// is late for (client/cover.go), and entropy follows traffic, so the
// simulator is given the traffic the observer saw, not the configured one.
func simSmall(t *testing.T, o *observed) *anonymity.Trace {
	var sent int
	for _, s := range o.sends {
		sent += len(s)
	}
	f := float64(sent) / float64(realClients) / realRecord.Seconds() / realRates.Total()
	rates := client.Rates{LambdaP: f * realRates.LambdaP, LambdaL: f * realRates.LambdaL, LambdaD: f * realRates.LambdaD}
	t.Logf("clients sent %.2f of their configured rate", f)
	tr, err := anonymity.Simulate(anonymity.Setting{Nodes: realNodes, Clients: realClients, Gateways: o.gateways, Mu: realMu, Rates: rates, LambdaM: realLambdaM, Duration: 60})
	if err != nil {
		t.Fatal(err)
	}
	// The real observer sees no frame for a packet leaving its exit.
	return tr.Hide(func(f anonymity.Frame) bool { return f.To == anonymity.Exit })
}

// TestMixEntropy: per-mix entropy measured by a global observer of the real
// network (every frame on every link, no keys) agrees within 5 % with the
// simulator's for the same setting and traffic, and its 5th percentile is at least
// half the simulator's (real rates wander with the machine's load).
func TestMixEntropy(t *testing.T) {
	o := observeReal(t)
	real := anonymity.Summarise(o.trace.PerMix(3000, nil))
	vis := simSmall(t, o)
	sim := anonymity.Summarise(vis.PerMix(3000, nil))
	t.Logf("per-mix entropy: real %.3f bits (p5 %.3f, %d targets, %.1f frames/s a node), simulated %.3f (p5 %.3f, %.1f frames/s)",
		real.Mean, real.P5, real.N, o.trace.Rate(), sim.Mean, sim.P5, vis.Rate())
	if real.N < 1000 {
		t.Fatalf("only %d targets observed", real.N)
	}
	// A floor, not the 5 % agreement docs/anonymity.md reports: one 12 s
	// recording varies by a few per cent from run to run, and more
	// anonymity than the simulator predicts is no regression.
	if real.Mean < floorShare*sim.Mean {
		t.Errorf("real %.3f bits below %.0f %% of the simulated %.3f", real.Mean, 100*floorShare, sim.Mean)
	}
	if real.P5 < sim.P5/2 {
		t.Errorf("real 5th percentile %.3f bits, below half the simulated %.3f", real.P5, sim.P5)
	}
}

// floorShare is the least share of the simulator's entropy the real
// network must show in the regression tests.
const floorShare = 0.9

// senderEntropy is the sender entropy of packets entering L3 from L2,
// backtracked through L2, L1 and the gateway, with the nodes of corrupt
// (nil for none) telling the observer what they see; and the share of them
// the observer traced to a single client.
func senderEntropy(tr *anonymity.Trace, corrupt []bool) (h anonymity.Stats, traced float64) {
	var hs []float64
	lo, hi := tr.Start+4*20*tr.MeanDelay, tr.End-20*tr.MeanDelay
	var n, one int
	for i, f := range tr.Frames {
		if f.T < lo || f.T > hi || f.To < 0 || int(f.To) >= tr.Nodes || tr.IsClient(f.From) ||
			tr.Layer[f.To] != 2 || tr.Layer[f.From] != 1 {
			continue
		}
		if n++; n%2 != 0 || len(hs) >= 600 {
			continue
		}
		p := tr.Posterior(i, 3, corrupt)
		if len(p) == 0 {
			continue // a node's own packet: no client sent it
		}
		x := anonymity.PosteriorEntropy(p)
		if x < 1e-9 {
			one++
		}
		hs = append(hs, x)
	}
	return anonymity.Summarise(hs), float64(one) / math.Max(1, float64(len(hs)))
}

// TestSenderEntropy: a global observer of the real network, backtracking a
// packet that reached an L3 node through L2, L1 and the gateway to the
// clients, is left with a sender entropy at least floorShare of the
// simulator's for the same setting and traffic.
func TestSenderEntropy(t *testing.T) {
	o := observeReal(t)
	vis := simSmall(t, o)
	logN := math.Log2(float64(realClients))
	measure := func(tr *anonymity.Trace) (anonymity.Stats, anonymity.Stats) {
		h, _ := senderEntropy(tr, nil)
		return h, anonymity.Stats{N: h.N, Mean: h.Mean / logN, P5: h.P5 / logN}
	}
	rh, rd := measure(o.trace)
	sh, sd := measure(vis)
	t.Logf("sender entropy after L2→L3: real %.3f bits (p5 %.3f, degree %.3f / p5 %.3f, %d targets), simulated %.3f (p5 %.3f, degree %.3f / p5 %.3f)",
		rh.Mean, rh.P5, rd.Mean, rd.P5, rh.N, sh.Mean, sh.P5, sd.Mean, sd.P5)
	if rh.N < 100 {
		t.Fatalf("only %d targets observed", rh.N)
	}
	if rh.Mean < floorShare*sh.Mean { // a floor, as in TestMixEntropy
		t.Errorf("real %.3f bits below %.0f %% of the simulated %.3f", rh.Mean, 100*floorShare, sh.Mean)
	}
}

// TestIdleBusyTwoSample: the departures (client to gateway) and the
// arrivals (gateway to client) of busy clients (a real request in every λP
// slot) and idle ones, as the observer records them on the real network,
// pass the two-sample Kolmogorov–Smirnov test (alpha = 0.001) on the gaps
// between frames, and every frame has one size.
func TestIdleBusyTwoSample(t *testing.T) {
	o := observeReal(t)
	gaps := func(from, to int, xs [][]float64) []float64 {
		var out []float64
		for i := from; i < to; i++ {
			out = append(out, anonymity.Gaps(xs[i])...)
		}
		return out
	}
	for _, k := range []struct {
		name string
		xs   [][]float64
	}{{"departures", o.sends}, {"arrivals", o.recvs}} {
		busy, idle := gaps(0, realBusy, k.xs), gaps(realBusy, realClients, k.xs)
		d, crit := anonymity.KS2(busy, idle)
		t.Logf("%s: busy %d gaps (mean %.1f ms), idle %d (mean %.1f ms): D=%.4f, critical %.4f", k.name, len(busy), 1000*mean(busy), len(idle), 1000*mean(idle), d, crit)
		if len(busy) < 200 || len(idle) < 200 {
			t.Fatalf("%s: too few frames (busy %d, idle %d)", k.name, len(busy), len(idle))
		}
		if d > crit {
			t.Errorf("%s of busy and idle clients differ: D=%.4f > %.4f", k.name, d, crit)
		}
	}
	if len(o.sizes) != 1 {
		t.Errorf("frames of sizes %v on the links", o.sizes)
	}
	t.Logf("frame sizes on the links: %v", o.sizes)
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}
