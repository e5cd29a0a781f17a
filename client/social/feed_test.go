package social_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

// retry runs f (one request) until it succeeds, failing the test after
// two minutes or on a final refusal.
func retry(t testing.TB, c *client.Client, f func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), c.ReplyTimeout())
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if wire.IsFinal(err) || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// worldPost posts text to the world feed (social.Post: head record,
// world index entry and, signed, the profile's Recent).
func worldPost(t testing.TB, u *user, text string, anonymous bool) social.PostID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := u.s.Post(ctx, social.PostOptions{To: social.World, Text: text, Anonymous: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// areaPost posts text for the circle (center, radiusM).
func areaPost(t testing.TB, u *user, text string, center geo.Point, radiusM float64) social.PostID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id, err := u.s.Post(ctx, social.PostOptions{To: social.Local, Text: text, Near: &center, RadiusM: radiusM})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// refreshUntil runs refresh rounds until ok holds for u's feed kind,
// failing after two minutes; it returns the page.
func refreshUntil(t testing.TB, u *user, kind social.Kind, q social.FeedQuery, ok func(*social.FeedPage) bool) *social.FeedPage {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := u.s.Refresh(ctx)
		cancel()
		if err != nil {
			t.Logf("refresh: %v", err)
		}
		page, ferr := u.s.Feed(kind, q)
		if ferr != nil {
			t.Fatal(ferr)
		}
		if ok(page) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s feed never got there: %+v", kind, page)
		}
	}
}

// refreshClean runs a round that must succeed in full.
func refreshClean(t testing.TB, u *user) social.RoundStats {
	t.Helper()
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		st, err := u.s.Refresh(ctx)
		cancel()
		if err == nil {
			return st
		}
		if try == 5 {
			t.Fatalf("no complete refresh in 6 rounds: %v", err)
		}
	}
}

func find(p *social.FeedPage, id social.PostID) *social.FeedItem {
	for i := range p.Items {
		if p.Items[i].ID == id.String() {
			return &p.Items[i]
		}
	}
	return nil
}

func has(ids ...social.PostID) func(*social.FeedPage) bool {
	return func(p *social.FeedPage) bool {
		for _, id := range ids {
			if find(p, id) == nil {
				return false
			}
		}
		return true
	}
}

// TestWorldFeed: a world post by A reaches B's and C's world feeds after a
// refresh, named as each knows A (B has A as a contact, C does not); an
// anonymous post shows as such; an item that is no entry is skipped and
// counted; the feed answers from the local copy without sending a packet;
// mute hides an author and a thread.
func TestWorldFeed(t *testing.T) {
	net := startNet(t)
	a, b, c := newUser(t, net, nil), newUser(t, net, nil), newUser(t, net, nil)
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer pcancel()
	pair(t, pctx, a, b)

	signed := worldPost(t, a, "hello, world", false)
	anon := worldPost(t, a, "said without a name", true)
	// A world item whose body is not an entry: storage nodes take it (the
	// body is opaque to them); readers must skip it.
	rules := net.Params.SetRules()["world"]
	junk := setitem.Item{Namespace: "world", Key: social.WorldKey(time.Now().Unix()/3600, 0), Body: []byte("not an entry"),
		Expires: time.Now().Add(rules.TTL - time.Hour).Unix()}
	if err := junk.Solve(context.Background(), rules.PoWBits); err != nil {
		t.Fatal(err)
	}
	raw, err := setitem.Encode(&junk)
	if err != nil {
		t.Fatal(err)
	}
	retry(t, a.c, func(ctx context.Context) error { _, err := a.c.Append(ctx, raw); return err })

	for _, u := range []*user{b, c} {
		page := refreshUntil(t, u, social.KindWorld, social.FeedQuery{}, func(p *social.FeedPage) bool {
			return has(signed, anon)(p) && p.Skipped > 0
		})
		if _, ok := page.Fresh["world"]; !ok {
			t.Errorf("world feed without its freshness: %+v", page.Fresh)
		}
		it := find(page, signed)
		want := social.ShortFingerprint(a.pub())
		if u == b {
			want = "alice"
		}
		if it.Author != want || it.Address != messenger.Address(a.pub()) || it.Text != "hello, world" {
			t.Errorf("signed post as seen: %+v, want author %q", it, want)
		}
		if it := find(page, anon); it.Author != "anonymous" || it.Address != "" {
			t.Errorf("anonymous post as seen: %+v", it)
		}
	}

	// A friends post reaches friend B's friends feed (the refresher reads
	// the friends streams), not C's.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fid, err := a.s.PostFriends(ctx, "for friends only", nil)
	if err != nil {
		t.Fatal(err)
	}
	fpage := refreshUntil(t, b, social.KindFriends, social.FeedQuery{}, has(fid))
	if it := find(fpage, fid); it.Author != "alice" || it.Text != "for friends only" {
		t.Fatalf("friends post as B sees it: %+v", it)
	}
	if _, ok := fpage.Fresh["friends"]; !ok {
		t.Errorf("friends feed without its freshness: %+v", fpage.Fresh)
	}
	if p, err := c.s.Feed(social.KindFriends, social.FeedQuery{}); err != nil || len(p.Items) != 0 {
		t.Fatalf("C's friends feed: %+v %v", p, err)
	}

	// The feed is the local copy: answering it sends nothing.
	var sent atomic.Int64
	c.c.SetSendObserver(func(time.Time, int) { sent.Add(1) })
	for range 3 {
		if _, err := c.s.Feed(social.KindWorld, social.FeedQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Fatalf("answering a feed sent %d packets", n)
	}
	// The observer works: a request moves it.
	retry(t, c.c, func(ctx context.Context) error { _, err := c.c.Echo(ctx); return err })
	if sent.Load() == 0 {
		t.Fatal("the send observer saw no packet of a request")
	}
	c.c.SetSendObserver(nil)

	// Muting the author hides the signed post; the anonymous one stays.
	m, err := c.s.Mute(messenger.Address(a.pub()))
	if err != nil || m.What != "author" {
		t.Fatalf("mute author: %+v %v", m, err)
	}
	page, err := c.s.Feed(social.KindWorld, social.FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if find(page, signed) != nil || find(page, anon) == nil {
		t.Fatalf("after muting the author: %+v", page.Items)
	}
	if err := c.s.Unmute(messenger.Address(a.pub())); err != nil {
		t.Fatal(err)
	}
	if m, err := c.s.Mute(anon.String()); err != nil || m.What != "thread" {
		t.Fatalf("mute thread: %+v %v", m, err)
	}
	page, err = c.s.Feed(social.KindWorld, social.FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if find(page, signed) == nil || find(page, anon) != nil {
		t.Fatalf("after muting the thread: %+v", page.Items)
	}
}

// TestFollowingFeed: the following feed shows the posts of followed
// authors only, and stops showing an author once unfollowed.
func TestFollowingFeed(t *testing.T) {
	net := startNet(t)
	a, b, c := newUser(t, net, nil), newUser(t, net, nil), newUser(t, net, nil)
	if err := c.s.Follow(messenger.Address(a.pub())); err != nil {
		t.Fatal(err)
	}
	if err := c.s.Follow(messenger.Address(c.pub())); err == nil {
		t.Fatal("followed oneself")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fromA, err := a.s.Post(ctx, social.PostOptions{To: social.World, Text: "by a", Image: bytes.NewReader(exifJPEG(t))})
	if err != nil {
		t.Fatal(err)
	}
	fromB := worldPost(t, b, "by b", false)
	refreshUntil(t, c, social.KindWorld, social.FeedQuery{}, has(fromA, fromB))
	// A's profile lists the post (Recent): the refresher fetched its head
	// from there too, so the post came by the following source as well.
	page := refreshUntil(t, c, social.KindFollowing, social.FeedQuery{}, func(p *social.FeedPage) bool {
		it := find(p, fromA)
		return it != nil && slices.Contains(it.Sources, "following")
	})
	if find(page, fromB) != nil || len(page.Items) != 1 {
		t.Fatalf("following feed: %+v", page.Items)
	}
	if _, ok := page.Fresh["following"]; !ok {
		t.Errorf("following feed without its freshness: %+v", page.Fresh)
	}
	// The post was shown: the refresher fetches its thumbnail.
	if find(page, fromA).Thumb == "" {
		t.Fatalf("a post with an image without its thumbnail's key: %+v", find(page, fromA))
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		refreshClean(t, c)
		thumbs, err := c.s.Thumbs([]social.PostID{fromA, fromB})
		if err != nil {
			t.Fatal(err)
		}
		if jpg := thumbs[fromA]; jpg != nil {
			if _, err := photo.DecodeThumb(jpg); err != nil || len(thumbs) != 1 {
				t.Fatalf("thumbnails %d, %v", len(thumbs), err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the thumbnail of a post shown never came")
		}
	}
	fs, err := c.s.Following()
	if err != nil || len(fs) != 1 || fs[0].Address != messenger.Address(a.pub()) {
		t.Fatalf("following: %+v %v", fs, err)
	}
	if err := c.s.Unfollow(messenger.Address(a.pub())); err != nil {
		t.Fatal(err)
	}
	if page, err := c.s.Feed(social.KindFollowing, social.FeedQuery{}); err != nil || len(page.Items) != 0 {
		t.Fatalf("following feed after unfollowing: %+v %v", page, err)
	}
}

// TestAreaFeed: an area post reaches a reader whose circle meets it, and
// not one whose circle lies elsewhere; both read decoy cells.
func TestAreaFeed(t *testing.T) {
	net := startNet(t)
	a, b, c := newUser(t, net, nil), newUser(t, net, nil), newUser(t, net, nil)
	place := geo.Point{Lat: 52.52, Lon: 13.405}
	id := areaPost(t, a, "street party here", place, 1000)

	near := geo.Destination(place, 90, 2000) // 2 km east: a 5 km circle holds the post
	far := geo.Destination(place, 0, 15000)  // 15 km north: a 3 km circle does not
	if _, err := b.s.AddArea(near, 5000); err != nil {
		t.Fatal(err)
	}
	w, err := c.s.AddArea(far, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if w.Decoys < social.MinDecoys {
		t.Fatalf("area with %d decoys", w.Decoys)
	}
	page := refreshUntil(t, b, social.KindArea, social.FeedQuery{}, has(id))
	if d := find(page, id).DistanceM; d == nil || *d < 1800 || *d > 2200 { // the centre is snapped (geo.Snap)
		t.Fatalf("distance %v, want about 2000 m", d)
	}
	// The same post for a query circle within B's area, and not for one
	// that does not reach it.
	q := social.FeedQuery{Near: &near, RadiusM: 500}
	if page, err := b.s.Feed(social.KindArea, q); err != nil || find(page, id) != nil {
		t.Fatalf("a 0.5 km circle 2 km away meets a 1 km post: %+v %v", page, err)
	}
	q.RadiusM = 3000
	if page, err := b.s.Feed(social.KindArea, q); err != nil || find(page, id) == nil || page.Note != "" {
		t.Fatalf("a 3 km circle 2 km away misses a 1 km post: %+v %v", page, err)
	}

	st := refreshClean(t, c)
	if st.Requests["decoy"] < social.MinDecoys || st.Requests["area"] == 0 {
		t.Fatalf("a round read %v", st.Requests)
	}
	page, err = c.s.Feed(social.KindArea, social.FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := page.Fresh["area"]; !ok || find(page, id) != nil {
		t.Fatalf("reader 15 km away: %+v", page)
	}
}

// TestVotes: B's second vote replaces the first and the tally counts one;
// B's nullifiers on two posts differ (and differ from C's); a vote without
// its proof-of-work is refused by storage nodes.
func TestVotes(t *testing.T) {
	net := startNet(t)
	a, b, c := newUser(t, net, nil), newUser(t, net, nil), newUser(t, net, nil)
	p1 := worldPost(t, a, "vote on me", false)
	p2 := worldPost(t, a, "and on me", false)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := b.s.Vote(ctx, p1, social.VoteUp); err != nil {
		t.Fatal(err)
	}
	if err := b.s.Vote(ctx, p1, social.VoteDown); err != nil {
		t.Fatal(err)
	}
	// Storage holds one item for B's nullifier.
	var res *wire.ScanResult
	retry(t, c.c, func(ctx context.Context) error {
		var err error
		res, err = c.c.Scan(ctx, wire.ScanRequest{Namespace: "vote", Key: p1[:], Limit: 16})
		return err
	})
	if len(res.Items) != 1 {
		t.Fatalf("%d vote items stored, want 1", len(res.Items))
	}
	var tally social.Tally
	for deadline := time.Now().Add(2 * time.Minute); ; {
		tctx, tcancel := context.WithTimeout(ctx, time.Minute)
		var err error
		tally, err = c.s.Tally(tctx, p1)
		tcancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	if tally.Up != 0 || tally.Down != 1 {
		t.Fatalf("tally %+v, want 0 up 1 down", tally)
	}
	// B's own count, at once.
	if mine, err := b.s.LocalTally(p1); err != nil || mine.Down != 1 || mine.Up != 0 || mine.Mine != "down" {
		t.Fatalf("B's local tally %+v %v", mine, err)
	}
	// C's feed shows the tally once the refresher read it (posts shown
	// get their tallies read).
	refreshUntil(t, c, social.KindWorld, social.FeedQuery{}, func(p *social.FeedPage) bool {
		it := find(p, p1)
		return it != nil && it.Down == 1 && it.Up == 0
	})

	exp := time.Now().Add(24 * time.Hour).Unix()
	b1, err := b.s.VoteItem(p1, social.VoteUp, exp)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := b.s.VoteItem(p2, social.VoteUp, exp)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := c.s.VoteItem(p1, social.VoteUp, exp)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.s.VoteItem(p1, social.VoteDown, exp+1)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case bytes.Equal(b1.Nullifier, b2.Nullifier):
		t.Fatal("B's nullifiers on two posts are equal")
	case bytes.Equal(b1.Nullifier, c1.Nullifier):
		t.Fatal("B's and C's nullifiers on one post are equal")
	case !bytes.Equal(b1.Nullifier, again.Nullifier):
		t.Fatal("B's nullifier on one post changed")
	case bytes.Equal(b1.Nullifier, b.pub()):
		t.Fatal("the nullifier is the identity key")
	}

	// Without the work: a nonce that misses the difficulty.
	bits := net.Params.Sets["vote"].PoWBits
	for b2.Nonce = 0; b2.CheckPoW(bits); b2.Nonce++ {
	}
	raw, err := setitem.Encode(b2)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		actx, acancel := context.WithTimeout(ctx, b.c.ReplyTimeout())
		_, err = b.c.Append(actx, raw)
		acancel()
		if errors.Is(err, wire.ErrPoW) {
			break
		}
		if err == nil || wire.IsFinal(err) || time.Now().After(deadline) {
			t.Fatalf("a vote without proof-of-work: %v, want %v", err, wire.ErrPoW)
		}
	}
}
