package photo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/record"
)

func TestChunks(t *testing.T) {
	data := make([]byte, 2*ChunkSize+5)
	rand.Read(data)
	c := Chunks(data, ChunkSize)
	if len(c) != 3 || len(c[0]) != ChunkSize || len(c[1]) != ChunkSize || len(c[2]) != 5 {
		t.Fatalf("chunk lengths: %d chunks", len(c))
	}
	if !bytes.Equal(bytes.Join(c, nil), data) {
		t.Fatal("chunks do not join back to the data")
	}
	if len(Chunks(data[:ChunkSize], ChunkSize)) != 1 || len(Chunks(nil, ChunkSize)) != 0 {
		t.Fatal("exact and empty splits")
	}
	if len(Chunks([]byte("abc"), 1)) != 3 {
		t.Fatal("chunks of one byte")
	}
	// A chunk's capacity ends at its length: appending to one cannot
	// overwrite the next.
	c = Chunks(data, 10)
	next := c[1][0]
	_ = append(c[0], next+1)
	if c[1][0] != next {
		t.Fatal("append to a chunk reached the next")
	}
}

// prepared returns a Prepared picture of a photo-like 1600×1200 image.
func prepared(t testing.TB) *Prepared {
	t.Helper()
	p, err := Prepare(bytes.NewReader(encodeJPEG(t, photoLike(1600, 1200), 90)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSplitAssemble(t *testing.T) {
	p := prepared(t)
	m, chunks, err := p.Split()
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 2 {
		t.Fatalf("a %d-byte image in %d chunks: the test needs several", len(p.Full), len(chunks))
	}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := DecodeManifest(enc)
	if err != nil {
		t.Fatal(err)
	}
	// What travels: copies of the chunks.
	got := make([][]byte, len(chunks))
	for i, c := range chunks {
		got[i] = bytes.Clone(c)
	}
	out, err := Assemble(m2, got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, p.Full) {
		t.Fatal("assembled image differs from the full image")
	}
	t.Logf("full image %dx%d, %d bytes, %d chunks, manifest %d bytes", p.FullWidth, p.FullHeight,
		len(p.Full), len(chunks), len(enc))
}

func TestAssembleRefusesTampering(t *testing.T) {
	p := prepared(t)
	m, chunks, err := p.Split()
	if err != nil {
		t.Fatal(err)
	}
	n := len(chunks)
	clone := func() [][]byte {
		c := make([][]byte, n)
		for i := range chunks {
			c[i] = bytes.Clone(chunks[i])
		}
		return c
	}
	cases := map[string]func() [][]byte{
		"one bit flipped": func() [][]byte { c := clone(); c[1][100] ^= 1; return c },
		"last bit flipped": func() [][]byte {
			c := clone()
			c[n-1][len(c[n-1])-1] ^= 0x80
			return c
		},
		"two swapped":      func() [][]byte { c := clone(); c[0], c[1] = c[1], c[0]; return c },
		"one missing":      func() [][]byte { return clone()[:n-1] },
		"one extra":        func() [][]byte { return append(clone(), []byte("x")) },
		"last truncated":   func() [][]byte { c := clone(); c[n-1] = c[n-1][:len(c[n-1])-1]; return c },
		"last extended":    func() [][]byte { c := clone(); c[n-1] = append(c[n-1], 0); return c },
		"chunk replaced":   func() [][]byte { c := clone(); c[0] = make([]byte, ChunkSize); return c },
		"none":             func() [][]byte { return nil },
		"re-split at 1000": func() [][]byte { return Chunks(p.Full, 1000) },
	}
	for name, mk := range cases {
		if _, err := Assemble(m, mk()); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v, want ErrMismatch", name, err)
		}
	}
	// The chunks match, but the manifest lies about the dimensions: the
	// JPEG's own header gives it away.
	lie := *m
	lie.Width--
	if _, err := Assemble(&lie, clone()); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong width: %v, want ErrMismatch", err)
	}
	// Chunks that hash right but are no JPEG.
	junk := make([]byte, 3000)
	mj, cj, err := NewManifest(junk, 10, 10, ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Assemble(mj, cj); !errors.Is(err, ErrMismatch) {
		t.Errorf("not a JPEG: %v, want ErrMismatch", err)
	}
	// A manifest outside the limits is refused before any chunk is looked at.
	bad := *m
	bad.Hashes = nil
	if _, err := Assemble(&bad, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("manifest without chunks: %v, want ErrMalformed", err)
	}
}

func TestDecodeManifestRefuses(t *testing.T) {
	m, _, err := NewManifest(make([]byte, 2*ChunkSize+1), 400, 300, ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	good, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeManifest(good); err != nil {
		t.Fatal(err)
	}
	hashes := func(n int) []byte { return make([]byte, n) }
	wire := func(w manifestWire) []byte {
		b, err := detcbor.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := manifestWire{Width: 400, Height: 300, Size: 2*ChunkSize + 1, ChunkSize: ChunkSize, Hashes: hashes(96)}
	if _, err := DecodeManifest(wire(ok)); err != nil {
		t.Fatalf("the base case must decode: %v", err)
	}
	// Width 400 (0x19 0x01 0x90 after key 1) as -400 (0x39 0x01 0x8F).
	negative := bytes.Replace(wire(ok), []byte{0x01, 0x19, 0x01, 0x90}, []byte{0x01, 0x39, 0x01, 0x8F}, 1)
	if bytes.Equal(negative, wire(ok)) {
		t.Fatal("the width is not where the test expects it")
	}
	mod := func(f func(w *manifestWire)) []byte { w := ok; f(&w); return wire(w) }
	cases := map[string][]byte{
		"empty":           nil,
		"too long":        append(bytes.Clone(good), make([]byte, MaxManifest)...),
		"trailing byte":   append(bytes.Clone(good), 0),
		"not canonical":   append([]byte{0xB9, 0x00, 0x05}, good[1:]...), // map length in 2 bytes
		"unknown field":   append([]byte{0xA6}, append(good[1:], 0x06, 0x00)...),
		"width 0":         mod(func(w *manifestWire) { w.Width = 0 }),
		"width over":      mod(func(w *manifestWire) { w.Width = FullSide + 1 }),
		"height 0":        mod(func(w *manifestWire) { w.Height = 0 }),
		"height 2^32-1":   mod(func(w *manifestWire) { w.Height = 1<<32 - 1 }),
		"chunk size 0":    mod(func(w *manifestWire) { w.ChunkSize = 0 }),
		"chunk size over": mod(func(w *manifestWire) { w.ChunkSize = ChunkSize + 1 }),
		"hashes not 32n":  mod(func(w *manifestWire) { w.Hashes = hashes(95) }),
		"no hashes":       mod(func(w *manifestWire) { w.Hashes = nil; w.Size = 0 }),
		"too many chunks": mod(func(w *manifestWire) {
			w.Hashes = hashes(32 * (MaxChunks + 1))
			w.ChunkSize = 1
			w.Size = MaxChunks + 1
		}),
		"size for fewer": mod(func(w *manifestWire) { w.Size = 2 * ChunkSize }),
		"size for more":  mod(func(w *manifestWire) { w.Size = 3*ChunkSize + 1 }),
		"size 0":         mod(func(w *manifestWire) { w.Size = 0 }),
		"not a map":      {0x80},
		"negative width": negative,
	}
	for name, b := range cases {
		if _, err := DecodeManifest(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := (&Manifest{Width: 1, Height: 1, Size: 1, ChunkSize: 1}).Encode(); !errors.Is(err, ErrMalformed) {
		t.Errorf("encoding a manifest without chunks: %v", err)
	}
	if _, _, err := NewManifest(make([]byte, FullMax+1), 448, 448, ChunkSize); !errors.Is(err, ErrMalformed) {
		t.Errorf("a full image over FullMax: %v", err)
	}
}

// The constants are chosen so that what goes out fits the records it goes
// out in: a chunk, the largest manifest, and a thumbnail with a post's text
// each in one signed /kpost/ record.
func TestSizesFitRecords(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	fits := func(body []byte) error {
		p := &record.Post{Created: time.Now().Unix(), Expires: time.Now().Add(record.MaxTTL).Unix(), Body: body}
		_, err := record.SignPost(p, priv)
		return err
	}
	if err := fits(make([]byte, ChunkSize)); err != nil {
		t.Fatalf("a chunk: %v", err)
	}
	m := &Manifest{Width: FullSide, Height: FullSide, Size: FullMax, ChunkSize: ChunkSize,
		Hashes: make([][sha256.Size]byte, MaxChunks)}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) > MaxManifest {
		t.Fatalf("the largest manifest has %d bytes, over %d", len(enc), MaxManifest)
	}
	if err := fits(enc); err != nil {
		t.Fatalf("the largest manifest: %v", err)
	}
	// ThumbMax's comment: a signed record leaves 1781 bytes of body.
	if err := fits(make([]byte, 1781)); err != nil {
		t.Fatalf("1781-byte body: %v", err)
	}
	if err := fits(make([]byte, 1782)); !errors.Is(err, record.ErrTooLarge) {
		t.Fatalf("1782-byte body: %v, want ErrTooLarge", err)
	}
	// A post: 600 bytes of text, the largest thumbnail and the manifest's
	// key, in CBOR.
	post := struct {
		Text     string `cbor:"1,keyasint"`
		Thumb    []byte `cbor:"2,keyasint"`
		Manifest []byte `cbor:"3,keyasint"`
	}{string(bytes.Repeat([]byte("a"), 600)), make([]byte, ThumbMax), make([]byte, sha256.Size)}
	body, err := detcbor.Marshal(&post)
	if err != nil {
		t.Fatal(err)
	}
	if err := fits(body); err != nil {
		t.Fatalf("a post with a thumbnail: %v", err)
	}
}
