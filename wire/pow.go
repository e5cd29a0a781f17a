package wire

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// MaxPoWBits is the highest proof-of-work difficulty anything may ask.
const MaxPoWBits = 32

// PoWZeros returns the number of leading zero bits of
// SHA-256(prefix ‖ nonce as 8 bytes big-endian): the hashcash proof of work
// that anonymous posts and set items carry. The prefix holds a context string
// and what the work covers, so that work done for one thing cannot be reused
// for another.
func PoWZeros(prefix []byte, nonce uint64) int {
	h := sha256.New()
	h.Write(prefix)
	var nb [8]byte
	binary.BigEndian.PutUint64(nb[:], nonce)
	h.Write(nb[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	n := 0
	for i := 0; i < len(sum); i += 8 {
		w := binary.BigEndian.Uint64(sum[i:])
		n += bits.LeadingZeros64(w)
		if w != 0 {
			break
		}
	}
	return n
}

// SolvePoW finds the smallest nonce for which PoWZeros(prefix, nonce) is at
// least difficulty. Each bit doubles the expected work (12 bits: ~4096
// hashes). It stops with ctx's error when ctx ends first.
func SolvePoW(ctx context.Context, prefix []byte, difficulty int) (uint64, error) {
	if difficulty < 0 || difficulty > MaxPoWBits {
		return 0, fmt.Errorf("proof-of-work of %d bits, want 0..%d: %w", difficulty, MaxPoWBits, ErrInvalid)
	}
	for nonce := uint64(0); ; nonce++ {
		if PoWZeros(prefix, nonce) >= difficulty {
			return nonce, nil
		}
		if nonce&0xfff == 0xfff {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("solving proof-of-work: %w", err)
			}
		}
	}
}
