package social

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

// PostTTL is how long a post's records (head, continuations, image) are
// kept: the longest a record may ask for, 30 days. Its index entries live
// as long as their namespace allows (world 2 days, area 7, reply 30), less
// an hour for clock skew (itemExpiry).
const PostTTL = record.MaxTTL

// Namespaces of the feed index sets.
const (
	nsWorld = "world"
	nsArea  = "area"
	nsReply = "reply"
)

// WorldKey is the set key of one shard of one hour of the world feed
// index: the ASCII bytes "world:" ‖ hour ‖ ":" ‖ shard, both in decimal,
// e.g. "world:493921:3". hour is Unix time divided by 3600 (UTC hours
// since 1970); shard is 0..WorldShards-1 (pki.Params.WorldShards), and a
// post goes to shard WorldShard(id). A reader of an hour reads its
// WorldShards keys. The form is stable: changing it moves the index.
func WorldKey(hour int64, shard int) []byte {
	b := append([]byte("world:"), strconv.FormatInt(hour, 10)...)
	b = append(b, ':')
	return strconv.AppendInt(b, int64(shard), 10)
}

// WorldHour is the hour of the world index a post made at t goes to.
func WorldHour(t time.Time) int64 { return t.Unix() / 3600 }

// WorldShard is the shard of the world index post id goes to, of shards
// (pki.Params.WorldShards; less than 1 counts as 1).
func WorldShard(id PostID, shards int) int {
	if shards < 1 {
		return 0
	}
	return int(id[0]) % shards
}

// NewArea returns the Area of a circle, in the fixed point of the formats.
func NewArea(center geo.Point, radiusM float64) Area {
	return Area{LatE6: int32(math.Round(center.Lat * 1e6)), LonE6: int32(math.Round(center.Lon * 1e6)), RadiusM: uint32(math.Round(radiusM))}
}

// Center returns the centre of the area as a point.
func (a Area) Center() geo.Point {
	return geo.Point{Lat: float64(a.LatE6) / 1e6, Lon: float64(a.LonE6) / 1e6}
}

// PostOptions are what a post says and whom it is for.
type PostOptions struct {
	// Text is the post's text: at most MaxChars characters (CheckText).
	Text string
	// Image, if set, is read for the post's one image: a JPEG, PNG or GIF
	// of at most 10 MiB, published upright and without metadata (see
	// package client/photo).
	Image io.Reader
	// To is World or Local (an area post).
	To Audience
	// Near and RadiusM are the circle of an area post (Local): the
	// centre, which is published snapped to the centre of its cell of
	// about 150 m (geo.Snap), and a radius of at most MaxAreaRadiusM.
	Near    *geo.Point
	RadiusM float64
	// Anonymous posts carry no identity key and nothing derived from it:
	// proof-of-work replaces the signature.
	Anonymous bool
	// Reply, if set, names the post this one answers.
	Reply *PostID
}

// check validates o and returns the area of an area post.
func (o *PostOptions) check() (*Area, error) {
	if err := CheckText(o.Text); err != nil {
		return nil, err
	}
	switch o.To {
	case World:
		if o.Near != nil {
			return nil, errors.New("a world post has no place: --near is for area posts (--to area)")
		}
		return nil, nil
	case Local:
		if o.Near == nil {
			return nil, errors.New("an area post needs a place (--near LAT,LON) and a radius")
		}
		if o.RadiusM <= 0 || o.RadiusM > MaxAreaRadiusM {
			return nil, fmt.Errorf("an area post's radius is more than 0 and at most %d km", MaxAreaRadiusM/1000)
		}
		c, _, err := geo.Snap(*o.Near, 0)
		if err != nil {
			return nil, fmt.Errorf("the place of an area post: %w", err)
		}
		a := NewArea(c, o.RadiusM)
		return &a, nil
	}
	return nil, fmt.Errorf("a post goes to world or area, not %s", o.To)
}

// Post publishes a post and returns its id. Records go first (text
// continuations, the image's chunks, manifest and thumbnail, each signed
// by a key of its own made for it and then forgotten), then the head
// record (signed by the identity, or anonymous with the network's
// proof-of-work), then the index entries: the world index (the current
// hour's shard) or the area set of every cell the circle meets, and, for
// a reply, the parent's reply set. Every request is tried again when its
// answer does not come (a put of the same bytes is harmless). After a
// signed world post the profile is published again, listing the post
// first among its recent posts, so that followers find it.
//
// A post that fails half-way leaves records that nothing refers to; they
// expire with PostTTL. Posting again makes a new post.
//
// A friends post (To Friends) goes to the user's friends stream instead
// (PostFriends): only current contacts can read it; it is never anonymous,
// has no place and is no reply.
func (s *Social) Post(ctx context.Context, o PostOptions) (PostID, error) {
	var none PostID
	if o.To == Friends {
		switch {
		case o.Anonymous:
			return none, errors.New("a friends post is never anonymous: your friends know who wrote it")
		case o.Near != nil:
			return none, errors.New("a friends post has no place: --near is for area posts (--to area)")
		case o.Reply != nil:
			return none, errors.New("a friends post cannot be a reply (replies go to the post's own audience)")
		}
		return s.PostFriends(ctx, o.Text, o.Image)
	}
	area, err := o.check()
	if err != nil {
		return none, err
	}
	if o.Reply != nil {
		friends, err := s.isFriendsPost(*o.Reply)
		if err != nil {
			return none, err
		}
		if friends {
			return none, ErrFriendsOnly
		}
	}
	params := s.c.Params()
	rules := params.SetRules()
	for _, ns := range []string{nsWorld, nsArea, nsReply} {
		if _, ok := rules[ns]; !ok {
			return none, errors.New("social: the network's parameters are not known yet (no gateway has answered); try again when the daemon is online")
		}
	}
	now := time.Now()
	created, expires := now.Unix(), now.Add(PostTTL).Unix()

	// The records nothing but the head refers to.
	head, more := SplitText(o.Text)
	var puts []keyed
	body := &Body{To: o.To, Text: head, Area: area, Salt: make([]byte, 16)}
	rand.Read(body.Salt)
	for _, part := range more {
		r, err := oneTimeRecord([]byte(part), created, expires)
		if err != nil {
			return none, err
		}
		puts = append(puts, r)
		body.More = append(body.More, r.hash)
	}
	if o.Image != nil {
		img, err := prepareImage(o.Image)
		if err != nil {
			return none, err
		}
		ref, recs, err := imageRecords(img, created, expires)
		if err != nil {
			return none, err
		}
		body.Image = ref
		puts = append(puts, recs...)
	}
	if o.Reply != nil {
		body.Reply = append([]byte(nil), o.Reply[:]...)
	}
	enc, err := EncodeBody(body)
	if err != nil {
		return none, err
	}
	p := &record.Post{Created: created, Expires: expires, Body: enc}
	var headRec []byte
	if o.Anonymous {
		headRec, err = record.StampPost(ctx, p, params.PoWBits)
	} else {
		headRec, err = record.SignPost(p, s.id.Sign)
	}
	if err != nil {
		return none, fmt.Errorf("social: head record: %w", err)
	}
	id := IDOf(headRec)

	// The index entries, with their proof-of-work (solved before anything
	// is sent: a post either goes out whole or fails early).
	items, err := s.entryItems(ctx, id, &o, body, area, now, rules)
	if err != nil {
		return none, err
	}

	if err := s.putRecords(ctx, puts); err != nil {
		return none, fmt.Errorf("social: post: %w", err)
	}
	if err := s.putRecords(ctx, []keyed{{hash: id, raw: headRec}}); err != nil {
		return none, fmt.Errorf("social: post: %w", err)
	}
	if err := s.parallel(ctx, len(items), func(ctx context.Context, i int) error {
		return s.retry(ctx, func(c context.Context) error {
			_, err := s.c.Append(c, items[i])
			return err
		})
	}); err != nil {
		return none, fmt.Errorf("social: post %s is stored but its index entries are not: %w", id, err)
	}
	if !o.Anonymous && o.To == World {
		if err := s.addRecent(ctx, id); err != nil {
			// The post is out; followers find it once the profile is
			// published again (SetProfile, the next post, RefreshProfile).
			s.log.Warn("post published; the profile's list of recent posts is not", "err", err)
		}
	}
	return id, nil
}

// entryItems makes the encoded set items that index post id.
func (s *Social) entryItems(ctx context.Context, id PostID, o *PostOptions, body *Body, area *Area, now time.Time, rules map[string]setitem.Rules) ([][]byte, error) {
	e := &Entry{Post: id, To: o.To, Created: now.Unix(), Preview: Preview(o.Text), Reply: body.Reply, Area: area}
	if body.Image != nil {
		e.Thumb = append([]byte(nil), body.Image.Thumb[:]...)
	}
	var priv ed25519.PrivateKey
	if !o.Anonymous {
		priv = s.id.Sign
	}
	entry, err := SignEntry(e, priv)
	if err != nil {
		return nil, fmt.Errorf("social: index entry: %w", err)
	}
	type target struct {
		ns  string
		key []byte
	}
	var targets []target
	switch o.To {
	case World:
		targets = append(targets, target{nsWorld, WorldKey(WorldHour(now), WorldShard(id, s.c.Params().WorldShards))})
	case Local:
		cells, err := AreaCells(area.Center(), float64(area.RadiusM))
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			targets = append(targets, target{nsArea, geo.AreaKey(c)})
		}
	}
	if o.Reply != nil {
		targets = append(targets, target{nsReply, append([]byte(nil), o.Reply[:]...)})
	}
	out := make([][]byte, 0, len(targets))
	for _, t := range targets {
		b, err := setItem(ctx, t.ns, t.key, entry, now, rules)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// itemExpiry is the expiry given to a set item of a namespace whose items
// live at most ttl: an hour short of it, so that a writer whose clock runs
// ahead is not refused.
func itemExpiry(now time.Time, ttl time.Duration) int64 {
	return now.Add(max(ttl-time.Hour, ttl/2)).Unix()
}

// setItem makes an item of namespace ns under key with body, solved for
// the namespace's proof-of-work, and encodes it.
func setItem(ctx context.Context, ns string, key, body []byte, now time.Time, rules map[string]setitem.Rules) ([]byte, error) {
	r, ok := rules[ns]
	if !ok {
		return nil, fmt.Errorf("social: the network has no %q sets", ns)
	}
	it := setitem.Item{Namespace: ns, Key: key, Body: body, Expires: itemExpiry(now, r.TTL)}
	if err := it.Solve(ctx, r.PoWBits); err != nil {
		return nil, fmt.Errorf("social: %s item: %w", ns, err)
	}
	b, err := setitem.Encode(&it)
	if err != nil {
		return nil, err
	}
	if len(b) > r.MaxItemSize {
		return nil, fmt.Errorf("social: %s item of %d bytes exceeds the network's %d", ns, len(b), r.MaxItemSize)
	}
	return b, nil
}

// keyed is an encoded /kpost/ record and its hash (its key's last part).
type keyed struct {
	hash [32]byte
	raw  []byte
}

// oneTimeRecord makes a /kpost/ record of body signed by a key made for it
// alone: nothing in it links it to the author or to the other records of
// the post.
func oneTimeRecord(body []byte, created, expires int64) (keyed, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyed{}, err
	}
	raw, err := record.SignPost(&record.Post{Created: created, Expires: expires, Body: body}, priv)
	if err != nil {
		return keyed{}, fmt.Errorf("social: record: %w", err)
	}
	return keyed{hash: sha256.Sum256(raw), raw: raw}, nil
}

// putRecords stores records, several at once (see window).
func (s *Social) putRecords(ctx context.Context, recs []keyed) error {
	return s.parallel(ctx, len(recs), func(ctx context.Context, i int) error {
		key := PostID(recs[i].hash).Key()
		return s.retry(ctx, func(c context.Context) error {
			_, err := s.c.PutRecord(c, key, recs[i].raw)
			return err
		})
	})
}
