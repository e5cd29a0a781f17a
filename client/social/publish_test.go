package social_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
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

// startNet starts a 9-node network with the testnet's cheap proof-of-work
// (8 bits) and no node loop cover.
func startNet(t testing.TB) *testnet.Network {
	t.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

type user struct {
	c  *client.Client
	id *client.Identity
	m  *messenger.Messenger
	s  *social.Social
}

func (u *user) pub() ed25519.PublicKey { return u.id.Sign.Public().(ed25519.PublicKey) }

// newUser makes a user with a fresh identity and store on net; with rates,
// the client runs cover traffic at them.
func newUser(t testing.TB, net *testnet.Network, rates *client.Rates) *user {
	t.Helper()
	tu := testuser.New(t, net, rates, quiet())
	c, id, st := tu.Client, tu.ID, tu.Store
	m := messenger.New(c, id, st, quiet())
	return &user{c: c, id: id, m: m, s: social.New(c, id, st, m, quiet())}
}

// pair makes a and b contacts (an invite and its acceptance).
func pair(t *testing.T, ctx context.Context, a, b *user) {
	t.Helper()
	code, err := a.m.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Accept(ctx, code, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil { // the hello and b's friends capability
		t.Fatal(err)
	}
	if err := a.m.Deliver(ctx); err != nil { // a's friends capability
		t.Fatal(err)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
}

// exifJPEG is a 400×200 JPEG, blue with a red square in the top-left
// corner and a green one in the top-right corner (40 px each), carrying an
// EXIF segment with orientation 6 (to be turned 90° clockwise) and a GPS
// latitude, as a phone writes it.
func exifJPEG(t testing.TB) []byte {
	t.Helper()
	const w, h, sq = 400, 200, 40
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{0x10, 0x10, 0xD0, 0xFF}
			switch {
			case y < sq && x < sq:
				c = color.RGBA{0xE0, 0x10, 0x10, 0xFF}
			case y < sq && x >= w-sq:
				c = color.RGBA{0x10, 0xD0, 0x10, 0xFF}
			}
			m.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	j := buf.Bytes()
	// TIFF, big-endian: IFD0 with Orientation = 6 and a GPS IFD pointer;
	// the GPS IFD with GPSLatitudeRef "N" and GPSLatitude 52° 31' 12.34".
	be := binary.BigEndian
	tf := []byte{'M', 'M', 0, 42, 0, 0, 0, 8}
	entry := func(tag, typ uint16, count uint32, value []byte) {
		tf = be.AppendUint16(tf, tag)
		tf = be.AppendUint16(tf, typ)
		tf = be.AppendUint32(tf, count)
		tf = append(tf, value...)
	}
	tf = be.AppendUint16(tf, 2)
	entry(0x0112, 3, 1, []byte{0, 6, 0, 0}) // Orientation: SHORT 6
	entry(0x8825, 4, 1, be.AppendUint32(nil, 8+2+24+4))
	tf = be.AppendUint32(tf, 0)
	tf = be.AppendUint16(tf, 2)
	entry(0x0001, 2, 2, []byte{'N', 0, 0, 0})
	entry(0x0002, 5, 3, be.AppendUint32(nil, uint32(len(tf)+12+4)))
	tf = be.AppendUint32(tf, 0)
	for _, r := range [][2]uint32{{52, 1}, {31, 1}, {1234, 100}} {
		tf = be.AppendUint32(tf, r[0])
		tf = be.AppendUint32(tf, r[1])
	}
	payload := append([]byte("Exif\x00\x00"), tf...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte(nil), j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// jpegSegments lists the markers of a JPEG's header segments, up to its
// first scan.
func jpegSegments(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatal("not a JPEG")
	}
	var out []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		out = append(out, m)
		if m == 0xDA {
			return out
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	t.Fatal("no scan")
	return nil
}

// checkClean fails unless b is a JPEG without EXIF, XMP or any other
// application segment, and without the GPS data of exifJPEG.
func checkClean(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, m := range jpegSegments(t, b) {
		if m >= 0xE0 && m <= 0xEF || m == 0xFE {
			t.Errorf("%s: segment FF%02X (application data or comment) kept", what, m)
		}
	}
	if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, binary.BigEndian.AppendUint32(nil, 1234)) {
		t.Errorf("%s: EXIF bytes kept", what)
	}
}

// colour names the colour around (x, y): red, green, blue or other.
func colour(m image.Image, x, y int) string {
	r, g, b, _ := m.At(x, y).RGBA()
	r, g, b = r>>8, g>>8, b>>8
	switch {
	case r > 160 && g < 90 && b < 90:
		return "red"
	case g > 150 && r < 90 && b < 90:
		return "green"
	case b > 150 && r < 90 && g < 90:
		return "blue"
	}
	return "other"
}

// cjkText is n distinct-ish CJK characters (3 bytes each in UTF-8).
func cjkText(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteRune(rune(0x4E00 + (i*7)%2000))
	}
	return sb.String()
}

// scanItems reads every item of a set (through the mix network), retrying
// lost requests.
func scanItems(t *testing.T, ctx context.Context, c *client.Client, ns string, key []byte) []*setitem.Item {
	t.Helper()
	var out []*setitem.Item
	var cursor []byte
	for {
		var res *wire.ScanResult
		var err error
		for try := 0; try < 10; try++ {
			tctx, cancel := context.WithTimeout(ctx, c.ReplyTimeout())
			res, err = c.Scan(tctx, wire.ScanRequest{Namespace: ns, Key: key, Cursor: cursor, Limit: 8})
			cancel()
			if err == nil || wire.IsFinal(err) {
				break
			}
		}
		if errors.Is(err, wire.ErrNotFound) {
			return out
		}
		if err != nil {
			t.Fatalf("scan %s: %v", ns, err)
		}
		for _, raw := range res.Items {
			it, err := setitem.Decode(raw)
			if err != nil {
				t.Fatalf("scan %s: %v", ns, err)
			}
			out = append(out, it)
		}
		if len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			return out
		}
		cursor = res.Next
	}
}

// findEntry waits until the set (ns, key) holds an entry for post id and
// returns the item and its entry.
func findEntry(t *testing.T, ctx context.Context, c *client.Client, ns string, key []byte, id social.PostID) (*setitem.Item, *social.Entry) {
	t.Helper()
	for {
		for _, it := range scanItems(t, ctx, c, ns, key) {
			e, _, err := social.DecodeAreaItem(it.Body)
			if err == nil && e != nil && e.Post == id {
				return it, e
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no entry for %s in %s set %q", id, ns, key)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// getRecord reads a record through the mix network, retrying lost requests.
func getRecord(t *testing.T, ctx context.Context, c *client.Client, key string) []byte {
	t.Helper()
	var err error
	for try := 0; try < 10; try++ {
		tctx, cancel := context.WithTimeout(ctx, c.ReplyTimeout())
		var raw []byte
		raw, err = c.GetRecord(tctx, key)
		cancel()
		if err == nil {
			return raw
		}
		if wire.IsFinal(err) {
			break
		}
	}
	t.Fatalf("get %s: %v", key, err)
	return nil
}

// stored is every stored byte of a post, as fetched back: its records and
// its index items.
type stored struct {
	head       *record.Post
	body       *social.Body
	records    [][]byte // head, continuations, thumbnail, manifest, chunks
	oneTime    [][]byte // the one-time keys of the records after the head
	items      [][]byte // encoded index items
	itemBodies []*social.Entry
}

func (s *stored) all() [][]byte { return append(append([][]byte(nil), s.records...), s.items...) }

// fetchStored reads back what post id stored: its records and the index
// items in the sets given.
func fetchStored(t *testing.T, ctx context.Context, c *client.Client, id social.PostID, sets map[string][][]byte) *stored {
	t.Helper()
	out := &stored{}
	raw := getRecord(t, ctx, c, id.Key())
	p, err := record.DecodePost(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	out.head = p
	if out.body, err = social.DecodeBody(p.Body); err != nil {
		t.Fatal(err)
	}
	out.records = append(out.records, raw)
	keys := append([][32]byte(nil), out.body.More...)
	if img := out.body.Image; img != nil {
		keys = append(keys, img.Thumb, img.Manifest)
		mraw := getRecord(t, ctx, c, social.PostID(img.Manifest).Key())
		mp, _ := record.DecodePost(mraw, 0)
		m, err := photo.DecodeManifest(mp.Body)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, m.Hashes...)
	}
	for _, k := range keys {
		raw := getRecord(t, ctx, c, social.PostID(k).Key())
		p, err := record.DecodePost(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		out.records = append(out.records, raw)
		out.oneTime = append(out.oneTime, p.Author)
	}
	for ns, setKeys := range sets {
		for _, key := range setKeys {
			it, e := findEntry(t, ctx, c, ns, key, id)
			b, err := setitem.Encode(it)
			if err != nil {
				t.Fatal(err)
			}
			out.items = append(out.items, b)
			out.itemBodies = append(out.itemBodies, e)
		}
	}
	return out
}

// TestPublish runs on one network: a world post with a long CJK text and a
// photo read back by another user; anonymous posts that carry nothing of
// their author; a reply; profiles (world with a photo, local, friends).
func TestPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("a network and posts through it")
	}
	net := startNet(t)
	a, b := newUser(t, net, nil), newUser(t, net, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pair(t, ctx, a, b)

	// A world post: 1000 CJK characters (3000 bytes: head and two
	// continuations) and a photo with EXIF GPS and orientation 6.
	text := cjkText(social.MaxChars)
	worldID, err := a.s.Post(ctx, social.PostOptions{Text: text, Image: bytes.NewReader(exifJPEG(t)), To: social.World})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("WorldPostReadByAnother", func(t *testing.T) {
		p, err := b.s.Fetch(ctx, worldID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Text != text || !bytes.Equal(p.Author, a.pub()) || p.To != social.World || p.Image == nil || p.Reply != nil {
			t.Fatalf("fetched post: text equal %v, author %x, to %v, image %+v", p.Text == text, p.Author, p.To, p.Image)
		}
		if time.Since(p.Created) > time.Minute || p.Expires.Before(time.Now().Add(29*24*time.Hour)) {
			t.Fatalf("times: created %v, expires %v", p.Created, p.Expires)
		}
		full, err := b.s.Image(ctx, p.Image, true)
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, "full image", full)
		m, err := jpeg.Decode(bytes.NewReader(full))
		if err != nil {
			t.Fatal(err)
		}
		// Upright: 200×400, the red corner at the top right, the green one
		// at the bottom right.
		if r := m.Bounds(); r.Dx() != 200 || r.Dy() != 400 {
			t.Fatalf("full image of %v, want 200x400 (turned upright)", r)
		}
		if c1, c2, c3 := colour(m, 180, 20), colour(m, 180, 380), colour(m, 20, 200); c1 != "red" || c2 != "green" || c3 != "blue" {
			t.Fatalf("corners of the upright image: %s %s %s, want red green blue", c1, c2, c3)
		}
		thumb, err := b.s.Image(ctx, p.Image, false)
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, "thumbnail", thumb)
		tm, err := jpeg.Decode(bytes.NewReader(thumb))
		if err != nil {
			t.Fatal(err)
		}
		if r := tm.Bounds(); r.Dx() >= r.Dy() {
			t.Fatalf("thumbnail of %v is not upright", r)
		}
		// The index entry is in the world index, signed by A.
		hour := social.WorldHour(p.Created)
		_, e := findEntry(t, ctx, b.c, "world", social.WorldKey(hour, social.WorldShard(worldID, net.Params.WorldShards)), worldID)
		if !bytes.Equal(e.Author, a.pub()) || e.Preview != social.Preview(text) || !bytes.Equal(e.Thumb, p.Image.Thumb[:]) {
			t.Fatalf("world entry: %+v", e)
		}
	})

	t.Run("AnonymousPostsCarryNothingOfTheirAuthor", func(t *testing.T) {
		near := geo.Point{Lat: 52.52, Lon: 13.405}
		var posts []*stored
		for i, o := range []social.PostOptions{
			{Text: cjkText(900), Image: bytes.NewReader(exifJPEG(t)), To: social.World, Anonymous: true, Reply: &worldID},
			{Text: cjkText(900), Image: bytes.NewReader(exifJPEG(t)), To: social.Local, Near: &near, RadiusM: 3000, Anonymous: true},
		} {
			id, err := a.s.Post(ctx, o)
			if err != nil {
				t.Fatalf("anonymous post %d: %v", i, err)
			}
			sets := map[string][][]byte{}
			if o.To == social.World {
				sets["world"] = [][]byte{social.WorldKey(social.WorldHour(time.Now()), social.WorldShard(id, net.Params.WorldShards))}
				sets["reply"] = [][]byte{worldID[:]}
			} else {
				cells, err := social.AreaCells(social.NewArea(near, 0).Center(), 3000)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cells {
					sets["area"] = append(sets["area"], geo.AreaKey(c))
				}
			}
			s := fetchStored(t, ctx, b.c, id, sets)
			if len(s.head.Author) != 0 || len(s.head.Sig) != 0 {
				t.Fatalf("anonymous post %d: head has author %x", i, s.head.Author)
			}
			for _, e := range s.itemBodies {
				if len(e.Author) != 0 || len(e.Sig) != 0 {
					t.Fatalf("anonymous post %d: an index entry is signed", i)
				}
			}
			if len(s.body.More) != 1 || s.body.Image == nil || len(s.oneTime) < 4 {
				t.Fatalf("anonymous post %d: %d continuations, image %v, %d other records", i, len(s.body.More), s.body.Image, len(s.oneTime))
			}
			// Every record after the head has a key of its own.
			seen := map[string]bool{}
			for _, k := range s.oneTime {
				if seen[string(k)] {
					t.Fatalf("anonymous post %d: a one-time key signs two records", i)
				}
				seen[string(k)] = true
			}
			posts = append(posts, s)
		}
		// Nothing of A's identity or contacts, nor anything made from them.
		fpA := sha256.Sum256(append([]byte("komrade fingerprint v1\x00"), a.pub()...))
		secrets := map[string][]byte{
			"A's identity key": a.pub(), "A's identity seed": a.id.Sign.Seed(), "A's X25519 key": a.id.DH.PublicKey().Bytes(),
			"A's fingerprint": fpA[:16], "contact B's identity key": b.pub(), "contact B's X25519 key": b.id.DH.PublicKey().Bytes(),
		}
		for i, p := range posts {
			for _, raw := range p.all() {
				for what, v := range secrets {
					if bytes.Contains(raw, v[:16]) || bytes.Contains(raw, v[len(v)-16:]) {
						t.Fatalf("anonymous post %d: stored bytes hold %s", i, what)
					}
				}
			}
		}
		// Nothing random of one post (salt, one-time keys) in the other.
		randomOf := func(p *stored) [][]byte { return append([][]byte{p.body.Salt}, p.oneTime...) }
		for i, p := range posts {
			other := posts[1-i]
			for _, v := range randomOf(p) {
				for off := 0; off+8 <= len(v); off++ {
					for _, raw := range other.all() {
						if bytes.Contains(raw, v[off:off+8]) {
							t.Fatalf("anonymous posts %d and %d share 8 bytes of a salt or key", i, 1-i)
						}
					}
				}
			}
		}
		// B reads the anonymous reply, which names its parent.
		anon, err := b.s.Fetch(ctx, social.IDOf(posts[0].records[0]))
		if err != nil || anon.Author != nil || anon.Reply == nil || *anon.Reply != worldID {
			t.Fatalf("the anonymous reply read back: %+v %v", anon, err)
		}
	})

	t.Run("ReplyInParentsSet", func(t *testing.T) {
		id, err := b.s.Post(ctx, social.PostOptions{Text: "a reply", To: social.World, Reply: &worldID})
		if err != nil {
			t.Fatal(err)
		}
		_, e := findEntry(t, ctx, a.c, "reply", worldID[:], id)
		if !bytes.Equal(e.Reply, worldID[:]) || !bytes.Equal(e.Author, b.pub()) || e.Preview != "a reply" {
			t.Fatalf("reply entry: %+v", e)
		}
		p, err := a.s.Fetch(ctx, id)
		if err != nil || p.Reply == nil || *p.Reply != worldID || p.Text != "a reply" {
			t.Fatalf("the reply read back: %+v %v", p, err)
		}
	})

	t.Run("ProfileSetShow", func(t *testing.T) {
		name, bio := "Alice", "organiser; 🌱 gardens\nand bikes"
		addr, err := a.s.SetProfile(ctx, social.ProfileOptions{Name: &name, Bio: &bio, Photo: bytes.NewReader(exifJPEG(t))})
		if err != nil {
			t.Fatal(err)
		}
		if addr != messenger.Address(a.pub()) {
			t.Fatalf("address %s", addr)
		}
		p, err := b.s.Profile(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		// The world post came before the profile was set: it is listed.
		if p.Name != name || p.Bio != bio || p.Visibility != social.VisibleWorld || p.Photo == nil || len(p.Recent) == 0 || p.Recent[0] != worldID {
			t.Fatalf("profile read back: %+v", p)
		}
		img, err := b.s.Image(ctx, p.Photo, true)
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, "profile photo", img)
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width != 200 || cfg.Height != 400 {
			t.Fatalf("profile photo: %+v %v", cfg, err)
		}
		// One field at a time: a new bio keeps the name and the photo.
		bio2 := "new bio"
		if _, err := a.s.SetProfile(ctx, social.ProfileOptions{Bio: &bio2}); err != nil {
			t.Fatal(err)
		}
		p2, err := b.s.Profile(ctx, addr)
		if err != nil || p2.Name != name || p2.Bio != bio2 || p2.Photo == nil || p2.Photo.Manifest != p.Photo.Manifest {
			t.Fatalf("after changing the bio: %+v %v", p2, err)
		}
		// Friend requests still work: the intro key and DH key are there.
		if err := b.m.Request(ctx, addr, "alice2", "Bob", "hi"); err != nil {
			t.Fatalf("a friend request to the new profile: %v", err)
		}
	})

	t.Run("LocalProfileListed", func(t *testing.T) {
		near := geo.Point{Lat: -33.8688, Lon: 151.2093}
		if _, err := a.s.SetProfile(ctx, social.ProfileOptions{Visibility: social.VisibleLocal, Near: &near}); err != nil {
			t.Fatal(err)
		}
		snapped, _, _ := geo.Snap(near, 0)
		cell, _ := geo.CellOf(snapped, social.AreaLevel)
		var ref *social.ProfileRef
		for ref == nil {
			for _, it := range scanItems(t, ctx, b.c, "area", geo.AreaKey(cell)) {
				if _, r, err := social.DecodeAreaItem(it.Body); err == nil && r != nil && bytes.Equal(r.Author, a.pub()) {
					ref = r
				}
			}
			if ref == nil {
				select {
				case <-ctx.Done():
					t.Fatal("the local profile is not listed in its cell")
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
		got := social.NewArea(geo.Point{Lat: float64(ref.LatE6) / 1e6, Lon: float64(ref.LonE6) / 1e6}, 0)
		if ref.Name != "Alice" || got != social.NewArea(snapped, 0) || ref.Thumb == nil {
			t.Fatalf("listing: %+v (want the snapped place %v)", ref, snapped)
		}
		if geo.Distance(near, snapped) > 200 {
			t.Fatalf("snapped %v m away", geo.Distance(near, snapped))
		}
		p, err := b.s.Profile(ctx, messenger.Address(a.pub()))
		if err != nil || p.Visibility != social.VisibleLocal || p.Name != "Alice" {
			t.Fatalf("local profile read back: %+v %v", p, err)
		}
	})

	t.Run("FriendsProfileHidesName", func(t *testing.T) {
		if _, err := a.s.SetProfile(ctx, social.ProfileOptions{Visibility: social.VisibleFriends}); err != nil {
			t.Fatal(err)
		}
		p, err := b.s.Profile(ctx, messenger.Address(a.pub()))
		if err != nil {
			t.Fatal(err)
		}
		if p.Visibility != social.VisibleFriends || p.Name != "" || p.Bio != "" || p.Photo != nil || len(p.Recent) == 0 {
			t.Fatalf("friends-only profile as others read it: %+v", p)
		}
		ps, err := a.s.Settings()
		if err != nil || ps.Name != "Alice" || ps.Bio != "new bio" || ps.PhotoFull == nil {
			t.Fatalf("the settings kept for the friends stream: %+v %v", ps, err)
		}
		// Contact B reads name, bio and photo in A's friends stream.
		if _, err := b.s.RefreshFriends(ctx); err != nil {
			t.Fatal(err)
		}
		fps, err := b.s.FriendsProfiles()
		if err != nil {
			t.Fatal(err)
		}
		var fp *social.FriendsProfile
		for i := range fps {
			if bytes.Equal(fps[i].Identity, a.pub()) {
				fp = &fps[i]
			}
		}
		if fp == nil || fp.Name != "Alice" || fp.Bio != "new bio" || fp.Photo == nil {
			t.Fatalf("A's profile in the friends stream, as B reads it: %+v", fps)
		}
		img, err := b.s.FriendsImage(ctx, fp.Photo)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Width != 200 || cfg.Height != 400 {
			t.Fatalf("the friends photo: %+v %v", cfg, err)
		}
		// Back to world: name, bio and photo are public again.
		if _, err := a.s.SetProfile(ctx, social.ProfileOptions{Visibility: social.VisibleWorld}); err != nil {
			t.Fatal(err)
		}
		p, err = b.s.Profile(ctx, messenger.Address(a.pub()))
		if err != nil || p.Name != "Alice" || p.Photo == nil {
			t.Fatalf("back to world: %+v %v", p, err)
		}
		if _, err := b.s.Image(ctx, p.Photo, true); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("FriendsProfilePhotoNotPublic", func(t *testing.T) {
		// A photo set while the profile is for friends only is not stored
		// in the clear.
		c := newUser(t, net, nil)
		name := "Carol"
		if _, err := c.s.SetProfile(ctx, social.ProfileOptions{Name: &name, Visibility: social.VisibleFriends, Photo: bytes.NewReader(exifJPEG(t))}); err != nil {
			t.Fatal(err)
		}
		ps, err := c.s.Settings()
		if err != nil || ps.Photo != nil || ps.PhotoFull == nil {
			t.Fatalf("settings: %+v %v", ps, err)
		}
		p, err := b.s.Profile(ctx, messenger.Address(c.pub()))
		if err != nil || p.Name != "" || p.Photo != nil {
			t.Fatalf("a friends-only profile as others read it: %+v %v", p, err)
		}
		if _, err := c.s.SetProfile(ctx, social.ProfileOptions{Visibility: social.VisibleWorld}); err != nil {
			t.Fatal(err)
		}
		if p, err := b.s.Profile(ctx, messenger.Address(c.pub())); err != nil || p.Name != "Carol" || p.Photo == nil {
			t.Fatalf("made public: %+v %v", p, err)
		}
	})
}
