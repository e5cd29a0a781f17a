package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Exit requests travel in the user part of a forward payload; replies travel
// back through the attached SURB. Both use one fixed binary layout:
//
//	version (1 byte, = 1) | op or status (1 byte) | body length (2 bytes, BE) | body | zero padding
//
// Storage operations (storage.go) are further op codes with their own CBOR
// body encodings; a node answers an op it does not know with StatusBadOp.

// EnvelopeVersion is the envelope format this code speaks.
const EnvelopeVersion = 1

const envelopeHeader = 4

// Op is an exit request operation.
type Op uint8

// Exit operations.
const (
	// OpDrop is discarded by the exit (drop cover traffic).
	OpDrop Op = 1
	// OpEcho is answered with the same body through the SURB.
	OpEcho Op = 2
	// OpLoop carries a node's own loop cover packet back to it; the body is
	// the loop id. Any other node treats it as drop.
	OpLoop Op = 3
)

func (o Op) String() string {
	switch o {
	case OpDrop:
		return "drop"
	case OpEcho:
		return "echo"
	case OpLoop:
		return "loop"
	case OpPutRecord:
		return "put-record"
	case OpGetRecord:
		return "get-record"
	case OpPutBox:
		return "put-box"
	case OpGetBox:
		return "get-box"
	case OpAppend:
		return "append"
	case OpScan:
		return "scan"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// MaxRequestBody is the largest request body.
const MaxRequestBody = UserPayloadLength - envelopeHeader

// MaxReplyBody is the largest reply body. Replies are kept to the same size
// limit as requests so that an echo always fits.
const MaxReplyBody = MaxRequestBody

// Request is a decoded exit request.
type Request struct {
	Op   Op
	Body []byte
}

// ErrEnvelope is wrapped by every envelope decoding error.
var ErrEnvelope = errors.New("packet: malformed envelope")

func encodeEnvelope(out []byte, code uint8, body []byte) error {
	if len(body) > len(out)-envelopeHeader {
		return fmt.Errorf("packet: body of %d bytes exceeds %d", len(body), len(out)-envelopeHeader)
	}
	clear(out)
	out[0] = EnvelopeVersion
	out[1] = code
	binary.BigEndian.PutUint16(out[2:4], uint16(len(body)))
	copy(out[envelopeHeader:], body)
	return nil
}

func decodeEnvelope(b []byte) (uint8, []byte, error) {
	if len(b) < envelopeHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrEnvelope, len(b))
	}
	if b[0] != EnvelopeVersion {
		return 0, nil, fmt.Errorf("%w: version %d", ErrEnvelope, b[0])
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n > len(b)-envelopeHeader {
		return 0, nil, fmt.Errorf("%w: body length %d exceeds %d", ErrEnvelope, n, len(b)-envelopeHeader)
	}
	for _, x := range b[envelopeHeader+n:] {
		if x != 0 {
			return 0, nil, fmt.Errorf("%w: non-zero padding", ErrEnvelope)
		}
	}
	return b[1], b[envelopeHeader : envelopeHeader+n], nil
}

// EncodeForwardPayload lays out a forward payload: a flag byte (1 when a
// SURB is attached), a reserved zero byte, the SURB (or zeros) and the
// request envelope. The result is Geometry.ForwardPayloadLength bytes.
func EncodeForwardPayload(surb []byte, op Op, body []byte) ([]byte, error) {
	out := make([]byte, Geometry.ForwardPayloadLength)
	if surb != nil {
		if len(surb) != Geometry.SURBLength {
			return nil, fmt.Errorf("packet: SURB of %d bytes", len(surb))
		}
		out[0] = 1
		copy(out[2:], surb)
	}
	if len(body) > MaxRequestBody {
		return nil, fmt.Errorf("packet: request body of %d bytes exceeds %d", len(body), MaxRequestBody)
	}
	if err := encodeEnvelope(out[2+Geometry.SURBLength:], uint8(op), body); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeForwardPayload splits a forward payload as the exit sees it. surb is
// nil when none is attached. It validates sizes, flags and the envelope.
func DecodeForwardPayload(p []byte) (surb []byte, req Request, err error) {
	if len(p) != Geometry.ForwardPayloadLength {
		return nil, Request{}, fmt.Errorf("%w: forward payload of %d bytes", ErrEnvelope, len(p))
	}
	if p[1] != 0 {
		return nil, Request{}, fmt.Errorf("%w: reserved byte set", ErrEnvelope)
	}
	switch p[0] {
	case 0:
		for _, x := range p[2 : 2+Geometry.SURBLength] {
			if x != 0 {
				return nil, Request{}, fmt.Errorf("%w: SURB bytes without flag", ErrEnvelope)
			}
		}
	case 1:
		surb = p[2 : 2+Geometry.SURBLength]
	default:
		return nil, Request{}, fmt.Errorf("%w: flags %#x", ErrEnvelope, p[0])
	}
	code, body, err := decodeEnvelope(p[2+Geometry.SURBLength:])
	if err != nil {
		return nil, Request{}, err
	}
	if len(body) > MaxRequestBody {
		return nil, Request{}, fmt.Errorf("%w: body too long", ErrEnvelope)
	}
	return surb, Request{Op: Op(code), Body: body}, nil
}

// EncodeReply lays out a reply payload for NewPacketFromSURB
// (Geometry.ForwardPayloadLength bytes).
func EncodeReply(status Status, body []byte) ([]byte, error) {
	if len(body) > MaxReplyBody {
		return nil, fmt.Errorf("packet: reply body of %d bytes exceeds %d", len(body), MaxReplyBody)
	}
	out := make([]byte, Geometry.ForwardPayloadLength)
	if err := encodeEnvelope(out, uint8(status), body); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeReply parses a reply opened with OpenReply.
func DecodeReply(b []byte) (Status, []byte, error) {
	if len(b) != Geometry.ForwardPayloadLength {
		return 0, nil, fmt.Errorf("%w: reply of %d bytes", ErrEnvelope, len(b))
	}
	code, body, err := decodeEnvelope(b)
	if err != nil {
		return 0, nil, err
	}
	if len(body) > MaxReplyBody {
		return 0, nil, fmt.Errorf("%w: reply body too long", ErrEnvelope)
	}
	return Status(code), body, nil
}

// Delivery frames go from a gateway to its client, PacketLength bytes:
//
//	kind (1 byte, 1 = SURB reply) | SURB id (16 bytes) | Sphinx payload | zero padding
const deliveryKindReply = 1

// DeliveryPayloadLength is the size of the Sphinx payload in a delivery.
var DeliveryPayloadLength = Geometry.PayloadTagLength + Geometry.ForwardPayloadLength

// EncodeDelivery builds a delivery frame.
func EncodeDelivery(surbID [16]byte, payload []byte) ([]byte, error) {
	if len(payload) != DeliveryPayloadLength {
		return nil, fmt.Errorf("packet: delivery payload of %d bytes, want %d", len(payload), DeliveryPayloadLength)
	}
	out := make([]byte, PacketLength)
	out[0] = deliveryKindReply
	copy(out[1:17], surbID[:])
	copy(out[17:], payload)
	return out, nil
}

// DecodeDelivery parses a delivery frame.
func DecodeDelivery(f []byte) (surbID [16]byte, payload []byte, err error) {
	if len(f) != PacketLength {
		return surbID, nil, fmt.Errorf("%w: delivery frame of %d bytes", ErrEnvelope, len(f))
	}
	if f[0] != deliveryKindReply {
		return surbID, nil, fmt.Errorf("%w: delivery kind %d", ErrEnvelope, f[0])
	}
	end := 17 + DeliveryPayloadLength
	for _, x := range f[end:] {
		if x != 0 {
			return surbID, nil, fmt.Errorf("%w: non-zero delivery padding", ErrEnvelope)
		}
	}
	copy(surbID[:], f[1:17])
	return surbID, f[17:end], nil
}
