// Package detcbor is the one CBOR profile Komrade writes, on the wire and on
// disk: the deterministic encoding of RFC 8949 §4.2.1 ("core deterministic")
// and strict decoders. A strict decoder rejects duplicate map keys, unknown
// fields, indefinite lengths and tags, within limits on array and nesting
// sizes; UnmarshalCanonical also rejects any encoding but the deterministic
// one, so that signed or hash-addressed values have exactly one byte form.
//
// Descriptors, records, set items and frames, exit request bodies and the
// client's messages and local state all use it.
package detcbor

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// ErrNotCanonical is returned for a value that decodes but is not in its
// deterministic encoding.
var ErrNotCanonical = errors.New("not deterministic CBOR")

var enc = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// Marshal returns the deterministic encoding of v.
func Marshal(v any) ([]byte, error) { return enc.Marshal(v) }

// MaxMapPairs is the most pairs a decoded map may have: Komrade's structs
// have fewer fields.
const MaxMapPairs = 16

// Decoder is a strict decoder with fixed limits. The zero Decoder is not
// usable; make one with NewDecoder.
type Decoder struct{ dm cbor.DecMode }

// NewDecoder returns a strict decoder accepting arrays of at most maxArray
// elements and at most maxNested levels of nesting. It panics on limits the
// CBOR library refuses (a programming error, found at start-up).
func NewDecoder(maxArray, maxNested int) Decoder {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		MaxArrayElements:  maxArray,
		MaxMapPairs:       MaxMapPairs,
		MaxNestedLevels:   maxNested,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("detcbor: %v", err))
	}
	return Decoder{dm: dm}
}

// Unmarshal decodes b into v strictly.
func (d Decoder) Unmarshal(b []byte, v any) error { return d.dm.Unmarshal(b, v) }

// UnmarshalCanonical decodes b into v strictly and checks that v encodes
// back to exactly b.
func (d Decoder) UnmarshalCanonical(b []byte, v any) error {
	if err := d.dm.Unmarshal(b, v); err != nil {
		return err
	}
	again, err := enc.Marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return ErrNotCanonical
	}
	return nil
}
