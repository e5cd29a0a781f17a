package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadFrame reads a frame from arbitrary bytes: it succeeds exactly when
// a whole frame is there, and never panics.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte{0xab}, PacketLength-1))
	f.Add(bytes.Repeat([]byte{0xab}, PacketLength))
	f.Add(bytes.Repeat([]byte{0xcd}, PacketLength+5))

	buf := make([]byte, PacketLength)
	f.Fuzz(func(t *testing.T, data []byte) {
		clear(buf)
		err := ReadFrame(bytes.NewReader(data), buf)
		switch {
		case len(data) >= PacketLength:
			if err != nil {
				t.Fatalf("%d bytes: %v", len(data), err)
			}
			if !bytes.Equal(buf, data[:PacketLength]) {
				t.Fatal("frame differs from input")
			}
			var out bytes.Buffer
			if err := WriteFrame(&out, buf); err != nil || !bytes.Equal(out.Bytes(), buf) {
				t.Fatalf("WriteFrame: %v", err)
			}
		case len(data) == 0:
			if err != io.EOF {
				t.Fatalf("empty input: %v, want io.EOF", err)
			}
		default:
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%d bytes: %v, want a truncated frame error", len(data), err)
			}
		}
		// Any buffer size other than PacketLength is refused.
		if len(data) != PacketLength {
			if err := ReadFrame(bytes.NewReader(data), make([]byte, len(data))); err == nil {
				t.Fatalf("buffer of %d bytes accepted", len(data))
			}
			if err := WriteFrame(io.Discard, data); err == nil {
				t.Fatalf("frame of %d bytes written", len(data))
			}
		}
	})
}

// FuzzDecodeForwardPayload decodes arbitrary forward payloads. The fuzzer
// controls the flag and reserved bytes and the start of the SURB area
// (head) and the start of the request envelope (env); the rest is zero, so
// the payload has the right length and the decoder gets past the size check.
// Anything it accepts must re-encode to the same bytes.
func FuzzDecodeForwardPayload(f *testing.F) {
	for _, seed := range []struct {
		surb []byte
		op   Op
		body []byte
	}{
		{nil, OpDrop, nil},
		{nil, OpEcho, []byte("hello")},
		{testSURBBlock(), OpEcho, []byte("ping")},
		{testSURBBlock(), OpLoop, bytes.Repeat([]byte{1}, 40)},
	} {
		p, err := EncodeForwardPayload(seed.surb, seed.op, seed.body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p[:2+64], p[envOff:envOff+64], false)
		f.Add(p[:2+64], p[envOff:envOff+64], true)
	}
	f.Add([]byte{2, 0}, []byte{1, 2, 0, 0}, false)
	f.Add([]byte{0, 1}, []byte{1, 2, 0xff, 0xff}, false)
	f.Add([]byte{0, 0, 1}, []byte{1, 2, 0, 0}, false)
	f.Add([]byte{}, []byte{}, true)

	f.Fuzz(func(t *testing.T, head, env []byte, raw bool) {
		var p []byte
		if raw {
			// The bytes as they are (mostly the wrong length).
			p = append(append([]byte(nil), head...), env...)
		} else {
			p = make([]byte, Geometry.ForwardPayloadLength)
			copy(p[:envOff], head)
			copy(p[envOff:], env)
		}
		surb, req, err := DecodeForwardPayload(p)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v does not wrap ErrEnvelope", err)
			}
			if surb != nil || req.Body != nil {
				t.Fatal("values returned with an error")
			}
			return
		}
		if surb != nil && len(surb) != Geometry.SURBLength {
			t.Fatalf("SURB of %d bytes", len(surb))
		}
		if len(req.Body) > MaxRequestBody {
			t.Fatalf("body of %d bytes", len(req.Body))
		}
		again, err := EncodeForwardPayload(surb, req.Op, req.Body)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, p) {
			t.Fatal("accepted payload is not canonical")
		}
	})
}

// FuzzDecodeReply decodes arbitrary reply envelopes, padded to the reply size
// unless raw. Anything accepted must re-encode to the same bytes.
func FuzzDecodeReply(f *testing.F) {
	for _, body := range [][]byte{nil, []byte("pong"), bytes.Repeat([]byte{7}, 100)} {
		b, err := EncodeReply(StatusOK, body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:4+len(body)+4], false)
		f.Add(b, true)
	}
	f.Add([]byte{1, 1, 0x08, 0x00}, false)
	f.Add([]byte{1, 0, 0xff, 0xff}, false)
	f.Add([]byte{0}, false)
	f.Add([]byte{}, true)

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		b := data
		if !raw {
			b = make([]byte, Geometry.ForwardPayloadLength)
			copy(b, data)
		}
		st, body, err := DecodeReply(b)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v does not wrap ErrEnvelope", err)
			}
			return
		}
		if len(body) > MaxReplyBody {
			t.Fatalf("body of %d bytes", len(body))
		}
		again, err := EncodeReply(st, body)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("accepted reply is not canonical")
		}
	})
}

// FuzzDecodeDelivery decodes arbitrary delivery frames, padded to
// PacketLength unless raw. Anything accepted must re-encode to the same
// bytes.
func FuzzDecodeDelivery(f *testing.F) {
	var id [16]byte
	copy(id[:], "0123456789abcdef")
	good, err := EncodeDelivery(id, bytes.Repeat([]byte{9}, DeliveryPayloadLength))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[:64], false)
	f.Add(good, true)
	f.Add(good, false)
	f.Add([]byte{2}, false)
	f.Add([]byte{}, true)

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		fr := data
		if !raw {
			fr = make([]byte, PacketLength)
			copy(fr, data)
		}
		gotID, payload, err := DecodeDelivery(fr)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("error %v does not wrap ErrEnvelope", err)
			}
			if payload != nil {
				t.Fatal("payload returned with an error")
			}
			return
		}
		if len(payload) != DeliveryPayloadLength {
			t.Fatalf("payload of %d bytes", len(payload))
		}
		again, err := EncodeDelivery(gotID, payload)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, fr) {
			t.Fatal("accepted frame is not canonical")
		}
	})
}
