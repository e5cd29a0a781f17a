// Package seal encrypts small secrets for storage on disk with a
// passphrase: argon2id stretches the passphrase into a key, and
// XChaCha20-Poly1305 encrypts and authenticates the secret. Node identity
// keys (optionally) and the client's local state use it.
//
// Format: "KSEAL1" | salt (16) | time (4, BE) | memory KiB (4, BE) |
// threads (1) | nonce (24) | ciphertext with tag. The header is
// authenticated as associated data, so parameters cannot be lowered.
package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

const magic = "KSEAL1"

// Params are argon2id's cost parameters.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams follow RFC 9106's second recommended option (64 MiB).
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 4}

// Bounds on parameters accepted when opening, so a crafted file cannot make
// Open allocate or compute without limit.
const (
	maxTime   = 64
	maxMemory = 4 * 1024 * 1024 // 4 GiB
	headerLen = len(magic) + 16 + 4 + 4 + 1 + chacha20poly1305.NonceSizeX
)

// Validate checks that p is within the bounds Open accepts, so that a
// crafted header cannot make key derivation run or allocate without limit.
func (p Params) Validate() error {
	if p.Time == 0 || p.Memory < 8 || p.Threads == 0 || p.Time > maxTime || p.Memory > maxMemory {
		return fmt.Errorf("seal: bad argon2id parameters %+v", p)
	}
	return nil
}

// ErrWrongPassphrase is returned when authentication fails: a wrong
// passphrase or a damaged file.
var ErrWrongPassphrase = errors.New("seal: wrong passphrase or damaged data")

// Seal encrypts plaintext under passphrase with DefaultParams.
func Seal(passphrase, plaintext []byte) ([]byte, error) {
	return SealWith(DefaultParams, passphrase, plaintext)
}

// SealWith encrypts plaintext under passphrase with the given parameters.
func SealWith(p Params, passphrase, plaintext []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("seal: empty passphrase")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	hdr := make([]byte, headerLen)
	copy(hdr, magic)
	off := len(magic)
	if _, err := rand.Read(hdr[off : off+16]); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(hdr[off+16:], p.Time)
	binary.BigEndian.PutUint32(hdr[off+20:], p.Memory)
	hdr[off+24] = p.Threads
	if _, err := rand.Read(hdr[off+25:]); err != nil {
		return nil, err
	}
	aead, err := newAEAD(p, passphrase, hdr[off:off+16])
	if err != nil {
		return nil, err
	}
	return aead.Seal(hdr, hdr[off+25:], plaintext, hdr), nil
}

// Open decrypts data sealed by Seal.
func Open(passphrase, sealed []byte) ([]byte, error) {
	if len(sealed) < headerLen+chacha20poly1305.Overhead || !bytes.HasPrefix(sealed, []byte(magic)) {
		return nil, errors.New("seal: not sealed data")
	}
	off := len(magic)
	p := Params{
		Time:    binary.BigEndian.Uint32(sealed[off+16:]),
		Memory:  binary.BigEndian.Uint32(sealed[off+20:]),
		Threads: sealed[off+24],
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	aead, err := newAEAD(p, passphrase, sealed[off:off+16])
	if err != nil {
		return nil, err
	}
	hdr := sealed[:headerLen]
	pt, err := aead.Open(nil, sealed[off+25:headerLen], sealed[headerLen:], hdr)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return pt, nil
}

// IsSealed reports whether data looks like Seal's output.
func IsSealed(data []byte) bool { return bytes.HasPrefix(data, []byte(magic)) }

func newAEAD(p Params, passphrase, salt []byte) (interface {
	Seal(dst, nonce, plaintext, ad []byte) []byte
	Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
}, error) {
	key := argon2.IDKey(passphrase, salt, p.Time, p.Memory, p.Threads, chacha20poly1305.KeySize)
	defer clear(key)
	return chacha20poly1305.NewX(key)
}
