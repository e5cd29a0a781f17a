package social

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/record"
)

// Fuzz targets for the decoders of network bytes in publish.go, fetch.go,
// image.go and profile.go. Each input is decoded from scratch: no state
// outlives it.

func FuzzDecodeImageRef(f *testing.F) {
	b, _ := EncodeImageRef(&ImageRef{W: 448, H: 300})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeImageRef(b)
		if err != nil {
			return
		}
		again, err := EncodeImageRef(r)
		if err != nil || string(again) != string(b) {
			t.Fatalf("accepted reference does not re-encode to itself: %v", err)
		}
	})
}

func FuzzDecodeAreaItem(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	ref, _ := SignProfileRef(&ProfileRef{Name: "A", LatE6: 1, LonE6: 2, Created: 3}, priv)
	f.Add(ref)
	entry, _ := SignEntry(&Entry{To: Local, Created: 1, Preview: "x", Area: &Area{RadiusM: 5}}, priv)
	f.Add(entry)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, r, err := DecodeAreaItem(b)
		switch {
		case err != nil:
			if e != nil || r != nil {
				t.Fatal("an error with a result")
			}
		case (e == nil) == (r == nil):
			t.Fatal("not exactly one of entry and listing")
		case r != nil && (len(r.Name) > MaxNameLen || r.check() != nil):
			t.Fatal("a listing past its limits")
		}
	})
}

// FuzzDecodePost: a head record and its continuations, as Fetch reads them.
func FuzzDecodePost(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	_, head, _ := signedHead(f, "字字字", priv)
	f.Add(head, []byte(nil), []byte(nil))
	_, head2, parts2 := signedHead(f, strings.Repeat("字", MaxChars), priv)
	f.Add(head2, parts2[0], parts2[1])
	f.Fuzz(func(t *testing.T, head, more1, more2 []byte) {
		id := IDOf(head)
		p, b, err := decodeHead(id, head, 0)
		if err != nil {
			return
		}
		var parts [][]byte
		for _, m := range [][]byte{more1, more2}[:min(2, len(b.More))] {
			parts = append(parts, m)
		}
		post, err := assemblePost(id, p, b, parts)
		if err != nil {
			return
		}
		if CheckText(post.Text) != nil || post.ID != id {
			t.Fatal("an assembled post past its limits")
		}
	})
}

// FuzzDecodeProfile: a /kprof/ record as Profile reads it.
func FuzzDecodeProfile(f *testing.F) {
	id, err := client.NewIdentity()
	if err != nil {
		f.Fatal(err)
	}
	photo, _ := EncodeImageRef(&ImageRef{W: 1, H: 1})
	body, _ := detcbor.Marshal(&messenger.ProfileBody{Name: "A", Intro: make([]byte, 32), DH: make([]byte, 32), Bio: "b", Photo: photo,
		Recent: make([][32]byte, 2), Visibility: 3})
	raw, err := record.SignProfile(record.NewProfile(1, time.Hour, body), id.Sign)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	pub := id.Sign.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeProfile(pub, b)
		if err != nil {
			return
		}
		if len(p.Bio) > MaxBioLen || len(p.Recent) > MaxRecent || (p.Photo != nil && p.Photo.check() != nil) {
			t.Fatal("a profile past its limits")
		}
	})
}
