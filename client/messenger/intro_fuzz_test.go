package messenger

import (
	"crypto/ed25519"
	"crypto/hpke"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/setitem"
)

// FuzzOpenRequest: intro items are written by anyone; opening one that is
// malformed, not for us, or forged is a reason, never a panic, and a valid
// one still opens.
func FuzzOpenRequest(f *testing.F) {
	alice, err := client.NewIdentity()
	if err != nil {
		f.Fatal(err)
	}
	bob, err := client.NewIdentity()
	if err != nil {
		f.Fatal(err)
	}
	ma, mb := &Messenger{id: alice}, &Messenger{id: bob}
	key := make([]byte, 32)
	hpk, err := hpke.NewDHKEMPublicKey(alice.DH.PublicKey())
	if err != nil {
		f.Fatal(err)
	}
	_, inv, err := mb.newInviterContact("alice")
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := mb.sealRequest(hpk, alice.Sign.Public().(ed25519.PublicKey), inv, "Bob", "hello", time.Now().Add(time.Hour).Unix())
	if err != nil {
		f.Fatal(err)
	}
	it := setitem.Item{Namespace: introNamespace, Key: key, Body: sealed, Expires: time.Now().Add(time.Hour).Unix()}
	valid, err := setitem.Encode(&it)
	if err != nil {
		f.Fatal(err)
	}
	priv, err := hpke.NewDHKEMPrivateKey(alice.DH)
	if err != nil {
		f.Fatal(err)
	}
	if fr, why := ma.openRequest(priv, key, valid); fr == nil || fr.From != "Bob" || fr.Fingerprint != bob.Fingerprint() {
		f.Fatalf("valid request: %+v %q", fr, why)
	}
	// Addressed to Bob, sealed to Alice: refused.
	wrong, _ := mb.sealRequest(hpk, bob.Sign.Public().(ed25519.PublicKey), inv, "Bob", "", time.Now().Add(time.Hour).Unix())
	it.Body = wrong
	wrongTo, _ := setitem.Encode(&it)
	if fr, _ := ma.openRequest(priv, key, wrongTo); fr != nil {
		f.Fatal("a request addressed to someone else was accepted")
	}
	// An expired request: refused.
	old, _ := mb.sealRequest(hpk, alice.Sign.Public().(ed25519.PublicKey), inv, "Bob", "", time.Now().Add(-time.Minute).Unix())
	it.Body = old
	expired, _ := setitem.Encode(&it)
	if fr, _ := ma.openRequest(priv, key, expired); fr != nil {
		f.Fatal("an expired request was accepted")
	}
	f.Add(valid)
	f.Add(wrongTo)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ma.openRequest(priv, key, raw)
	})
}

// FuzzDecodeProfileBody: profile bodies come from the DHT.
func FuzzDecodeProfileBody(f *testing.F) {
	b, _ := detcbor.Marshal(&ProfileBody{Name: "A", Intro: make([]byte, 32), DH: make([]byte, 32)})
	f.Add(b)
	full, _ := detcbor.Marshal(&ProfileBody{Name: "A", Intro: make([]byte, 32), DH: make([]byte, 32), Bio: "bio",
		Photo: make([]byte, 80), Recent: make([][32]byte, MaxRecent), Visibility: 3})
	f.Add(full)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProfileBody(b)
		if err == nil && p.check() != nil {
			t.Fatal("a decoded body breaks the limits")
		}
	})
}
