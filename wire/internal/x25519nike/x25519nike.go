// Package x25519nike is an X25519 NIKE for katzenpost's Sphinx that performs
// only the scalar multiplications a hop needs. It is wire-identical to hpqc's
// nike/x25519 (same name, sizes, clamping and blinding) but:
//
//   - a private key is prepared once (crypto/ecdh), so a shared secret costs
//     one variable-base multiplication instead of two;
//   - keys derived by Sphinx's KDF (blinding factors) never compute a public
//     key nobody uses;
//   - blinding a group element, X25519(b, u), is one Montgomery ladder
//     (RFC 7748 §5) over filippo.io/edwards25519/field, instead of
//     crypto/ecdh's NewPrivateKey (a ladder for an unused public key) plus a
//     ladder.
//
// The ladder is the X25519 function as RFC 7748 specifies it, written over
// the same field implementation crypto/ecdh uses; no field arithmetic is
// written here, and tests compare it with crypto/ecdh and hpqc on random,
// non-canonical, twist and small-order inputs.
package x25519nike

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519/field"
	"github.com/katzenpost/hpqc/nike"
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
	var out [Size]byte
	x25519(&out, scalar, u)
	if isZero(out[:]) {
		panic("x25519nike: bad X25519 input: low order point")
	}
	return out[:]
}

// x25519 sets dst to X25519(scalar, u): the Montgomery ladder of RFC 7748
// §5, step for step, over filippo.io/edwards25519/field (the field crypto/ecdh
// uses too). It is constant-time: conditional swaps, no secret branches or
// indexes. It exists because crypto/ecdh computes a public key for every new
// scalar, a second ladder a blinding does not need.
func x25519(dst *[Size]byte, scalar, u []byte) {
	var k [Size]byte
	copy(k[:], scalar)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	var x1, x2, z2, x3, z3, t0, t1 field.Element
	if _, err := x1.SetBytes(u); err != nil { // ignores bit 255, as RFC 7748 says
		panic(err) // u is always 32 bytes here
	}
	x2.One()
	x3.Set(&x1)
	z3.One()
	swap := 0
	for pos := 254; pos >= 0; pos-- {
		bit := int(k[pos/8]>>(pos&7)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		t0.Subtract(&x3, &z3)  // D = x3 - z3
		t1.Subtract(&x2, &z2)  // B = x2 - z2
		x2.Add(&x2, &z2)       // A = x2 + z2
		z2.Add(&x3, &z3)       // C = x3 + z3
		z3.Multiply(&t0, &x2)  // DA
		z2.Multiply(&z2, &t1)  // CB
		t0.Square(&t1)         // BB
		t1.Square(&x2)         // AA
		x3.Add(&z3, &z2)       // DA + CB
		z2.Subtract(&z3, &z2)  // DA - CB
		x2.Multiply(&t1, &t0)  // x2 = AA * BB
		t1.Subtract(&t1, &t0)  // E = AA - BB
		z2.Square(&z2)         // (DA - CB)^2
		z3.Mult32(&t1, 121666) // a24 * E
		x3.Square(&x3)         // x3 = (DA + CB)^2
		t0.Add(&t0, &z3)       // BB + a24 * E
		z3.Multiply(&x1, &z2)  // z3 = x1 * (DA - CB)^2
		z2.Multiply(&t1, &t0)  // z2 = E * (BB + a24 * E)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	clear(k[:])

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(dst[:], x2.Bytes())
}

func isZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}

var fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// lowOrder are the u-coordinates, reduced mod p = 2^255-19, of the points of
// order dividing 8 on Curve25519 and its twist: 0, 1, p-1 and the two
// points of order 8. X25519 with any of them gives the all-zero output.
var lowOrder = func() [5]*big.Int {
	p := fieldP
	u8a, _ := new(big.Int).SetString("00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0", 16)
	u8b, _ := new(big.Int).SetString("57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5f", 16)
	return [5]*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(p, big.NewInt(1)), u8a, u8b}
}()

// lowOrderLE are the 32-byte little-endian encodings, top bit clear, of
// the low-order u-coordinates and of the values that reduce to them mod p
// (p and p+1 for 0 and 1; the others plus p do not fit 255 bits).
var lowOrderLE = func() [][Size]byte {
	var out [][Size]byte
	for _, l := range lowOrder {
		for _, u := range []*big.Int{l, new(big.Int).Add(l, fieldP)} {
			if u.BitLen() > 255 {
				continue
			}
			var le [Size]byte
			u.FillBytes(le[:])
			slices.Reverse(le[:])
			out = append(out, le)
		}
	}
	return out
}()

// IsLowOrder reports whether the 32-byte X25519 public key pub (as X25519
// reads it: little-endian, top bit ignored, non-canonical values reduced) is
// a low-order point, on which DeriveSecret panics. It costs a few byte
// comparisons and no scalar multiplication, so a node can refuse such a
// packet before any key exchange.
func IsLowOrder(pub []byte) bool {
	if len(pub) != Size {
		return false
	}
	var u [Size]byte
	copy(u[:], pub)
	u[Size-1] &= 0x7f
	for _, l := range lowOrderLE {
		if u == l {
			return true
		}
	}
	return false
}
