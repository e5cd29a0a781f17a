package pin_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/internal/testuser"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// startNet starts the network a user of `komrade testnet` gets: its
// defaults.
func startNet(t testing.TB, o testnet.Options) *testnet.Network {
	t.Helper()
	o.Dir, o.Logger = t.TempDir(), quiet()
	net, err := testnet.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

type user struct {
	c  *client.Client
	id *client.Identity
	st *store.Store
	m  *messenger.Messenger
	p  *pin.Service

	mu   sync.Mutex
	seen map[string]pin.Marker // what its watch showed
	at   map[string]time.Time  // and when
}

// newUser makes a user on net whose pin service runs (its watch and its
// publication of pins) until the test ends; with rates, the client runs
// cover traffic at them.
func newUser(t testing.TB, net *testnet.Network, rates *client.Rates, cfg pin.Config) *user {
	t.Helper()
	tu := testuser.New(t, net, rates, quiet())
	c, id, st := tu.Client, tu.ID, tu.Store
	u := &user{c: c, id: id, st: st, m: messenger.New(c, id, st, quiet()), seen: map[string]pin.Marker{}, at: map[string]time.Time{}}
	u.p = u.run(t, cfg)
	return u
}

// run starts a pin service for u (the watch with its own area, if any,
// shown into u.seen) and stops it when the test ends.
func (u *user) run(t testing.TB, cfg pin.Config) *pin.Service {
	s := pin.New(u.c, u.id, u.st, cfg, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	if len(cfg.Areas) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Watch(ctx, nil, func(m pin.Marker) error {
				u.mu.Lock()
				defer u.mu.Unlock()
				if _, ok := u.seen[m.ID]; !ok {
					u.at[m.ID] = time.Now()
				}
				u.seen[m.ID] = m
				return nil
			})
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return s
}

func (u *user) saw(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.seen[id]
	return ok
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pair makes a and b contacts, so that a holds contact-derived values.
func pair(t *testing.T, ctx context.Context, a, b *user) {
	t.Helper()
	code, err := a.m.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Accept(ctx, code, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
}

// sameCellPoint returns a point distM from p in p's level-4 cell.
func sameCellPoint(t *testing.T, p geo.Point, distM float64) geo.Point {
	cell, _ := geo.CellOf(p, social.AreaLevel)
	for b := 0.0; b < 360; b += 15 {
		q := geo.Destination(p, b, distM)
		if c, _ := geo.CellOf(q, social.AreaLevel); c == cell {
			return q
		}
	}
	t.Fatalf("no point %v m from %v in its cell", distM, p)
	return p
}

// scanCell reads a cell's pin set from the network, as stored.
func scanCell(t *testing.T, ctx context.Context, c *client.Client, cell geo.Cell) []*setitem.Item {
	t.Helper()
	var out []*setitem.Item
	var cursor []byte
	for range 50 {
		var res *wire.ScanResult
		err := c.Retry(ctx, 5, func(ctx context.Context) error {
			var err error
			res, err = c.Scan(ctx, wire.ScanRequest{Namespace: pin.Namespace, Key: pin.SetKey(cell), Cursor: cursor, Limit: 16})
			return err
		})
		if err != nil {
			t.Fatalf("scan %s: %v", cell, err)
		}
		for _, raw := range res.Items {
			it, err := setitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, it)
		}
		if len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			return out
		}
		cursor = res.Next
	}
	return out
}

// The pins, alerts and confirmations of issue 14 on one network of the
// testnet's defaults, shared by the subtests: alice publishes, bob watches
// an area that holds them, carol one in the same cell 6 km away that does
// not.
func TestPins(t *testing.T) {
	net := startNet(t, testnet.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	here := geo.Point{Lat: 52.5219, Lon: 13.4132}
	there := sameCellPoint(t, here, 6000)
	fast := pin.Config{DelayMin: time.Second, DelayMax: 2 * time.Second, WatchEvery: 2 * time.Second}
	aliceCfg := fast
	bobCfg := fast
	bobCfg.Areas = []pin.Area{{Near: here, RadiusM: 2000}}
	carolCfg := fast
	carolCfg.Areas = []pin.Area{{Near: there, RadiusM: 1000}}
	carolCfg.Confirmations = 3
	alice := newUser(t, net, nil, aliceCfg)
	bob := newUser(t, net, nil, bobCfg)
	carol := newUser(t, net, nil, carolCfg)
	pair(t, ctx, alice, bob)

	var policeID string
	var alertID pin.ID
	t.Run("reach", func(t *testing.T) {
		pend, err := alice.p.Pin(pin.PinOptions{Kind: pin.KindPolice, At: here, Note: "kettle at the bridge"})
		if err != nil {
			t.Fatal(err)
		}
		policeID = pend.ID
		if d := geo.Distance(here, geo.Point{Lat: pend.Lat, Lon: pend.Lon}); d > 150 {
			t.Fatalf("pin snapped %v m away", d)
		}
		alertID, err = alice.p.Alert(ctx, pin.AlertOptions{Near: here, RadiusM: 2000, Text: "march moves to the square"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bob sees the alert and the pin", time.Minute, func() bool { return bob.saw(alertID.String()) && bob.saw(policeID) })
		bob.mu.Lock()
		a, p := bob.seen[alertID.String()], bob.seen[policeID]
		bob.mu.Unlock()
		if a.Type != "alert" || a.Text != "march moves to the square" || a.RadiusM != 2000 {
			t.Fatalf("alert shown as %+v", a)
		}
		if p.Type != "pin" || p.Kind != "police" || p.Note != "kettle at the bridge" || p.Confirmed {
			t.Fatalf("pin shown as %+v", p)
		}
		// carol reads the same cell: she holds both and shows neither.
		waitFor(t, "carol reads both", time.Minute, func() bool {
			st, err := carol.p.Stats()
			return err == nil && st.PinsSeen >= 1 && st.AlertsSeen >= 1
		})
		if carol.saw(alertID.String()) || carol.saw(policeID) {
			t.Fatal("carol, 6 km away, was shown an alert of 2 km and a pin")
		}
		if ms, err := carol.p.List(pin.Query{}); err != nil || len(ms) != 0 {
			t.Fatalf("carol lists %+v, %v", ms, err)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		if policeID == "" {
			t.Skip("no pin")
		}
		// A second pin by alice in another cell, of another kind.
		far := geo.Destination(here, 90, 40_000)
		pend2, err := alice.p.Pin(pin.PinOptions{Kind: pin.KindMedic, At: far, Note: "first aid here", TTL: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the second pin is published", time.Minute, func() bool {
			p, err := alice.p.PendingPins()
			return err == nil && len(p) == 0
		})
		secret, err := social.VoteSecret(alice.id)
		if err != nil {
			t.Fatal(err)
		}
		contacts, err := alice.m.Contacts()
		if err != nil || len(contacts) != 1 {
			t.Fatalf("alice's contacts: %v, %v", contacts, err)
		}
		forbidden := map[string][]byte{
			"alice's signing key": alice.id.Sign.Public().(ed25519.PublicKey),
			"alice's DH key":      alice.id.DH.PublicKey().Bytes(),
			"alice's vote secret": secret,
			"bob's signing key":   bob.id.Sign.Public().(ed25519.PublicKey),
			"bob's DH key":        bob.id.DH.PublicKey().Bytes(),
		}
		for _, fp := range contacts { // the contact's fingerprint, as alice holds it
			forbidden["bob's fingerprint"] = []byte(fp)
		}
		find := func(cell geo.Cell, id string) []byte {
			for _, it := range scanCell(t, ctx, bob.c, cell) {
				if pin.IDOf(it.Body).String() == id {
					if len(it.Nullifier) != 0 || len(it.Sig) != 0 {
						t.Fatalf("item %s carries a nullifier or a signature", id[:12])
					}
					raw, err := setitem.Encode(it)
					if err != nil {
						t.Fatal(err)
					}
					return bytes.ReplaceAll(raw, it.Key, nil) // the cell is public
				}
			}
			t.Fatalf("item %s not in the network's set of %s", id[:12], cell)
			return nil
		}
		hereCell, _ := geo.CellOf(here, social.AreaLevel)
		farCell, _ := geo.CellOf(geo.Point{Lat: pend2.Lat, Lon: pend2.Lon}, social.AreaLevel)
		items := map[string][]byte{
			"pin 1": find(hereCell, policeID),
			"pin 2": find(farCell, pend2.ID),
			"alert": find(hereCell, alertID.String()),
		}
		for name, raw := range items {
			for what, v := range forbidden {
				if bytes.Contains(raw, v) {
					t.Errorf("%s carries %s", name, what)
				}
			}
		}
		// Nothing of 16 bytes or more is common to two items by alice.
		names := []string{"pin 1", "pin 2", "alert"}
		for i, a := range names {
			for _, b := range names[i+1:] {
				x, y := items[a], items[b]
				for k := 0; k+16 <= len(x); k++ {
					if bytes.Contains(y, x[k:k+16]) {
						t.Errorf("%s and %s share %x", a, b, x[k:k+16])
						break
					}
				}
			}
		}
	})

	t.Run("confirm", func(t *testing.T) {
		if policeID == "" {
			t.Skip("no pin")
		}
		hereArea := pin.Query{Near: &here, RadiusM: 2000}
		state := func(u *user) pin.Marker {
			ms, err := u.p.List(hereArea)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.ID == policeID {
					return m
				}
			}
			return pin.Marker{}
		}
		// carol (k=3) holds the pin of her cell: the author's "still" only.
		waitFor(t, "carol holds the pin", time.Minute, func() bool { return state(carol).ID != "" })
		if m := state(carol); m.Still != 1 || m.Confirmed {
			t.Fatalf("before any confirmation: %+v", m)
		}
		// bob confirms twice: one identity counts once.
		for range 2 {
			if _, err := bob.p.Confirm(ctx, policeID[:10], pin.Still); err != nil {
				t.Fatal(err)
			}
		}
		// alice (k=2): confirmed at two distinct confirmers.
		if err := alice.p.Fetch(ctx, pin.Area{Near: here, RadiusM: 2000}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "alice sees bob's confirmation", time.Minute, func() bool {
			if err := alice.p.Fetch(ctx, pin.Area{Near: here, RadiusM: 2000}); err != nil {
				t.Fatal(err)
			}
			return state(alice).Still >= 2
		})
		if m := state(alice); m.Still != 2 || !m.Confirmed {
			t.Fatalf("alice, k=2, after bob confirmed twice: %+v", m)
		}
		waitFor(t, "carol sees bob's confirmation", time.Minute, func() bool { return state(carol).Still >= 2 })
		if m := state(carol); m.Still != 2 || m.Confirmed {
			t.Fatalf("carol, k=3, after two confirmers: %+v", m)
		}
		if _, err := carol.p.Confirm(ctx, policeID, pin.Still); err != nil {
			t.Fatal(err)
		}
		if m := state(carol); m.Still != 3 || !m.Confirmed {
			t.Fatalf("carol, k=3, after three confirmers: %+v", m)
		}

		// "gone" shortens a pin's life: a danger pin (3 h) that bob says
		// is gone lives about half as long, as bob and alice read it.
		pend, err := alice.p.Pin(pin.PinOptions{Kind: pin.KindDanger, At: here})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bob sees the danger pin", time.Minute, func() bool { return bob.saw(pend.ID) })
		full := state2(t, bob, hereArea, pend.ID, time.Now().Add(2*time.Hour))
		if full.ID == "" {
			t.Fatal("a 3-hour pin is not alive in 2 hours")
		}
		if _, err := bob.p.Confirm(ctx, pend.ID, pin.Gone); err != nil {
			t.Fatal(err)
		}
		if m := state2(t, bob, hereArea, pend.ID, time.Now().Add(2*time.Hour)); m.ID != "" {
			t.Fatalf("after a gone, alive in 2 hours: %+v", m)
		}
		if m := state2(t, bob, hereArea, pend.ID, time.Now().Add(time.Hour)); m.ID == "" || m.Gone != 1 {
			t.Fatalf("after one gone, not alive in an hour: %+v", m)
		}
		// Pins expire: the police pin (an hour, extended by the
		// confirmations of this minute) is gone in 70 minutes.
		if m := state2(t, bob, hereArea, policeID, time.Now().Add(70*time.Minute)); m.ID != "" {
			t.Fatalf("a police pin alive after 70 minutes: %+v", m)
		}
		// The alert (an hour) likewise.
		if m := state2(t, bob, hereArea, alertID.String(), time.Now().Add(61*time.Minute)); m.ID != "" {
			t.Fatalf("an alert of an hour alive after 61 minutes: %+v", m)
		}
	})

	t.Run("burst", func(t *testing.T) {
		// More items than a round reads of a cell (4 pages of 16), all
		// within the clock-skew window: the watch reads through them.
		cell, _ := geo.CellOf(here, social.AreaLevel)
		const n = 70
		ids := make([]string, n)
		bodies := make([][]byte, n)
		for i := range n {
			body, err := pin.EncodePin(&pin.Pin{Kind: pin.KindOther, LatE6: int32(here.Lat * 1e6), LonE6: int32(here.Lon * 1e6),
				Created: time.Now().Unix() / 60 * 60, TTL: 3600, Salt: bytes.Repeat([]byte{byte(i)}, pin.SaltSize)})
			if err != nil {
				t.Fatal(err)
			}
			ids[i], bodies[i] = pin.IDOf(body).String(), body
		}
		appendBodies(t, ctx, alice, cell, bodies)
		waitFor(t, "bob sees all of the burst", time.Minute, func() bool {
			for _, id := range ids {
				if !bob.saw(id) {
					return false
				}
			}
			return true
		})
	})

	t.Run("junk", func(t *testing.T) {
		// More items than a round reads that storage nodes take but a
		// reader refuses (their bodies are no pin, alert or
		// confirmation), then an alert: the watch reads past the junk
		// instead of reading it again every round.
		// Items sort by expiry (whole seconds): the junk's expiry is
		// later than every item before it and earlier than the alert's.
		cell, _ := geo.CellOf(here, social.AreaLevel)
		bodies := make([][]byte, 70)
		for i := range bodies {
			bodies[i] = bytes.Repeat([]byte{0xff, byte(i)}, 20)
		}
		nextSecond(t)
		skipped := bob.p.Stats
		before, err := skipped()
		if err != nil {
			t.Fatal(err)
		}
		appendBodies(t, ctx, alice, cell, bodies)
		nextSecond(t)
		id, err := alice.p.Alert(ctx, pin.AlertOptions{Near: here, RadiusM: 2000, Text: "after the junk"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "bob sees the alert after the junk", 2*time.Minute, func() bool { return bob.saw(id.String()) })
		if after, err := skipped(); err != nil || after.Skipped < before.Skipped+uint64(len(bodies)) {
			t.Fatalf("skipped %+v → %+v (%v), want %d more", before, after, err, len(bodies))
		}
	})

	t.Run("far", func(t *testing.T) {
		// More items than a round reads with the latest expiry storage
		// nodes take (now + TTL + a little under MaxClockSkew), an hour
		// beyond where honest items sort, then an alert: the watch reads
		// the alert, instead of resuming past it, after the junk, every
		// round for as long as the junk is kept coming. In a cell of its
		// own, watched by dave alone, so that nothing else is read there.
		away := geo.Destination(here, 180, 100_000)
		cell, _ := geo.CellOf(away, social.AreaLevel)
		daveCfg := fast
		daveCfg.Areas = []pin.Area{{Near: away, RadiusM: 1000}}
		dave := newUser(t, net, nil, daveCfg)
		bodies := make([][]byte, 100)
		for i := range bodies {
			bodies[i] = bytes.Repeat([]byte{0xfe, byte(i)}, 20)
		}
		r := alice.c.Params().SetRules()[pin.Namespace]
		appendBodiesExp(t, ctx, alice, cell, bodies, time.Now().Add(r.TTL+setitem.MaxClockSkew-time.Minute).Unix())
		// Rounds of dave's read the junk before the alert is written.
		before, err := dave.p.Stats()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "three rounds of dave's", time.Minute, func() bool {
			st, err := dave.p.Stats()
			return err == nil && st.Rounds >= before.Rounds+3
		})
		id, err := alice.p.Alert(ctx, pin.AlertOptions{Near: away, RadiusM: 1000, Text: "after the far junk"})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "dave sees the alert after the far junk", time.Minute, func() bool { return dave.saw(id.String()) })
	})

	t.Run("restart", func(t *testing.T) {
		// A pin queued by a service that stops before its delay is
		// published by the next one on the same store.
		st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		d := &user{c: alice.c, id: alice.id, st: st, seen: map[string]pin.Marker{}, at: map[string]time.Time{}}
		first := pin.New(d.c, d.id, st, pin.Config{DelayMin: 3 * time.Second, DelayMax: 3 * time.Second}, quiet())
		pend, err := first.Pin(pin.PinOptions{Kind: pin.KindWater, At: here, Note: "water"})
		if err != nil {
			t.Fatal(err)
		}
		// first never runs: a crash. The next daemon:
		d.run(t, pin.Config{})
		waitFor(t, "bob sees the pin queued before the restart", time.Minute, func() bool { return bob.saw(pend.ID) })
	})
}

// state2 is the marker of id in q at time at, or a zero Marker.
func state2(t *testing.T, u *user, q pin.Query, id string, at time.Time) pin.Marker {
	t.Helper()
	q.At = at
	ms, err := u.p.List(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	return pin.Marker{}
}

// appendBodies writes one item of the cell's pin set per body, as any
// writer can (valid set items, proof-of-work solved), through u's client.
func appendBodies(t *testing.T, ctx context.Context, u *user, cell geo.Cell, bodies [][]byte) {
	t.Helper()
	r := u.c.Params().SetRules()[pin.Namespace]
	appendBodiesExp(t, ctx, u, cell, bodies, time.Now().Add(r.TTL-time.Hour).Unix()) // as pin.Service writes them
}

// appendBodiesExp is appendBodies with the items' expiry exp.
func appendBodiesExp(t *testing.T, ctx context.Context, u *user, cell geo.Cell, bodies [][]byte, exp int64) {
	t.Helper()
	r := u.c.Params().SetRules()[pin.Namespace]
	var wg sync.WaitGroup
	errs := make(chan error, len(bodies))
	for _, body := range bodies {
		it := &setitem.Item{Namespace: pin.Namespace, Key: pin.SetKey(cell), Body: body, Expires: exp}
		if err := it.Solve(ctx, r.PoWBits); err != nil {
			t.Fatal(err)
		}
		enc, err := setitem.Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- u.c.Retry(ctx, 5, func(ctx context.Context) error {
				_, err := u.c.Append(ctx, enc)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// nextSecond returns once the clock has moved to a new whole second, so
// that items written after it expire later than items written before.
func nextSecond(t *testing.T) {
	t.Helper()
	now := time.Now().Unix()
	waitFor(t, "the next second", 2*time.Second, func() bool { return time.Now().Unix() > now })
}
