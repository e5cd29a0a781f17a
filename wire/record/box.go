package record

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/internal/detcbor"
)

const boxContext = "komrade box v1\x00"

// MaxBoxBlob is the largest ciphertext a box holds: one packet's worth.
const MaxBoxBlob = 1700

// DefaultBoxTTL is how long a mailbox box lives unless the writer says less.
const DefaultBoxTTL = 7 * 24 * time.Hour

// Box is a mailbox box's value. The box id (its key) is a BACAP blinded
// Ed25519 public key; Sig is made with the matching blinded private key over
// the expiry and the blob, so storage nodes can check that the writer holds
// the write capability without learning anything else.
type Box struct {
	Expires int64  `cbor:"1,keyasint"`
	Blob    []byte `cbor:"2,keyasint"` // ciphertext, opaque to storage
	Sig     []byte `cbor:"3,keyasint"`
}

// BoxKey is the DHT key of a box id.
func BoxKey(id [32]byte) string { return "/" + NSBox + "/" + hex.EncodeToString(id[:]) }

// BoxSigned returns the bytes a box signature covers.
func BoxSigned(expires int64, blob []byte) []byte {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(expires))
	out := append([]byte(boxContext), e[:]...)
	return append(out, blob...)
}

// SealBox fills box index idx of a BACAP stream: it returns the box id and
// the encoded Box holding blob, signed with the blinded key for (idx, ctx).
func SealBox(wc *bacap.WriteCap, idx *bacap.MessageBoxIndex, ctx []byte, blob []byte, ttl time.Duration) ([32]byte, []byte, error) {
	if len(blob) > MaxBoxBlob {
		return [32]byte{}, nil, fmt.Errorf("%w: box blob of %d bytes exceeds %d", ErrTooLarge, len(blob), MaxBoxBlob)
	}
	expires := time.Now().Add(ttl).Unix()
	id, sig := idx.SignBox(wc, ctx, BoxSigned(expires, blob))
	out, err := detcbor.Marshal(&Box{Expires: expires, Blob: blob, Sig: sig})
	if err != nil {
		return id, nil, err
	}
	return id, out, nil
}

// DecodeBox decodes a box value and verifies its signature against id.
func DecodeBox(id [32]byte, b []byte) (*Box, error) {
	var box Box
	if err := decodeStrict(b, &box); err != nil {
		return nil, err
	}
	if len(box.Blob) > MaxBoxBlob {
		return nil, ErrTooLarge
	}
	if len(box.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: bad signature length", ErrMalformed)
	}
	if !ed25519.Verify(ed25519.PublicKey(id[:]), BoxSigned(box.Expires, box.Blob), box.Sig) {
		return nil, ErrBadSignature
	}
	return &box, nil
}

// BoxID parses the id out of a /kbox/ key.
func BoxID(key string) ([32]byte, error) {
	var id [32]byte
	ns, rest, err := SplitKey(key)
	if err != nil || ns != NSBox {
		return id, fmt.Errorf("%w: not a box key", ErrMalformed)
	}
	b, err := hex.DecodeString(rest)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%w: bad box id", ErrMalformed)
	}
	copy(id[:], b)
	return id, nil
}

// BoxValidator validates /kbox/ records.
type BoxValidator struct{ Clock Clock }

// Validate implements record.Validator.
func (v BoxValidator) Validate(key string, value []byte) error {
	id, err := BoxID(key)
	if err != nil {
		return err
	}
	box, err := DecodeBox(id, value)
	if err != nil {
		return err
	}
	return checkExpiry(box.Expires, v.Clock.now())
}

// Select implements record.Validator. Only a capability holder can write a
// box, and a box is written once: if it was written twice, every node keeps
// the first, the earlier expiry (then the smaller encoding). So a second
// writer (someone who answered an invite already answered) gets "stale"
// instead of silently replacing what the first wrote, and a re-write of
// the same box after a lost acknowledgement changes nothing.
func (v BoxValidator) Select(key string, values [][]byte) (int, error) {
	id, err := BoxID(key)
	if err != nil {
		return 0, err
	}
	best := -1
	var bestBox *Box
	for i, raw := range values {
		b, err := DecodeBox(id, raw)
		if err != nil {
			continue
		}
		if best < 0 || b.Expires < bestBox.Expires || (b.Expires == bestBox.Expires && bytes.Compare(raw, values[best]) < 0) {
			best, bestBox = i, b
		}
	}
	if best < 0 {
		return 0, ErrMalformed
	}
	return best, nil
}
