package sets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
	bolt "go.etcd.io/bbolt"
)

var t0 = time.Unix(1_700_000_000, 0)

// plainRules are rules without proof-of-work, for store tests.
func plainRules() setitem.Rules {
	return setitem.Rules{MaxItemSize: 1024, TTL: time.Hour, Dedup: true, MaxItemsPerKey: 5}
}

func storeItem(key, body string, exp int64, null string) setitem.Item {
	it := setitem.Item{Namespace: "test", Key: []byte(key), Body: []byte(body), Expires: exp}
	if null != "" {
		signAs(&it, null)
	}
	return it
}

func mustPut(t *testing.T, s *Store, it setitem.Item, r setitem.Rules, now time.Time) bool {
	t.Helper()
	ok, err := s.Put(it, r, now)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return ok
}

func bodies(items []setitem.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Body))
	}
	return out
}

func TestItemEncodingRoundTrip(t *testing.T) {
	it := setitem.Item{Namespace: "vote", Key: []byte("poll-1"), Body: []byte("yes"), Expires: t0.Unix()}
	signAs(&it, "n1")
	it.Nonce = 7
	b, err := setitem.Encode(&it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := setitem.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Namespace != it.Namespace || !bytes.Equal(got.Key, it.Key) || !bytes.Equal(got.Body, it.Body) ||
		!bytes.Equal(got.Nullifier, it.Nullifier) || !bytes.Equal(got.Sig, it.Sig) || got.Expires != it.Expires || got.Nonce != it.Nonce {
		t.Fatalf("round trip: %+v", got)
	}
	// Non-canonical: a trailing byte, or the same map with a longer integer.
	if _, err := setitem.Decode(append(bytes.Clone(b), 0)); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("trailing byte: %v", err)
	}
	for _, bad := range []setitem.Item{
		{Namespace: "", Key: []byte("k"), Expires: 1},
		{Namespace: "Vote", Key: []byte("k"), Expires: 1},
		{Namespace: "vote", Key: nil, Expires: 1},
		{Namespace: "vote", Key: make([]byte, setitem.MaxKeySize+1), Expires: 1},
		{Namespace: "vote", Key: []byte("k"), Nullifier: make([]byte, setitem.NullifierSize+1), Expires: 1},
		{Namespace: "vote", Key: []byte("k"), Nullifier: make([]byte, setitem.NullifierSize-1), Expires: 1},
		{Namespace: "vote", Key: []byte("k"), Sig: make([]byte, 64), Expires: 1},
		{Namespace: "vote", Key: []byte("k"), Nullifier: make([]byte, setitem.NullifierSize), Sig: make([]byte, 63), Expires: 1},
		{Namespace: "vote", Key: []byte("k"), Expires: 0},
	} {
		if _, err := setitem.Encode(&bad); !errors.Is(err, wire.ErrInvalid) {
			t.Errorf("setitem.Encode(%+v) = %v, want wire.ErrInvalid", bad, err)
		}
	}
	big := setitem.Item{Namespace: "vote", Key: []byte("k"), Body: make([]byte, setitem.ItemSizeCap), Expires: 1}
	if _, err := setitem.Encode(&big); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	if _, err := setitem.Decode(make([]byte, setitem.ItemSizeCap+1)); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("oversize decode: %v", err)
	}
}

func TestProofOfWork(t *testing.T) {
	it := setitem.Item{Namespace: "pin", Key: []byte("k"), Body: []byte("b"), Expires: t0.Unix() + 60}
	if err := it.Solve(context.Background(), 12); err != nil {
		t.Fatal(err)
	}
	if !it.CheckPoW(12) {
		t.Fatal("solved item fails its own check")
	}
	r := setitem.Rules{MaxItemSize: 1024, TTL: time.Hour, PoWBits: 12}
	if err := r.Verify(&it, 100, t0); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Changing any field invalidates the work (with overwhelming
	// probability; retry with another body if this one happens to pass).
	for i := 0; ; i++ {
		changed := it
		changed.Body = []byte{byte(i)}
		if changed.CheckPoW(12) {
			continue
		}
		if err := r.Verify(&changed, 100, t0); !errors.Is(err, wire.ErrPoW) {
			t.Fatalf("changed item: %v, want wire.ErrPoW", err)
		}
		break
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := it.Solve(ctx, wire.MaxPoWBits); err == nil {
		t.Fatal("Solve ignored a canceled context")
	}
}

func TestRulesVerify(t *testing.T) {
	r := plainRules()
	r.Dedup = false
	ok := storeItem("k", "b", t0.Unix()+60, "")
	if err := r.Verify(&ok, 100, t0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		it   setitem.Item
		size int
		want error
	}{
		{ok, 2000, wire.ErrTooLarge},
		{storeItem("k", "b", t0.Unix(), ""), 100, wire.ErrExpired},
		{storeItem("k", "b", t0.Add(time.Hour+setitem.MaxClockSkew+time.Minute).Unix(), ""), 100, wire.ErrInvalid},
		{storeItem("k", "b", t0.Unix()+60, "null"), 100, wire.ErrInvalid},
	}
	for i, c := range cases {
		if err := r.Verify(&c.it, c.size, t0); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
	r.Check = func(*setitem.Item) error { return errors.New("no") }
	if err := r.Verify(&ok, 100, t0); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("Check hook: %v, want wire.ErrInvalid", err)
	}
	for ns, rr := range setitem.DefaultRules() {
		if err := rr.Validate(ns); err != nil {
			t.Errorf("default rules: %v", err)
		}
	}
}

func TestStorePutScanPaging(t *testing.T) {
	s := openTestStore(t)
	r := plainRules()
	r.MaxItemsPerKey = 100
	for i := range 10 {
		if !mustPut(t, s, storeItem("k", string(rune('a'+i)), t0.Unix()+int64(100-i), ""), r, t0) {
			t.Fatal("not stored")
		}
	}
	// Same item again: not stored, no error.
	if mustPut(t, s, storeItem("k", "a", t0.Unix()+100, ""), r, t0) {
		t.Fatal("duplicate stored")
	}
	// Another set is separate.
	mustPut(t, s, storeItem("other", "x", t0.Unix()+50, ""), r, t0)
	var all []string
	var cursor []byte
	for pages := 0; ; pages++ {
		items, next, err := s.Scan("test", []byte("k"), cursor, 3, t0)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, bodies(items)...)
		if next == nil {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	// Ordered by expiry: the last written expires first.
	if got, want := string(bytes.Join(toBytes(all), nil)), "jihgfedcba"; got != want {
		t.Fatalf("scan order %q, want %q", got, want)
	}
	// An item's own Cursor resumes the scan just after it (an exit cuts a
	// page short with it when the next item would not fit a reply).
	items, _, err := s.Scan("test", []byte("k"), nil, 4, t0)
	if err != nil {
		t.Fatal(err)
	}
	after, err := items[1].Cursor()
	if err != nil {
		t.Fatal(err)
	}
	rest, _, err := s.Scan("test", []byte("k"), after, 2, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(bodies(rest), ""); got != "hg" {
		t.Fatalf("scan after the second item: %q, want \"hg\"", got)
	}
	if _, _, err := s.Scan("test", []byte("k"), []byte("short"), 3, t0); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
	checkStore(t, s)
}

func toBytes(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestStoreNullifierLaterWins(t *testing.T) {
	r := plainRules()
	early := storeItem("k", "early", t0.Unix()+100, "n")
	late := storeItem("k", "late", t0.Unix()+200, "n")
	other := storeItem("k", "other", t0.Unix()+150, "m")
	for _, order := range [][]setitem.Item{{early, late, other}, {late, early, other}} {
		s := openTestStore(t)
		for _, it := range order {
			if _, err := s.Put(it, r, t0); err != nil {
				t.Fatal(err)
			}
		}
		items, _, err := s.Scan("test", []byte("k"), nil, 10, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(items); len(got) != 2 || got[0] != "other" || got[1] != "late" {
			t.Fatalf("order %s,%s: got %q", order[0].Body, order[1].Body, got)
		}
		checkStore(t, s)
	}
}

func TestStoreQuotaAndSweep(t *testing.T) {
	s := openTestStore(t)
	r := plainRules() // 5 per key
	for i := range 5 {
		mustPut(t, s, storeItem("k", string(rune('a'+i)), t0.Unix()+int64(10+i), ""), r, t0)
	}
	_, err := s.Put(storeItem("k", "f", t0.Unix()+60, ""), r, t0)
	if !errors.Is(err, wire.ErrQuota) {
		t.Fatalf("6th item: %v, want wire.ErrQuota", err)
	}
	// A replacement by nullifier is not refused by the quota.
	r2 := r
	r2.MaxItemsPerKey = 1
	mustPut(t, s, storeItem("n", "v1", t0.Unix()+10, "x"), r2, t0)
	if !mustPut(t, s, storeItem("n", "v2", t0.Unix()+20, "x"), r2, t0) {
		t.Fatal("replacement not stored")
	}
	// Once items expire, a full set takes new ones.
	later := t0.Add(11 * time.Second) // "a" and "b" (t0+10, t0+11) expired
	if !mustPut(t, s, storeItem("k", "f", later.Unix()+60, ""), r, later) {
		t.Fatal("not stored after expiry")
	}
	checkStore(t, s)
	n, err := s.Sweep(t0.Add(13 * time.Second)) // c, d expire
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	items, _, _ := s.Scan("test", []byte("k"), nil, 10, t0)
	if got := bodies(items); len(got) != 2 || got[0] != "e" || got[1] != "f" {
		t.Fatalf("after sweep: %q", got)
	}
	checkStore(t, s)
	if n, _ := s.Sweep(t0.Add(24 * time.Hour)); n != 3 { // e, f, v2
		t.Fatalf("final sweep removed %d, want 3", n)
	}
	checkStore(t, s)
	if refs, _ := s.listSets(nil, 10); len(refs) != 0 {
		t.Fatalf("%d sets left after sweeping everything", len(refs))
	}
}

func TestStoreReopenAndPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "sets.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, storeItem("k", "kept", t0.Unix()+60, ""), plainRules(), t0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode %v, want 0600", fi.Mode().Perm())
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	items, _, err := s.Scan("test", []byte("k"), nil, 10, t0)
	if err != nil || len(items) != 1 || string(items[0].Body) != "kept" {
		t.Fatalf("after reopen: %v %v", bodies(items), err)
	}
}

func TestMergeDedupAndPaging(t *testing.T) {
	r := plainRules()
	r.MaxItemsPerKey = 0
	enc := func(it setitem.Item) []byte {
		b, err := setitem.Encode(&it)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := storeItem("k", "a", t0.Unix()+10, "")
	b := storeItem("k", "b", t0.Unix()+20, "n")
	b2 := storeItem("k", "b2", t0.Unix()+30, "n")
	c := storeItem("k", "c", t0.Unix()+40, "")
	foreign := storeItem("other", "x", t0.Unix()+15, "")
	answers := []*response{
		{Items: [][]byte{enc(a), enc(b), {0xff}, enc(foreign)}},
		{Items: [][]byte{enc(a), enc(b2), enc(c)}, Next: []byte("0123456789012345678901234567890123456789")},
	}
	items, next, dropped := merge(answers, "test", []byte("k"), r, nil, 10, t0)
	if got := bodies(items); len(got) != 3 || got[0] != "a" || got[1] != "b2" || got[2] != "c" {
		t.Fatalf("merged %q", got)
	}
	if dropped != 2 {
		t.Fatalf("dropped %d, want 2", dropped)
	}
	if next == nil {
		t.Fatal("a replica has more but next is nil")
	}
	items, next, _ = merge(answers, "test", []byte("k"), r, nil, 2, t0)
	if got := bodies(items); len(got) != 2 || got[1] != "b2" || next == nil {
		t.Fatalf("limited merge %q next %x", got, next)
	}
}

// TestNullifierSignature: an item with a nullifier verifies only with its
// key's signature over every field; nullifier keys are stable per writer
// and set, and unrelated across sets.
func TestNullifierSignature(t *testing.T) {
	r := plainRules()
	it := storeItem("poll", "yes", t0.Unix()+60, "voter")
	if err := r.Verify(&it, 100, t0); err != nil {
		t.Fatalf("signed item: %v", err)
	}
	for name, change := range map[string]func(*setitem.Item){
		"body":      func(x *setitem.Item) { x.Body = []byte("no") },
		"expiry":    func(x *setitem.Item) { x.Expires++ },
		"key":       func(x *setitem.Item) { x.Key = []byte("poll2") },
		"signature": func(x *setitem.Item) { x.Sig = bytes.Clone(x.Sig); x.Sig[0] ^= 1 },
		"unsigned":  func(x *setitem.Item) { x.Sig = nil },
		"other key": func(x *setitem.Item) {
			y := storeItem("poll", "yes", t0.Unix()+60, "mallory")
			x.Nullifier = y.Nullifier
		},
	} {
		bad := it
		change(&bad)
		if err := r.Verify(&bad, 100, t0); !errors.Is(err, wire.ErrInvalid) {
			t.Errorf("%s changed: %v, want wire.ErrInvalid", name, err)
		}
	}
	// The proof of work is solved after signing and does not break it.
	r.PoWBits = 4
	if err := it.Solve(context.Background(), r.PoWBits); err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(&it, 100, t0); err != nil {
		t.Fatalf("signed and solved item: %v", err)
	}
	k1, _ := setitem.NullifierKey([]byte("secret"), "vote", []byte("poll-1"))
	k2, _ := setitem.NullifierKey([]byte("secret"), "vote", []byte("poll-1"))
	k3, _ := setitem.NullifierKey([]byte("secret"), "vote", []byte("poll-2"))
	k4, _ := setitem.NullifierKey([]byte("other"), "vote", []byte("poll-1"))
	if !k1.Equal(k2) || k1.Equal(k3) || k1.Equal(k4) {
		t.Fatal("nullifier keys: same writer and set must agree, others differ")
	}
}

// TestNullifierTieNotGrindable: at equal expiry the greater signature
// wins, never the greater id: a copy of an old item with another nonce
// (which anyone can make, the nonce being outside the signature) does not
// take the place of what the nullifier's holder signed last.
func TestNullifierTieNotGrindable(t *testing.T) {
	r := plainRules()
	s := openTestStore(t)
	a := storeItem("k", "yes", t0.Unix()+100, "voter")
	b := storeItem("k", "no", t0.Unix()+100, "voter")
	if bytes.Compare(a.Sig, b.Sig) > 0 {
		a, b = b, a
	}
	mustPut(t, s, b, r, t0) // the greater signature
	for nonce := uint64(1); nonce < 50; nonce++ {
		x := a
		x.Nonce = nonce
		if mustPut(t, s, x, r, t0) {
			t.Fatalf("the smaller signature replaced the greater (nonce %d)", nonce)
		}
		y := b
		y.Nonce = nonce
		if mustPut(t, s, y, r, t0) {
			t.Fatalf("a copy with another nonce replaced the original (nonce %d)", nonce)
		}
	}
	items, _, err := s.Scan("test", []byte("k"), nil, 10, t0)
	if err != nil || len(items) != 1 || string(items[0].Body) != string(b.Body) || items[0].Nonce != 0 {
		t.Fatalf("set holds %+v, %v", items, err)
	}
	checkStore(t, s)
}

// hourlyCounters is how many hourly counters the store holds.
func hourlyCounters(tb testing.TB, s *Store) int {
	tb.Helper()
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHourly).Stats().KeyN
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestStoreHourlyCap: a set takes at most MaxItemsPerKeyPerHour appends in
// one hour of the node's clock, then wire.ErrQuota until the next hour. An
// item already held is acknowledged without counting, a replacement by
// nullifier counts, a replication push is neither counted nor refused,
// the counters survive a restart, and Sweep drops those of past hours.
func TestStoreHourlyCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sets.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := setitem.Rules{MaxItemSize: 1024, TTL: 48 * time.Hour, Dedup: true, MaxItemsPerKey: 100, MaxItemsPerKeyPerHour: 3}
	hour := t0.Truncate(time.Hour)
	now := hour.Add(10 * time.Minute)
	exp := now.Unix() + 24*3600

	a := storeItem("k", "a", exp, "")
	if !mustPut(t, s, a, r, now) {
		t.Fatal("first item not stored")
	}
	if mustPut(t, s, a, r, now) { // held: acknowledged, not counted
		t.Fatal("the same item stored twice")
	}
	mustPut(t, s, storeItem("k", "v1", exp, "x"), r, now)
	if !mustPut(t, s, storeItem("k", "v2", exp+1, "x"), r, now) { // replaces v1: counts
		t.Fatal("replacement not stored")
	}
	over := storeItem("k", "over", exp, "")
	_, err = s.Put(over, r, now)
	if !errors.Is(err, wire.ErrQuota) || !strings.Contains(err.Error(), "took 3 items this hour") ||
		!strings.Contains(err.Error(), "max_items_per_key_per_hour") || !strings.Contains(err.Error(), "from 23:00 UTC") {
		t.Fatalf("4th append of the hour: %v, want wire.ErrQuota naming the hourly cap and the next hour", err)
	}
	// Another set has its own counter.
	mustPut(t, s, storeItem("other", "b", exp, ""), r, now)
	// A push of an item another replica accepted goes through and is not
	// counted: the set still refuses appends, no more and no fewer.
	pushed := storeItem("k", "pushed", exp, "")
	enc, err := setitem.Encode(&pushed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.put(&pushed, enc, r, now, fromPush); err != nil || !ok {
		t.Fatalf("push beyond the hourly cap: stored %v, %v", ok, err)
	}
	// The set cap still binds pushes.
	full := r
	full.MaxItemsPerKey = 3 // a, v2 and the pushed item
	late := storeItem("k", "late push", exp, "")
	enc, err = setitem.Encode(&late)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.put(&late, enc, full, now, fromPush); !errors.Is(err, wire.ErrQuota) {
		t.Fatalf("push into a full set: %v, want wire.ErrQuota", err)
	}
	checkStore(t, s)

	// A restart keeps the counters: the set still refuses within the hour.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(over, r, hour.Add(59*time.Minute)); !errors.Is(err, wire.ErrQuota) {
		t.Fatalf("after a restart in the same hour: %v, want wire.ErrQuota", err)
	}
	// The next hour takes appends again.
	next := hour.Add(time.Hour)
	if !mustPut(t, s, over, r, next) {
		t.Fatal("not stored in the next hour")
	}
	if n := hourlyCounters(t, s); n != 3 {
		t.Fatalf("%d counters, want 3 (k and other last hour, k this hour)", n)
	}
	if _, err := s.Sweep(next); err != nil {
		t.Fatal(err)
	}
	if n := hourlyCounters(t, s); n != 1 {
		t.Fatalf("%d counters after the sweep, want 1 (this hour's)", n)
	}
	// Without an hourly cap nothing is counted.
	mustPut(t, s, storeItem("free", "c", next.Unix()+60, ""), plainRules(), next)
	if n := hourlyCounters(t, s); n != 1 {
		t.Fatalf("%d counters after an uncapped append, want 1", n)
	}
	checkStore(t, s)
}
