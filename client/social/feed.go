package social

// The local copy: what the refresher (refresh.go) read and validated, kept
// in the store so that a feed is answered at once, without a request.
//
// Bucket "feed" holds one kept item per post id (hex): the line a feed
// shows, the bytes that prove it (the signed or proof-of-work entry of a
// set, the head record, or a friends post's body), which sources brought
// it and when it expires. Bucket "tally" holds, per post id, the votes and
// replies read so far (vote.go). Bucket "feed-state" holds the freshness
// of each source, the scan cursors and the count of skipped items.

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
)

// Kind names a feed.
type Kind string

// The feeds.
const (
	KindWorld     Kind = "world"     // the world index: everyone's world posts
	KindFriends   Kind = "friends"   // your contacts' friends posts (friends streams)
	KindArea      Kind = "area"      // posts for places you watch (`komrade area add`)
	KindFollowing Kind = "following" // the authors you follow
)

// ParseKind reads a feed's name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindWorld, KindFriends, KindArea, KindFollowing:
		return k, nil
	}
	return "", fmt.Errorf("feed %q: want world, friends, area or following", s)
}

// Sources of kept items: a bit each, since one post may come from several.
const (
	srcWorld uint8 = 1 << iota
	srcArea
	srcFollowing
)

var srcNames = []struct {
	bit  uint8
	name string
}{{srcWorld, "world"}, {srcArea, "area"}, {srcFollowing, "following"}}

func sourceNames(bits uint8) []string {
	var out []string
	for _, s := range srcNames {
		if bits&s.bit != 0 {
			out = append(out, s.name)
		}
	}
	return out
}

// Limits of the local copy.
const (
	// MaxKept is the most items the local copy holds; past it the oldest
	// go first (expired ones go at every refresh).
	MaxKept = 5000
	// DefaultFeedLimit is the most items a page has unless asked.
	DefaultFeedLimit = 50
	// MaxFeedLimit is the most items a page can have.
	MaxFeedLimit = 500
	// maxFuture is how far in the future a post's creation time may lie
	// (clock skew); later ones are refused, not shown on top for days.
	maxFuture = 10 * time.Minute
)

// Bucket names.
const (
	bucketFeed   = "feed"
	bucketTally  = "tally"
	bucketState  = "feed-state"
	bucketFollow = "follow"
	bucketMute   = "mute"
	bucketAreas  = "areas"
	bucketMyVote = "myvote"
	bucketThumb  = "thumb" // thumbnails (JPEG) of posts shown, by record key
)

// How an item's line is proved.
const (
	proofEntry uint8 = 1 // Raw is an encoded Entry (signed, or anonymous with the set item's work)
	proofHead  uint8 = 2 // Raw is the post's head record (/kpost/)
)

// line is what a feed shows of a post, derived from its proof.
type line struct {
	To      Audience `cbor:"1,keyasint"`
	Created int64    `cbor:"2,keyasint"`
	Preview string   `cbor:"3,keyasint"`
	Thumb   []byte   `cbor:"4,keyasint,omitempty"`
	Reply   []byte   `cbor:"5,keyasint,omitempty"`
	Area    *Area    `cbor:"6,keyasint,omitempty"`
	Author  []byte   `cbor:"7,keyasint,omitempty"`
}

func (l *line) equal(o *line) bool {
	return l.To == o.To && l.Created == o.Created && l.Preview == o.Preview && bytes.Equal(l.Thumb, o.Thumb) &&
		bytes.Equal(l.Reply, o.Reply) && bytes.Equal(l.Author, o.Author) &&
		(l.Area == nil) == (o.Area == nil) && (l.Area == nil || *l.Area == *o.Area)
}

// kept is one item of the local copy (bucket "feed"). Friends posts are
// kept apart, by the friends streams (friends.go, bucket "friends").
type kept struct {
	Sources uint8  `cbor:"1,keyasint"`
	Proof   uint8  `cbor:"2,keyasint"`
	Raw     []byte `cbor:"3,keyasint"`
	Line    line   `cbor:"4,keyasint"`
	Expires int64  `cbor:"5,keyasint"`
	Added   int64  `cbor:"6,keyasint"`
}

var localDec = detcbor.NewDecoder(16, 4)

// lineOfEntry checks an encoded entry (signature, limits) and returns its line.
func lineOfEntry(id PostID, raw []byte) (*line, error) {
	e, err := DecodeEntry(raw)
	if err != nil {
		return nil, err
	}
	if e.Post != id {
		return nil, fmt.Errorf("%w: entry names another post", ErrMalformed)
	}
	return &line{To: e.To, Created: e.Created, Preview: e.Preview, Thumb: e.Thumb, Reply: e.Reply, Area: e.Area, Author: e.Author}, nil
}

// lineOfHead checks a head record (hash, signature, body) and returns its
// line. Only signed heads are read this way (a followed author's).
func lineOfHead(id PostID, raw []byte) (*line, int64, error) {
	if IDOf(raw) != id {
		return nil, 0, fmt.Errorf("%w: the head record is not the post asked for", ErrMalformed)
	}
	p, err := record.DecodePost(raw, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: head record: %v", ErrMalformed, err)
	}
	if len(p.Author) == 0 {
		return nil, 0, fmt.Errorf("%w: head record without author", ErrMalformed)
	}
	b, err := DecodeBody(p.Body)
	if err != nil {
		return nil, 0, err
	}
	if b.To == Friends {
		return nil, 0, fmt.Errorf("%w: a friends post as a public head", ErrMalformed)
	}
	return lineOfBody(b, p.Author, p.Created), p.Expires, nil
}

// lineOfBody is the line of a post body by author, created at created.
func lineOfBody(b *Body, author []byte, created int64) *line {
	l := &line{To: b.To, Created: created, Preview: Preview(b.Text), Reply: b.Reply, Area: b.Area, Author: bytes.Clone(author)}
	if b.Image != nil && len(b.Image.Key) == 0 {
		l.Thumb = bytes.Clone(b.Image.Thumb[:])
	}
	return l
}

// verify derives k's line from its proof again and checks that it is the
// line kept.
func (k *kept) verify(id PostID) error {
	var l *line
	var err error
	switch k.Proof {
	case proofEntry:
		l, err = lineOfEntry(id, k.Raw)
	case proofHead:
		l, _, err = lineOfHead(id, k.Raw)
	default:
		err = fmt.Errorf("%w: unknown proof %d", ErrMalformed, k.Proof)
	}
	if err != nil {
		return err
	}
	if !l.equal(&k.Line) {
		return fmt.Errorf("%w: kept line does not match its proof", ErrMalformed)
	}
	return nil
}

// keep adds a validated item to the local copy, or adds src to the item
// already kept for id. A head record (proof by the author's signature over
// the whole post) replaces an entry; otherwise the first claim of an id
// stays and a conflicting one (another author or text) is refused.
func (s *Social) keep(id PostID, src uint8, proof uint8, raw []byte, l *line, expires int64) error {
	now := time.Now()
	if l.Created > now.Add(maxFuture).Unix() {
		return fmt.Errorf("%w: created in the future", ErrMalformed)
	}
	if expires <= now.Unix() {
		return nil // nothing to keep
	}
	key := id.String()
	return s.st.Update(func(tx *store.Tx) error {
		var k kept
		old, err := tx.Get(bucketFeed, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			k = kept{Sources: src, Proof: proof, Raw: raw, Line: *l, Expires: expires, Added: now.Unix()}
		case err != nil:
			return err
		default:
			if err := localDec.Unmarshal(old, &k); err != nil {
				return fmt.Errorf("social: a kept item: %w", err)
			}
			sameAuthor := bytes.Equal(k.Line.Author, l.Author)
			switch {
			case proof == proofHead && k.Proof != proofHead:
				if !sameAuthor {
					k.Sources = 0 // what brought the entry lied about its author
				}
				k.Proof, k.Raw, k.Line = proof, raw, *l
			case sameAuthor: // the same post again, from another set or source
			default:
				return errConflict
			}
			k.Sources |= src
			k.Expires = max(k.Expires, expires)
		}
		b, err := detcbor.Marshal(&k)
		if err != nil {
			return err
		}
		return tx.Put(bucketFeed, key, b)
	})
}

var errConflict = fmt.Errorf("%w: another item claims this post id", ErrMalformed)

// FeedQuery narrows a feed.
type FeedQuery struct {
	// Near and RadiusM select area posts within RadiusM metres of Near
	// (area feed); without Near, the area feed shows the posts of all the
	// user's areas and distances from the nearest of them.
	Near    *geo.Point
	RadiusM float64
	// Since keeps posts created at most this long ago (0: all).
	Since time.Duration
	// Limit is the most items (0: DefaultFeedLimit).
	Limit int
}

// FeedItem is one line of a feed.
type FeedItem struct {
	ID string `json:"id"` // the post id: what vote, --reply and mute take
	// Author is your name for the author if they are a contact, "you",
	// a short fingerprint, or "anonymous".
	Author string `json:"author"`
	// Address is the author's address (absent for anonymous posts): what
	// follow and mute take.
	Address string    `json:"address,omitempty"`
	Created time.Time `json:"created"` // the author's claim
	AgeS    int64     `json:"age_s"`   // seconds since Created
	// DistanceM is the distance to an area post's place (area feed).
	DistanceM *float64 `json:"distance_m,omitempty"`
	Replies   int      `json:"replies"`
	Up        int      `json:"up"`
	Down      int      `json:"down"`
	MyVote    string   `json:"my_vote,omitempty"` // up or down
	Text      string   `json:"text"`              // the text's start (at most PreviewBytes)
	Thumb     string   `json:"thumb,omitempty"`   // the thumbnail record's hash (hex)
	Reply     string   `json:"reply,omitempty"`   // the parent post's id
	Sources   []string `json:"sources"`
}

// FeedPage is a feed as the local copy has it.
type FeedPage struct {
	Kind  Kind       `json:"kind"`
	Items []FeedItem `json:"items"`
	// Skipped counts items of this feed's sources that failed validation:
	// when the refresher read them (since the local copy began) and now.
	Skipped int `json:"skipped"`
	// Fresh is when each source this feed reads was last refreshed in
	// full (absent: never).
	Fresh map[string]time.Time `json:"fresh"`
	// Note says what the page cannot show, e.g. a place not watched.
	Note string `json:"note,omitempty"`
}

// kindSources are the sources whose freshness and skipped items a kind
// reports.
func kindSources(kind Kind) []string {
	switch kind {
	case KindWorld:
		return []string{"world", "tallies"}
	case KindArea:
		return []string{"area", "tallies"}
	case KindFollowing:
		return []string{"following", "tallies"}
	}
	return []string{"friends", "tallies"}
}

// Feed answers from the local copy, without a request: newest first, muted
// authors and threads hidden, each item checked again against its proof
// (an item that fails is skipped and counted).
func (s *Social) Feed(kind Kind, q FeedQuery) (*FeedPage, error) {
	if _, err := ParseKind(string(kind)); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultFeedLimit
	}
	limit = min(limit, MaxFeedLimit)
	now := time.Now()
	page := &FeedPage{Kind: kind, Items: []FeedItem{}, Fresh: map[string]time.Time{}}
	if kind == KindFriends {
		return s.friendsFeed(page, q, limit, now)
	}
	var areas []WatchedArea
	if kind == KindArea {
		var err error
		if areas, err = s.Areas(); err != nil {
			return nil, err
		}
		if q.Near != nil {
			if q.RadiusM <= 0 || q.RadiusM > MaxRadiusM {
				return nil, fmt.Errorf("social: a radius is 0..%d km", MaxRadiusM/1000)
			}
			if !coveredBy(areas, *q.Near, q.RadiusM) {
				page.Note = "this circle is not within your areas, so the daemon does not read it: add it with `komrade area add`"
			}
		} else if len(areas) == 0 {
			page.Note = "you watch no area yet: add one with `komrade area add --near LAT,LON --radius KM`"
		}
	}
	follows, err := s.followSet()
	if err != nil {
		return nil, err
	}
	mutes, err := s.muteSet()
	if err != nil {
		return nil, err
	}

	type cand struct {
		id   PostID
		k    kept
		dist *float64
	}
	var cands []cand
	skipped := 0
	err = s.st.View(func(tx *store.Tx) error {
		for _, src := range kindSources(kind) {
			st, err := getState(tx, "fresh/"+src)
			if err != nil {
				return err
			}
			if st.At != 0 {
				page.Fresh[src] = time.Unix(0, st.At)
			}
			skipped += int(st.N)
		}
		return tx.List(bucketFeed, func(key string, v []byte) error {
			id, err := ParsePostID(key)
			var k kept
			if err != nil || localDec.Unmarshal(v, &k) != nil {
				skipped++
				return nil
			}
			if k.Expires <= now.Unix() || (q.Since > 0 && k.Line.Created < now.Add(-q.Since).Unix()) {
				return nil
			}
			if mutes[string(k.Line.Author)] || mutes[string(id[:])] || (len(k.Line.Reply) == 32 && mutes[string(k.Line.Reply)]) {
				return nil
			}
			c := cand{id: id, k: k}
			switch kind {
			case KindWorld:
				if k.Sources&srcWorld == 0 {
					return nil
				}
			case KindFollowing:
				if len(k.Line.Author) == 0 || !follows[string(k.Line.Author)] || k.Sources&(srcWorld|srcArea|srcFollowing) == 0 {
					return nil
				}
			case KindArea:
				if k.Sources&srcArea == 0 || k.Line.Area == nil {
					return nil
				}
				d, ok := areaDistance(k.Line.Area, areas, q)
				if !ok {
					return nil
				}
				c.dist = &d
			}
			cands = append(cands, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("social: feed: %w", err)
	}
	sort.Slice(cands, func(i, j int) bool {
		if a, b := cands[i].k.Line.Created, cands[j].k.Line.Created; a != b {
			return a > b
		}
		return bytes.Compare(cands[i].id[:], cands[j].id[:]) < 0
	})

	names, err := s.contactNames()
	if err != nil {
		return nil, err
	}
	self := s.id.Sign.Public().(ed25519.PublicKey)
	var shown []PostID
	for _, c := range cands {
		if len(page.Items) == limit {
			break
		}
		if err := c.k.verify(c.id); err != nil {
			skipped++
			s.log.Debug("kept item fails validation", "err", err)
			continue
		}
		t, err := s.readTally(c.id)
		if err != nil {
			return nil, err
		}
		l := &c.k.Line
		it := FeedItem{ID: c.id.String(), Created: time.Unix(l.Created, 0).UTC(), Text: l.Preview,
			AgeS: max(0, now.Unix()-l.Created), DistanceM: c.dist, Sources: sourceNames(c.k.Sources)}
		it.Author, it.Address = authorName(l.Author, self, names)
		it.Up, it.Down, it.Replies, it.MyVote = t.Up, t.Down, t.Replies, t.Mine
		if len(l.Thumb) == 32 {
			it.Thumb = fmt.Sprintf("%x", l.Thumb)
		}
		if len(l.Reply) == 32 {
			it.Reply = fmt.Sprintf("%x", l.Reply)
		}
		page.Items = append(page.Items, it)
		shown = append(shown, c.id)
	}
	page.Skipped = skipped
	s.fs.showed(shown, now)
	return page, nil
}

// friendsFeed is the friends feed: the friends posts the friends streams
// brought into the local copy (bucket "friends", FriendsItems), the
// user's own included.
func (s *Social) friendsFeed(page *FeedPage, q FeedQuery, limit int, now time.Time) (*FeedPage, error) {
	items, err := s.FriendsItems()
	if err != nil {
		return nil, err
	}
	mutes, err := s.muteSet()
	if err != nil {
		return nil, err
	}
	names, err := s.contactNames()
	if err != nil {
		return nil, err
	}
	skipped, err := s.FriendsSkipped()
	if err != nil {
		return nil, err
	}
	for _, n := range skipped {
		page.Skipped += int(n)
	}
	if err := s.st.View(func(tx *store.Tx) error {
		for _, src := range kindSources(KindFriends) {
			st, err := getState(tx, "fresh/"+src)
			if err != nil {
				return err
			}
			if st.At != 0 {
				page.Fresh[src] = time.Unix(0, st.At)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	self := s.id.Sign.Public().(ed25519.PublicKey)
	for _, it := range items { // newest first
		if len(page.Items) == limit {
			break
		}
		if (q.Since > 0 && it.Created.Before(now.Add(-q.Since))) || mutes[string(it.Identity)] || mutes[string(it.ID[:])] ||
			(len(it.Reply) == 32 && mutes[string(it.Reply)]) {
			continue
		}
		t, err := s.readTally(it.ID)
		if err != nil {
			return nil, err
		}
		fi := FeedItem{ID: it.ID.String(), Created: it.Created.UTC(), AgeS: max(0, now.Unix()-it.Created.Unix()),
			Text: Preview(it.Text), Sources: []string{"friends"}, Up: t.Up, Down: t.Down, Replies: t.Replies, MyVote: t.Mine}
		fi.Author, fi.Address = authorName(it.Identity, self, names)
		if it.Author == "" && len(it.Identity) == 0 {
			fi.Author = "you"
		}
		if it.Image != nil {
			fi.Thumb = fmt.Sprintf("%x", it.Image.Thumb)
		}
		if len(it.Reply) == 32 {
			fi.Reply = fmt.Sprintf("%x", it.Reply)
		}
		page.Items = append(page.Items, fi)
	}
	// Friends posts' tallies are not read: their ids are for friends only,
	// and reading their vote sets would show them to storage nodes.
	return page, nil
}

// contactNames maps the fingerprint of each confirmed contact's identity
// to your name for them.
func (s *Social) contactNames() (map[string]string, error) {
	if s.m == nil {
		return nil, nil
	}
	cs, err := s.m.Contacts()
	if err != nil {
		return nil, fmt.Errorf("social: contacts: %w", err)
	}
	out := make(map[string]string, len(cs))
	for name, fp := range cs {
		if fp != "" {
			out[fp] = name
		}
	}
	return out, nil
}

// authorName is how a feed names author: "anonymous", "you", a contact's
// name, or the first two groups of the fingerprint; and the address.
func authorName(author, self []byte, names map[string]string) (string, string) {
	if len(author) != ed25519.PublicKeySize {
		return "anonymous", ""
	}
	addr := fmt.Sprintf("%x", author)
	if bytes.Equal(author, self) {
		return "you", addr
	}
	fp := client.Fingerprint(author)
	if n, ok := names[fp]; ok {
		return n, addr
	}
	return ShortFingerprint(author), addr
}

// ShortFingerprint is the first two groups of an identity's fingerprint,
// as feeds name authors who are not contacts.
func ShortFingerprint(pub ed25519.PublicKey) string {
	g := strings.SplitN(client.Fingerprint(pub), " ", 3)
	return strings.Join(g[:min(2, len(g))], " ")
}

// state is one value of bucket "feed-state".
type state struct {
	At     int64  `cbor:"1,keyasint,omitempty"` // unix ns
	N      uint64 `cbor:"2,keyasint,omitempty"`
	Cursor []byte `cbor:"3,keyasint,omitempty"`
	// Caught is when a scan last reached the set's end (unix s).
	Caught int64 `cbor:"4,keyasint,omitempty"`
	// Forget is when the value is of no more use (unix s; 0: never).
	Forget int64 `cbor:"5,keyasint,omitempty"`
}

func getState(tx *store.Tx, key string) (state, error) {
	var st state
	b, err := tx.Get(bucketState, key)
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := localDec.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("social: feed state: %w", err)
	}
	return st, nil
}

func putState(tx *store.Tx, key string, st state) error {
	b, err := detcbor.Marshal(&st)
	if err != nil {
		return err
	}
	return tx.Put(bucketState, key, b)
}

// countSkipped adds n to the skipped items of source src.
func (s *Social) countSkipped(src string, n int) error {
	if n == 0 {
		return nil
	}
	return s.st.Update(func(tx *store.Tx) error {
		st, err := getState(tx, "fresh/"+src)
		if err != nil {
			return err
		}
		st.N += uint64(n)
		return putState(tx, "fresh/"+src, st)
	})
}

// markFresh records that source src was refreshed in full at t.
func (s *Social) markFresh(src string, t time.Time) error {
	return s.st.Update(func(tx *store.Tx) error {
		st, err := getState(tx, "fresh/"+src)
		if err != nil {
			return err
		}
		st.At = t.UnixNano()
		return putState(tx, "fresh/"+src, st)
	})
}

// prune drops expired items and the oldest past MaxKept, then what only
// dropped items used (tallies, thumbnails), the user's expired votes and
// state of no more use.
func (s *Social) prune(now time.Time) error {
	return s.st.Update(func(tx *store.Tx) error {
		type aged struct {
			key      string
			created  int64
			followed bool
		}
		var live []aged
		var drop []string
		if err := tx.List(bucketFeed, func(key string, v []byte) error {
			var k kept
			if localDec.Unmarshal(v, &k) != nil || k.Expires <= now.Unix() {
				drop = append(drop, key)
			} else {
				live = append(live, aged{key, k.Line.Created, k.Sources&srcFollowing != 0})
			}
			return nil
		}); err != nil {
			return err
		}
		if len(live) > MaxKept {
			// Posts of followed authors go last: the refresher reads an
			// author's posts again only when their profile changes, and
			// anyone can fill the world index with new entries.
			slices.SortFunc(live, func(a, b aged) int {
				if a.followed != b.followed {
					if a.followed {
						return 1
					}
					return -1
				}
				return cmp.Compare(a.created, b.created)
			})
			for _, a := range live[:len(live)-MaxKept] {
				drop = append(drop, a.key)
			}
		}
		for _, k := range drop {
			if err := tx.Delete(bucketFeed, k); err != nil {
				return err
			}
		}
		// What the items left use.
		keptIDs, thumbs := map[string]bool{}, map[string]bool{}
		if err := tx.List(bucketFeed, func(key string, v []byte) error {
			keptIDs[key] = true
			var k kept
			if localDec.Unmarshal(v, &k) == nil && len(k.Line.Thumb) == 32 {
				thumbs[hex.EncodeToString(k.Line.Thumb)] = true
			}
			return nil
		}); err != nil {
			return err
		}
		var gone []struct{ bucket, key string }
		unused := func(bucket string, used func(key string, v []byte) bool) error {
			return tx.List(bucket, func(key string, v []byte) error {
				if !used(key, v) {
					gone = append(gone, struct{ bucket, key string }{bucket, key})
				}
				return nil
			})
		}
		if err := unused(bucketTally, func(key string, _ []byte) bool { return keptIDs[key] }); err != nil {
			return err
		}
		if err := unused(bucketThumb, func(key string, _ []byte) bool { return thumbs[key] }); err != nil {
			return err
		}
		if err := unused(bucketMyVote, func(_ string, v []byte) bool {
			var m myVote
			return localDec.Unmarshal(v, &m) == nil && m.Exp > now.Unix()
		}); err != nil {
			return err
		}
		if err := unused(bucketState, func(_ string, v []byte) bool {
			var st state
			return localDec.Unmarshal(v, &st) == nil && (st.Forget == 0 || st.Forget > now.Unix())
		}); err != nil {
			return err
		}
		for _, g := range gone {
			if err := tx.Delete(g.bucket, g.key); err != nil {
				return err
			}
		}
		return nil
	})
}

// Thumbs returns the thumbnails (JPEG) the local copy holds for the given
// posts, by post id: public posts' thumbnails the refresher fetched for
// posts shown, and friends posts' (read with them).
func (s *Social) Thumbs(ids []PostID) (map[PostID][]byte, error) {
	out := map[PostID][]byte{}
	want := map[PostID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	err := s.st.View(func(tx *store.Tx) error {
		for id := range want {
			v, err := tx.Get(bucketFeed, id.String())
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var k kept
			if localDec.Unmarshal(v, &k) != nil || len(k.Line.Thumb) != 32 {
				continue
			}
			jpg, err := tx.Get(bucketThumb, hex.EncodeToString(k.Line.Thumb))
			if err == nil {
				out[id] = jpg
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	friends, err := s.FriendsItems()
	if err != nil {
		return nil, err
	}
	for _, it := range friends {
		if want[it.ID] && len(it.Thumb) > 0 {
			out[it.ID] = it.Thumb
		}
	}
	return out, nil
}
