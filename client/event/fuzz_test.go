package event

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Every format that comes from the network or a message has a fuzz target;
// each input gets fresh keys and values (nothing is shared between inputs).

// fixedEvent is a deterministic event for seeds.
func fixedEvent(t testing.TB) (ID, ed25519.PrivateKey, *ecdh.PrivateKey, *Body) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	rk, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var id ID
	copy(id[:], key.Public().(ed25519.PublicKey))
	return id, key, rk, &Body{Title: "t", When: 1_900_000_000, Where: "w", RSVPKey: rk.PublicKey().Bytes()}
}

func FuzzDecodeBody(f *testing.F) {
	_, _, _, b := fixedEvent(f)
	raw, err := EncodeBody(b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := DecodeBody(raw)
		if err != nil {
			return
		}
		again, err := EncodeBody(b)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("a decoded body encodes differently: %v", err)
		}
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	env, _ := detcbor.Marshal(&Envelope{Mode: ModeSealed, Data: make([]byte, SealedSize)})
	f.Add(env)
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := DecodeEnvelope(raw)
		if err != nil {
			return
		}
		if e.Mode != ModePublic && e.Mode != ModeSealed {
			t.Fatalf("mode %d decoded", e.Mode)
		}
	})
}

func FuzzDecodeInvitation(f *testing.F) {
	raw, _ := EncodeInvitation(&Invitation{Event: make([]byte, 32), ReadKey: make([]byte, 32)})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		inv, err := DecodeInvitation(raw)
		if err != nil {
			return
		}
		if len(inv.Event) != 32 || len(inv.ReadKey) != 32 {
			t.Fatal("bad lengths decoded")
		}
	})
}

// FuzzOpen feeds records to Open, with and without a read key.
func FuzzOpen(f *testing.F) {
	id, key, _, b := fixedEvent(f)
	b.hostSign(id, key)
	exp := time.Unix(1_900_000_000, 0)
	readKey := bytes.Repeat([]byte{4}, 32)
	pub, err := build(key, 1, exp, b, nil)
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := build(key, 1, exp, b, readKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pub, false)
	f.Add(sealed, true)
	f.Fuzz(func(t *testing.T, raw []byte, withKey bool) {
		var rk []byte
		if withKey {
			rk = bytes.Repeat([]byte{4}, 32)
		}
		r, err := Open(id, raw, rk, 0)
		if err != nil {
			return
		}
		if r.ID != id || r.Body == nil || (r.Sealed && !withKey) {
			t.Fatalf("opened to %+v", r)
		}
	})
}

// FuzzOpenRSVP feeds RSVP set items to CheckRSVPItem (the host's reader).
func FuzzOpenRSVP(f *testing.F) {
	id, _, rk, _ := fixedEvent(f)
	nk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	body, err := SealRSVP(id, rk.PublicKey().Bytes(), nk.Public().(ed25519.PublicKey), Yes, nk)
	if err != nil {
		f.Fatal(err)
	}
	it := &setitem.Item{Namespace: rsvpNamespace, Key: id[:], Body: body, Expires: 1_900_000_000}
	if err := it.Sign(nk); err != nil {
		f.Fatal(err)
	}
	raw, err := setitem.Encode(it)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(body)
	rules := setitem.DefaultRules()[rsvpNamespace]
	rules.PoWBits = 0
	f.Fuzz(func(t *testing.T, raw []byte) {
		var pk, sk [32]byte
		copy(pk[:], rk.PublicKey().Bytes())
		copy(sk[:], rk.Bytes())
		if _, r, err := CheckRSVPItem(id, raw, rules, &pk, &sk, time.Unix(1_899_000_000, 0)); err == nil && (r.Answer < Yes || r.Answer > Maybe) {
			t.Fatalf("answer %d", r.Answer)
		}
		// The body alone, as OpenRSVP sees it.
		if r, err := OpenRSVP(id, &pk, &sk, make([]byte, 32), raw); err == nil && (r.Answer < Yes || r.Answer > Maybe) {
			t.Fatalf("answer %d", r.Answer)
		}
	})
}
