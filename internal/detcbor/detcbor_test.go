package detcbor

import (
	"bytes"
	"errors"
	"testing"
)

type pair struct {
	A uint64 `cbor:"1,keyasint"`
	B []byte `cbor:"2,keyasint,omitempty"`
}

func TestStrict(t *testing.T) {
	d := NewDecoder(16, 4)
	good, err := Marshal(&pair{A: 1, B: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	var p pair
	if err := d.UnmarshalCanonical(good, &p); err != nil || p.A != 1 || string(p.B) != "x" {
		t.Fatalf("canonical value: %+v %v", p, err)
	}
	for name, b := range map[string][]byte{
		"unknown field":   {0xa1, 0x03, 0x01},
		"duplicate key":   {0xa2, 0x01, 0x01, 0x01, 0x02},
		"indefinite map":  {0xbf, 0x01, 0x01, 0xff},
		"tag":             {0xa1, 0x01, 0xc1, 0x01},
		"too many items":  append([]byte{0xa1, 0x02, 0x91}, make([]byte, 17)...),
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte{}, good...), 0x00),
		"empty":           nil,
		"wrong type":      {0xa1, 0x01, 0x61, 0x78},
		"negative uint64": {0xa1, 0x01, 0x20},
	} {
		if err := d.Unmarshal(b, &pair{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Long-form integer: decodes, but is not the one encoding.
	long := []byte{0xa1, 0x18, 0x01, 0x01}
	if err := d.Unmarshal(long, &pair{}); err != nil {
		t.Fatalf("non-canonical but valid: %v", err)
	}
	if err := d.UnmarshalCanonical(long, &pair{}); !errors.Is(err, ErrNotCanonical) {
		t.Fatalf("non-canonical accepted: %v", err)
	}
}

// FuzzUnmarshalCanonical: arbitrary bytes are an error or a value that
// encodes back to them, never a panic.
func FuzzUnmarshalCanonical(f *testing.F) {
	good, _ := Marshal(&pair{A: 7, B: []byte{1, 2}})
	f.Add(good)
	f.Add([]byte{0xbf, 0xff})
	d := NewDecoder(16, 4)
	// Whatever the strict decoder accepts, the lenient one reads the same
	// way; whatever the lenient one reads, re-encoded, the strict one
	// accepts and reads back the same. (That accepted bytes are canonical
	// is what UnmarshalCanonical checks itself.)
	same := func(x, y pair) bool { return x.A == y.A && bytes.Equal(x.B, y.B) } // nil and empty B alike
	f.Fuzz(func(t *testing.T, b []byte) {
		var lenient pair
		lerr := d.Unmarshal(b, &lenient)
		var strict pair
		if d.UnmarshalCanonical(b, &strict) == nil && (lerr != nil || !same(strict, lenient)) {
			t.Fatalf("%x: strict %+v, lenient %+v (%v)", b, strict, lenient, lerr)
		}
		if lerr != nil {
			return
		}
		enc, err := Marshal(&lenient)
		if err != nil {
			t.Fatal(err)
		}
		var back pair
		if err := d.UnmarshalCanonical(enc, &back); err != nil || !same(back, lenient) {
			t.Fatalf("re-encoding %x of %+v reads back %+v: %v", enc, lenient, back, err)
		}
	})
}
