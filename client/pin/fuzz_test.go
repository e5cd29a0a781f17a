package pin

import (
	"bytes"
	"testing"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

func detMarshal(v any) ([]byte, error) { return detcbor.Marshal(v) }

// Fuzz targets of the decoders of network bytes. Each input is decoded
// from scratch: no state outlives it.

func FuzzDecodeBody(f *testing.F) {
	pb, _ := EncodePin(samplePin())
	ab, _ := EncodeAlert(sampleAlert())
	id := IDOf(pb)
	cb, _ := EncodeConfirm(&Confirm{Pin: id[:], Say: Still, Created: 120})
	f.Add(pb)
	f.Add(ab)
	f.Add(cb)
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := DecodeBody(b)
		if err != nil {
			if body != nil {
				t.Fatal("an error with a body")
			}
			return
		}
		var again []byte
		switch body.Type() {
		case TypePin:
			again, err = EncodePin(body.Pin)
		case TypeAlert:
			again, err = EncodeAlert(body.Alert)
		default:
			again, err = EncodeConfirm(body.Confirm)
		}
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("an accepted body does not encode back to itself: %v", err)
		}
	})
}

func FuzzCheckItem(f *testing.F) {
	rules := setitem.DefaultRules()[Namespace]
	rules.PoWBits = 0
	p := samplePin()
	now := time.Unix(p.Created+60, 0)
	cell, _ := geo.CellOf(p.Point(), 4)
	body, _ := EncodePin(p)
	it, _ := setitem.Encode(&setitem.Item{Namespace: Namespace, Key: SetKey(cell), Body: body, Expires: now.Add(time.Hour).Unix()})
	f.Add(it)
	f.Fuzz(func(t *testing.T, raw []byte) {
		item, b, err := checkItem(raw, cell, rules, now)
		if err != nil {
			return
		}
		if item == nil || b == nil || item.Namespace != Namespace {
			t.Fatal("accepted without an item and a body")
		}
		if b.Pin != nil {
			if c, _ := geo.CellOf(b.Pin.Point(), 4); c != cell {
				t.Fatal("accepted a pin of another cell")
			}
		}
	})
}
