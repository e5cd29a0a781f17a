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
	"fmt"
	"strings"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
)

// Namespaces (the first segment of a DHT key).
const (
	NSProfile = "kprof"
	NSPost    = "kpost"
	NSBox     = "kbox"
)

// MaxValue is the largest record value: it must fit, with its key, in one
// exit request (wire.MaxRequestBody = 2044 bytes).
const MaxValue = 1900

// MaxTTL is the longest expiry a record may ask for.
const MaxTTL = 30 * 24 * time.Hour

// Validation errors. They name the reason, never the content, and unwrap to
// the wire status they are reported with (wire.ErrInvalid, wire.ErrTooLarge,
// wire.ErrPoW, wire.ErrExpired).
var (
	ErrMalformed    = wire.Reason(wire.ErrInvalid, "record: malformed")
	ErrTooLarge     = wire.Reason(wire.ErrTooLarge, "record: too large")
	ErrBadSignature = wire.Reason(wire.ErrInvalid, "record: bad signature")
	ErrWrongHash    = wire.Reason(wire.ErrInvalid, "record: key is not the record's hash")
	ErrWrongKey     = wire.Reason(wire.ErrInvalid, "record: key does not match the record")
	ErrPoW          = wire.Reason(wire.ErrPoW, "record: insufficient proof of work")
	ErrExpired      = wire.Reason(wire.ErrExpired, "record: expired or expiry too far ahead")
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
