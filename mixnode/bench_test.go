package mixnode

// Benchmarks of the packet path; docs/benchmarks.md has the commands and
// the results.
//
//	go test -run '^$' -bench 'SphinxUnwrap|X25519ECDH|PacketCreate' -benchtime=2s -count=3 ./mixnode/
//	go test -run '^$' -bench NodeThroughput -benchtime=3000x -count=3 ./mixnode/
//	go test -run '^$' -bench UnwrapPerECDH -benchtime=2s -count=5 ./mixnode/
//
// BenchmarkNodeThroughput pre-builds b.N distinct packets before it starts
// timing, which costs about as much as processing them: give it an explicit
// count (-benchtime=3000x), not a duration.

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/nike"
	"github.com/katzenpost/hpqc/nike/x25519"
	hpqcrand "github.com/katzenpost/hpqc/rand"
	"github.com/katzenpost/katzenpost/core/sphinx"
	"github.com/katzenpost/katzenpost/core/sphinx/commands"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
)

// benchHops is the path length of the client benchmarks: gateway plus one
// node of each of the three layers, as in client.Request.
const benchHops = 4

// buildParallel calls build(i) for i in [0, count) on GOMAXPROCS goroutines
// and returns the results in order. Packet construction costs about as much
// as unwrapping, so the set-up of the benchmarks uses every core.
func buildParallel(tb testing.TB, count int, build func(i int) ([]byte, error)) [][]byte {
	tb.Helper()
	out := make([][]byte, count)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		firstEr error
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				p, err := build(i)
				if err != nil {
					errOnce.Do(func() { firstEr = err })
					return
				}
				out[i] = p
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		tb.Fatal(firstEr)
	}
	return out
}

// randomHop returns a hop with a fresh X25519 key (nobody holds the private
// half: these hops are never unwrapped).
func randomHop(tb testing.TB) wire.Hop {
	tb.Helper()
	pub, _, err := x25519.Scheme(hpqcrand.Reader).GenerateKeyPairFromEntropy(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	var id pki.NodeID
	rand.Read(id[:])
	return wire.Hop{ID: id, Key: pub.Bytes()}
}

// unwrapPoolSize distinct packets are built once per process and copied,
// one per iteration, into a scratch buffer before each unwrap (Unwrap works
// in place). The copy of PacketLength (3130) bytes takes well under 1 µs,
// negligible next to the unwrap; b.StopTimer/StartTimer around it would cost
// more than the copy itself.
const unwrapPoolSize = 256

var unwrapFixture struct {
	once  sync.Once
	node  nike.PrivateKey // from wire.NewEpochKey, as a node's epoch key
	stock nike.PrivateKey // the same scalar as an hpqc x25519 key
	pool  [][]byte
}

func unwrapPool(b *testing.B) (node, stock nike.PrivateKey, pool [][]byte) {
	f := &unwrapFixture
	f.once.Do(func() {
		priv, pub, err := wire.NewEpochKey()
		if err != nil {
			b.Fatal(err)
		}
		stock, err := x25519.Scheme(hpqcrand.Reader).UnmarshalBinaryPrivateKey(priv.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		hops := []wire.Hop{{ID: pki.NodeID{1}, Key: pub}}
		for len(hops) < benchHops {
			hops = append(hops, randomHop(b))
		}
		payload, err := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
		if err != nil {
			b.Fatal(err)
		}
		s := wire.NewSphinx()
		f.pool = buildParallel(b, unwrapPoolSize, func(int) ([]byte, error) {
			return wire.NewForward(s, hops, payload)
		})
		f.node, f.stock = priv, stock
	})
	if f.pool == nil {
		b.Fatal("unwrap fixture failed to build")
	}
	return f.node, f.stock, f.pool
}

// BenchmarkSphinxUnwrap times one hop of Sphinx processing of a 4-hop
// forward packet by its first hop: what a mix node's unwrap worker spends
// per packet, without replay check and queueing. The packets are the same
// for both cases (the two X25519 schemes are wire-identical):
//
//   - stock: hpqc's x25519 scheme and key (wire.NewStockSphinx);
//   - node: what a node runs, wire.NewSphinx with a key from
//     wire.NewEpochKey.
func BenchmarkSphinxUnwrap(b *testing.B) {
	node, stock, pool := unwrapPool(b)
	b.Run("stock", func(b *testing.B) {
		benchUnwrap(b, sphinx.NewNIKESphinx(x25519.Scheme(hpqcrand.Reader), wire.Geometry), stock, pool)
	})
	b.Run("node", func(b *testing.B) { benchUnwrap(b, wire.NewSphinx(), node, pool) })
}

func benchUnwrap(b *testing.B, s *sphinx.Sphinx, priv nike.PrivateKey, pool [][]byte) {
	scratch := make([]byte, wire.PacketLength)
	b.SetBytes(int64(wire.PacketLength))
	i := 0
	for b.Loop() {
		copy(scratch, pool[i%len(pool)])
		i++
		if _, _, _, err := s.Unwrap(priv, scratch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkX25519ECDH is one X25519 shared secret with the standard library,
// the unit in which the unwrap cost is read.
func BenchmarkX25519ECDH(b *testing.B) {
	c := ecdh.X25519()
	priv, err := c.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	peerPriv, err := c.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pub := peerPriv.PublicKey()
	for b.Loop() {
		if _, err := priv.ECDH(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnwrapPerECDH alternates one unwrap (as in BenchmarkSphinxUnwrap)
// and one X25519 shared secret (as in BenchmarkX25519ECDH), timing each, and
// reports their ratio. Run separately, the two benchmarks see different
// moments of a shared machine; interleaved, slow drifts in CPU speed cancel
// out of the ratio. ns/op is the sum of both.
func BenchmarkUnwrapPerECDH(b *testing.B) {
	node, stock, pool := unwrapPool(b)
	b.Run("stock", func(b *testing.B) {
		benchUnwrapPerECDH(b, sphinx.NewNIKESphinx(x25519.Scheme(hpqcrand.Reader), wire.Geometry), stock, pool)
	})
	b.Run("node", func(b *testing.B) { benchUnwrapPerECDH(b, wire.NewSphinx(), node, pool) })
}

func benchUnwrapPerECDH(b *testing.B, s *sphinx.Sphinx, priv nike.PrivateKey, pool [][]byte) {
	c := ecdh.X25519()
	a, err := c.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	other, err := c.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pub := other.PublicKey()
	scratch := make([]byte, wire.PacketLength)
	var tUnwrap, tECDH time.Duration
	i := 0
	for b.Loop() {
		copy(scratch, pool[i%len(pool)])
		i++
		t0 := time.Now()
		if _, _, _, err := s.Unwrap(priv, scratch); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := a.ECDH(pub); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tUnwrap += t1.Sub(t0)
		tECDH += t2.Sub(t1)
	}
	b.ReportMetric(float64(tUnwrap.Nanoseconds())/float64(i), "unwrap-ns")
	b.ReportMetric(float64(tECDH.Nanoseconds())/float64(i), "ecdh-ns")
	b.ReportMetric(float64(tUnwrap)/float64(tECDH), "unwrap/ecdh")
}

// BenchmarkPacketCreate is the client's cost of one request as in
// client.Request: an n-hop SURB for the reply and an n-hop forward packet
// carrying it, with Komrade's NIKE ("node") and with hpqc's stock X25519
// ("stock"), for the 4 hops a request uses and the geometry's maximum of 5.
func BenchmarkPacketCreate(b *testing.B) {
	for _, hops := range []int{benchHops, wire.MaxHops} {
		for _, impl := range []struct {
			name   string
			sphinx *sphinx.Sphinx
			scheme nike.Scheme
		}{
			{"node", wire.NewSphinx(), wire.NIKE},
			{"stock", sphinx.NewNIKESphinx(x25519.Scheme(hpqcrand.Reader), wire.Geometry), x25519.Scheme(hpqcrand.Reader)},
		} {
			b.Run(fmt.Sprintf("%s/%dhops", impl.name, hops), func(b *testing.B) {
				path := func() []*sphinx.PathHop {
					out := make([]*sphinx.PathHop, hops)
					for i := range out {
						pub, _, err := impl.scheme.GenerateKeyPair()
						if err != nil {
							b.Fatal(err)
						}
						out[i] = &sphinx.PathHop{NIKEPublicKey: pub, Commands: []commands.RoutingCommand{&commands.NodeDelay{Delay: 50}}}
						rand.Read(out[i].ID[:])
					}
					return out
				}
				fwd, back := path(), path()
				back[hops-1].Commands = append(back[hops-1].Commands, &commands.Recipient{}, &commands.SURBReply{})
				body := []byte("komrade benchmark echo")
				for b.Loop() {
					surb, _, err := impl.sphinx.NewSURB(rand.Reader, back)
					if err != nil {
						b.Fatal(err)
					}
					payload, err := wire.EncodeForwardPayload(surb, wire.OpEcho, body)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := impl.sphinx.NewPacket(rand.Reader, fwd, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// frameSink is a plain libp2p host that stands for the next hop: it counts
// the frames arriving on mix links.
type frameSink struct {
	host     host.Host
	hop      wire.Hop // its Sphinx hop: its node id and any X25519 key
	count    atomic.Int64
	progress chan struct{} // poked (never blocking) after each frame
}

// startSink starts a frame sink and makes it known to n as a node.
func startSink(tb testing.TB, n *Node) *frameSink {
	// An Ed25519 identity, so that its node id is its public key.
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := transport.NewHost(key, []string{"/ip4/127.0.0.1/tcp/0"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	k := &frameSink{host: h, hop: randomHop(tb), progress: make(chan struct{}, 1)}
	copy(k.hop.ID[:], pub)
	h.SetStreamHandler(wire.MixProtocol, k.handle)
	n.dirMu.Lock()
	n.known[k.hop.ID] = knownNode{ai: peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}}
	n.dirMu.Unlock()
	return k
}

func (k *frameSink) handle(s network.Stream) {
	defer s.Close()
	buf := make([]byte, wire.PacketLength)
	for {
		if _, err := io.ReadFull(s, buf); err != nil {
			return
		}
		k.count.Add(1)
		select {
		case k.progress <- struct{}{}:
		default:
		}
	}
}

// waitCount waits until the sink has counted at least want frames.
func (k *frameSink) waitCount(want int64, deadline time.Time) bool {
	for k.count.Load() < want {
		d := time.Until(deadline)
		if d <= 0 {
			return false
		}
		select {
		case <-k.progress:
		case <-time.After(min(d, 100*time.Millisecond)):
		}
	}
	return true
}

// startPinnedNode starts a node on loopback with no cover traffic and its
// clock pinned mid-epoch, so that no key rotation happens during a test.
func startPinnedNode(tb testing.TB) *Node { return startPinnedNodeWith(tb, nil) }

// startPinnedNodeWith is startPinnedNode with edit, when not nil, applied to
// the configuration.
func startPinnedNodeWith(tb testing.TB, edit func(*config.Node)) *Node {
	period := pki.DefaultEpochLength
	clk := pki.NewClock(period)
	pinned := clk.Start(clk.Current()).Add(period / 2)
	clk.Now = func() time.Time { return pinned }

	cfg := config.DefaultNode()
	cfg.DataDir = tb.TempDir()
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.LambdaM = 0
	cfg.QueueSize = 1_000_000
	cfg.DirectoryRefresh = config.D(time.Hour)
	if edit != nil {
		edit(&cfg)
	}
	_, nodeKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := New(cfg, Options{Identity: nodeKey, Logger: slog.New(slog.DiscardHandler), Clock: &clk})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	return n
}

// throughputWindow bounds the packets in flight (sent but not yet counted by
// the sink). Below the node's outbound link buffer (1024) and inbox (4096),
// it guarantees that pacing, not the node, decides when frames are sent: no
// packet is dropped as overload or link_full, and the sink sees all b.N.
const throughputWindow = 1000

// BenchmarkNodeThroughput measures the packets per second one node carries
// end to end: read from a libp2p mix stream, unwrap, replay check, delay
// queue (zero delay), forward over loopback to a second host. The sending and
// receiving hosts run in the same process and share its cores (their TLS
// and yamux work counts against the node).
//
// Besides pkt/s it reports, from the same run, the serial cost of one unwrap
// (unwrap-ns) and the ceiling GOMAXPROCS/unwrap (unwrap-ceiling-pkt/s).
func BenchmarkNodeThroughput(b *testing.B) {
	ctx := context.Background()
	n := startPinnedNode(b)
	sink := startSink(b, n)

	// Packets: node (delay 0) -> sink. Only the node's hop is ever unwrapped,
	// so the sink's hop key is any X25519 key.
	nodePub, ok := n.keys.public(n.clock.Current())
	if !ok {
		b.Fatal("node has no key for the current epoch")
	}
	hops := []wire.Hop{{ID: n.ID(), Key: nodePub}, sink.hop}
	payload, err := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	if err != nil {
		b.Fatal(err)
	}
	const (
		warmup       = 16  // open the node's link to the sink before timing
		unwrapProbes = 200 // serial unwraps timed for the ceiling
		probePool    = 8
	)
	pkts := buildParallel(b, warmup+probePool+b.N, func(int) ([]byte, error) {
		return wire.NewForward(n.sphinx, hops, payload)
	})
	probes := pkts[warmup : warmup+probePool]
	timed := pkts[warmup+probePool:]

	// Serial unwrap cost with the node's own key and Sphinx instance, on
	// copies (the originals of the probes are never sent). It is measured
	// just before and just after the timed phase and averaged, so that it
	// sees the same machine as the throughput does.
	liveKey := n.keys.live()[0]
	scratch := make([]byte, wire.PacketLength)
	measureUnwrap := func() time.Duration {
		runtime.GC() // not the garbage of the set-up
		start := time.Now()
		for i := 0; i < unwrapProbes; i++ {
			copy(scratch, probes[i%probePool])
			if _, _, _, err := n.sphinx.Unwrap(liveKey.priv, scratch); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / unwrapProbes
	}
	unwrapBefore := measureUnwrap()

	// The sender: a third host with a mix stream to the node. A node takes
	// mix links only from nodes it knows, so the sender is made known too.
	senderPub, senderKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sender, err := transport.NewHost(senderKey, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var senderID pki.NodeID
	copy(senderID[:], senderPub)
	n.dirMu.Lock()
	n.known[senderID] = knownNode{ai: peer.AddrInfo{ID: sender.ID()}}
	n.dirMu.Unlock()
	b.Cleanup(func() { sender.Close() })
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sender.Connect(cctx, peer.AddrInfo{ID: n.PeerID(), Addrs: n.dht.Host.Addrs()}); err != nil {
		b.Fatal(err)
	}
	stream, err := sender.NewStream(cctx, n.PeerID(), wire.MixProtocol)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stream.Close() })

	for _, p := range pkts[:warmup] {
		if err := wire.WriteFrame(stream, p); err != nil {
			b.Fatal(err)
		}
	}
	if !sink.waitCount(warmup, time.Now().Add(20*time.Second)) {
		b.Fatalf("warm-up: sink counted %d of %d frames; node metrics %+v", sink.count.Load(), warmup, n.Metrics().Snapshot())
	}

	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	base := sink.count.Load()
	for i, p := range timed {
		for int64(i)-(sink.count.Load()-base) >= throughputWindow {
			select {
			case <-sink.progress:
			case <-time.After(time.Second):
			}
		}
		if err := wire.WriteFrame(stream, p); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30*time.Second + time.Duration(b.N)*10*unwrapBefore)
	if !sink.waitCount(base+int64(b.N), deadline) {
		b.Fatalf("sink counted %d of %d frames; node metrics %+v", sink.count.Load()-base, b.N, n.Metrics().Snapshot())
	}
	elapsed := time.Since(start)
	b.StopTimer()

	if snap := n.Metrics().Snapshot(); len(snap.Dropped) > 0 {
		b.Fatalf("node dropped packets: %v", snap.Dropped)
	}
	unwrapTime := (unwrapBefore + measureUnwrap()) / 2
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pkt/s")
	b.ReportMetric(float64(unwrapTime.Nanoseconds()), "unwrap-ns")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0))/unwrapTime.Seconds(), "unwrap-ceiling-pkt/s")
}
