package dht_test

// Storage latency benchmarks (issue 4): Komrade's PutRecord/GetRecord next
// to raw kad-dht PutValue/GetValue, on one 50-node loopback network built
// once per test binary. docs/benchmarks-storage.md has the results.
//
//	go test -run '^$' -bench 'Record|Kad' -benchtime 200x -count 1 ./dht/
//
// Give an explicit count (-benchtime=200x), not a duration: every operation
// is a network round trip of tens of milliseconds, and the p50/p99 metrics
// come from the latencies of the b.N operations of the last run.
//
// Connecting 50 libp2p hosts costs one TLS/Noise handshake per connection
// (about 0.1 s of CPU each on two cores), so the network is built on first
// use by a benchmark and shared; plain `go test` never builds it.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	libp2precord "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire/record"
)

// benchNodes is the size of the benchmark network.
const benchNodes = 50

// benchOpTimeout bounds one put or get.
const benchOpTimeout = 30 * time.Second

var benchNet struct {
	once  sync.Once
	nodes []*dht.Node
	err   error
}

// TestMain closes the benchmark network if a benchmark built it; it builds
// nothing itself.
func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchNetwork()
	os.Exit(code)
}

func closeBenchNetwork() {
	var wg sync.WaitGroup
	for _, n := range benchNet.nodes {
		if n != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.Close() }()
		}
	}
	wg.Wait()
	benchNet.nodes = nil
}

// network returns the shared 50-node network, building it on first use.
func network(b *testing.B) []*dht.Node {
	b.Helper()
	benchNet.once.Do(func() {
		start := time.Now()
		benchNet.nodes, benchNet.err = buildNetwork(benchNodes)
		if benchNet.err == nil {
			b.Logf("built %d-node network in %v; %s", benchNodes, time.Since(start).Round(time.Millisecond), tableStats(benchNet.nodes))
		}
	})
	if benchNet.err != nil {
		b.Fatal(benchNet.err)
	}
	return benchNet.nodes
}

// buildNetwork starts count nodes on 127.0.0.1 with in-memory stores,
// bootstraps them all through node 0 and waits until the routing tables are
// nearly as full as the network allows.
func buildNetwork(count int) ([]*dht.Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	nodes := make([]*dht.Node, count)
	for i := range nodes {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		n, err := dht.New(dht.Config{
			Identity:    priv,
			ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
			Clock:       pki.NewClock(time.Hour),
			Logger:      discard,
		})
		if err != nil {
			benchNet.nodes = nodes
			closeBenchNetwork()
			return nil, err
		}
		nodes[i] = n
	}
	fail := func(err error) ([]*dht.Node, error) {
		benchNet.nodes = nodes
		closeBenchNetwork()
		return nil, err
	}
	boot := []peer.AddrInfo{{ID: nodes[0].Host.ID(), Addrs: nodes[0].Host.Addrs()}}
	// A few bootstraps at a time: each one's refresh dials a dozen peers,
	// and the handshakes are CPU-bound.
	sem := make(chan struct{}, 4)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := 1; i < count; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = nodes[i].Bootstrap(ctx, boot)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fail(fmt.Errorf("bootstrap node %d: %w", i, err))
		}
	}
	// Wait until the routing tables hold 95% of the peers they can hold
	// (k = 20 per common-prefix length), refreshing the laggards.
	ideal := idealTableSizes(nodes)
	var want int
	for _, v := range ideal {
		want += v
	}
	deadline := time.Now().Add(2 * time.Minute)
	for round := 0; ; round++ {
		var have int
		var low []int
		for i, n := range nodes {
			s := n.DHT.RoutingTable().Size()
			have += s
			if s < ideal[i]*9/10 {
				low = append(low, i)
			}
		}
		if have*100 >= want*95 && len(low) == 0 {
			return nodes, nil
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("routing tables hold %d of %d entries after 2 min (%d nodes below 90%%)", have, want, len(low)))
		}
		if round%10 == 0 { // every ~2 s
			for _, i := range low {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					select {
					case <-nodes[i].DHT.RefreshRoutingTable():
					case <-ctx.Done():
					}
				}()
			}
			wg.Wait()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// idealTableSizes returns, for each node, how many peers a complete routing
// table holds: up to k = 20 per common-prefix length of the SHA-256 keys,
// as kad-dht's buckets do.
func idealTableSizes(nodes []*dht.Node) []int {
	keys := make([][32]byte, len(nodes))
	for i, n := range nodes {
		keys[i] = sha256.Sum256([]byte(n.Host.ID()))
	}
	out := make([]int, len(nodes))
	for i := range nodes {
		perCPL := map[int]int{}
		for j := range nodes {
			if i != j {
				perCPL[commonPrefixLen(keys[i], keys[j])]++
			}
		}
		for _, c := range perCPL {
			out[i] += min(c, 20)
		}
	}
	return out
}

func commonPrefixLen(a, b [32]byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return 256
}

func tableStats(nodes []*dht.Node) string {
	ideal := idealTableSizes(nodes)
	var have, want int
	lo, hi := 1<<30, 0
	for i, n := range nodes {
		s := n.DHT.RoutingTable().Size()
		have += s
		want += ideal[i]
		lo, hi = min(lo, s), max(hi, s)
	}
	return fmt.Sprintf("routing tables: %d of %d possible entries, %d..%d per node", have, want, lo, hi)
}

// profileRec is a signed profile and its key.
type profileRec struct {
	key   string
	value []byte
	from  int // the node that stored it
}

// newProfiles signs count profiles, each with a fresh key, and assigns each
// a random storing node.
func newProfiles(b *testing.B, count, nodes int) []profileRec {
	b.Helper()
	out := make([]profileRec, count)
	body := make([]byte, 256)
	for i := range out {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		rand.Read(body)
		v, err := record.SignProfile(record.NewProfile(1, time.Hour, body), priv)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = profileRec{key: record.ProfileKey(priv.Public().(ed25519.PublicKey)), value: v, from: mrand.IntN(nodes)}
	}
	return out
}

// putFunc stores one record from node n.
type putFunc func(ctx context.Context, n *dht.Node, key string, value []byte) error

func putRecord(ctx context.Context, n *dht.Node, key string, value []byte) error {
	_, err := n.PutRecord(ctx, key, value)
	return err
}

func kadPut(ctx context.Context, n *dht.Node, key string, value []byte) error {
	return n.DHT.PutValue(ctx, key, value)
}

// getFunc reads one record from node n.
type getFunc func(ctx context.Context, n *dht.Node, key string) ([]byte, error)

func getRecord(ctx context.Context, n *dht.Node, key string) ([]byte, error) {
	return n.GetRecord(ctx, key)
}

func kadGet(ctx context.Context, n *dht.Node, key string) ([]byte, error) {
	return n.DHT.GetValue(ctx, key, kaddht.Quorum(dht.Replication))
}

// storeAll puts recs outside the timed loop, a few at a time.
func storeAll(b *testing.B, nodes []*dht.Node, recs []profileRec, put putFunc) {
	b.Helper()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, r := range recs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), benchOpTimeout)
			defer cancel()
			if err := put(ctx, nodes[r.from], r.key, r.value); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d set-up puts failed", f, len(recs))
	}
}

// latencies collects per-operation latencies and reports their percentiles.
type latencies []time.Duration

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// Nearest rank.
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l latencies) report(b *testing.B, failures int) {
	s := slices.Clone(l)
	slices.Sort(s)
	b.ReportMetric(ms(percentile(s, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(s, 0.99)), "p99-ms")
	b.ReportMetric(float64(failures)/float64(b.N), "fails/op")
}

func benchPut(b *testing.B, put putFunc) {
	nodes := network(b)
	recs := newProfiles(b, b.N, len(nodes))
	lat := make(latencies, 0, b.N)
	var failures int
	b.ResetTimer()
	for _, r := range recs {
		ctx, cancel := context.WithTimeout(context.Background(), benchOpTimeout)
		start := time.Now()
		err := put(ctx, nodes[r.from], r.key, r.value)
		d := time.Since(start)
		cancel()
		if err != nil {
			failures++
			b.Logf("put: %v", err)
			continue
		}
		lat = append(lat, d)
	}
	b.StopTimer()
	lat.report(b, failures)
}

func benchGet(b *testing.B, put putFunc, get getFunc) {
	nodes := network(b)
	// One fresh record per read: kad-dht copies a value it reads to the
	// closest peers (and itself) that lacked it, so re-reading a key would
	// measure a warmer network.
	recs := newProfiles(b, b.N, len(nodes))
	storeAll(b, nodes, recs, put)
	lat := make(latencies, 0, b.N)
	var failures int
	b.ResetTimer()
	for _, r := range recs {
		reader := mrand.IntN(len(nodes) - 1)
		if reader >= r.from {
			reader++ // any node but the writer
		}
		ctx, cancel := context.WithTimeout(context.Background(), benchOpTimeout)
		start := time.Now()
		v, err := get(ctx, nodes[reader], r.key)
		d := time.Since(start)
		cancel()
		if err != nil || string(v) != string(r.value) {
			failures++
			b.Logf("get: %v (value matches: %v)", err, string(v) == string(r.value))
			continue
		}
		lat = append(lat, d)
	}
	b.StopTimer()
	lat.report(b, failures)
}

// BenchmarkRecordPut: dht.Node.PutRecord of a fresh signed profile from a
// random node (closest-peer lookup, then PUT_VALUE to each of the k closest,
// counting acknowledgements).
func BenchmarkRecordPut(b *testing.B) { benchPut(b, putRecord) }

// BenchmarkRecordGet: dht.Node.GetRecord (quorum 3) of a profile stored with
// PutRecord, from a random node other than its writer.
func BenchmarkRecordGet(b *testing.B) { benchGet(b, putRecord, getRecord) }

// BenchmarkKadPutValue: raw kad-dht PutValue of the same kind of record.
func BenchmarkKadPutValue(b *testing.B) { benchPut(b, kadPut) }

// BenchmarkKadGetValue: raw kad-dht GetValue with Quorum(3) of a profile
// stored with PutValue, from a random node other than its writer.
func BenchmarkKadGetValue(b *testing.B) { benchGet(b, kadPut, kadGet) }

// Republishing traffic (issue "Nodes no peer can break"): how much one
// republishing round sends per node when the network holds many records.
//
//	go test -run '^$' -bench Republish -benchtime 1x -timeout 60m ./dht/
//
// The network is its own (republishNodes nodes, not the shared 50), and
// holds -republish.records profiles, each written as PutRecord writes it: one
// PUT_VALUE from a random node to each of the 20 nodes closest to its key.
// Seeding sends the PUTs directly to the closest nodes (known here from every
// node's id) instead of running a lookup per record.

var republishRecords = flag.Int("republish.records", 10000, "records stored before BenchmarkRepublish")

const republishNodes = 30

// BenchmarkRepublish reports, per node and round, the PUT_VALUE messages,
// their bytes and the closest-peer lookups of the republishing scheme
// (measured: RepublishRound runs on every node and sends) and of the scheme
// before it (old-*: counted by Node.OldSchemeRound without sending; every
// holder re-stored every record on the 20 closest peers).
func BenchmarkRepublish(b *testing.B) {
	start := time.Now()
	nodes, err := buildNetwork(republishNodes)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Close() }()
		}
		wg.Wait()
	}()
	b.Logf("built %d-node network in %v; %s", len(nodes), time.Since(start).Round(time.Millisecond), tableStats(nodes))
	start = time.Now()
	recs := newProfiles(b, *republishRecords, len(nodes))
	seedClosest(b, nodes, recs)
	b.Logf("stored %d records in %v", len(recs), time.Since(start).Round(time.Millisecond))

	ctx := context.Background()
	var old, cur dht.RepublishStats
	for _, n := range nodes {
		st, err := n.OldSchemeRound(ctx)
		if err != nil {
			b.Fatal(err)
		}
		addStats(&old, st)
	}
	b.ResetTimer()
	for range b.N {
		cur = dht.RepublishStats{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for _, n := range nodes {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				st, err := n.RepublishRound(ctx)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				addStats(&cur, st)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	per := func(v int) float64 { return float64(v) / float64(len(nodes)) }
	b.ReportMetric(per(old.Held), "held/node")
	b.ReportMetric(per(old.Puts), "old-puts/node")
	b.ReportMetric(per(old.PutBytes)/1024, "old-KiB/node")
	b.ReportMetric(per(old.Lookups), "old-lookups/node")
	b.ReportMetric(per(cur.Puts), "puts/node")
	b.ReportMetric(per(cur.PutBytes)/1024, "KiB/node")
	b.ReportMetric(per(cur.Lookups), "lookups/node")
	// Once PutRecord's extra copies have aged out (48 h), only the records a
	// node is among the closest to are left: Replication-1 puts each.
	b.ReportMetric(per(cur.Responsible*(dht.Replication-1)), "steady-puts/node")
	b.Logf("old: %+v", old)
	b.Logf("new (last round): %+v", cur)
}

func addStats(sum *dht.RepublishStats, st dht.RepublishStats) {
	sum.Held += st.Held
	sum.Expired += st.Expired
	sum.Responsible += st.Responsible
	sum.Strays += st.Strays
	sum.Pushed += st.Pushed
	sum.Lookups += st.Lookups
	sum.Puts += st.Puts
	sum.PutBytes += st.PutBytes
}

// seedClosest stores each record as PutRecord does, on the 20 nodes closest
// to its key other than its writer, by direct PUT_VALUE from the writer.
func seedClosest(b *testing.B, nodes []*dht.Node, recs []profileRec) {
	b.Helper()
	pms := make([]*kadpb.ProtocolMessenger, len(nodes))
	for i, n := range nodes {
		pm, err := kadpb.NewProtocolMessenger(n.DHT.MessageSender())
		if err != nil {
			b.Fatal(err)
		}
		pms[i] = pm
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, r := range recs {
		order := make([]int, 0, len(nodes)-1)
		for i := range nodes {
			if i != r.from {
				order = append(order, i)
			}
		}
		slices.SortFunc(order, func(x, y int) int {
			if kb.Closer(nodes[x].Host.ID(), nodes[y].Host.ID(), r.key) {
				return -1
			}
			return 1
		})
		rec := libp2precord.MakePutRecord(r.key, r.value)
		for _, i := range order[:min(20, len(order))] {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(context.Background(), benchOpTimeout)
				defer cancel()
				if err := pms[r.from].PutValue(ctx, nodes[i].Host.ID(), rec); err != nil {
					failed.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d set-up puts failed", f)
	}
}
