// Package x25519nike is an X25519 NIKE for katzenpost's Sphinx that performs
// only the scalar multiplications a hop needs. It is wire-identical to hpqc's
// nike/x25519 (same name, sizes, clamping and blinding) but:
//
//   - a private key is prepared once (crypto/ecdh), so a shared secret costs
//     one variable-base multiplication instead of two;
//   - keys derived by Sphinx's KDF (blinding factors) never compute a public
//     key nobody uses;
//   - blinding a group element, X25519(b, u), is one variable-base
//     multiplication on edwards25519 (filippo.io/edwards25519) instead of
//     crypto/ecdh's NewPrivateKey (a ladder for an unused public key) plus a
//     ladder.
//
// Blinding maps u to an edwards25519 point P with the birational map
// y = (u-1)/(u+1) (RFC 7748 §4.1), computes [k]P as [k/8]([8]P) (k is the
// clamped scalar, a multiple of 8, so this equals X25519 even for points with
// a small-order component) and returns u([k]P); both points over u give the
// same u. Inputs with no edwards25519 point (the quadratic twist) and the
// exceptional u = -1 take the crypto/ecdh path, which X25519 defines for
// every input. No field or group arithmetic is written here: it all comes
// from crypto/ecdh and filippo.io/edwards25519.
package x25519nike

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/katzenpost/hpqc/nike"
	"golang.org/x/crypto/curve25519"
)

// Size of keys, group elements and shared secrets.
const Size = 32

var errKeySize = errors.New("x25519nike: invalid key size")

// Scheme is the NIKE; it is stateless and safe for concurrent use.
type Scheme struct{}

var (
	_ nike.Scheme     = Scheme{}
	_ nike.PrivateKey = (*PrivateKey)(nil)
	_ nike.PublicKey  = (*PublicKey)(nil)
)

// PrivateKey is an X25519 scalar. Its crypto/ecdh form (and public key) is
// computed at most once, when first needed.
type PrivateKey struct {
	raw  [Size]byte
	once sync.Once
	key  atomic.Pointer[ecdh.PrivateKey] // nil until prepared, and after Reset
	err  error
}

// PublicKey is an X25519 u-coordinate.
type PublicKey [Size]byte

var errErased = errors.New("x25519nike: private key was erased")

func (p *PrivateKey) prepared() (*ecdh.PrivateKey, error) {
	p.once.Do(func() {
		k, err := ecdh.X25519().NewPrivateKey(p.raw[:])
		p.key.Store(k)
		p.err = err
	})
	if p.err != nil {
		return nil, p.err
	}
	k := p.key.Load()
	if k == nil {
		return nil, errErased
	}
	return k, nil
}

// Prepare computes the key's crypto/ecdh form now, so that later shared
// secrets cost one scalar multiplication. Mix nodes prepare their epoch keys.
func (p *PrivateKey) Prepare() error {
	_, err := p.prepared()
	return err
}

// Public returns the public key.
func (p *PrivateKey) Public() nike.PublicKey {
	k, err := p.prepared()
	if err != nil {
		panic(err) // only for a key of the wrong size, which cannot be built
	}
	pub := new(PublicKey)
	copy(pub[:], k.PublicKey().Bytes())
	return pub
}

// Reset zeroes the scalar and makes the key unusable: later operations with
// it panic, as they do with a low-order point, and Sphinx's callers recover.
// It is safe to call while other goroutines use the key. (crypto/ecdh keeps
// its own copy of a prepared key until the garbage collector reclaims it;
// Reset drops the reference.)
func (p *PrivateKey) Reset() {
	p.once.Do(func() {}) // a never-prepared key stays unprepared
	p.key.Store(nil)
	clear(p.raw[:])
}

// Bytes returns a copy of the scalar.
func (p *PrivateKey) Bytes() []byte { return append([]byte(nil), p.raw[:]...) }

// FromBytes loads a scalar. The key must not be in use.
func (p *PrivateKey) FromBytes(b []byte) error {
	if len(b) != Size {
		return errKeySize
	}
	if p.key.Load() != nil {
		return errors.New("x25519nike: FromBytes on a key in use")
	}
	copy(p.raw[:], b)
	return nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PrivateKey) MarshalBinary() ([]byte, error) { return p.Bytes(), nil }

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PrivateKey) UnmarshalBinary(b []byte) error { return p.FromBytes(b) }

// MarshalText implements encoding.TextMarshaler (base64, as hpqc does).
func (p *PrivateKey) MarshalText() ([]byte, error) {
	return []byte(base64.StdEncoding.EncodeToString(p.raw[:])), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PrivateKey) UnmarshalText(b []byte) error {
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return err
	}
	return p.FromBytes(raw)
}

// Blind replaces p with X25519(blindingFactor, p).
func (p *PublicKey) Blind(blindingFactor nike.PrivateKey) error {
	bf := scalarBytes(blindingFactor)
	if len(bf) != Size {
		return errKeySize
	}
	out := blind(p[:], bf)
	copy(p[:], out)
	return nil
}

// Reset zeroes the key.
func (p *PublicKey) Reset() { clear(p[:]) }

// Bytes returns a copy of the u-coordinate.
func (p *PublicKey) Bytes() []byte { return append([]byte(nil), p[:]...) }

// FromBytes loads a u-coordinate.
func (p *PublicKey) FromBytes(b []byte) error {
	if len(b) != Size {
		return errKeySize
	}
	copy(p[:], b)
	return nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (p *PublicKey) MarshalBinary() ([]byte, error) { return p.Bytes(), nil }

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (p *PublicKey) UnmarshalBinary(b []byte) error { return p.FromBytes(b) }

// MarshalText implements encoding.TextMarshaler.
func (p *PublicKey) MarshalText() ([]byte, error) {
	return []byte(base64.StdEncoding.EncodeToString(p[:])), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PublicKey) UnmarshalText(b []byte) error {
	raw, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		return err
	}
	return p.FromBytes(raw)
}

// Name is "x25519", as hpqc's: the two are interchangeable on the wire.
func (Scheme) Name() string { return "x25519" }

// PublicKeySize is 32.
func (Scheme) PublicKeySize() int { return Size }

// PrivateKeySize is 32.
func (Scheme) PrivateKeySize() int { return Size }

// GeneratePrivateKey reads 32 bytes from rng, exactly as hpqc does (Sphinx's
// KDF derives blinding factors this way). No public key is computed.
func (Scheme) GeneratePrivateKey(rng io.Reader) nike.PrivateKey {
	p := new(PrivateKey)
	if _, err := io.ReadFull(rng, p.raw[:]); err != nil {
		panic(fmt.Sprintf("x25519nike: read entropy: %v", err))
	}
	return p
}

// GenerateKeyPair makes a key pair from crypto/rand.
func (s Scheme) GenerateKeyPair() (nike.PublicKey, nike.PrivateKey, error) {
	return s.GenerateKeyPairFromEntropy(rand.Reader)
}

// GenerateKeyPairFromEntropy makes a key pair from 32 bytes of rng.
func (Scheme) GenerateKeyPairFromEntropy(rng io.Reader) (nike.PublicKey, nike.PrivateKey, error) {
	p := new(PrivateKey)
	if _, err := io.ReadFull(rng, p.raw[:]); err != nil {
		return nil, nil, err
	}
	return p.Public(), p, nil
}

// DeriveSecret returns X25519(priv, pub). Like hpqc's, it panics on a
// low-order pub (an all-zero result); callers that take pub from the network
// recover from it.
func (Scheme) DeriveSecret(priv nike.PrivateKey, pub nike.PublicKey) []byte {
	p, ok := priv.(*PrivateKey)
	if !ok {
		p = new(PrivateKey)
		if err := p.FromBytes(priv.Bytes()); err != nil {
			panic(err)
		}
	}
	k, err := p.prepared()
	if err != nil {
		panic(err)
	}
	pk, err := ecdh.X25519().NewPublicKey(pub.Bytes())
	if err != nil {
		panic(err)
	}
	s, err := k.ECDH(pk)
	if err != nil {
		panic(err)
	}
	return s
}

// DerivePublicKey returns priv's public key.
func (Scheme) DerivePublicKey(priv nike.PrivateKey) nike.PublicKey {
	p, ok := priv.(*PrivateKey)
	if !ok {
		p = new(PrivateKey)
		if err := p.FromBytes(priv.Bytes()); err != nil {
			panic(err)
		}
	}
	return p.Public()
}

// Blind returns X25519(blindingFactor, groupMember).
func (Scheme) Blind(groupMember nike.PublicKey, blindingFactor nike.PrivateKey) nike.PublicKey {
	out := new(PublicKey)
	copy(out[:], blind(groupMember.Bytes(), scalarBytes(blindingFactor)))
	return out
}

// NewEmptyPublicKey returns a zero public key.
func (Scheme) NewEmptyPublicKey() nike.PublicKey { return new(PublicKey) }

// NewEmptyPrivateKey returns a zero private key.
func (Scheme) NewEmptyPrivateKey() nike.PrivateKey { return new(PrivateKey) }

// UnmarshalBinaryPublicKey loads a public key.
func (Scheme) UnmarshalBinaryPublicKey(b []byte) (nike.PublicKey, error) {
	p := new(PublicKey)
	if err := p.FromBytes(b); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalBinaryPrivateKey loads a private key.
func (Scheme) UnmarshalBinaryPrivateKey(b []byte) (nike.PrivateKey, error) {
	p := new(PrivateKey)
	if err := p.FromBytes(b); err != nil {
		return nil, err
	}
	return p, nil
}

func scalarBytes(k nike.PrivateKey) []byte {
	if p, ok := k.(*PrivateKey); ok {
		return p.raw[:]
	}
	return k.Bytes()
}

// blind returns X25519(scalar, u). It panics on an all-zero result (a
// low-order u), as hpqc's does.
func blind(u, scalar []byte) []byte {
	if out, ok := blindEdwards(u, scalar); ok {
		if isZero(out) {
			panic("x25519nike: bad X25519 input: low order point")
		}
		return out
	}
	out, err := curve25519.X25519(scalar, u)
	if err != nil {
		panic(err)
	}
	return out
}

// blindEdwards computes X25519(scalar, u) on edwards25519. ok is false when u
// has no edwards25519 point (twist) or is the exceptional u = -1.
func blindEdwards(u, scalar []byte) (out []byte, ok bool) {
	var fu, one, num, den, y field.Element
	if _, err := fu.SetBytes(u); err != nil { // ignores bit 255 like X25519
		return nil, false
	}
	one.One()
	den.Add(&fu, &one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, false
	}
	num.Subtract(&fu, &one)
	y.Multiply(&num, den.Invert(&den))
	var p edwards25519.Point
	if _, err := p.SetBytes(y.Bytes()); err != nil {
		return nil, false // u is on the twist
	}
	p.MultByCofactor(&p)

	// k = clamp(scalar) is a multiple of 8: [k]P = [k/8]([8]P), and [8]P
	// lies in the prime-order group, so k/8 may be reduced mod l.
	var k [Size]byte
	copy(k[:], scalar)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
	var wide [64]byte
	for i := 0; i < Size; i++ {
		wide[i] = k[i] >> 3
		if i+1 < Size {
			wide[i] |= k[i+1] << 5
		}
	}
	clear(k[:])
	var s edwards25519.Scalar
	if _, err := s.SetUniformBytes(wide[:]); err != nil {
		panic(err)
	}
	clear(wide[:])
	p.ScalarMult(&s, &p)
	return p.BytesMontgomery(), true
}

func isZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}
