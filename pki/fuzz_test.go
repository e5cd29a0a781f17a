package pki

import (
	"reflect"
	"testing"
)

// FuzzVerifyDescriptor feeds arbitrary bytes to Verify and to the DHT
// validator. Nothing may panic, and whatever Verify accepts must be a
// well-formed descriptor.
func FuzzVerifyDescriptor(f *testing.F) {
	n := newTestNode(1)
	valid := n.signed(f, 1000, 42)
	f.Add(valid)
	d := n.descriptor(f, 1000, 43)
	d.Onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv"
	withOnion, err := Sign(d, n.priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withOnion)
	f.Add(signUnchecked(f, &Descriptor{Version: 1, NodeID: n.id, Addrs: [][]byte{{0xff}}}, n.priv))
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Add([]byte{0xa2, 0x01, 0x40, 0x02, 0x40})
	f.Add([]byte{0xbf, 0x01, 0x5f, 0xff, 0xff})

	v := Validator{Clock: clockAt(1000)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Verify(raw)
		if err == nil {
			if got == nil {
				t.Fatal("Verify returned nil without an error")
			}
			if err := got.check(); err != nil {
				t.Fatalf("Verify accepted an invalid descriptor: %v", err)
			}
			if _, ok := got.KeyFor(got.Epoch); !ok {
				t.Fatal("accepted descriptor has no key for its epoch")
			}
			if _, err := got.AddrInfo(); err != nil {
				t.Fatalf("accepted descriptor has bad addresses: %v", err)
			}
			// Verifying is deterministic.
			again, err := Verify(raw)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("second Verify differs: %v", err)
			}
		} else if got != nil {
			t.Fatal("Verify returned a descriptor with an error")
		}
		_ = v.Validate(RecordKey(n.id), raw)
		_, _ = v.Select(RecordKey(n.id), [][]byte{raw, valid})
		if got != nil {
			_ = v.Validate(RecordKey(got.NodeID), raw)
		}
	})
}

// FuzzDecodeResponse feeds arbitrary bytes to DecodeResponse and builds a
// directory from whatever it decodes. Nothing may panic, and a decoded
// response must survive an encode/decode round trip.
func FuzzDecodeResponse(f *testing.F) {
	var raws [][]byte
	for i := range 3 {
		raws = append(raws, newTestNode(uint64(i)).signed(f, 5, 1))
	}
	for _, r := range []*Response{
		{Epoch: 5, Descriptors: raws},
		{Epoch: 5},
		{Epoch: 6, Descriptors: [][]byte{{}, {1, 2, 3}}},
	} {
		b, err := EncodeResponse(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xbf, 0x02, 0x9f, 0x40, 0xff, 0xff})
	f.Add([]byte{0xa1, 0x02, 0x9a, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			if r != nil {
				t.Fatal("DecodeResponse returned a response with an error")
			}
			return
		}
		if len(r.Descriptors) > MaxNodes {
			t.Fatalf("decoded %d descriptors", len(r.Descriptors))
		}
		enc, err := EncodeResponse(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		r2, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded response: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", r, r2)
		}
		if dir, err := Build(testNet, r.Epoch, r.Descriptors, nil); err == nil {
			for l := range dir.Layer {
				if len(dir.Layer[l]) == 0 {
					t.Fatalf("Build returned an empty layer %d", l)
				}
			}
		}
	})
}

// FuzzDecodeParams feeds arbitrary bytes to DecodeParams, as a peer on the
// network-parameters protocol or a gateway's directory response can.
// Nothing may panic; whatever decodes is valid, re-encodes to the same
// bytes (so its id names it), and compares with the defaults.
func FuzzDecodeParams(f *testing.F) {
	def, err := DefaultParams().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add(def[:len(def)/2])
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeParams(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded invalid params: %v", err)
		}
		again, err := p.Encode()
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		_ = Diff(p, DefaultParams())
	})
}
