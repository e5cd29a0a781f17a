// Package record defines the signed records Komrade stores in its DHT and
// the kad-dht validators that storage nodes run on every write and read:
//
//   - /kprof/<author>  public profiles, signed by the author's Ed25519
//     identity key; the highest sequence number wins;
//   - /kpost/<hash>    public posts and image chunks, addressed by the
//     SHA-256 of the record; signed by an author, or anonymous with a
//     proof-of-work stamp;
//   - /kbox/<box id>   mailbox boxes in the spirit of BACAP: the box id is a
//     blinded Ed25519 public key, and the value is signed by the matching
//     blinded private key, so only the holder of the write capability can
//     fill a box, and consecutive boxes are unlinkable.
//
// Every record has a size limit and an expiry carried inside what is signed
// (or hashed); nothing is kept forever. Records are written and read by exit
// nodes on clients' behalf, so storage nodes never learn who wrote or reads.
// Validators reject bad input with a typed reason (ErrMalformed,
// ErrBadSignature, ErrWrongHash, ErrTooLarge, ErrPoW, ErrExpired,
// ErrWrongKey) that can be logged without the content.
package record

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/komrade-net/komrade/dht/detcbor"
)

// Namespaces (the first segment of a DHT key).
const (
	NSProfile = "kprof"
	NSPost    = "kpost"
	NSBox     = "kbox"
)

// MaxValue is the largest record value: it must fit, with its key, in one
// exit request (packet.MaxRequestBody = 2044 bytes).
const MaxValue = 1900

// MaxTTL is the longest expiry a record may ask for.
const MaxTTL = 30 * 24 * time.Hour

// Validation errors. They name the reason, never the content.
var (
	ErrMalformed    = errors.New("record: malformed")
	ErrTooLarge     = errors.New("record: too large")
	ErrBadSignature = errors.New("record: bad signature")
	ErrWrongHash    = errors.New("record: key is not the record's hash")
	ErrWrongKey     = errors.New("record: key does not match the record")
	ErrPoW          = errors.New("record: insufficient proof of work")
	ErrExpired      = errors.New("record: expired or expiry too far ahead")
)

var dec = detcbor.NewDecoder(16, 4)

// decodeStrict decodes a deterministic CBOR value and rejects any other
// encoding of it, so that a record has exactly one byte form.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxValue {
		return fmt.Errorf("%w: %d bytes exceeds %d", ErrTooLarge, len(b), MaxValue)
	}
	if err := dec.UnmarshalCanonical(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Clock returns the current time; validators take one so tests can move it.
type Clock func() time.Time

func (c Clock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// checkExpiry accepts an expiry in the future and no further than MaxTTL.
func checkExpiry(expires int64, now time.Time) error {
	e := time.Unix(expires, 0)
	if !e.After(now) || e.After(now.Add(MaxTTL+time.Hour)) {
		return ErrExpired
	}
	return nil
}

// SplitKey returns the namespace and the rest of a /ns/rest key.
func SplitKey(key string) (ns, rest string, err error) {
	if !strings.HasPrefix(key, "/") {
		return "", "", fmt.Errorf("%w: key without namespace", ErrMalformed)
	}
	ns, rest, ok := strings.Cut(key[1:], "/")
	if !ok || ns == "" || rest == "" {
		return "", "", fmt.Errorf("%w: key without namespace", ErrMalformed)
	}
	return ns, rest, nil
}

// leadingZeroBits counts the leading zero bits of SHA-256(prefix || nonce).
func powBits(prefix []byte, nonce uint64) int {
	var nb [8]byte
	binary.BigEndian.PutUint64(nb[:], nonce)
	h := sha256.New()
	h.Write(prefix)
	h.Write(nb[:])
	sum := h.Sum(nil)
	n := 0
	for _, b := range sum {
		if b == 0 {
			n += 8
			continue
		}
		n += bits.LeadingZeros8(b)
		break
	}
	return n
}

// solvePoW finds a nonce giving at least bits leading zero bits.
func solvePoW(prefix []byte, difficulty int) uint64 {
	for nonce := uint64(0); ; nonce++ {
		if powBits(prefix, nonce) >= difficulty {
			return nonce
		}
	}
}

// Validator checks and orders the records of one namespace; it has the
// method set of go-libp2p-record's Validator, which kad-dht takes.
type Validator interface {
	Validate(key string, value []byte) error
	Select(key string, values [][]byte) (int, error)
}

// Validators returns the validator of each record namespace; posts without
// a signature need powBits of proof-of-work (0: not checked, as a client
// that does not know the network's setting does).
func Validators(powBits int) map[string]Validator {
	return map[string]Validator{
		NSProfile: ProfileValidator{},
		NSPost:    PostValidator{PoWBits: powBits},
		NSBox:     BoxValidator{},
	}
}
