package pin

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

func samplePin() *Pin {
	return &Pin{Kind: KindPolice, LatE6: 52_520_000, LonE6: 13_405_000, Note: "kettle at the bridge", Created: 1_700_000_040, TTL: 3600, Salt: bytes.Repeat([]byte{7}, SaltSize)}
}

func sampleAlert() *Alert {
	return &Alert{LatE6: 52_520_000, LonE6: 13_405_000, RadiusM: 2000, Text: "march moves to the square", Created: 1_700_000_040, TTL: 3600, Salt: bytes.Repeat([]byte{9}, SaltSize)}
}

func TestBodiesRoundTrip(t *testing.T) {
	pb, err := EncodePin(samplePin())
	if err != nil {
		t.Fatal(err)
	}
	ab, err := EncodeAlert(sampleAlert())
	if err != nil {
		t.Fatal(err)
	}
	id := IDOf(pb)
	cb, err := EncodeConfirm(&Confirm{Pin: id[:], Say: Gone, Created: 1_700_000_100 / 60 * 60})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		b    []byte
		want Type
	}{{pb, TypePin}, {ab, TypeAlert}, {cb, TypeConfirm}} {
		got, err := DecodeBody(c.b)
		if err != nil || got.Type() != c.want {
			t.Fatalf("%s: decoded %v, %v", c.want, got, err)
		}
	}
	if len(ab) > 200 || len(pb) > 200 {
		t.Fatalf("bodies of %d and %d bytes", len(pb), len(ab))
	}
}

// The decoder refuses what the format does not allow: each case breaks
// one rule and must fail.
func TestDecodeBodyRefuses(t *testing.T) {
	enc := func(f func(p *Pin)) []byte {
		p := samplePin()
		f(p)
		b, err := detMarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte{byte(TypePin)}, b...)
	}
	cases := map[string][]byte{
		"empty":        nil,
		"type":         append([]byte{9}, enc(func(*Pin) {})[1:]...),
		"kind":         enc(func(p *Pin) { p.Kind = 9 }),
		"lat":          enc(func(p *Pin) { p.LatE6 = 91e6 }),
		"minute":       enc(func(p *Pin) { p.Created++ }),
		"ttl long":     enc(func(p *Pin) { p.TTL = uint32(MaxPinTTL/time.Second) + 1 }),
		"ttl short":    enc(func(p *Pin) { p.TTL = 59 }),
		"salt":         enc(func(p *Pin) { p.Salt = p.Salt[:8] }),
		"note long":    enc(func(p *Pin) { p.Note = strings.Repeat("a", MaxNoteChars+1) }),
		"note control": enc(func(p *Pin) { p.Note = "a\x1b[2Jb" }),
		"note utf8":    enc(func(p *Pin) { p.Note = "\xff" }),
		"trailing":     append(enc(func(*Pin) {}), 0),
		"too large":    append([]byte{byte(TypePin)}, make([]byte, maxBody)...),
	}
	for name, b := range cases {
		if _, err := DecodeBody(b); !errors.Is(err, wire.ErrInvalid) {
			t.Errorf("%s: decoded (err %v)", name, err)
		}
	}
	a := sampleAlert()
	a.RadiusM = MaxAlertRadiusM + 1
	if _, err := EncodeAlert(a); err == nil {
		t.Error("an alert of 25 km + 1 m encoded")
	}
	a = sampleAlert()
	a.TTL = uint32(MaxAlertTTL/time.Second) + 60
	if _, err := EncodeAlert(a); err == nil {
		t.Error("an alert of more than 6 hours encoded")
	}
	if _, err := EncodeConfirm(&Confirm{Pin: make([]byte, 31), Say: Still, Created: 60}); err == nil {
		t.Error("a confirmation of a short id encoded")
	}
}

// checkItem refuses pins of another cell, pins with a nullifier and
// confirmations without one.
func TestCheckItem(t *testing.T) {
	rules := setitem.DefaultRules()[Namespace]
	rules.PoWBits = 0
	p := samplePin()
	now := time.Unix(p.Created+60, 0)
	body, _ := EncodePin(p)
	cell, _ := geo.CellOf(p.Point(), 4)
	item := func(cell geo.Cell, body []byte, sign bool) []byte {
		it := &setitem.Item{Namespace: Namespace, Key: SetKey(cell), Body: body, Expires: now.Add(time.Hour).Unix()}
		if sign {
			_, priv, _ := ed25519.GenerateKey(nil)
			if err := it.Sign(priv); err != nil {
				t.Fatal(err)
			}
		}
		b, err := setitem.Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, _, err := checkItem(item(cell, body, false), cell, rules, now); err != nil {
		t.Fatalf("a good pin refused: %v", err)
	}
	other, _ := geo.ParseCell("u000")
	if _, _, err := checkItem(item(other, body, false), other, rules, now); err == nil {
		t.Error("a pin of another cell accepted")
	}
	if _, _, err := checkItem(item(cell, body, true), cell, rules, now); err == nil {
		t.Error("a pin with a nullifier accepted")
	}
	id := IDOf(body)
	cb, _ := EncodeConfirm(&Confirm{Pin: id[:], Say: Still, Created: p.Created})
	if _, _, err := checkItem(item(cell, cb, false), cell, rules, now); err == nil {
		t.Error("a confirmation without a nullifier accepted")
	}
	if _, _, err := checkItem(item(cell, cb, true), cell, rules, now); err != nil {
		t.Errorf("a signed confirmation refused: %v", err)
	}
}
