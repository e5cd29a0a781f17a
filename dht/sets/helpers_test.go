package sets

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire/setitem"
)

// testLogger discards the log unless SETS_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("SETS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testRules are the default rules with a small set quota for "rsvp".
func testRules() map[string]setitem.Rules {
	r := setitem.DefaultRules()
	rsvp := r["rsvp"]
	rsvp.MaxItemsPerKey = 3
	r["rsvp"] = rsvp
	return r
}

// laxRules accept what storage nodes under testRules refuse: no
// proof-of-work, larger items, no set quota. A writer using them stands for
// a misconfigured or outdated exit node, so that refusals come over the wire.
func laxRules() map[string]setitem.Rules {
	r := setitem.DefaultRules()
	for ns, v := range r {
		v.PoWBits = 0
		v.MaxItemSize = setitem.ItemSizeCap
		v.MaxItemsPerKey = 0
		r[ns] = v
	}
	return r
}

// testNode is one node of a test cluster.
type testNode struct {
	idx   int
	priv  ed25519.PrivateKey
	path  string // bbolt file
	rules map[string]setitem.Rules
	node  *dht.Node
	store *Store
	svc   *Service
	run   chan error // Run's result
	up    bool
}

// cluster is a set of real libp2p hosts with kad-dht and the set service on
// 127.0.0.1.
type cluster struct {
	tb    testing.TB
	opts  Options
	nodes []*testNode
}

// newCluster starts n nodes, bootstraps them through node 0, waits until
// every routing table holds every other node, and starts the services (and
// their Run loops). rulesFor, if not nil, may give a node other rules.
func newCluster(tb testing.TB, n int, opts Options, rulesFor func(i int) map[string]setitem.Rules) *cluster {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	c := &cluster{tb: tb, opts: opts}
	dir := tb.TempDir()
	for i := range n {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		tn := &testNode{idx: i, priv: priv, path: filepath.Join(dir, fmt.Sprintf("node%d", i), "sets.db"), rules: testRules()}
		if rulesFor != nil {
			if r := rulesFor(i); r != nil {
				tn.rules = r
			}
		}
		c.nodes = append(c.nodes, tn)
		tb.Cleanup(func() { c.stop(i) })
		c.startDHT(tn)
	}
	boot := c.bootPeers()
	var wg sync.WaitGroup
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = c.nodes[i].node.Bootstrap(ctx, boot) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("bootstrap node %d: %v", i, err)
		}
	}
	c.waitTables(ctx)
	for _, tn := range c.nodes {
		c.startService(tn)
	}
	return c
}

func (c *cluster) startDHT(tn *testNode) {
	c.tb.Helper()
	d, err := dht.New(dht.Config{
		Identity:    tn.priv,
		ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"},
		Clock:       pki.NewClock(time.Hour),
		Logger:      c.opts.Logger,
	})
	if err != nil {
		c.tb.Fatalf("node %d: %v", tn.idx, err)
	}
	tn.node = d
	tn.up = true
}

func (c *cluster) startService(tn *testNode) {
	c.tb.Helper()
	st, err := Open(tn.path)
	if err != nil {
		c.tb.Fatalf("node %d: %v", tn.idx, err)
	}
	svc, err := NewService(tn.node.Host, tn.node.DHT, st, tn.rules, c.opts)
	if err != nil {
		st.Close()
		c.tb.Fatalf("node %d: %v", tn.idx, err)
	}
	tn.store, tn.svc = st, svc
	tn.run = make(chan error, 1)
	go func() { tn.run <- svc.Run(context.Background()) }() // returns when svc is closed
}

func (c *cluster) bootPeers() []peer.AddrInfo {
	n0 := c.nodes[0].node.Host
	return []peer.AddrInfo{{ID: n0.ID(), Addrs: n0.Addrs()}}
}

// waitTables waits until every running node's routing table holds every
// other running node, refreshing the laggards.
func (c *cluster) waitTables(ctx context.Context) {
	c.tb.Helper()
	up := len(c.live())
	for round := 0; ; round++ {
		var low []*testNode
		for _, tn := range c.live() {
			if tn.node.DHT.RoutingTable().Size() < up-1 {
				low = append(low, tn)
			}
		}
		if len(low) == 0 {
			return
		}
		if ctx.Err() != nil {
			c.tb.Fatalf("routing tables incomplete: %d nodes lag", len(low))
		}
		if round%10 == 9 {
			var wg sync.WaitGroup
			for _, tn := range low {
				wg.Go(func() {
					select {
					case <-tn.node.DHT.RefreshRoutingTable():
					case <-ctx.Done():
					}
				})
			}
			wg.Wait()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop closes a node's service, store and DHT (idempotent).
func (c *cluster) stop(i int) {
	tn := c.nodes[i]
	if !tn.up {
		return
	}
	tn.up = false
	if tn.svc != nil {
		tn.svc.Close()
		select {
		case err := <-tn.run:
			if err != nil {
				c.tb.Errorf("node %d: Run: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			c.tb.Errorf("node %d: Run did not return after Close", i)
		}
	}
	if tn.store != nil {
		if err := tn.store.Close(); err != nil {
			c.tb.Errorf("node %d: %v", i, err)
		}
	}
	tn.node.Close()
	tn.svc, tn.store = nil, nil
}

// restart starts a stopped node again with the same identity and bbolt file.
func (c *cluster) restart(i int) {
	c.tb.Helper()
	tn := c.nodes[i]
	c.startDHT(tn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tn.node.Bootstrap(ctx, c.bootPeers()); err != nil {
		c.tb.Fatalf("bootstrap node %d: %v", i, err)
	}
	c.startService(tn)
}

// addCloser starts a new node whose identity puts it among the rank
// closest running nodes to a set, bootstraps it and starts its service.
func (c *cluster) addCloser(ns string, key []byte, rank int) int {
	c.tb.Helper()
	var ids []peer.ID
	for _, tn := range c.live() {
		ids = append(ids, tn.node.Host.ID())
	}
	for {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			c.tb.Fatal(err)
		}
		pub, err := crypto.UnmarshalEd25519PublicKey(priv.Public().(ed25519.PublicKey))
		if err != nil {
			c.tb.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			c.tb.Fatal(err)
		}
		if !slices.Contains(orderByDistance(setitem.SetKey(ns, key), append(slices.Clone(ids), id))[:rank], id) {
			continue
		}
		i := len(c.nodes)
		tn := &testNode{idx: i, priv: priv, path: filepath.Join(c.tb.TempDir(), "sets.db"), rules: testRules()}
		c.nodes = append(c.nodes, tn)
		c.tb.Cleanup(func() { c.stop(i) })
		c.startDHT(tn)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tn.node.Bootstrap(ctx, c.bootPeers()); err != nil {
			c.tb.Fatalf("bootstrap node %d: %v", i, err)
		}
		c.startService(tn)
		return i
	}
}

func (c *cluster) live() []*testNode {
	var out []*testNode
	for _, tn := range c.nodes {
		if tn.up {
			out = append(out, tn)
		}
	}
	return out
}

// replicas returns the indices of the running nodes in order of distance
// to a set, nearest first.
func (c *cluster) replicas(ns string, key []byte) []int {
	var ids []peer.ID
	byID := map[peer.ID]int{}
	for _, tn := range c.live() {
		ids = append(ids, tn.node.Host.ID())
		byID[tn.node.Host.ID()] = tn.idx
	}
	var out []int
	for _, p := range orderByDistance(setitem.SetKey(ns, key), ids) {
		out = append(out, byID[p])
	}
	return out
}

// keyAvoiding returns a set key, unique to the test tb, whose r closest
// running nodes include none of avoid.
func (c *cluster) keyAvoiding(tb testing.TB, ns string, r int, avoid ...int) []byte {
	tb.Helper()
	for i := range 10000 {
		key := fmt.Appendf(nil, "%s/%d", tb.Name(), i)
		ok := true
		for _, idx := range c.replicas(ns, key)[:r] {
			for _, a := range avoid {
				if idx == a {
					ok = false
				}
			}
		}
		if ok {
			return key
		}
	}
	tb.Fatal("no suitable key")
	return nil
}

// holders returns the indices of the running nodes whose store holds every
// one of ids.
func (c *cluster) holders(ns string, key []byte, ids ...[32]byte) []int {
	var out []int
	for _, tn := range c.live() {
		have := map[[32]byte]bool{}
		got, err := tn.store.itemIDs(setitem.SetKey(ns, key), time.Now(), maxIDsPerSet)
		if err != nil {
			c.tb.Fatal(err)
		}
		for _, id := range got {
			have[[32]byte(id)] = true
		}
		all := true
		for _, id := range ids {
			all = all && have[id]
		}
		if all {
			out = append(out, tn.idx)
		}
	}
	return out
}

// newItem builds an item expiring in ttl and solves its proof-of-work for
// the default rules.
func newItem(tb testing.TB, ns string, key []byte, body string, nullifier []byte, ttl time.Duration) setitem.Item {
	tb.Helper()
	it := setitem.Item{Namespace: ns, Key: key, Body: []byte(body), Expires: time.Now().Add(ttl).Unix()}
	if nullifier != nil {
		signAs(&it, string(nullifier))
	}
	if err := it.Solve(context.Background(), setitem.DefaultRules()[ns].PoWBits); err != nil {
		tb.Fatal(err)
	}
	return it
}

// signAs signs it with the nullifier key that writer label derives for its
// set (setitem.NullifierKey with the label as the secret).
func signAs(it *setitem.Item, label string) {
	k, err := setitem.NullifierKey([]byte(label), it.Namespace, it.Key)
	if err == nil {
		err = it.Sign(k)
	}
	if err != nil {
		panic(err)
	}
}

func mustID(tb testing.TB, it setitem.Item) [32]byte {
	tb.Helper()
	id, err := it.ID()
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// eventually polls cond every 50 ms until it holds or the deadline passes.
func eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testCtx is a context for one operation in a test.
func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// openTestStore opens a store in a temporary directory without fsync.
func openTestStore(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "sets.db"))
	if err != nil {
		tb.Fatal(err)
	}
	s.db.NoSync = true
	tb.Cleanup(func() { s.Close() })
	return s
}

// checkStore verifies that the store's buckets agree with each other and
// that every stored item is valid.
func checkStore(tb testing.TB, s *Store) {
	tb.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := openBuckets(tx)
		counts := map[string]uint32{}
		nulls := map[string]bool{}
		err := b.items.ForEach(func(k, v []byte) error {
			if len(k) != itemKeyLen {
				return fmt.Errorf("item key of %d bytes", len(k))
			}
			sk, exp, id := k[:skLen], k[skLen:skLen+expLen], k[skLen+expLen:]
			it, err := setitem.Decode(v)
			if err != nil {
				return fmt.Errorf("stored item does not decode: %v", err)
			}
			if h := sha256.Sum256(v); !bytes.Equal(h[:], id) {
				return fmt.Errorf("item id mismatch")
			}
			if want := setitem.SetKey(it.Namespace, it.Key); !bytes.Equal(want[:], sk) {
				return fmt.Errorf("item under the wrong set")
			}
			if binary.BigEndian.Uint64(exp) != uint64(it.Expires) {
				return fmt.Errorf("item under the wrong expiry")
			}
			dv := b.ids.Get(cat(sk, id))
			if len(dv) < expLen || !bytes.Equal(dv[:expLen], exp) {
				return fmt.Errorf("ids entry missing or wrong")
			}
			if b.expiry.Get(cat(exp, sk, id)) == nil {
				return fmt.Errorf("expiry entry missing")
			}
			if len(it.Nullifier) > 0 {
				nh := sha256.Sum256(it.Nullifier)
				if !bytes.Equal(dv[expLen:], nh[:]) {
					return fmt.Errorf("ids entry has the wrong nullifier")
				}
				if !bytes.Equal(b.nulls.Get(cat(sk, nh[:])), cat(exp, id)) {
					return fmt.Errorf("nullifier entry does not point to its item")
				}
				nk := string(cat(sk, nh[:]))
				if nulls[nk] {
					return fmt.Errorf("two items with one nullifier")
				}
				nulls[nk] = true
			} else if len(dv) != expLen {
				return fmt.Errorf("ids entry has a nullifier the item lacks")
			}
			counts[string(sk)]++
			return nil
		})
		if err != nil {
			return err
		}
		if n := b.ids.Stats().KeyN; n != sum(counts) {
			return fmt.Errorf("%d ids entries for %d items", n, sum(counts))
		}
		if n := b.expiry.Stats().KeyN; n != sum(counts) {
			return fmt.Errorf("%d expiry entries for %d items", n, sum(counts))
		}
		if n := b.nulls.Stats().KeyN; n != len(nulls) {
			return fmt.Errorf("%d nullifier entries for %d", n, len(nulls))
		}
		if n := b.sets.Stats().KeyN; n != len(counts) {
			return fmt.Errorf("%d sets entries for %d sets", n, len(counts))
		}
		err = b.hourly.ForEach(func(k, v []byte) error {
			if len(k) != hourKeyLen || len(v) != counterLen || binary.BigEndian.Uint32(v) == 0 {
				return fmt.Errorf("malformed hourly counter %x → %x", k, v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return b.sets.ForEach(func(k, v []byte) error {
			count, ns, key, ok := parseSetRec(v)
			if !ok {
				return fmt.Errorf("malformed sets entry")
			}
			if sk := setitem.SetKey(ns, key); !bytes.Equal(sk[:], k) {
				return fmt.Errorf("sets entry under the wrong key")
			}
			if count != counts[string(k)] {
				return fmt.Errorf("set count %d, holds %d", count, counts[string(k)])
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("store inconsistent: %v", err)
	}
}

func sum(m map[string]uint32) int {
	var n int
	for _, v := range m {
		n += int(v)
	}
	return n
}
