// Package message is the end-to-end layer of private messages: what goes
// into each mailbox box of a BACAP stream. A text is split into parts; each
// part travels in a fixed-size frame signed by the sender's identity key and
// encrypted with a per-message key from a hash ratchet that runs along the
// stream, so a key taken from a device later cannot open earlier boxes
// (forward secrecy). Storage nodes see only the box's signature by the
// blinded BACAP key; exits and storage see a constant-size blob.
//
//	frame (FrameSize bytes before encryption):
//	  version 1 | kind 1 | message id 16 | part 2 | parts 2 | body length 2 |
//	  body | signature 64 | zero padding
//
// The signature covers a context string, the box index and everything before
// it, so a frame cannot be replayed into another box or stream position.
package message

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"crypto/hkdf"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// FrameSize is the plaintext size of every frame: every box carries the
	// same number of bytes whatever the text.
	FrameSize = 1560
	// CiphertextSize is the size of a sealed frame (nonce, frame, tag). It
	// fits record.MaxBoxBlob.
	CiphertextSize = chacha20poly1305.NonceSizeX + FrameSize + chacha20poly1305.Overhead
	headerSize     = 1 + 1 + 16 + 2 + 2 + 2
	// MaxBody is the largest part of a text one frame carries.
	MaxBody = FrameSize - headerSize - ed25519.SignatureSize
	// MaxParts bounds how many frames one message may span.
	MaxParts = 64
	version  = 1
	context_ = "komrade message frame v1\x00"
)

// Kind is what a frame carries.
type Kind uint8

// Frame kinds.
const (
	// KindText carries part of a text message.
	KindText Kind = 1
	// KindHello opens a stream: its body is the sender's Ed25519 identity
	// key, and it is signed by that key (the invitee's first box).
	KindHello Kind = 2
	// KindTextAt carries part of a text message whose joined body starts
	// with when the sender wrote it: Unix seconds, 8 bytes big-endian, by
	// the sender's clock (a claim the reader shows as such).
	KindTextAt Kind = 3
	// KindReport carries a report about boxes of the conversation that the
	// network lost (see Report): one part, never shown as a text.
	KindReport Kind = 4
	// KindFriendsCap carries the read capability of the sender's friends
	// stream, or asks for it again (see FriendsCap): one part, never shown
	// as a text.
	KindFriendsCap Kind = 5
	// KindEvent carries an invitation to an event (see client/event): one
	// part, never shown as a text; the body's format is client/event's.
	KindEvent Kind = 6
)

// Frame is one decoded part of a message.
type Frame struct {
	Kind  Kind
	ID    [16]byte // message id, shared by its parts
	Part  int      // 0-based
	Parts int
	Body  []byte
}

// ErrFrame is wrapped by every decoding error.
var ErrFrame = errors.New("message: malformed frame")

// PartsFor returns how many frames Split makes of n bytes.
func PartsFor(n int) int { return max(1, (n+MaxBody-1)/MaxBody) }

// Split cuts text into frames of one new message.
func Split(kind Kind, text []byte) ([]Frame, error) {
	parts := PartsFor(len(text))
	if parts > MaxParts {
		return nil, fmt.Errorf("message: %d bytes need %d parts, at most %d", len(text), parts, MaxParts)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	out := make([]Frame, parts)
	for i := range out {
		lo, hi := i*MaxBody, min((i+1)*MaxBody, len(text))
		out[i] = Frame{Kind: kind, ID: id, Part: i, Parts: parts, Body: append([]byte(nil), text[lo:hi]...)}
	}
	return out, nil
}

func signed(index uint64, head []byte) []byte {
	var ib [8]byte
	binary.BigEndian.PutUint64(ib[:], index)
	out := append([]byte(context_), ib[:]...)
	return append(out, head...)
}

// Encode lays out and signs f for box index (FrameSize bytes).
func Encode(f Frame, index uint64, signer ed25519.PrivateKey) ([]byte, error) {
	if len(f.Body) > MaxBody || f.Parts < 1 || f.Parts > MaxParts || f.Part < 0 || f.Part >= f.Parts {
		return nil, fmt.Errorf("message: bad frame (%d bytes, part %d of %d)", len(f.Body), f.Part, f.Parts)
	}
	out := make([]byte, FrameSize)
	out[0], out[1] = version, byte(f.Kind)
	copy(out[2:18], f.ID[:])
	binary.BigEndian.PutUint16(out[18:], uint16(f.Part))
	binary.BigEndian.PutUint16(out[20:], uint16(f.Parts))
	binary.BigEndian.PutUint16(out[22:], uint16(len(f.Body)))
	n := headerSize + copy(out[headerSize:], f.Body)
	copy(out[n:], ed25519.Sign(signer, signed(index, out[:n])))
	return out, nil
}

// Decode checks sizes, padding and the sender's signature for box index and
// returns the frame. With a nil sender only a hello decodes, checked
// against the key it carries.
func Decode(b []byte, index uint64, sender ed25519.PublicKey) (*Frame, error) {
	if len(b) != FrameSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrame, len(b))
	}
	if b[0] != version {
		return nil, fmt.Errorf("%w: version %d", ErrFrame, b[0])
	}
	if k := Kind(b[1]); k != KindText && k != KindHello && k != KindTextAt && k != KindReport && k != KindFriendsCap && k != KindEvent {
		return nil, fmt.Errorf("%w: kind %d", ErrFrame, b[1])
	}
	part, parts, blen := int(binary.BigEndian.Uint16(b[18:])), int(binary.BigEndian.Uint16(b[20:])), int(binary.BigEndian.Uint16(b[22:]))
	if blen > MaxBody || parts < 1 || parts > MaxParts || part >= parts {
		return nil, fmt.Errorf("%w: bad lengths", ErrFrame)
	}
	if Kind(b[1]) == KindHello && (blen < ed25519.PublicKeySize || parts != 1) {
		// A hello's body starts with its sender's identity key, whoever
		// decodes it; a shorter one is malformed even when signed.
		return nil, fmt.Errorf("%w: hello of %d bytes in %d parts", ErrFrame, blen, parts)
	}
	if (Kind(b[1]) == KindReport || Kind(b[1]) == KindFriendsCap || Kind(b[1]) == KindEvent) && parts != 1 {
		return nil, fmt.Errorf("%w: control frame of kind %d in %d parts", ErrFrame, b[1], parts)
	}
	n := headerSize + blen
	for _, x := range b[n+ed25519.SignatureSize:] {
		if x != 0 {
			return nil, fmt.Errorf("%w: non-zero padding", ErrFrame)
		}
	}
	if sender == nil && Kind(b[1]) == KindHello && blen >= ed25519.PublicKeySize {
		// A hello certifies itself: its body starts with the sender's key.
		sender = ed25519.PublicKey(b[headerSize : headerSize+ed25519.PublicKeySize])
	}
	if len(sender) != ed25519.PublicKeySize || !ed25519.Verify(sender, signed(index, b[:n]), b[n:n+ed25519.SignatureSize]) {
		return nil, fmt.Errorf("%w: bad signature", ErrFrame)
	}
	f := &Frame{Kind: Kind(b[1]), Part: part, Parts: parts, Body: bytes.Clone(b[headerSize:n])}
	copy(f.ID[:], b[2:18])
	return f, nil
}

// Ratchet is the hash ratchet of one direction of a conversation: each step
// yields the key of the next box and replaces the chain key, which is not
// kept, so earlier message keys cannot be recomputed from the state.
type Ratchet struct {
	Chain [32]byte
	Index uint64 // box index of the next key
}

// NewRatchet derives a ratchet from a secret both sides share (from the
// invite) and a label naming the direction.
func NewRatchet(secret []byte, label string) (*Ratchet, error) {
	chain, err := hkdf.Key(sha256.New, secret, nil, "komrade ratchet v1 "+label, 32)
	if err != nil {
		return nil, err
	}
	r := &Ratchet{}
	copy(r.Chain[:], chain)
	return r, nil
}

// Rekey mixes a fresh shared secret (an ephemeral X25519 result both sides
// computed) into the chain: keys from here on cannot be derived from the
// invite's secret alone. The index is unchanged.
func (r *Ratchet) Rekey(dh []byte) error {
	chain, err := hkdf.Key(sha256.New, dh, r.Chain[:], "komrade rekey v1", 32)
	if err != nil {
		return err
	}
	copy(r.Chain[:], chain)
	return nil
}

// Next returns the index and key of the next box and advances the ratchet.
func (r *Ratchet) Next() (uint64, [32]byte) {
	var key [32]byte
	m := hmac.New(sha256.New, r.Chain[:])
	m.Write([]byte{1})
	copy(key[:], m.Sum(nil))
	m = hmac.New(sha256.New, r.Chain[:])
	m.Write([]byte{2})
	copy(r.Chain[:], m.Sum(nil))
	i := r.Index
	r.Index++
	return i, key
}

// Seal encrypts a frame with a message key; ad binds it to its box (the box
// id).
func Seal(key [32]byte, ad, frame []byte) ([]byte, error) {
	if len(frame) != FrameSize {
		return nil, fmt.Errorf("message: frame of %d bytes", len(frame))
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, frame, ad), nil
}

// Open decrypts a sealed frame.
func Open(key [32]byte, ad, ct []byte) ([]byte, error) {
	if len(ct) != CiphertextSize {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes", ErrFrame, len(ct))
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, ct[:chacha20poly1305.NonceSizeX], ct[chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: does not open", ErrFrame)
	}
	return pt, nil
}
