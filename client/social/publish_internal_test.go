package social

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
)

func TestWorldKey(t *testing.T) {
	if got := string(WorldKey(493921, 3)); got != "world:493921:3" {
		t.Fatalf("WorldKey = %q", got)
	}
	if WorldHour(time.Unix(3600*7+59, 0)) != 7 {
		t.Fatal("WorldHour")
	}
	var id PostID
	id[0] = 7
	if WorldShard(id, 4) != 3 || WorldShard(id, 0) != 0 {
		t.Fatal("WorldShard")
	}
}

// TestLargestFits: the largest head record (every field at its limit,
// signed or anonymous), continuation record and index entry fit what
// storage nodes take, under the default network parameters.
func TestLargestFits(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	text := strings.Repeat("\U0001F331", MaxChars) // 4 bytes each: 4000 bytes
	head, more := SplitText(text)
	if len(more) > MaxMore {
		t.Fatalf("%d continuations", len(more))
	}
	a := NewArea(geo.Point{Lat: -89.999999, Lon: -179.999999}, MaxAreaRadiusM)
	b := &Body{To: Local, Text: head, More: make([][32]byte, len(more)), Image: &ImageRef{W: 448, H: 448},
		Reply: make([]byte, 32), Area: &a, Salt: make([]byte, 16)}
	enc, err := EncodeBody(b)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := record.SignPost(&record.Post{Created: now.Unix(), Expires: now.Add(PostTTL).Unix(), Body: enc}, priv); err != nil {
		t.Fatalf("the largest signed head: %v", err)
	}
	if _, err := record.StampPost(context.Background(), &record.Post{Created: now.Unix(), Expires: now.Add(PostTTL).Unix(), Body: enc}, 4); err != nil {
		t.Fatalf("the largest anonymous head: %v", err)
	}
	for _, part := range more {
		if _, err := oneTimeRecord([]byte(part), now.Unix(), now.Add(PostTTL).Unix()); err != nil {
			t.Fatalf("the largest continuation: %v", err)
		}
	}
	if _, err := oneTimeRecord(make([]byte, record.ChunkSize), now.Unix(), now.Add(PostTTL).Unix()); err != nil {
		t.Fatalf("a full chunk: %v", err)
	}
	e := &Entry{To: Local, Created: now.Unix(), Preview: Preview(text), Thumb: make([]byte, 32), Reply: make([]byte, 32), Area: &a}
	entry, err := SignEntry(e, priv)
	if err != nil {
		t.Fatal(err)
	}
	rules := pki.DefaultParams().SetRules()
	for _, k := range [][2]string{{nsWorld, string(WorldKey(1<<40, 255))}, {nsArea, "geohash:zzzz"}, {nsReply, strings.Repeat("r", 32)}} {
		if _, err := setItem(context.Background(), k[0], []byte(k[1]), entry, now, rules); err != nil {
			t.Errorf("the largest %s item: %v", k[0], err)
		}
	}
	ref := &ProfileRef{Name: strings.Repeat("n", MaxNameLen), LatE6: -90_000_000, LonE6: -180_000_000, Created: now.Unix(), Thumb: make([]byte, 32)}
	lenc, err := SignProfileRef(ref, priv)
	if err != nil || len(lenc) > MaxProfileRef {
		t.Fatalf("the largest listing: %d bytes, %v", len(lenc), err)
	}
	if _, err := setItem(context.Background(), nsArea, []byte("geohash:zzzz"), lenc, now, rules); err != nil {
		t.Errorf("the largest listing item: %v", err)
	}
	img, err := EncodeImageRef(&ImageRef{W: 4096, H: 4096})
	if err != nil || len(img) > MaxImageRef || MaxImageRef > 160 {
		t.Fatalf("an image reference of %d bytes (%v) does not fit a profile", len(img), err)
	}
}

func TestPostOptionsChecked(t *testing.T) {
	near := geo.Point{Lat: 52.5, Lon: 13.4}
	id := PostID{1}
	for name, o := range map[string]PostOptions{
		"empty":            {Text: " ", To: World},
		"too long":         {Text: strings.Repeat("a", MaxChars+1), To: World},
		"friends":          {Text: "x", To: Friends},
		"no audience":      {Text: "x"},
		"world with place": {Text: "x", To: World, Near: &near},
		"area no place":    {Text: "x", To: Local, RadiusM: 100},
		"area no radius":   {Text: "x", To: Local, Near: &near},
		"area too wide":    {Text: "x", To: Local, Near: &near, RadiusM: MaxAreaRadiusM + 1},
		"bad place":        {Text: "x", To: Local, Near: &geo.Point{Lat: 91}, RadiusM: 100, Reply: &id},
	} {
		if _, err := o.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, err := (&PostOptions{Text: "x", To: Local, Near: &near, RadiusM: 2500}).check()
	if err != nil || a == nil || a.RadiusM != 2500 || geo.Distance(a.Center(), near) > 150 {
		t.Fatalf("area post: %+v %v", a, err)
	}
	if a.Center() == near {
		t.Fatal("the place of an area post is not snapped")
	}
}

// signedHead makes a head record for tests: its id, its encoding and the
// encodings of its continuation records.
func signedHead(t testing.TB, text string, priv ed25519.PrivateKey) (PostID, []byte, [][]byte) {
	head, more := SplitText(text)
	b := &Body{To: World, Text: head, Salt: make([]byte, 16)}
	var parts [][]byte
	for _, m := range more {
		k, err := oneTimeRecord([]byte(m), 1, time.Now().Add(time.Hour).Unix())
		if err != nil {
			t.Fatal(err)
		}
		b.More = append(b.More, k.hash)
		parts = append(parts, k.raw)
	}
	enc, err := EncodeBody(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := record.SignPost(&record.Post{Created: 1, Expires: time.Now().Add(time.Hour).Unix(), Body: enc}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return IDOf(raw), raw, parts
}

// TestFetchChecks: a post assembles from its records, and every record
// that is not the one named (another key, a changed byte, a part swapped)
// is refused as invalid.
func TestFetchChecks(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	text := strings.Repeat("字", MaxChars)
	id, raw, parts := signedHead(t, text, priv)
	p, b, err := decodeHead(id, raw, 30) // signed: the work does not apply
	if err != nil {
		t.Fatal(err)
	}
	post, err := assemblePost(id, p, b, parts)
	if err != nil || post.Text != text || !post.Author.Equal(priv.Public()) {
		t.Fatalf("assemble: %v", err)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 1
	if _, _, err := decodeHead(id, bad, 0); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a changed head: %v", err)
	}
	if _, _, err := decodeHead(PostID{}, raw, 0); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a head under another id: %v", err)
	}
	if _, err := assemblePost(id, p, b, [][]byte{parts[1], parts[0]}); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("swapped continuations: %v", err)
	}
	if _, err := assemblePost(id, p, b, parts[:1]); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a missing continuation: %v", err)
	}
	// An anonymous head without enough work.
	enc, _ := EncodeBody(&Body{To: World, Text: "x", Salt: make([]byte, 16)})
	anon, err := record.StampPost(context.Background(), &record.Post{Created: 1, Expires: 2, Body: enc}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := decodeHead(IDOf(anon), anon, 30); err == nil {
		t.Fatal("an anonymous head with too little work accepted")
	}
	// A chunk is no post.
	chunk, _ := oneTimeRecord([]byte("not a body"), 1, 2)
	if _, _, err := decodeHead(chunk.hash, chunk.raw, 0); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a chunk as a head: %v", err)
	}
}

func TestProfileRefAndImageRef(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	raw, err := SignProfileRef(&ProfileRef{Name: "Alice", LatE6: 1, LonE6: 2, Created: 3}, priv)
	if err != nil {
		t.Fatal(err)
	}
	e, r, err := DecodeAreaItem(raw)
	if err != nil || e != nil || r == nil || r.Name != "Alice" {
		t.Fatalf("listing as an area item: %+v %+v %v", e, r, err)
	}
	if _, err := DecodeEntry(raw); err == nil {
		t.Fatal("a listing decodes as an entry")
	}
	entry, _ := SignEntry(&Entry{To: World, Created: 1, Preview: "x"}, priv)
	if _, err := DecodeProfileRef(entry); err == nil {
		t.Fatal("an entry decodes as a listing")
	}
	r.Name = "Mallory"
	forged, _ := detcbor.Marshal(r)
	if _, err := DecodeProfileRef(forged); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a changed listing: %v", err)
	}
	if _, err := SignProfileRef(&ProfileRef{Name: "a\x1bb"}, priv); err == nil {
		t.Fatal("a name with a control character listed")
	}
	ref := &ImageRef{Thumb: sha256.Sum256([]byte("t")), Manifest: sha256.Sum256([]byte("m")), W: 448, H: 300}
	b, err := EncodeImageRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImageRef(b)
	if err != nil || got.Thumb != ref.Thumb || got.W != 448 {
		t.Fatalf("image ref: %+v %v", got, err)
	}
	if _, err := EncodeImageRef(&ImageRef{W: 0, H: 1}); err == nil {
		t.Fatal("an image of width 0")
	}
}

// TestFriendsPostOptions: a friends post is never anonymous, has no place
// and is no reply; those are refused before anything is sent.
func TestFriendsPostOptions(t *testing.T) {
	s := &Social{} // nothing of it is reached
	p := geo.Point{Lat: 1, Lon: 2}
	var id PostID
	for _, o := range []PostOptions{
		{To: Friends, Text: "hi", Anonymous: true},
		{To: Friends, Text: "hi", Near: &p, RadiusM: 1000},
		{To: Friends, Text: "hi", Reply: &id},
	} {
		if _, err := s.Post(t.Context(), o); err == nil {
			t.Errorf("Post(%+v) accepted", o)
		}
	}
}
