package event

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/box"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
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

// fuzzReadKey is the read key of FuzzOpen's sealed events.
var fuzzReadKey = bytes.Repeat([]byte{4}, 32)

// fuzzRecord makes what FuzzOpen reads: in as the envelope signed by the
// event's key, or (sealed) as the padded plaintext of a sealed body, padded
// with zeros to its size, sealed with fuzzReadKey under a fixed nonce.
func fuzzRecord(t *testing.T, key ed25519.PrivateKey, in []byte, sealed bool) []byte {
	env := in
	if sealed {
		if len(in) > sealedPlain {
			return nil
		}
		var id ID
		copy(id[:], key.Public().(ed25519.PublicKey))
		aead, err := chacha20poly1305.NewX(fuzzReadKey)
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, sealedPlain)
		copy(plain, in)
		nonce := make([]byte, chacha20poly1305.NonceSizeX)
		data := aead.Seal(nonce, nonce, plain, append([]byte(sealContext), id[:]...))
		if env, err = detcbor.Marshal(&Envelope{Mode: ModeSealed, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := record.SignProfile(&record.Profile{Seq: 1, Expires: 1_900_000_000, Body: env}, key)
	if err != nil {
		return nil // too large for a record
	}
	return raw
}

// padded is body as a sealed body's plaintext: two bytes of length, body.
func padded(body []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

// FuzzOpen feeds Open records that the event's key signed (and, sealed,
// that open with the read key), so that mutations reach what lies behind
// the record's signature and the AEAD: DecodeEnvelope, the padding, the
// body's decoder and limits, the host's signature or the work. The input
// is the envelope, or the padded plaintext of a sealed body; the target
// signs and seals it with fixed keys. withKey reads with the read key,
// bits is the work asked of an anonymous event (0 to 7 bits).
func FuzzOpen(f *testing.F) {
	id, key, _, b := fixedEvent(f)
	named := *b
	named.hostSign(id, key)
	nb, err := EncodeBody(&named)
	if err != nil {
		f.Fatal(err)
	}
	anon := *b
	if anon.Nonce, err = wire.SolvePoW(context.Background(), powPrefix(id), 7); err != nil {
		f.Fatal(err)
	}
	ab, err := EncodeBody(&anon)
	if err != nil {
		f.Fatal(err)
	}
	for _, body := range [][]byte{nb, ab} {
		env, err := detcbor.Marshal(&Envelope{Mode: ModePublic, Data: body})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env, false, false, uint8(7))
		f.Add(env, false, true, uint8(7))
		f.Add(padded(body), true, true, uint8(7))
		f.Add(padded(body), true, false, uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, sealed, withKey bool, bits uint8) {
		id, key, _, _ := fixedEvent(t)
		raw := fuzzRecord(t, key, in, sealed)
		if raw == nil {
			return
		}
		var rk []byte
		if withKey {
			rk = bytes.Clone(fuzzReadKey)
		}
		powBits := int(bits % 8)
		r, err := Open(id, raw, rk, powBits)
		if err != nil {
			return
		}
		if r.ID != id || r.Body == nil || r.Seq != 1 || r.Sealed != sealed || (r.Sealed && !withKey) {
			t.Fatalf("opened to %+v", r)
		}
		if _, err := EncodeBody(r.Body); err != nil {
			t.Fatalf("an opened body does not encode: %v", err)
		}
		switch {
		case !r.Body.Anonymous():
			if !ed25519.Verify(r.Body.HostKey, append([]byte(hostSigContext), id[:]...), r.Body.HostSig) {
				t.Fatal("a host signature that does not verify")
			}
		case wire.PoWZeros(powPrefix(id), r.Body.Nonce) < powBits:
			t.Fatalf("an anonymous event without %d bits of work", powBits)
		}
	})
}

// FuzzOpenRSVP feeds the host's reader (CheckRSVPItem, OpenRSVP) RSVP items
// whose body is the input sealed to the event's RSVP key and signed by a
// fixed nullifier key, so that mutations reach the padding, the RSVP's
// decoder and the attendee's signature; and the input as an item itself,
// for the item's decoding and checks before the body.
func FuzzOpenRSVP(f *testing.F) {
	id, _, rk, _ := fixedEvent(f)
	nk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
	for _, attendee := range []ed25519.PrivateKey{nk, nil} {
		r := RSVP{Answer: Maybe}
		if attendee != nil {
			r.Attendee = attendee.Public().(ed25519.PublicKey)
			r.Sig = ed25519.Sign(attendee, rsvpSigned(id, nk.Public().(ed25519.PublicKey), Maybe))
		}
		b, err := detcbor.Marshal(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(padded(b))
	}
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
	f.Fuzz(func(t *testing.T, in []byte) {
		id, _, rk, _ := fixedEvent(t)
		nk := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, 32))
		rules := setitem.DefaultRules()[rsvpNamespace]
		rules.PoWBits = 0
		now := time.Unix(1_899_000_000, 0)
		var pk, sk [32]byte
		copy(pk[:], rk.PublicKey().Bytes())
		copy(sk[:], rk.Bytes())
		if _, r, err := CheckRSVPItem(id, in, rules, &pk, &sk, now); err == nil && (r.Answer < Yes || r.Answer > Maybe) {
			t.Fatalf("answer %d", r.Answer)
		}
		if len(in) > rsvpPlain {
			return
		}
		plain := make([]byte, rsvpPlain)
		copy(plain, in)
		sealed, err := box.SealAnonymous(nil, plain, &pk, bytes.NewReader(bytes.Repeat([]byte{3}, 32)))
		if err != nil {
			t.Fatal(err)
		}
		it := &setitem.Item{Namespace: rsvpNamespace, Key: id[:], Body: sealed, Expires: 1_900_000_000}
		if err := it.Sign(nk); err != nil {
			t.Fatal(err)
		}
		raw, err := setitem.Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		_, r, err := CheckRSVPItem(id, raw, rules, &pk, &sk, now)
		if err != nil {
			return
		}
		if r.Answer < Yes || r.Answer > Maybe {
			t.Fatalf("answer %d", r.Answer)
		}
		l := int(binary.BigEndian.Uint16(plain))
		if again, err := detcbor.Marshal(r); err != nil || !bytes.Equal(again, plain[2:2+l]) {
			t.Fatalf("an opened RSVP encodes differently: %v", err)
		}
		if len(r.Attendee) != 0 && !ed25519.Verify(r.Attendee, rsvpSigned(id, it.Nullifier, r.Answer), r.Sig) {
			t.Fatal("an attendee's signature that does not verify")
		}
	})
}
