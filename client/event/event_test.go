package event_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/internal/testuser"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

type user struct {
	name string
	c    *client.Client
	id   *client.Identity
	m    *messenger.Messenger
	s    *social.Social
	e    *event.Events
}

func (u *user) pub() ed25519.PublicKey { return u.id.Sign.Public().(ed25519.PublicKey) }

func newUser(t *testing.T, net *testnet.Network, name string) *user {
	t.Helper()
	tu := testuser.New(t, net, nil, quiet())
	c, id, st := tu.Client, tu.ID, tu.Store
	m := messenger.New(c, id, st, quiet())
	s := social.New(c, id, st, m, quiet())
	return &user{name: name, c: c, id: id, m: m, s: s, e: event.New(c, id, st, m, s, quiet())}
}

// pair makes a and b contacts, each under the other's name.
func pair(t *testing.T, ctx context.Context, a, b *user) {
	t.Helper()
	code, err := a.m.Invite(b.name)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Accept(ctx, code, a.name); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// appendRSVP appends u's answer a to invite-only event id under a fresh
// nullifier (not the one u's client derives), named by u or not, expiring
// later than any RSVP u sent before.
func appendRSVP(t *testing.T, ctx context.Context, u *user, id event.ID, a event.Answer, named bool) {
	t.Helper()
	rk, err := u.e.ReadKey(id)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := u.c.GetRecord(ctx, id.Key())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := event.Open(id, raw, rk, u.c.Params().PoWBits)
	if err != nil {
		t.Fatal(err)
	}
	rules := u.c.Params().SetRules()["rsvp"]
	_, nk, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var attendee ed25519.PrivateKey
	if named {
		attendee = u.id.Sign
	}
	body, err := event.SealRSVP(id, rec.Body.RSVPKey, nk.Public().(ed25519.PublicKey), a, attendee)
	if err != nil {
		t.Fatal(err)
	}
	it := &setitem.Item{Namespace: "rsvp", Key: bytes.Clone(id[:]), Body: body, Expires: time.Now().Add(rules.TTL-time.Hour).Unix() + 60}
	if err := it.Sign(nk); err != nil {
		t.Fatal(err)
	}
	if err := it.Solve(ctx, rules.PoWBits); err != nil {
		t.Fatal(err)
	}
	enc, err := setitem.Encode(it)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.Append(ctx, enc); err != nil {
		t.Fatal(err)
	}
}

// TestEvents runs every network scenario on one network: alice hosts, bob
// is invited, carol is alice's contact too but not invited.
func TestEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("network test")
	}
	net, err := testnet.Start(context.Background(), testnet.Options{Dir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	alice, bob, carol := newUser(t, net, "alice"), newUser(t, net, "bob"), newUser(t, net, "carol")
	ctx := ctxFor(t, 8*time.Minute)
	pair(t, ctx, alice, bob)
	pair(t, ctx, alice, carol)
	pair(t, ctx, carol, bob)
	when := time.Now().Add(72 * time.Hour).Truncate(time.Minute)

	t.Run("invite-only", func(t *testing.T) {
		cr, err := alice.e.Create(ctx, event.CreateOptions{Title: "Strike meeting", When: when, Where: "Union hall, back room", Invite: []string{"bob"}})
		if err != nil {
			t.Fatal(err)
		}
		if cr.Announcement != nil || len(cr.Invited) != 1 {
			t.Fatalf("created %+v", cr)
		}
		id := cr.ID
		if err := alice.m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := carol.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		// Bob reads it.
		v, err := bob.e.Show(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Title != "Strike meeting" || v.Public || v.InvitedBy != "alice" || v.Host != "alice" || v.RSVPs != nil {
			t.Fatalf("bob sees %+v", v)
		}
		// Carol, not invited, has nothing; given the id, she reads nothing.
		if l, err := carol.e.List(); err != nil || len(l) != 0 {
			t.Fatalf("carol's events: %+v, %v", l, err)
		}
		if _, err := carol.e.Show(ctx, id); !errors.Is(err, wire.ErrInvalid) {
			t.Fatalf("carol reads the event: %v", err)
		}
		if err := carol.e.RSVP(ctx, id, event.Yes); err == nil {
			t.Fatal("carol answered an event she cannot read")
		}
		raw, err := carol.c.GetRecord(ctx, id.Key())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("Strike")) || bytes.Contains(raw, []byte("Union")) || bytes.Contains(raw, alice.pub()) {
			t.Fatal("the stored record shows the event or its host")
		}

		// Bob answers yes, then maybe: one answer per identity, the last.
		if err := bob.e.RSVP(ctx, id, event.Yes); err != nil {
			t.Fatal(err)
		}
		if err := bob.e.RSVP(ctx, id, event.Maybe); err != nil {
			t.Fatal(err)
		}
		av, err := alice.e.Show(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c := av.RSVPs
		if c == nil || c.Yes != 0 || c.Maybe != 1 || len(c.Named) != 1 || c.Named[0].Who != "bob" || c.Named[0].Answer != "maybe" {
			t.Fatalf("alice counts %+v", c)
		}
		// Nullifiers are the sender's choice: bob answers yes under
		// another one, and an unnamed no. The host counts bob once (his
		// latest answer), and the unnamed RSVP not at all.
		for _, named := range []bool{true, false} {
			appendRSVP(t, ctx, bob, id, event.Yes, named)
		}
		if c, err := alice.e.Show(ctx, id); err != nil || c.RSVPs.Yes != 1 || c.RSVPs.Maybe != 0 || c.RSVPs.No != 0 || c.RSVPs.Skipped != 1 ||
			len(c.RSVPs.Named) != 1 || c.RSVPs.Named[0].Who != "bob" || c.RSVPs.Named[0].Answer != "yes" {
			t.Fatalf("alice counts %+v, %v", c.RSVPs, err)
		}
		// Only the host sees RSVPs: the stored items name nobody, and
		// nobody else has the key that opens them.
		res, err := carol.c.Scan(ctx, wire.ScanRequest{Namespace: "rsvp", Key: id[:], Limit: 16})
		if err != nil || len(res.Items) == 0 {
			t.Fatalf("scan: %v", err)
		}
		for _, raw := range res.Items {
			if bytes.Contains(raw, bob.pub()) || bytes.Contains(raw, []byte("maybe")) {
				t.Fatal("an RSVP item shows its attendee")
			}
		}
		if bv, err := bob.e.Show(ctx, id); err != nil || bv.RSVPs != nil || bv.MyRSVP != "maybe" {
			t.Fatalf("bob's view: %+v, %v", bv, err)
		}

		// An update by the event's key reaches bob; one by another key
		// is refused by the storage nodes, and by bob's reader.
		title := "Strike meeting (moved)"
		if _, err := alice.e.Update(ctx, id, event.UpdateOptions{Title: &title}); err != nil {
			t.Fatal(err)
		}
		if v, err := bob.e.Show(ctx, id); err != nil || v.Title != title || v.Seq != 2 {
			t.Fatalf("bob after the update: %+v, %v", v, err)
		}
		// A version older than one read (a replica that missed an update,
		// a replay) is refused.
		if err := bob.e.SetSeenSeq(id, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.e.Show(ctx, id); !errors.Is(err, event.ErrStale) {
			t.Fatalf("an older version read: %v", err)
		}
		if err := bob.e.SetSeenSeq(id, 2); err != nil {
			t.Fatal(err)
		}
		_, carolKey, _ := ed25519.GenerateKey(nil)
		p, err := record.DecodeProfile(raw)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := record.SignProfile(&record.Profile{Seq: 99, Expires: p.Expires, Body: p.Body}, carolKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := carol.c.PutRecord(ctx, id.Key(), forged); !errors.Is(err, wire.ErrInvalid) {
			t.Fatalf("the network took an update not signed by the event key: %v", err)
		}
		if _, err := event.Open(id, forged, bytes.Repeat([]byte{1}, 32), 0); !errors.Is(err, wire.ErrInvalid) {
			t.Fatalf("a reader took an update not signed by the event key: %v", err)
		}
		if _, err := bob.e.Update(ctx, id, event.UpdateOptions{Title: &title}); !errors.Is(err, event.ErrNotHost) {
			t.Fatalf("bob updated alice's event: %v", err)
		}
		if v, err := bob.e.Show(ctx, id); err != nil || v.Title != title || v.Seq != 2 {
			t.Fatalf("bob after the forgery: %+v, %v", v, err)
		}

		// An invitation with another key for an event bob reads already
		// (any contact who knows the id can send one) changes nothing.
		bogus, err := event.EncodeInvitation(&event.Invitation{Event: id[:], ReadKey: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.m.QueueEvent("bob", bogus); err != nil {
			t.Fatal(err)
		}
		if err := alice.m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := bob.e.Show(ctx, id); err != nil || v.Title != title {
			t.Fatalf("bob after an invitation with another key: %+v, %v", v, err)
		}

		// Invited later, carol reads it; only the host invites.
		if _, err := bob.e.Invite(id, []string{"alice"}); !errors.Is(err, event.ErrNotHost) {
			t.Fatalf("bob invited to alice's event: %v", err)
		}
		if done, err := alice.e.Invite(id, []string{"carol"}); err != nil || len(done) != 1 {
			t.Fatalf("invite carol: %v %v", done, err)
		}
		if err := alice.m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := carol.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := carol.e.Show(ctx, id); err != nil || v.Title != title || v.InvitedBy != "alice" {
			t.Fatalf("carol, invited later: %+v, %v", v, err)
		}

		// Cancelled: bob sees it and cannot answer any more.
		if _, err := alice.e.Update(ctx, id, event.UpdateOptions{Cancel: true}); err != nil {
			t.Fatal(err)
		}
		if v, err := bob.e.Show(ctx, id); err != nil || !v.Cancelled {
			t.Fatalf("bob after the cancellation: %+v, %v", v, err)
		}
		if err := bob.e.RSVP(ctx, id, event.Yes); err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("an RSVP to a cancelled event: %v", err)
		}
	})

	// Before bob reads an event, carol (who knows its id) sends him another
	// key for it, after alice's invitation or before it: the event opens
	// with alice's key, and bob was invited by alice.
	t.Run("a wrong key before the first read", func(t *testing.T) {
		for _, wrongFirst := range []bool{false, true} {
			cr, err := alice.e.Create(ctx, event.CreateOptions{Title: "Picket", When: when, Where: "the gate", Invite: []string{"bob"}})
			if err != nil {
				t.Fatal(err)
			}
			fromHost := func() {
				t.Helper()
				if err := alice.m.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := bob.m.Receive(ctx); err != nil {
					t.Fatal(err)
				}
			}
			wrong := func() {
				t.Helper()
				bogus, err := event.EncodeInvitation(&event.Invitation{Event: cr.ID[:], ReadKey: bytes.Repeat([]byte{7}, 32)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := carol.m.QueueEvent("bob", bogus); err != nil {
					t.Fatal(err)
				}
				if err := carol.m.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := bob.m.Receive(ctx); err != nil {
					t.Fatal(err)
				}
			}
			first, second := fromHost, wrong
			if wrongFirst {
				first, second = wrong, fromHost
			}
			first()
			if _, err := bob.e.List(); err != nil { // takes the first invitation
				t.Fatal(err)
			}
			second()
			if v, err := bob.e.Show(ctx, cr.ID); err != nil || v.Title != "Picket" || v.InvitedBy != "alice" {
				t.Fatalf("wrong key first %v: bob sees %+v, %v", wrongFirst, v, err)
			}
		}
	})

	// An update whose publication failed keeps its Seq: the next update
	// publishes under a higher one (the failed one may have been stored).
	t.Run("an update that failed", func(t *testing.T) {
		cr, err := alice.e.Create(ctx, event.CreateOptions{Title: "Vigil", When: when, Where: "the square", Public: true})
		if err != nil {
			t.Fatal(err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		title := "Vigil (moved)"
		if _, err := alice.e.Update(cancelled, cr.ID, event.UpdateOptions{Title: &title}); err == nil {
			t.Fatal("an update published with a cancelled context")
		}
		if v, err := alice.e.Update(ctx, cr.ID, event.UpdateOptions{Title: &title}); err != nil || v.Seq != 3 {
			t.Fatalf("the next update: %+v, %v", v, err)
		}
		if v, err := bob.e.Show(ctx, cr.ID); err != nil || v.Seq != 3 || v.Title != title {
			t.Fatalf("bob reads %+v, %v", v, err)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		var ids []event.ID
		for i, o := range []event.CreateOptions{
			{Title: "Banner drop", When: when, Where: "bridge", Anonymous: true, Invite: []string{"bob", "carol"}},
			{Title: "Banner drop", When: when, Where: "bridge", Anonymous: true, Invite: []string{"bob"}},
		} {
			cr, err := alice.e.Create(ctx, o)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			ids = append(ids, cr.ID)
		}
		if err := alice.m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		var raws [][]byte
		forbidden := [][]byte{alice.pub(), bob.pub(), carol.pub(), alice.id.DH.PublicKey().Bytes()}
		secret, err := social.VoteSecret(alice.id)
		if err != nil {
			t.Fatal(err)
		}
		forbidden = append(forbidden, secret)
		for _, id := range ids {
			nk, err := setitem.NullifierKey(secret, "rsvp", id[:])
			if err != nil {
				t.Fatal(err)
			}
			forbidden = append(forbidden, nk.Public().(ed25519.PublicKey))
		}
		for i, id := range ids {
			v, err := bob.e.Show(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Host != "anonymous" || v.HostAddress != "" || v.Title != "Banner drop" {
				t.Fatalf("event %d: %+v", i, v)
			}
			raw, err := bob.c.GetRecord(ctx, id.Key())
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, raw)
			for _, f := range forbidden {
				if bytes.Contains(raw, f) {
					t.Fatalf("event %d's record carries an identity or contact value", i)
				}
			}
		}
		// Nothing equal across the two records beyond the format's own
		// constants: their fields differ, and no 8 bytes of one record
		// appear in the other's key, signature or sealed body.
		var ps []*record.Profile
		var envs []event.Envelope
		for _, raw := range raws {
			p, err := record.DecodeProfile(raw)
			if err != nil {
				t.Fatal(err)
			}
			env, err := event.DecodeEnvelope(p.Body)
			if err != nil {
				t.Fatal(err)
			}
			ps, envs = append(ps, p), append(envs, *env)
		}
		for _, part := range [][2][]byte{{ps[0].Author, ps[1].Author}, {ps[0].Sig, ps[1].Sig}, {envs[0].Data, envs[1].Data}} {
			a, b := part[0], part[1]
			for i := 0; i+8 <= len(a); i++ {
				if bytes.Contains(b, a[i:i+8]) {
					t.Fatalf("the two anonymous events share bytes %x", a[i:i+8])
				}
			}
		}
	})

	t.Run("public in the world feed", func(t *testing.T) {
		cr, err := alice.e.Create(ctx, event.CreateOptions{Title: "Open march", When: when, Where: "Main station", Public: true, Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		if cr.Announcement == nil {
			t.Fatal("no announcement")
		}
		id := cr.ID
		post, err := bob.s.Fetch(ctx, *cr.Announcement)
		if err != nil {
			t.Fatal(err)
		}
		if post.Author != nil || !strings.Contains(post.Text, id.String()) || !strings.Contains(post.Text, "Open march") {
			t.Fatalf("the announcement: %+v", post)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			_, rerr := bob.s.Refresh(rctx)
			cancel()
			page, err := bob.s.Feed(social.KindWorld, social.FeedQuery{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, it := range page.Items {
				found = found || (it.ID == cr.Announcement.String() && strings.Contains(it.Text, id.String()))
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the announcement never reached bob's world feed (last refresh: %v)", rerr)
			}
		}
		// Anyone reads a public event; a public RSVP is counted, unnamed.
		v, err := carol.e.Show(ctx, id)
		if err != nil || !v.Public || v.Host != "anonymous" {
			t.Fatalf("carol reads %+v, %v", v, err)
		}
		if err := carol.e.RSVP(ctx, id, event.Yes); err != nil {
			t.Fatal(err)
		}
		av, err := alice.e.Show(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c := av.RSVPs; c == nil || c.Yes != 1 || len(c.Named) != 0 {
			t.Fatalf("alice counts %+v", c)
		}
	})

	t.Run("public in the area feed, named", func(t *testing.T) {
		place := geo.Point{Lat: 48.8566, Lon: 2.3522}
		if _, err := bob.s.AddArea(place, 3000); err != nil {
			t.Fatal(err)
		}
		cr, err := alice.e.Create(ctx, event.CreateOptions{Title: "Street party", When: when, Where: "Place de la République", Near: &place, RadiusM: 2000, Public: true})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for found := false; !found; {
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			_, rerr := bob.s.Refresh(rctx)
			cancel()
			page, err := bob.s.Feed(social.KindArea, social.FeedQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				found = found || (it.ID == cr.Announcement.String() && it.Author == "alice" && strings.Contains(it.Text, cr.ID.String()))
			}
			if !found && time.Now().After(deadline) {
				t.Fatalf("the announcement never reached bob's area feed (last refresh: %v)", rerr)
			}
		}
		v, err := bob.e.Show(ctx, cr.ID)
		if err != nil || v.Host != "alice" || v.HostAddress != messenger.Address(alice.pub()) || v.Near == nil {
			t.Fatalf("bob reads %+v, %v", v, err)
		}
		if d := geo.Distance(place, geo.Point{Lat: v.Near.Lat, Lon: v.Near.Lon}); d > 150 {
			t.Fatalf("the place is published %.0f m away", d)
		}
	})
}
