package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// envOff is where the request envelope starts in a forward payload.
var envOff = 2 + Geometry.SURBLength

func testSURBBlock() []byte {
	b := make([]byte, Geometry.SURBLength)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

func TestForwardPayloadRoundTrip(t *testing.T) {
	surb := testSURBBlock()
	bodies := [][]byte{nil, {}, []byte("hello"), bytes.Repeat([]byte{0xff}, MaxRequestBody)}
	for _, s := range [][]byte{nil, surb} {
		for _, op := range []Op{OpDrop, OpEcho, OpLoop, Op(0), Op(255)} {
			for _, body := range bodies {
				p, err := EncodeForwardPayload(s, op, body)
				if err != nil {
					t.Fatalf("encode (surb %v, %s, %d bytes): %v", s != nil, op, len(body), err)
				}
				if len(p) != Geometry.ForwardPayloadLength {
					t.Fatalf("payload of %d bytes", len(p))
				}
				gotSURB, req, err := DecodeForwardPayload(p)
				if err != nil {
					t.Fatalf("decode (surb %v, %s, %d bytes): %v", s != nil, op, len(body), err)
				}
				if (gotSURB == nil) != (s == nil) || !bytes.Equal(gotSURB, s) {
					t.Fatalf("SURB round trip: got %d bytes, want %d", len(gotSURB), len(s))
				}
				if req.Op != op || !bytes.Equal(req.Body, body) || len(req.Body) != len(body) {
					t.Fatalf("request round trip: got %s/%d bytes, want %s/%d bytes", req.Op, len(req.Body), op, len(body))
				}
			}
		}
	}
}

func TestForwardPayloadLayout(t *testing.T) {
	p, err := EncodeForwardPayload(nil, OpEcho, []byte{9, 8})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, Geometry.ForwardPayloadLength)
	copy(want[envOff:], []byte{EnvelopeVersion, byte(OpEcho), 0, 2, 9, 8})
	if !bytes.Equal(p, want) {
		t.Fatal("unexpected layout without SURB")
	}
	surb := testSURBBlock()
	p, err = EncodeForwardPayload(surb, OpDrop, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p[0] != 1 || p[1] != 0 || !bytes.Equal(p[2:envOff], surb) || p[envOff] != EnvelopeVersion || p[envOff+1] != byte(OpDrop) {
		t.Fatal("unexpected layout with SURB")
	}
}

func TestEncodeForwardPayloadRejects(t *testing.T) {
	if _, err := EncodeForwardPayload(nil, OpEcho, make([]byte, MaxRequestBody+1)); err == nil {
		t.Fatal("oversize body accepted")
	}
	for _, n := range []int{0, 1, Geometry.SURBLength - 1, Geometry.SURBLength + 1} {
		if _, err := EncodeForwardPayload(make([]byte, n), OpEcho, nil); err == nil {
			t.Fatalf("SURB of %d bytes accepted", n)
		}
	}
}

func TestDecodeForwardPayloadRejects(t *testing.T) {
	good, err := EncodeForwardPayload(testSURBBlock(), OpEcho, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	noSURB, err := EncodeForwardPayload(nil, OpEcho, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(base []byte, f func(p []byte)) []byte {
		p := append([]byte(nil), base...)
		f(p)
		return p
	}
	cases := map[string][]byte{
		"empty":                 nil,
		"short":                 good[:len(good)-1],
		"long":                  append(append([]byte(nil), good...), 0),
		"flags 2":               mod(good, func(p []byte) { p[0] = 2 }),
		"flags 0x81":            mod(good, func(p []byte) { p[0] = 0x81 }),
		"flags 0xff":            mod(noSURB, func(p []byte) { p[0] = 0xff }),
		"reserved byte":         mod(good, func(p []byte) { p[1] = 1 }),
		"reserved byte no SURB": mod(noSURB, func(p []byte) { p[1] = 0x80 }),
		"SURB bytes, no flag":   mod(good, func(p []byte) { p[0] = 0 }),
		"one stray SURB byte":   mod(noSURB, func(p []byte) { p[envOff-1] = 1 }),
		"version 0":             mod(good, func(p []byte) { p[envOff] = 0 }),
		"version 2":             mod(good, func(p []byte) { p[envOff] = 2 }),
		"non-zero padding":      mod(good, func(p []byte) { p[envOff+4+4] = 1 }),
		"last byte set":         mod(good, func(p []byte) { p[len(p)-1] = 1 }),
		"body length overflow": mod(good, func(p []byte) {
			binary.BigEndian.PutUint16(p[envOff+2:], uint16(MaxRequestBody+1))
		}),
		"body length 0xffff": mod(good, func(p []byte) { binary.BigEndian.PutUint16(p[envOff+2:], 0xffff) }),
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			surb, req, err := DecodeForwardPayload(p)
			if err == nil {
				t.Fatalf("accepted: surb %d bytes, %+v", len(surb), req)
			}
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v does not wrap ErrEnvelope", err)
			}
			if surb != nil || req.Body != nil || req.Op != 0 {
				t.Fatal("values returned with an error")
			}
		})
	}

	// Shrinking the body length is caught by the padding check.
	p := mod(good, func(p []byte) { binary.BigEndian.PutUint16(p[envOff+2:], 3) })
	if _, _, err := DecodeForwardPayload(p); !errors.Is(err, ErrEnvelope) {
		t.Fatalf("body length too small: %v", err)
	}
	// The maximum body length is accepted.
	p, err = EncodeForwardPayload(nil, OpEcho, bytes.Repeat([]byte{1}, MaxRequestBody))
	if err != nil {
		t.Fatal(err)
	}
	if _, req, err := DecodeForwardPayload(p); err != nil || len(req.Body) != MaxRequestBody {
		t.Fatalf("maximum body: %v", err)
	}
}

func TestReplyRoundTrip(t *testing.T) {
	for _, st := range []Status{StatusOK, StatusBadOp, StatusInvalid, Status(200)} {
		for _, body := range [][]byte{nil, []byte("pong"), bytes.Repeat([]byte{0xee}, MaxReplyBody)} {
			b, err := EncodeReply(st, body)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != Geometry.ForwardPayloadLength {
				t.Fatalf("reply of %d bytes", len(b))
			}
			gotSt, gotBody, err := DecodeReply(b)
			if err != nil {
				t.Fatal(err)
			}
			if gotSt != st || !bytes.Equal(gotBody, body) {
				t.Fatalf("round trip: %d/%d bytes, want %d/%d bytes", gotSt, len(gotBody), st, len(body))
			}
		}
	}
	if _, err := EncodeReply(StatusOK, make([]byte, MaxReplyBody+1)); err == nil {
		t.Fatal("oversize reply body accepted")
	}
}

func TestDecodeReplyRejects(t *testing.T) {
	good, err := EncodeReply(StatusOK, []byte("pong"))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(p []byte)) []byte {
		p := append([]byte(nil), good...)
		f(p)
		return p
	}
	for name, b := range map[string][]byte{
		"empty":            nil,
		"short":            good[:len(good)-1],
		"long":             append(append([]byte(nil), good...), 0),
		"header only":      good[:4],
		"version":          mod(func(p []byte) { p[0] = 0 }),
		"non-zero padding": mod(func(p []byte) { p[100] = 1 }),
		"last byte":        mod(func(p []byte) { p[len(p)-1] = 0x80 }),
		// Longer than a reply may be but within the buffer.
		"body too long": mod(func(p []byte) { binary.BigEndian.PutUint16(p[2:], uint16(MaxReplyBody+1)) }),
		"body beyond buffer": mod(func(p []byte) {
			binary.BigEndian.PutUint16(p[2:], uint16(Geometry.ForwardPayloadLength-envelopeHeader+1))
		}),
		"body length 0xffff": mod(func(p []byte) { binary.BigEndian.PutUint16(p[2:], 0xffff) }),
	} {
		if st, body, err := DecodeReply(b); err == nil || !errors.Is(err, ErrEnvelope) {
			t.Fatalf("%s: %d, %d bytes, %v", name, st, len(body), err)
		}
	}
}

func TestDeliveryRoundTrip(t *testing.T) {
	var id [16]byte
	for i := range id {
		id[i] = byte(0xa0 + i)
	}
	payload := make([]byte, DeliveryPayloadLength)
	for i := range payload {
		payload[i] = byte(i)
	}
	f, err := EncodeDelivery(id, payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != PacketLength || f[0] != 1 {
		t.Fatalf("frame of %d bytes, kind %d", len(f), f[0])
	}
	gotID, gotPayload, err := DecodeDelivery(f)
	if err != nil {
		t.Fatal(err)
	}
	if gotID != id || !bytes.Equal(gotPayload, payload) {
		t.Fatal("delivery round trip differs")
	}

	for _, n := range []int{0, DeliveryPayloadLength - 1, DeliveryPayloadLength + 1} {
		if _, err := EncodeDelivery(id, make([]byte, n)); err == nil {
			t.Fatalf("delivery payload of %d bytes accepted", n)
		}
	}

	mod := func(fn func(p []byte)) []byte {
		p := append([]byte(nil), f...)
		fn(p)
		return p
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short":        f[:len(f)-1],
		"long":         append(append([]byte(nil), f...), 0),
		"kind 0":       mod(func(p []byte) { p[0] = 0 }),
		"kind 2":       mod(func(p []byte) { p[0] = 2 }),
		"padding":      mod(func(p []byte) { p[17+DeliveryPayloadLength] = 1 }),
		"last padding": mod(func(p []byte) { p[len(p)-1] = 1 }),
	} {
		if _, _, err := DecodeDelivery(b); err == nil || !errors.Is(err, ErrEnvelope) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{OpDrop: "drop", OpEcho: "echo", OpLoop: "loop", Op(0): "op(0)", Op(77): "op(77)"} {
		if got := op.String(); got != want {
			t.Fatalf("Op(%d).String() = %q, want %q", uint8(op), got, want)
		}
	}
}
