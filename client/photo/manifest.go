package photo

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/jpeg"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/record"
)

// ChunkSize is the largest chunk of a full image: one chunk is the body of
// one /kpost/ record (record.ChunkSize).
const ChunkSize = record.ChunkSize

// MaxChunks is the most chunks a manifest may list: its encoding (32 bytes
// a chunk and a few for the rest) must fit one record body as a chunk does.
const MaxChunks = 48

// FullMax is the largest full image, in bytes: MaxChunks chunks of
// ChunkSize bytes.
const FullMax = MaxChunks * ChunkSize

// MaxManifest is the largest encoded manifest DecodeManifest reads.
const MaxManifest = ChunkSize

// Errors of the network side: a manifest, its chunks or a thumbnail that
// is not what it must be.
var (
	ErrMalformed = errors.New("photo: malformed manifest or thumbnail")
	ErrMismatch  = errors.New("photo: chunks do not match the manifest")
)

// Manifest describes a full image split into content-addressed chunks:
// every chunk but the last has exactly ChunkSize bytes, the last has the
// rest, and Hashes holds the SHA-256 of each, in order.
type Manifest struct {
	Width, Height int // of the full image, 1..FullSide
	Size          int // bytes of the whole image
	ChunkSize     int // bytes of every chunk but the last, 1..photo.ChunkSize
	Hashes        [][sha256.Size]byte
}

// manifestWire is the manifest's deterministic CBOR form. The hashes are
// one byte string of 32 bytes each, so that decoding allocates no more than
// the input's size.
type manifestWire struct {
	Width     uint32 `cbor:"1,keyasint"`
	Height    uint32 `cbor:"2,keyasint"`
	Size      uint32 `cbor:"3,keyasint"`
	ChunkSize uint32 `cbor:"4,keyasint"`
	Hashes    []byte `cbor:"5,keyasint"`
}

var manifestDec = detcbor.NewDecoder(16, 4)

// Chunks splits data into chunks of max bytes, the last holding the rest;
// the chunks share data's memory. It panics if max < 1.
func Chunks(data []byte, max int) [][]byte {
	if max < 1 {
		panic("photo: chunk size < 1")
	}
	out := make([][]byte, 0, (len(data)+max-1)/max)
	for len(data) > 0 {
		n := min(len(data), max)
		out = append(out, data[:n:n])
		data = data[n:]
	}
	return out
}

// Split splits the full image into chunks of ChunkSize bytes and returns
// its manifest and the chunks, in the manifest's order.
func (p *Prepared) Split() (*Manifest, [][]byte, error) {
	return NewManifest(p.Full, p.FullWidth, p.FullHeight, ChunkSize)
}

// NewManifest splits a full image of width×height pixels into chunks of
// chunkSize bytes and describes them; it refuses what DecodeManifest would.
func NewManifest(full []byte, width, height, chunkSize int) (*Manifest, [][]byte, error) {
	if chunkSize < 1 || chunkSize > ChunkSize {
		return nil, nil, fmt.Errorf("%w: chunk size %d", ErrMalformed, chunkSize)
	}
	chunks := Chunks(full, chunkSize)
	m := &Manifest{Width: width, Height: height, Size: len(full), ChunkSize: chunkSize,
		Hashes: make([][sha256.Size]byte, len(chunks))}
	for i, c := range chunks {
		m.Hashes[i] = sha256.Sum256(c)
	}
	if err := m.check(); err != nil {
		return nil, nil, err
	}
	return m, chunks, nil
}

// check enforces the limits every manifest obeys.
func (m *Manifest) check() error {
	n := len(m.Hashes)
	switch {
	case m.Width < 1 || m.Width > FullSide || m.Height < 1 || m.Height > FullSide:
		return fmt.Errorf("%w: %dx%d pixels", ErrMalformed, m.Width, m.Height)
	case m.ChunkSize < 1 || m.ChunkSize > ChunkSize:
		return fmt.Errorf("%w: chunk size %d", ErrMalformed, m.ChunkSize)
	case n < 1 || n > MaxChunks:
		return fmt.Errorf("%w: %d chunks (1..%d)", ErrMalformed, n, MaxChunks)
	case m.Size <= (n-1)*m.ChunkSize || m.Size > n*m.ChunkSize:
		return fmt.Errorf("%w: %d bytes in %d chunks of %d", ErrMalformed, m.Size, n, m.ChunkSize)
	}
	return nil
}

// Encode returns the manifest's deterministic encoding, at most
// MaxManifest bytes.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	w := manifestWire{Width: uint32(m.Width), Height: uint32(m.Height), Size: uint32(m.Size),
		ChunkSize: uint32(m.ChunkSize), Hashes: make([]byte, 0, len(m.Hashes)*sha256.Size)}
	for _, h := range m.Hashes {
		w.Hashes = append(w.Hashes, h[:]...)
	}
	b, err := detcbor.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("photo: encode manifest: %w", err)
	}
	return b, nil
}

// DecodeManifest decodes a manifest received from the network: at most
// MaxManifest bytes, deterministic CBOR, and within every limit of a
// manifest, all checked before anything is taken from it.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes (at most %d)", ErrMalformed, len(b), MaxManifest)
	}
	var w manifestWire
	if err := manifestDec.UnmarshalCanonical(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(w.Hashes)%sha256.Size != 0 || len(w.Hashes) > MaxChunks*sha256.Size ||
		w.Width > FullSide || w.Height > FullSide || w.ChunkSize > ChunkSize || w.Size > FullMax {
		return nil, fmt.Errorf("%w: field out of bounds", ErrMalformed)
	}
	m := &Manifest{Width: int(w.Width), Height: int(w.Height), Size: int(w.Size),
		ChunkSize: int(w.ChunkSize), Hashes: make([][sha256.Size]byte, len(w.Hashes)/sha256.Size)}
	for i := range m.Hashes {
		copy(m.Hashes[i][:], w.Hashes[i*sha256.Size:])
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// Assemble puts the full image back together from its chunks, in the
// manifest's order, and returns it only if each chunk has the length and
// SHA-256 the manifest gives, and the whole is a JPEG of the manifest's
// dimensions; anything else is refused with ErrMismatch.
func Assemble(m *Manifest, chunks [][]byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if len(chunks) != len(m.Hashes) {
		return nil, fmt.Errorf("%w: %d chunks, manifest lists %d", ErrMismatch, len(chunks), len(m.Hashes))
	}
	for i, c := range chunks {
		if sha256.Sum256(c) != m.Hashes[i] {
			return nil, fmt.Errorf("%w: chunk %d has the wrong hash", ErrMismatch, i)
		}
	}
	return Join(chunks, m.Size, m.ChunkSize, m.Width, m.Height)
}

// Join is Assemble for chunks whose integrity the caller checked by other
// means (e.g. each came from a record whose key is its hash): it checks
// their lengths (every chunk chunkSize bytes but the last, size in all)
// and that the whole is a JPEG of width × height, and joins them.
func Join(chunks [][]byte, size, chunkSize, width, height int) ([]byte, error) {
	n := len(chunks)
	if n == 0 || chunkSize <= 0 || size <= 0 || size > (n)*chunkSize || size <= (n-1)*chunkSize {
		return nil, fmt.Errorf("%w: %d chunks of %d bytes cannot make %d bytes", ErrMismatch, n, chunkSize, size)
	}
	out := make([]byte, 0, size)
	for i, c := range chunks {
		want := chunkSize
		if i == n-1 {
			want = size - (n-1)*chunkSize
		}
		if len(c) != want {
			return nil, fmt.Errorf("%w: chunk %d has %d bytes, not %d", ErrMismatch, i, len(c), want)
		}
		out = append(out, c...)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("%w: not a JPEG: %v", ErrMismatch, err)
	}
	if cfg.Width != width || cfg.Height != height {
		return nil, fmt.Errorf("%w: JPEG of %dx%d, manifest says %dx%d", ErrMismatch, cfg.Width, cfg.Height, width, height)
	}
	return out, nil
}
