package record

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/komrade-net/komrade/internal/golden"
)

// vectorKey is a fixed Ed25519 key for test vectors (Ed25519 signatures are
// deterministic, so signed vectors are too).
var vectorKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))

func TestVectorsProfile(t *testing.T) {
	p := &Profile{Seq: 7, Expires: 4102444800, Body: []byte("profile body")}
	enc, err := SignProfile(p, vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeProfile(golden.Check(t, "profile", enc))
	if err != nil || got.Seq != 7 || string(got.Body) != "profile body" || !bytes.Equal(got.Author, vectorKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("profile decodes to %+v, %v", got, err)
	}
}

func TestVectorsPost(t *testing.T) {
	signed, err := SignPost(&Post{Created: 4102444000, Expires: 4102444800, Body: []byte("signed post")}, vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := DecodePost(golden.Check(t, "post-signed", signed), 0); err != nil || string(p.Body) != "signed post" {
		t.Fatalf("signed post decodes to %+v, %v", p, err)
	}
	anon, err := StampPost(t.Context(), &Post{Created: 4102444000, Expires: 4102444800, Body: []byte("anonymous post")}, 12)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := DecodePost(golden.Check(t, "post-anonymous-12-bits", anon), 12); err != nil || string(p.Body) != "anonymous post" || p.Author != nil {
		t.Fatalf("anonymous post decodes to %+v, %v", p, err)
	}
}
