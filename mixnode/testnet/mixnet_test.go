package testnet_test

import (
	"context"
	"crypto/rand"
	"math"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/nike/x25519"
	hpqcrand "github.com/katzenpost/hpqc/rand"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
)

// ksExponential returns the Kolmogorov–Smirnov statistic of samples against
// the exponential distribution with mean mu.
func ksExponential(samples []time.Duration, mu time.Duration) float64 {
	xs := append([]time.Duration(nil), samples...)
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	n := float64(len(xs))
	var d float64
	for i, x := range xs {
		f := 1 - math.Exp(-float64(x)/float64(mu))
		d = math.Max(d, math.Max(math.Abs(float64(i+1)/n-f), math.Abs(f-float64(i)/n)))
	}
	return d
}

// TestHoldingTimesExponential checks that the time packets spend in the
// nodes' delay queues follows Exp(mu), the mixing delay the senders drew.
// The critical value is for alpha = 0.001. mu is large against scheduler
// jitter: when other tests load both cores, timers fire tens of
// milliseconds late, which shifts the distribution by about late/mu; with
// mu = 500 ms and 400 samples that stays well under the critical value,
// while a wrong distribution (constant or uniform delays) is far above it.
func TestHoldingTimesExponential(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test with 500 ms delays")
	}
	const mu = 500 * time.Millisecond
	var mu_ sync.Mutex
	var held []time.Duration
	net := startNet(t, testnet.Options{
		Nodes: 9, Mu: mu, MaxDelay: 20 * mu, LambdaM: -1,
		NodeOptions: func(i int, o *mixnode.Options) {
			o.OnRelease = func(h, _ time.Duration) {
				mu_.Lock()
				held = append(held, h)
				mu_.Unlock()
			}
		},
	})
	c := dial(t, net)
	mu_.Lock()
	held = held[:0] // only packets of the probes below
	mu_.Unlock()
	if got := echoes(t, c, 50, 50, 90*time.Second); got != 50 {
		t.Fatalf("%d/50 replies", got)
	}
	mu_.Lock()
	samples := append([]time.Duration(nil), held...)
	mu_.Unlock()
	if len(samples) < 400 {
		t.Fatalf("only %d holding times recorded", len(samples))
	}
	d := ksExponential(samples, mu)
	crit := 1.949 / math.Sqrt(float64(len(samples)))
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	t.Logf("n=%d mean=%v KS D=%.4f critical(α=0.001)=%.4f", len(samples), sum/time.Duration(len(samples)), d, crit)
	if d > crit {
		t.Fatalf("holding times do not fit Exp(%v): D=%.4f > %.4f", mu, d, crit)
	}
}

// rawStream opens a stream of protocol proto to node from a fresh peer.
func rawStream(t *testing.T, node *mixnode.Node, proto protocol.ID) network.Stream {
	t.Helper()
	h, err := transport.NewHost(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ai, err := peer.AddrInfoFromString(node.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, ai.ID, proto)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBadFramesRejected sends a gateway a frame of random bytes, a packet for
// a key the node never had (an unknown epoch) and a truncated frame, and
// opens a mix link from a peer that is not a node, while echo traffic flows
// through the same network: each is counted as dropped and every echo comes
// back.
func TestBadFramesRejected(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 9, LambdaM: -1})
	c := dial(t, net)
	target := net.Nodes[4]
	m := target.Metrics()

	done := make(chan int)
	go func() { done <- echoes(t, c, 60, 10, 20*time.Second) }()

	s := rawStream(t, target, wire.ClientProtocol)
	junk := make([]byte, wire.PacketLength)
	rand.Read(junk)
	if _, err := s.Write(junk); err != nil {
		t.Fatal(err)
	}
	// A well-formed packet built for a key of an epoch the node does not have.
	_, foreign, err := x25519.Scheme(hpqcrand.Reader).GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	pkt, err := wire.NewForward(wire.NewSphinx(), []wire.Hop{{ID: target.ID(), Key: foreign.Bytes()}}, payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(pkt); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two unwrap failures", 10*time.Second, func() bool { return m.Dropped(mixnode.DropUnwrap) >= 2 })

	s2 := rawStream(t, target, wire.ClientProtocol)
	if _, err := s2.Write(junk[:1000]); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	waitFor(t, "a truncated frame", 10*time.Second, func() bool { return m.Dropped(mixnode.DropTruncated) >= 1 })

	s3 := rawStream(t, target, wire.MixProtocol)
	s3.Write(pkt)
	waitFor(t, "a refused mix link", 10*time.Second, func() bool { return m.Dropped(mixnode.DropUnknownPeer) >= 1 })

	if got := <-done; got != 60 {
		t.Fatalf("%d/60 echo replies while bad frames were rejected", got)
	}
	if got := m.Dropped(mixnode.DropUnwrap); got != 2 {
		t.Fatalf("unwrap failures = %d, want 2", got)
	}
}

// TestReplayDropped sends the same packet twice into a gateway: the second
// copy is dropped as a replay and counted.
func TestReplayDropped(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 9, LambdaM: -1})
	c := dial(t, net)
	dir := c.Directory()
	gw := net.Nodes[0] // the client's first gateway
	if c.Gateway() != gw.PeerID() {
		t.Fatalf("client picked gateway %s, want node 0", c.Gateway())
	}
	gwd, _ := dir.Lookup(gw.ID())
	route, err := pki.RandomRoute(dir, gw.ID())
	if err != nil {
		t.Fatal(err)
	}
	hops, err := pki.HopsFor(dir.Epoch, time.Millisecond, gwd, route[0], route[1], route[2])
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := wire.EncodeForwardPayload(nil, wire.OpDrop, []byte("x"))
	pkt, err := wire.NewForward(wire.NewSphinx(), hops, payload)
	if err != nil {
		t.Fatal(err)
	}
	exitNode := func() *mixnode.Node {
		for _, n := range net.Nodes {
			if n.ID() == route[2].NodeID {
				return n
			}
		}
		t.Fatal("exit not found")
		return nil
	}()
	if err := c.SendRaw(pkt); err != nil {
		t.Fatal(err)
	}
	if err := c.SendRaw(append([]byte(nil), pkt...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay to be counted", 10*time.Second, func() bool { return gw.Metrics().Replays.Load() == 1 })
	waitFor(t, "the original to reach the exit", 10*time.Second, func() bool { return exitNode.Metrics().ExitDrop.Load() >= 1 })
	if got := gw.Metrics().Dropped(mixnode.DropReplay); got != 1 {
		t.Fatalf("replay drops = %d, want 1", got)
	}
}

// TestEpochRotation keeps echo traffic flowing across several epoch
// boundaries (6 s epochs): nothing built with published keys is lost. (A
// node keeps the previous epoch's key, so a packet may take up to one epoch
// to cross the network; echoes time out before that.)
func TestEpochRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("spans several epochs")
	}
	const epoch = 6 * time.Second
	net := startNet(t, testnet.Options{Nodes: 9, EpochLength: epoch, LambdaM: 2, Refresh: 500 * time.Millisecond})
	c := dial(t, net)
	clock := pki.NewClock(epoch)
	first := clock.Current()
	var total, ok int
	for clock.Current() < first+3 {
		got := echoes(t, c, 10, 10, 2*epoch)
		total += 10
		ok += got
	}
	t.Logf("%d/%d echoes across epochs %d..%d", ok, total, first, clock.Current())
	for i, n := range net.Nodes {
		if d := n.Metrics().Snapshot().Dropped; len(d) > 0 {
			t.Logf("node %d drops: %v", i, d)
		}
	}
	if ok != total {
		t.Fatalf("%d/%d echo replies across epoch rotations", ok, total)
	}
	for i, n := range net.Nodes {
		if d := n.Metrics().Dropped(mixnode.DropUnwrap); d != 0 {
			t.Errorf("node %d: %d packets failed to unwrap", i, d)
		}
	}
}

// TestNodeStopped stops a mix node: the other nodes drop it from the
// directory and clients that refresh route around it.
func TestNodeStopped(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 9, LambdaM: 2, Refresh: 300 * time.Millisecond})
	c := dial(t, net)
	if got := echoes(t, c, 20, 10, 20*time.Second); got != 20 {
		t.Fatalf("%d/20 replies before the stop", got)
	}
	victim := net.Nodes[5].ID()
	if err := net.StopNode(5); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := net.WaitDirectories(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Directory().Lookup(victim); ok {
		t.Fatal("stopped node still in the client's directory")
	}
	if got := echoes(t, c, 50, 10, 20*time.Second); got != 50 {
		t.Fatalf("%d/50 replies after the stop", got)
	}
}
