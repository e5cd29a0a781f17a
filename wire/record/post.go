package record

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
)

const postContext = "komrade post v1\x00"

// Post is a public post or an image chunk, stored at PostKey(value): the
// key is the hash of the record, so nobody can change it after the fact.
// A signed post names its author; an anonymous one carries proof of work.
type Post struct {
	Author  []byte `cbor:"1,keyasint,omitempty"` // Ed25519 public key, or empty
	Created int64  `cbor:"2,keyasint"`
	Expires int64  `cbor:"3,keyasint"`
	Body    []byte `cbor:"4,keyasint"`
	Nonce   uint64 `cbor:"5,keyasint,omitempty"` // proof of work (anonymous posts)
	Sig     []byte `cbor:"6,keyasint,omitempty"`
}

// PostKey is the DHT key of an encoded post.
func PostKey(value []byte) string {
	h := sha256.Sum256(value)
	return "/" + NSPost + "/" + hex.EncodeToString(h[:])
}

func (p *Post) powPrefix() []byte {
	c := *p
	c.Nonce, c.Sig = 0, nil
	b, _ := detcbor.Marshal(&c)
	return append([]byte(postContext), b...)
}

func (p *Post) signed() []byte {
	c := *p
	c.Sig = nil
	b, _ := detcbor.Marshal(&c)
	return append([]byte(postContext), b...)
}

// SignPost signs p as its author and returns the encoded record.
func SignPost(p *Post, priv ed25519.PrivateKey) ([]byte, error) {
	p.Author = append([]byte(nil), priv.Public().(ed25519.PublicKey)...)
	p.Sig = ed25519.Sign(priv, p.signed())
	return encodePost(p)
}

// StampPost makes p anonymous and solves its proof of work of difficulty
// bits; it stops when ctx ends.
func StampPost(ctx context.Context, p *Post, difficulty int) ([]byte, error) {
	p.Author, p.Sig = nil, nil
	p.Nonce = 0
	nonce, err := wire.SolvePoW(ctx, p.powPrefix(), difficulty)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	p.Nonce = nonce
	return encodePost(p)
}

func encodePost(p *Post) ([]byte, error) {
	out, err := detcbor.Marshal(p)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxValue {
		return nil, fmt.Errorf("%w: post of %d bytes", ErrTooLarge, len(out))
	}
	return out, nil
}

// DecodePost decodes a post and checks its signature or proof of work.
func DecodePost(b []byte, powDifficulty int) (*Post, error) {
	var p Post
	if err := decodeStrict(b, &p); err != nil {
		return nil, err
	}
	switch {
	case len(p.Author) == 0:
		if len(p.Sig) != 0 {
			return nil, fmt.Errorf("%w: signature without author", ErrMalformed)
		}
		if wire.PoWZeros(p.powPrefix(), p.Nonce) < powDifficulty {
			return nil, ErrPoW
		}
	case len(p.Author) == ed25519.PublicKeySize && len(p.Sig) == ed25519.SignatureSize:
		if p.Nonce != 0 {
			return nil, fmt.Errorf("%w: nonce on a signed post", ErrMalformed)
		}
		if !ed25519.Verify(p.Author, p.signed(), p.Sig) {
			return nil, ErrBadSignature
		}
	default:
		return nil, fmt.Errorf("%w: bad author or signature length", ErrMalformed)
	}
	return &p, nil
}

// PostValidator validates /kpost/ records.
type PostValidator struct {
	Clock Clock
	// PoWBits is the difficulty anonymous posts must meet.
	PoWBits int
}

// Validate implements record.Validator.
func (v PostValidator) Validate(key string, value []byte) error {
	if len(value) > MaxValue {
		return ErrTooLarge
	}
	if key != PostKey(value) {
		return ErrWrongHash
	}
	p, err := DecodePost(value, v.PoWBits)
	if err != nil {
		return err
	}
	return checkExpiry(p.Expires, v.Clock.now())
}

// Select implements record.Validator: content-addressed values are equal.
func (v PostValidator) Select(key string, values [][]byte) (int, error) {
	for i, raw := range values {
		if PostKey(raw) == key {
			return i, nil
		}
	}
	return 0, ErrWrongHash
}

// ChunkSize is the largest image chunk that fits one post record.
const ChunkSize = 1700

// Chunks splits data into content-addressed chunks of at most ChunkSize
// bytes; a post refers to an image by the keys of its chunks.
func Chunks(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(len(data), ChunkSize)
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}
