package setitem

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
)

// Hard limits, whatever the namespace rules say. Decoders check them before
// anything else.
const (
	// MaxNamespaceLen is the longest namespace name; names are [a-z0-9]+.
	MaxNamespaceLen = 16
	// MaxKeySize is the longest set key.
	MaxKeySize = 64
	// NullifierSize is the size of a nullifier: an Ed25519 public key.
	NullifierSize = ed25519.PublicKeySize
	// ItemSizeCap is the largest encoded item any namespace may allow.
	ItemSizeCap = 32 << 10
	// MaxClockSkew is how far beyond now+TTL an item's expiry may lie, to
	// tolerate writers whose clocks run ahead.
	MaxClockSkew = 5 * time.Minute
)

// Item is one element of a set. Its encoding is deterministic CBOR and its
// id is the SHA-256 of that encoding, so two replicas agree on ids.
type Item struct {
	// Namespace selects the Rules, e.g. "vote".
	Namespace string `cbor:"1,keyasint"`
	// Key names the set within the namespace (1..MaxKeySize bytes).
	Key []byte `cbor:"2,keyasint"`
	// Body is opaque to the service (usually ciphertext or a signed record).
	Body []byte `cbor:"3,keyasint"`
	// Nullifier, if set (only in namespaces with Rules.Dedup), is a
	// deduplication key: of the items of a set with the same nullifier only
	// the one with the latest Expires (ties: the greater Sig) is kept. It is
	// an Ed25519 public key, and Sig its signature of the item (see Sign):
	// only the holder of its private key can replace the item.
	Nullifier []byte `cbor:"4,keyasint,omitempty"`
	// Expires is when the item is deleted, in Unix seconds. It may lie at
	// most the namespace's TTL (plus MaxClockSkew) in the future.
	Expires int64 `cbor:"5,keyasint"`
	// Nonce is the proof-of-work nonce (see Solve).
	Nonce uint64 `cbor:"6,keyasint"`
	// Sig is the nullifier key's signature (see Sign); empty without a
	// nullifier.
	Sig []byte `cbor:"7,keyasint,omitempty"`
}

// dec decodes items: an item has no arrays, so the array bound is the
// smallest the CBOR library accepts (16; 8 made every importer panic at init).
var dec = detcbor.NewDecoder(16, 4)

// Encode checks the item's structure (not the namespace rules) and
// returns its deterministic encoding.
func Encode(it *Item) ([]byte, error) {
	if err := it.checkShape(); err != nil {
		return nil, err
	}
	b, err := detcbor.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("setitem: encode item: %w", err)
	}
	if len(b) > ItemSizeCap {
		return nil, fmt.Errorf("setitem: item of %d bytes exceeds %d: %w", len(b), ItemSizeCap, wire.ErrTooLarge)
	}
	return b, nil
}

// Decode decodes an encoded item strictly: size first, then structure;
// unknown fields, duplicate keys, indefinite lengths, tags and non-canonical
// encodings are rejected, so an item has exactly one encoding and one id.
func Decode(b []byte) (*Item, error) {
	if len(b) > ItemSizeCap {
		return nil, fmt.Errorf("setitem: item of %d bytes exceeds %d: %w", len(b), ItemSizeCap, wire.ErrTooLarge)
	}
	var it Item
	if err := dec.UnmarshalCanonical(b, &it); err != nil {
		return nil, fmt.Errorf("setitem: decode item: %v: %w", err, wire.ErrInvalid)
	}
	if err := it.checkShape(); err != nil {
		return nil, err
	}
	return &it, nil
}

// ID returns the item's id: the SHA-256 of its encoding.
func (it *Item) ID() ([32]byte, error) {
	b, err := Encode(it)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// Cursor is the scan cursor just after it: a Scan given it continues with
// the items that sort after this one (by expiry, then id).
func (it *Item) Cursor() ([]byte, error) {
	id, err := it.ID()
	if err != nil {
		return nil, err
	}
	return append(ExpiryBytes(it.Expires), id[:]...), nil
}

// ValidNamespace reports whether ns is 1..MaxNamespaceLen of [a-z0-9].
func ValidNamespace(ns string) bool {
	if len(ns) == 0 || len(ns) > MaxNamespaceLen {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkShape checks limits that hold in every namespace.
func (it *Item) checkShape() error {
	if !ValidNamespace(it.Namespace) {
		return fmt.Errorf("setitem: namespace must be 1..%d of [a-z0-9]: %w", MaxNamespaceLen, wire.ErrInvalid)
	}
	if len(it.Key) == 0 || len(it.Key) > MaxKeySize {
		return fmt.Errorf("setitem: key of %d bytes, want 1..%d: %w", len(it.Key), MaxKeySize, wire.ErrInvalid)
	}
	if len(it.Nullifier) != 0 && len(it.Nullifier) != NullifierSize {
		return fmt.Errorf("setitem: nullifier of %d bytes, want %d: %w", len(it.Nullifier), NullifierSize, wire.ErrInvalid)
	}
	if len(it.Sig) != 0 && (len(it.Sig) != ed25519.SignatureSize || len(it.Nullifier) == 0) {
		return fmt.Errorf("setitem: a signature needs a nullifier and %d bytes: %w", ed25519.SignatureSize, wire.ErrInvalid)
	}
	if len(it.Body) > ItemSizeCap {
		return fmt.Errorf("setitem: body of %d bytes exceeds %d: %w", len(it.Body), ItemSizeCap, wire.ErrTooLarge)
	}
	if it.Expires <= 0 {
		return fmt.Errorf("setitem: expiry must be positive: %w", wire.ErrInvalid)
	}
	return nil
}

// sigContext separates the nullifier signature from every other signature.
const sigContext = "komrade/set/item-sig/v1\x00"

// signed is what the nullifier key signs: the item's encoding without Sig
// and with Nonce zero, so that the proof of work is solved after signing
// (and covers the signature).
func (it *Item) signed() ([]byte, error) {
	b, err := it.encodeBlank(true)
	if err != nil {
		return nil, err
	}
	return append([]byte(sigContext), b...), nil
}

// encodeBlank encodes the item with Nonce zero and, with noSig, without
// Sig: what the proof of work and the signature are computed over.
func (it *Item) encodeBlank(noSig bool) ([]byte, error) {
	c := *it
	c.Nonce = 0
	if noSig {
		c.Sig = nil
	}
	return Encode(&c)
}

// Sign makes priv's public key the item's nullifier and signs the item
// with it. Call it after setting every other field and before Solve. To
// vote (or RSVP, or pin) unlinkably, use a key of its own for each set,
// such as NullifierKey gives.
func (it *Item) Sign(priv ed25519.PrivateKey) error {
	it.Nullifier = bytes.Clone(priv.Public().(ed25519.PublicKey))
	msg, err := it.signed()
	if err != nil {
		return err
	}
	it.Sig = ed25519.Sign(priv, msg)
	return nil
}

// checkSig reports whether an item with a nullifier carries its key's
// signature (an item without one needs none).
func (it *Item) checkSig() bool {
	if len(it.Nullifier) == 0 {
		return len(it.Sig) == 0
	}
	// Decoded items have these lengths already; ed25519.Verify would
	// panic on a wrong key length, so it is checked here all the same.
	if len(it.Nullifier) != NullifierSize || len(it.Sig) != ed25519.SignatureSize {
		return false
	}
	msg, err := it.signed()
	return err == nil && ed25519.Verify(it.Nullifier, msg, it.Sig)
}

// Supersedes reports whether an item (expiry bytes exp, signature sig)
// replaces the held item with the same nullifier: a later expiry wins, and
// at equal expiry the greater signature. Ids do not decide: the nonce is
// outside the signature, so anyone could grind an old item's id.
func Supersedes(exp, sig, heldExp, heldSig []byte) bool {
	if c := bytes.Compare(exp, heldExp); c != 0 {
		return c > 0
	}
	return bytes.Compare(sig, heldSig) > 0
}

// NullifierKey derives the nullifier key of one writer for one set from a
// secret only that writer holds: the same secret gives the same key for the
// same set (so a vote can be changed), and keys of different sets cannot
// be linked to each other without the secret.
func NullifierKey(secret []byte, ns string, key []byte) (ed25519.PrivateKey, error) {
	sk := SetKey(ns, key)
	seed, err := hkdf.Key(sha256.New, secret, sk[:], "komrade/set/nullifier-key/v1", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("setitem: nullifier key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// powContext separates the proof-of-work hash from every other hash.
const powContext = "komrade/set/pow/v1\x00"

// powPrefix is what the proof-of-work hashes before the nonce: powContext
// and the SHA-256 of the item's encoding with Nonce set to zero, so the work
// covers every field and cannot be reused for another item.
func (it *Item) powPrefix() ([]byte, error) {
	b, err := it.encodeBlank(false)
	if err != nil {
		return nil, err
	}
	base := sha256.Sum256(b)
	return append([]byte(powContext), base[:]...), nil
}

// Solve finds a proof-of-work nonce for bits of difficulty (hashcash):
// SHA-256(powContext ‖ SHA-256(encoding with Nonce 0) ‖ Nonce) must start
// with bits zero bits. Every other field must be final before Solve. Each
// additional bit doubles the expected work (12 bits: ~4096 hashes).
func (it *Item) Solve(ctx context.Context, bits int) error {
	prefix, err := it.powPrefix()
	if err != nil {
		return err
	}
	nonce, err := wire.SolvePoW(ctx, prefix, bits)
	if err != nil {
		return fmt.Errorf("setitem: %w", err)
	}
	it.Nonce = nonce
	return nil
}

// CheckPoW reports whether the item carries bits of proof-of-work.
func (it *Item) CheckPoW(bits int) bool {
	if bits <= 0 {
		return true
	}
	prefix, err := it.powPrefix()
	if err != nil {
		return false
	}
	return wire.PoWZeros(prefix, it.Nonce) >= bits
}

// SetKey names a set: SHA-256("komrade/set/v1\x00" ‖ ns ‖ 0 ‖ key). It is the
// set's prefix in the store and, as a string, its kad-dht lookup key.
func SetKey(ns string, key []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("komrade/set/v1\x00"))
	h.Write([]byte(ns))
	h.Write([]byte{0})
	h.Write(key)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// ExpiryBytes is an expiry as 8 bytes big-endian (negative as 0): the first
// part of a scan cursor, and of a stored item's key, so that byte order is
// expiry order.
func ExpiryBytes(exp int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(max(exp, 0)))
}
