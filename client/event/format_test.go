package event

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// testEvent makes an event key, its RSVP key pair and a body.
func testEvent(t testing.TB) (ID, ed25519.PrivateKey, *ecdh.PrivateKey, *Body) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var id ID
	copy(id[:], pub)
	b := &Body{Title: "Assembly", When: time.Now().Add(24 * time.Hour).Unix(), Where: "the square", Near: &Point{LatE6: 52_520_000, LonE6: 13_405_000},
		RSVPKey: rk.PublicKey().Bytes()}
	return id, key, rk, b
}

func TestOpenChecks(t *testing.T) {
	id, key, _, b := testEvent(t)
	_, host, _ := ed25519.GenerateKey(rand.Reader)
	b.hostSign(id, host)
	exp := time.Now().Add(48 * time.Hour)
	readKey := bytes.Repeat([]byte{7}, 32)

	pubRec, err := build(key, 1, exp, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(id, pubRec, nil, 16)
	if err != nil || r.Sealed || r.Body.Title != "Assembly" || !bytes.Equal(r.Body.HostKey, host.Public().(ed25519.PublicKey)) {
		t.Fatalf("public event: %+v, %v", r, err)
	}
	sealed, err := build(key, 2, exp, b, readKey)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Open(id, sealed, readKey, 16); err != nil || !r.Sealed || r.Seq != 2 {
		t.Fatalf("sealed event: %+v, %v", r, err)
	}
	if bytes.Contains(sealed, []byte("Assembly")) || bytes.Contains(sealed, host.Public().(ed25519.PublicKey)) {
		t.Fatal("a sealed event shows its title or host")
	}
	if _, err := Open(id, sealed, nil, 16); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("sealed event without a read key: %v", err)
	}
	if _, err := Open(id, sealed, bytes.Repeat([]byte{8}, 32), 16); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("sealed event with another read key: %v", err)
	}
	// An invitation (from a hostile contact, say) that names a public
	// event: it reads as public.
	if r, err := Open(id, pubRec, readKey, 16); err != nil || r.Sealed {
		t.Fatalf("public event read with a read key: %+v, %v", r, err)
	}

	// An update signed by another key (the body as the host would make
	// it): refused, whatever it says.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged, err := build(other, 3, exp, b, readKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(id, forged, readKey, 16); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("an update signed by another key: %v", err)
	}
	forgedPublic, err := build(other, 3, exp, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(id, forgedPublic, nil, 16); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a public update signed by another key: %v", err)
	}
	if err := (record.ProfileValidator{}).Validate(id.Key(), forged); !errors.Is(err, record.ErrWrongKey) {
		t.Fatalf("storage nodes take a forged update: %v", err)
	}
	// A body whose host signature names another event.
	id2, _, _, _ := testEvent(t)
	b2 := *b
	b2.hostSign(id2, host)
	wrongHost, err := build(key, 1, exp, &b2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(id, wrongHost, nil, 16); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a host signature of another event: %v", err)
	}
	// Anonymous: the work is checked.
	anon := *b
	anon.HostKey, anon.HostSig = nil, nil
	lazy, err := build(key, 1, exp, &anon, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(id, lazy, nil, 20); !errors.Is(err, wire.ErrPoW) {
		t.Fatalf("anonymous event without work: %v", err)
	}
	anon.Nonce, err = wire.SolvePoW(t.Context(), powPrefix(id), 12)
	if err != nil {
		t.Fatal(err)
	}
	worked, err := build(key, 1, exp, &anon, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Open(id, worked, nil, 12); err != nil || !r.Body.Anonymous() {
		t.Fatalf("anonymous event with work: %+v, %v", r, err)
	}
}

func TestBodyLimits(t *testing.T) {
	_, _, _, b := testEvent(t)
	for name, f := range map[string]func(*Body){
		"empty title":   func(b *Body) { b.Title = " " },
		"long title":    func(b *Body) { b.Title = string(bytes.Repeat([]byte("x"), MaxTitleChars+1)) },
		"control":       func(b *Body) { b.Where = "a\x1b[2Jb" },
		"no time":       func(b *Body) { b.When = 0 },
		"short rsvp":    func(b *Body) { b.RSVPKey = b.RSVPKey[:31] },
		"host, no sig":  func(b *Body) { b.HostKey = make([]byte, 32) },
		"far place":     func(b *Body) { b.Near = &Point{LatE6: 91_000_000} },
		"low-order key": func(b *Body) { b.RSVPKey = make([]byte, 32) },
	} {
		c := *b
		f(&c)
		if _, err := EncodeBody(&c); !errors.Is(err, wire.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRSVPSeal(t *testing.T) {
	id, _, rk, _ := testEvent(t)
	var pk, sk [32]byte
	copy(pk[:], rk.PublicKey().Bytes())
	copy(sk[:], rk.Bytes())
	_, attendee, _ := ed25519.GenerateKey(rand.Reader)
	n1, n2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	named, err := SealRSVP(id, pk[:], n1, Maybe, attendee)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := SealRSVP(id, pk[:], n1, Yes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(named) != RSVPSealedSize || len(anon) != RSVPSealedSize {
		t.Fatalf("sizes %d and %d, want %d", len(named), len(anon), RSVPSealedSize)
	}
	if bytes.Contains(named, attendee.Public().(ed25519.PublicKey)) {
		t.Fatal("a sealed RSVP shows its attendee")
	}
	r, err := OpenRSVP(id, &pk, &sk, n1, named)
	if err != nil || r.Answer != Maybe || !bytes.Equal(r.Attendee, attendee.Public().(ed25519.PublicKey)) {
		t.Fatalf("named RSVP: %+v, %v", r, err)
	}
	if r, err := OpenRSVP(id, &pk, &sk, n2, anon); err != nil || r.Answer != Yes || r.Attendee != nil {
		t.Fatalf("anonymous RSVP: %+v, %v", r, err)
	}
	// Moved to another item (nullifier), the attendee's signature fails.
	if _, err := OpenRSVP(id, &pk, &sk, n2, named); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("named RSVP under another nullifier: %v", err)
	}
	other, _ := ecdh.X25519().GenerateKey(rand.Reader)
	var opk, osk [32]byte
	copy(opk[:], other.PublicKey().Bytes())
	copy(osk[:], other.Bytes())
	if _, err := OpenRSVP(id, &opk, &osk, n1, named); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("RSVP opened with another key: %v", err)
	}
}

func TestInvitation(t *testing.T) {
	id, _, _, _ := testEvent(t)
	raw, err := EncodeInvitation(&Invitation{Event: id[:], ReadKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := DecodeInvitation(raw)
	if err != nil || !bytes.Equal(inv.Event, id[:]) {
		t.Fatalf("%+v, %v", inv, err)
	}
	if _, err := DecodeInvitation(append(raw, 0)); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("trailing byte: %v", err)
	}
	if _, err := EncodeInvitation(&Invitation{Event: id[:8], ReadKey: make([]byte, 32)}); err == nil {
		t.Fatal("short event id encoded")
	}
}
