package sets

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
	"github.com/libp2p/go-libp2p/core/network"
)

// clusterOpts are the options of the test clusters: fast re-replication.
func clusterOpts() Options {
	return Options{ReplicateInterval: 500 * time.Millisecond, RequestTimeout: 5 * time.Second}
}

// TestSets runs the multi-writer scenarios on one 10-node cluster. Node 9
// writes with lax rules, standing for a misconfigured exit node, so that
// storage nodes' refusals come back over the wire.
func TestSets(t *testing.T) {
	const lax = 9
	c := newCluster(t, 10, clusterOpts(), func(i int) map[string]setitem.Rules {
		if i == lax {
			return laxRules()
		}
		return nil
	})
	node := func(i int) *Service { return c.nodes[i].svc }

	t.Run("TwoWritersThirdReader", func(t *testing.T) {
		key := c.keyAvoiding(t, "area", 3, lax)
		a := newItem(t, "area", key, "from writer 1", nil, time.Hour)
		b := newItem(t, "area", key, "from writer 2", nil, time.Hour)
		for i, it := range map[int]setitem.Item{1: a, 2: b} {
			n, err := node(i).Append(testCtx(t), it)
			if err != nil {
				t.Fatalf("append from node %d: %v", i, err)
			}
			if n < 3 {
				t.Fatalf("append from node %d: %d replicas", i, n)
			}
		}
		items, next, err := node(3).Scan(testCtx(t), "area", key, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := bodies(items)
		slices.Sort(got)
		if len(got) != 2 || got[0] != "from writer 1" || got[1] != "from writer 2" || next != nil {
			t.Fatalf("scan: %q next %x", got, next)
		}
		if h := c.holders("area", key, mustID(t, a), mustID(t, b)); len(h) < 3 {
			t.Fatalf("held by %v, want at least 3 nodes", h)
		}
	})

	t.Run("NullifierLaterWins", func(t *testing.T) {
		key := c.keyAvoiding(t, "vote", 3, lax)
		null := []byte("nullifier-of-voter-1")
		first := newItem(t, "vote", key, "yes", null, time.Hour)
		second := newItem(t, "vote", key, "no", null, 2*time.Hour)
		other := newItem(t, "vote", key, "yes", []byte("nullifier-of-voter-2"), time.Hour)
		for i, it := range []setitem.Item{first, second, other} {
			if _, err := node(1+i%2).Append(testCtx(t), it); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		// The earlier vote, sent again, does not come back.
		if _, err := node(4).Append(testCtx(t), first); err != nil {
			t.Fatal(err)
		}
		items, _, err := node(3).Scan(testCtx(t), "vote", key, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		voter := map[string]string{string(first.Nullifier): "voter-1", string(other.Nullifier): "voter-2"}
		votes := func(items []setitem.Item) []string {
			var out []string
			for _, it := range items {
				out = append(out, voter[string(it.Nullifier)]+"="+string(it.Body))
			}
			slices.Sort(out)
			return out
		}
		if got, want := votes(items), []string{"voter-1=no", "voter-2=yes"}; !slices.Equal(got, want) {
			t.Fatalf("votes %q, want %q", got, want)
		}
		// Someone who read voter 1's nullifier in a scan cannot replace
		// the vote: the item must be signed by the nullifier's key.
		forged := newItem(t, "vote", key, "yes!", []byte("mallory"), 3*time.Hour)
		forged.Nullifier = first.Nullifier
		if err := forged.Solve(testCtx(t), setitem.DefaultRules()["vote"].PoWBits); err != nil {
			t.Fatal(err)
		}
		if _, err := node(4).Append(testCtx(t), forged); !errors.Is(err, wire.ErrInvalid) {
			t.Fatalf("vote under another's nullifier: %v, want wire.ErrInvalid", err)
		}
		// Append refuses it before it leaves the writer; a replica refuses
		// it too when it comes straight from a peer, appended or pushed.
		enc, err := setitem.Encode(&forged)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range c.replicas("vote", key)[:3] {
			for _, from := range []origin{fromAppend, fromPush} {
				if _, err := c.nodes[i].svc.accept(enc, time.Now(), from); !errors.Is(err, wire.ErrInvalid) {
					t.Fatalf("replica %d took the forged vote (origin %d): %v", i, from, err)
				}
			}
		}
		for _, i := range c.replicas("vote", key)[:3] {
			checkStore(t, c.nodes[i].store)
			if h := c.holders("vote", key, mustID(t, first)); slices.Contains(h, i) {
				t.Fatalf("replica %d still holds the replaced vote", i)
			}
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		key := c.keyAvoiding(t, "world", 3, lax)
		it := newItem(t, "world", key, "short-lived", nil, 2*time.Second)
		if _, err := node(1).Append(testCtx(t), it); err != nil {
			t.Fatal(err)
		}
		items, _, err := node(2).Scan(testCtx(t), "world", key, nil, 0)
		if err != nil || len(items) != 1 {
			t.Fatalf("before expiry: %d items, %v", len(items), err)
		}
		eventually(t, 10*time.Second, "item expires", func() bool {
			items, _, err := node(2).Scan(testCtx(t), "world", key, nil, 0)
			return err == nil && len(items) == 0
		})
		// Run's sweep deletes it from disk everywhere.
		eventually(t, 10*time.Second, "expired item swept", func() bool {
			for _, tn := range c.live() {
				if refs, _ := tn.store.listSets(nil, 1000); slices.ContainsFunc(refs, func(r setRef) bool { return r.sk == setitem.SetKey("world", key) }) {
					return false
				}
			}
			return true
		})
	})

	t.Run("SetQuotaOverWire", func(t *testing.T) {
		key := c.keyAvoiding(t, "rsvp", 3, 1, lax) // node 1 writes, is no replica
		for i := range 3 {
			if _, err := node(1).Append(testCtx(t), newItem(t, "rsvp", key, "guest "+string(rune('a'+i)), nil, time.Hour)); err != nil {
				t.Fatalf("rsvp %d: %v", i, err)
			}
		}
		_, err := node(1).Append(testCtx(t), newItem(t, "rsvp", key, "one too many", nil, time.Hour))
		var re *RemoteError
		if !errors.Is(err, wire.ErrQuota) || !errors.Is(err, wire.ErrReplicas) || !errors.As(err, &re) {
			t.Fatalf("4th rsvp: %v, want a remote wire.ErrQuota", err)
		}
		t.Logf("4th rsvp: %v", err)
	})

	t.Run("OversizeOverWire", func(t *testing.T) {
		key := c.keyAvoiding(t, "pin", 3, lax)
		it := setitem.Item{Namespace: "pin", Key: key, Body: []byte(strings.Repeat("x", 2000)), Expires: time.Now().Add(time.Hour).Unix()}
		if err := it.Solve(context.Background(), setitem.DefaultPoWBits); err != nil {
			t.Fatal(err)
		}
		_, err := node(1).Append(testCtx(t), it) // checked locally
		var re *RemoteError
		if !errors.Is(err, wire.ErrTooLarge) || errors.As(err, &re) {
			t.Fatalf("local oversize: %v", err)
		}
		_, err = node(lax).Append(testCtx(t), it) // checked by the replicas
		if !errors.Is(err, wire.ErrTooLarge) || !errors.As(err, &re) {
			t.Fatalf("oversize through the wire: %v, want a remote wire.ErrTooLarge", err)
		}
	})

	t.Run("InvalidPoW", func(t *testing.T) {
		key := c.keyAvoiding(t, "intro", 3, lax)
		it := setitem.Item{Namespace: "intro", Key: key, Body: []byte("hello"), Expires: time.Now().Add(time.Hour).Unix()}
		for it.CheckPoW(setitem.DefaultPoWBits) {
			it.Nonce++
		}
		_, err := node(1).Append(testCtx(t), it)
		var re *RemoteError
		if !errors.Is(err, wire.ErrPoW) || errors.As(err, &re) {
			t.Fatalf("local: %v, want wire.ErrPoW", err)
		}
		_, err = node(lax).Append(testCtx(t), it)
		if !errors.Is(err, wire.ErrPoW) || !errors.As(err, &re) {
			t.Fatalf("through the wire: %v, want a remote wire.ErrPoW", err)
		}
		if h := c.holders("intro", key, mustID(t, it)); len(h) > 0 {
			t.Fatalf("invalid item held by %v", h)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		key := c.keyAvoiding(t, "area", 3, lax)
		want := map[string]bool{}
		for i := range 7 {
			body := "post " + string(rune('a'+i))
			want[body] = true
			if _, err := node(1+i%3).Append(testCtx(t), newItem(t, "area", key, body, nil, time.Hour+time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		var cursor []byte
		for range 10 {
			items, next, err := node(5).Scan(testCtx(t), "area", key, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 3 {
				t.Fatalf("page of %d", len(items))
			}
			got = append(got, bodies(items)...)
			if cursor = next; cursor == nil {
				break
			}
		}
		if len(got) != len(want) {
			t.Fatalf("paged through %q", got)
		}
		for _, b := range got {
			if !want[b] {
				t.Fatalf("unexpected %q", b)
			}
		}
	})
}

// TestPeerRateLimit: a storage node refuses a peer's appends beyond its
// token bucket, and the caller sees wire.ErrQuota from the wire.
func TestPeerRateLimit(t *testing.T) {
	opts := clusterOpts()
	opts.AppendRate, opts.AppendBurst = 0.001, 2
	c := newCluster(t, 4, opts, nil)
	key := c.keyAvoiding(t, "area", 3, 1)
	for i := range 2 {
		if _, err := c.nodes[1].svc.Append(testCtx(t), newItem(t, "area", key, "ok "+string(rune('a'+i)), nil, time.Hour)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	_, err := c.nodes[1].svc.Append(testCtx(t), newItem(t, "area", key, "over the rate", nil, time.Hour))
	var re *RemoteError
	if !errors.Is(err, wire.ErrQuota) || !errors.As(err, &re) {
		t.Fatalf("3rd append: %v, want a remote wire.ErrQuota", err)
	}
	// Another peer is not affected.
	if _, err := c.nodes[2].svc.Append(testCtx(t), newItem(t, "area", key, "other writer", nil, time.Hour)); err != nil {
		t.Fatalf("other writer: %v", err)
	}
}

// TestRestartKeepsItems: a node restarted with the same identity and bbolt
// file still holds and serves its items.
func TestRestartKeepsItems(t *testing.T) {
	c := newCluster(t, 5, clusterOpts(), nil)
	key := c.keyAvoiding(t, "intro", 3, 0)
	var ids [][32]byte
	for i := range 3 {
		it := newItem(t, "intro", key, "intro "+string(rune('a'+i)), nil, time.Hour)
		ids = append(ids, mustID(t, it))
		if _, err := c.nodes[0].svc.Append(testCtx(t), it); err != nil {
			t.Fatal(err)
		}
	}
	h := c.replicas("intro", key)[0]
	if !slices.Contains(c.holders("intro", key, ids...), h) {
		t.Fatalf("closest node %d does not hold the items", h)
	}
	c.stop(h)
	c.restart(h)
	if !slices.Contains(c.holders("intro", key, ids...), h) {
		t.Fatalf("node %d lost its items across the restart", h)
	}
	items, _, err := c.nodes[h].svc.Scan(testCtx(t), "intro", key, nil, 0)
	if err != nil || len(items) != 3 {
		t.Fatalf("scan from the restarted node: %d items, %v", len(items), err)
	}
	// It serves them to others too.
	st, _, err := c.nodes[h].store.scanRaw(setitem.SetKey("intro", key), nil, 10, maxScanBytes, time.Now())
	if err != nil || len(st) != 3 {
		t.Fatalf("store after restart: %d, %v", len(st), err)
	}
	resp, err := c.nodes[0].svc.call(testCtx(t), c.nodes[h].node.Host.ID(), &request{Op: uint8(opScan), NS: "intro", Key: key})
	if err != nil || len(resp.Items) != 3 {
		t.Fatalf("remote scan of the restarted node: %v", err)
	}
}

// TestReplicationRecovers: with two of a set's three replicas stopped the
// set stays readable, and re-replication brings it back to three holders;
// a node that joins closer to the set receives it.
func TestReplicationRecovers(t *testing.T) {
	c := newCluster(t, 10, clusterOpts(), nil)
	key := c.keyAvoiding(t, "area", 3, 0, 1)
	var ids [][32]byte
	for i := range 5 {
		it := newItem(t, "area", key, "post "+string(rune('a'+i)), nil, time.Hour)
		ids = append(ids, mustID(t, it))
		if _, err := c.nodes[1].svc.Append(testCtx(t), it); err != nil {
			t.Fatal(err)
		}
	}
	top := c.replicas("area", key)[:3]
	for _, i := range top {
		if !slices.Contains(c.holders("area", key, ids...), i) {
			t.Fatalf("replica %d lacks the items", i)
		}
	}
	start := time.Now()
	c.stop(top[0])
	c.stop(top[1])
	items, _, err := c.nodes[0].svc.Scan(testCtx(t), "area", key, nil, 0)
	if err != nil || len(items) != 5 {
		t.Fatalf("scan with 2 replicas down: %d items, %v", len(items), err)
	}
	eventually(t, 20*time.Second, "replication factor restored", func() bool {
		return len(c.holders("area", key, ids...)) >= 3
	})
	t.Logf("replication restored in %v; holders %v", time.Since(start).Round(time.Millisecond), c.holders("area", key, ids...))
	// The restored replicas are the new closest nodes, so a scan still
	// finds everything.
	items, _, err = c.nodes[0].svc.Scan(testCtx(t), "area", key, nil, 0)
	if err != nil || len(items) != 5 {
		t.Fatalf("scan after recovery: %d items, %v", len(items), err)
	}

	// A node that joins closer to the set than the others receives it.
	start = time.Now()
	n := c.addCloser("area", key, 1)
	eventually(t, 20*time.Second, "the new closest node receives the set", func() bool {
		return slices.Contains(c.holders("area", key, ids...), n)
	})
	t.Logf("new closest node %d received the set in %v", n, time.Since(start).Round(time.Millisecond))
}

// TestCloseIsClean: Close stops Run and unregisters the protocol; calls
// afterwards fail with wire.ErrUnavailable, and peers fail over to other nodes.
func TestCloseIsClean(t *testing.T) {
	c := newCluster(t, 4, clusterOpts(), nil)
	svc := c.nodes[1].svc
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.nodes[1].run:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		c.nodes[1].run <- nil // for the cleanup, which waits for Run again
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if err := svc.Run(context.Background()); err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	if _, err := svc.Append(testCtx(t), newItem(t, "rsvp", []byte("k"), "x", nil, time.Hour)); !errors.Is(err, wire.ErrUnavailable) {
		t.Fatalf("append after close: %v", err)
	}
	// Node 1's DHT still runs but it no longer serves sets: writers skip it.
	var key []byte
	for i := 0; key == nil; i++ {
		k := fmt.Appendf(nil, "close/%d", i)
		top := c.replicas("area", k)[:3]
		if slices.Contains(top, 1) && !slices.Contains(top, 0) {
			key = k
		}
	}
	n, err := c.nodes[0].svc.Append(testCtx(t), newItem(t, "area", key, "failover", nil, time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("append with a closed replica: %d replicas, %v", n, err)
	}
}

// With Allow set (a node's allow_list), the service refuses streams from
// unlisted peers and never picks them as replicas.
func TestAllowRefusesUnlisted(t *testing.T) {
	opts := clusterOpts()
	var outsider atomic.Pointer[peer.ID]
	opts.Allow = func(p peer.ID) bool { o := outsider.Load(); return o == nil || p != *o }
	c := newCluster(t, 4, opts, nil)
	out3 := c.nodes[3].node.Host.ID()
	outsider.Store(&out3)
	// A key whose 3 closest nodes include the outsider, so that only the
	// filter keeps it from being a replica.
	var key []byte
	for i := 0; key == nil; i++ {
		k := fmt.Appendf(nil, "%s/%d", t.Name(), i)
		if slices.Contains(c.replicas("area", k)[:3], 3) {
			key = k
		}
	}
	it := newItem(t, "area", key, "listed", nil, time.Hour)
	if n, err := c.nodes[0].svc.Append(testCtx(t), it); err != nil || n < 3 {
		t.Fatalf("listed append: %d replicas, %v", n, err)
	}
	if got := c.holders("area", key, mustID(t, it)); slices.Contains(got, 3) {
		t.Fatalf("the unlisted node holds a replica: %v", got)
	}
	// The outsider's own service: every listed peer refuses it, so only
	// its own copy counts.
	out := newItem(t, "area", key, "outsider", nil, time.Hour)
	if n, err := c.nodes[3].svc.Append(testCtx(t), out); err == nil || n > 1 {
		t.Fatalf("unlisted append: %d replicas, %v", n, err)
	}
	if got := c.holders("area", key, mustID(t, out)); len(got) > 1 || (len(got) == 1 && got[0] != 3) {
		t.Fatalf("listed nodes took the outsider's item: %v", got)
	}
}

// TestStreamCaps: a peer that opens streams with partial 1 MiB frames gets
// MaxStreamsPerPeer of them served, a reset beyond, and each one cut
// off after frameGrace plus the frame at MinFrameRate; another peer is
// served meanwhile.
func TestStreamCaps(t *testing.T) {
	opts := clusterOpts()
	opts.MaxStreamsPerPeer = 2
	c := newCluster(t, 3, opts, nil)
	target, attacker, honest := c.nodes[0], c.nodes[1], c.nodes[2]
	ctx := testCtx(t)
	partial := make([]byte, 4+1000)
	binary.BigEndian.PutUint32(partial, MaxFrameSize)
	var held []network.Stream
	for range opts.MaxStreamsPerPeer {
		st, err := attacker.node.Host.NewStream(ctx, target.node.Host.ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Reset()
		if _, err := st.Write(partial); err != nil {
			t.Fatal(err)
		}
		held = append(held, st)
	}
	// Wait until the handlers hold their slots.
	deadline := time.Now().Add(10 * time.Second)
	for target.svc.streamsOf(attacker.node.Host.ID()) < opts.MaxStreamsPerPeer {
		if time.Now().After(deadline) {
			t.Fatalf("the target holds %d of the attacker's streams, want %d", target.svc.streamsOf(attacker.node.Host.ID()), opts.MaxStreamsPerPeer)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()

	// Beyond the cap: reset at once, unread.
	st, err := attacker.node.Host.NewStream(ctx, target.node.Host.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Reset()
	st.Write(partial)
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readFrame(st); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stream over the cap: %v, want a reset", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reset took %v", d)
	}

	// An honest peer is served.
	key := []byte(t.Name())
	if _, err := honest.svc.call(ctx, target.node.Host.ID(), &request{Op: uint8(opScan), NS: "area", Key: key}); err != nil {
		t.Fatalf("honest scan during the attack: %v", err)
	}

	// The trickled frames are cut off: 2 s for the header, then 2 s + 1 MiB
	// at 512 KiB/s.
	for _, st := range held {
		st.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.ReadAll(st)
	}
	want := frameGrace + time.Duration(MaxFrameSize)*time.Second/time.Duration(512<<10)
	if d := time.Since(start); d > want+time.Second {
		t.Fatalf("partial frames held for %v, want at most about %v", d, want)
	}
}

// TestProtocolLimited: the set protocol is the one the transport's
// resource-manager policy limits.
func TestProtocolLimited(t *testing.T) {
	if ProtocolID != string(transport.SetProtocol) {
		t.Fatalf("sets.ProtocolID %q, transport.SetProtocol %q", ProtocolID, transport.SetProtocol)
	}
}

// TestHourlyCap: storage nodes refuse appends to a set beyond its hourly
// cap with wire.ErrQuota, over the wire, and take them again the next hour
// (by Options.Now). Replication is not held up by the cap: items that one
// replica refused by its cap but the others took reach it by push, and
// pushes do not use up its hour.
func TestHourlyCap(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Truncate(time.Hour).Add(30 * time.Minute).UnixNano())
	opts := clusterOpts()
	opts.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	c := newCluster(t, 4, opts, func(int) map[string]setitem.Rules {
		r := testRules()
		area := r["area"]
		area.MaxItemsPerKeyPerHour = 2
		r["area"] = area
		return r
	})
	const writer = 0
	w := c.nodes[writer].svc
	item := func(key []byte, body string) setitem.Item { return newItem(t, "area", key, body, nil, 24*time.Hour) }

	t.Run("RefusedUntilTheNextHour", func(t *testing.T) {
		key := c.keyAvoiding(t, "area", 3, writer)
		for i := range 2 {
			if _, err := w.Append(testCtx(t), item(key, fmt.Sprint("post ", i))); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		third := item(key, "third post")
		_, err := w.Append(testCtx(t), third)
		var re *RemoteError
		if !errors.Is(err, wire.ErrQuota) || !errors.As(err, &re) || !strings.Contains(err.Error(), "hourly cap") {
			t.Fatalf("3rd append in the hour: %v, want a remote wire.ErrQuota naming the hourly cap", err)
		}
		clock.Add(int64(time.Hour))
		if n, err := w.Append(testCtx(t), third); err != nil || n < 3 {
			t.Fatalf("3rd append in the next hour: %d replicas, %v", n, err)
		}
	})

	t.Run("PushesConverge", func(t *testing.T) {
		// Replica x took two appends this hour that the others did not see
		// (as if they had come through exits that reached only x).
		key := c.keyAvoiding(t, "area", 3, writer)
		reps := c.replicas("area", key)[:3]
		x := c.nodes[reps[0]]
		var xOnly [][32]byte
		for i := range 2 {
			it := item(key, fmt.Sprint("x only ", i))
			enc, err := setitem.Encode(&it)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.svc.accept(enc, opts.Now(), fromAppend); err != nil {
				t.Fatal(err)
			}
			xOnly = append(xOnly, mustID(t, it))
		}
		// So x refuses the next append; the other two take it.
		refused := item(key, "refused by x")
		n, err := w.Append(testCtx(t), refused)
		if !errors.Is(err, wire.ErrQuota) || n != 2 {
			t.Fatalf("append that x refuses: %d replicas, %v; want 2 and wire.ErrQuota", n, err)
		}
		if h := c.holders("area", key, mustID(t, refused)); slices.Contains(h, x.idx) || len(h) != 2 {
			t.Fatalf("held by %v right after the append, want the two replicas but %d", h, x.idx)
		}
		// Re-replication brings every item to every replica.
		all := append([][32]byte{mustID(t, refused)}, xOnly...)
		eventually(t, 20*time.Second, "the replicas converge", func() bool {
			h := c.holders("area", key, all...)
			return slices.Contains(h, reps[0]) && slices.Contains(h, reps[1]) && slices.Contains(h, reps[2])
		})
		// The pushes x took did not count: it still took exactly two appends
		// this hour, and refuses a third.
		late := item(key, "late")
		enc, err := setitem.Encode(&late)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.svc.accept(enc, opts.Now(), fromAppend); !errors.Is(err, wire.ErrQuota) {
			t.Fatalf("append to x after the pushes: %v, want wire.ErrQuota", err)
		}
		for _, i := range reps {
			checkStore(t, c.nodes[i].store)
		}
	})
}

// TestPushFromStrangerIsCapped: a peer that is no storage node cannot pass
// the hourly cap by pushing instead of appending; a storage node's
// re-replication still passes it, so that replicas converge.
func TestPushFromStrangerIsCapped(t *testing.T) {
	rules := setitem.Rules{MaxItemSize: 1024, TTL: 48 * time.Hour, MaxItemsPerKey: 100, MaxItemsPerKeyPerHour: 2}
	mk := func(key string, n int) [][]byte {
		var out [][]byte
		for i := range n {
			it := setitem.Item{Namespace: "test", Key: []byte(key), Body: []byte{byte(i)}, Expires: t0.Unix() + 60 + int64(i)}
			b, err := setitem.Encode(&it)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	svc := &Service{
		store: openTestStore(t), rules: map[string]setitem.Rules{"test": rules},
		opt: Options{
			AppendRate: -1, PushRate: -1, ReadRate: -1,
			Replica: func(p peer.ID) bool { return p == "replica" },
			Now:     func() time.Time { return t0 },
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		}.withDefaults(),
		limits: map[peer.ID]*peerLimits{},
	}
	svc.log = svc.opt.Logger
	if resp := svc.serve("stranger", &request{Op: uint8(opPush), Items: mk("a", 5)}); resp.Code != 0 || resp.Stored != 2 {
		t.Fatalf("stranger's push of 5 items under a cap of 2: %+v, want 2 stored", resp)
	}
	if resp := svc.serve("replica", &request{Op: uint8(opPush), Items: mk("b", 5)}); resp.Code != 0 || resp.Stored != 5 {
		t.Fatalf("replica's push of 5 items: %+v, want all 5 stored", resp)
	}
}
