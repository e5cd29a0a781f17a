package record

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
)

const profileContext = "komrade profile v1\x00"

// Profile is a public profile record, stored at ProfileKey(Author).
type Profile struct {
	Author  []byte `cbor:"1,keyasint"` // Ed25519 public key
	Seq     uint64 `cbor:"2,keyasint"`
	Expires int64  `cbor:"3,keyasint"` // unix seconds
	Body    []byte `cbor:"4,keyasint"` // application data (CBOR of the profile fields)
	Sig     []byte `cbor:"5,keyasint,omitempty"`
}

// ProfileKey is the DHT key of an author's profile.
func ProfileKey(author ed25519.PublicKey) string {
	return "/" + NSProfile + "/" + hex.EncodeToString(author)
}

func (p *Profile) signed() ([]byte, error) {
	c := *p
	c.Sig = nil
	b, err := detcbor.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte(profileContext), b...), nil
}

// SignProfile fills Author and Sig and returns the encoded record.
func SignProfile(p *Profile, priv ed25519.PrivateKey) ([]byte, error) {
	p.Author = append([]byte(nil), priv.Public().(ed25519.PublicKey)...)
	msg, err := p.signed()
	if err != nil {
		return nil, err
	}
	p.Sig = ed25519.Sign(priv, msg)
	out, err := detcbor.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxValue {
		return nil, fmt.Errorf("%w: profile of %d bytes", ErrTooLarge, len(out))
	}
	return out, nil
}

// DecodeProfile decodes and verifies a profile record (signature, sizes,
// encoding), without checking key or expiry.
func DecodeProfile(b []byte) (*Profile, error) {
	var p Profile
	if err := decodeStrict(b, &p); err != nil {
		return nil, err
	}
	if len(p.Author) != ed25519.PublicKeySize || len(p.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: bad author or signature length", ErrMalformed)
	}
	msg, err := p.signed()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !ed25519.Verify(p.Author, msg, p.Sig) {
		return nil, ErrBadSignature
	}
	return &p, nil
}

// ProfileValidator validates /kprof/ records: highest Seq wins.
type ProfileValidator struct{ Clock Clock }

// Validate implements record.Validator.
func (v ProfileValidator) Validate(key string, value []byte) error {
	p, err := DecodeProfile(value)
	if err != nil {
		return err
	}
	if key != ProfileKey(p.Author) {
		return ErrWrongKey
	}
	return checkExpiry(p.Expires, v.Clock.now())
}

// Select implements record.Validator: the highest sequence number; at equal
// sequence numbers the greater encoding, so that every node picks the same
// record whatever order it saw them in.
func (v ProfileValidator) Select(key string, values [][]byte) (int, error) {
	best, bestSeq := -1, uint64(0)
	var bestRaw []byte
	for i, raw := range values {
		p, err := DecodeProfile(raw)
		if err != nil || key != ProfileKey(p.Author) {
			continue
		}
		if best < 0 || p.Seq > bestSeq || (p.Seq == bestSeq && bytes.Compare(raw, bestRaw) > 0) {
			best, bestSeq, bestRaw = i, p.Seq, raw
		}
	}
	if best < 0 {
		return 0, ErrMalformed
	}
	return best, nil
}

// NewProfile is a helper for a profile expiring ttl from now.
func NewProfile(seq uint64, ttl time.Duration, body []byte) *Profile {
	return &Profile{Seq: seq, Expires: time.Now().Add(ttl).Unix(), Body: body}
}
