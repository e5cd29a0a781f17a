package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// The fuzz targets feed arbitrary bytes to every parser here that reads
// input it did not make: the EXIF reader (the user's file), and the
// manifest, the chunks and the thumbnail (the network). None may panic,
// and what they accept must be what they promise. Each input starts from
// fresh state: the functions keep none.

func FuzzOrientation(f *testing.F) {
	base := encodeJPEG(f, markedImage(8, 8), 50)
	for o := uint16(1); o <= 8; o++ {
		f.Add(withSegments(base[:2], exifAPP1(binary.LittleEndian, o)))
		f.Add(withSegments(base[:2], jfifAPP0(), exifAPP1(binary.BigEndian, o)))
	}
	f.Add(base)
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		if o := tiffOrientation(b); o < 1 || o > 8 {
			t.Fatalf("TIFF orientation %d", o)
		}
	})
}

func FuzzManifest(f *testing.F) {
	full := encodeJPEG(f, photoLike(64, 48), 80)
	for _, size := range []int{ChunkSize, 100, 1} {
		if m, _, err := NewManifest(full, 64, 48, size); err == nil {
			enc, _ := m.Encode()
			f.Add(enc, full)
			f.Add(enc, full[1:])
		}
	}
	f.Fuzz(func(t *testing.T, b, image []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		again, err := m.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted manifest does not encode back: %v", err)
		}
		out, err := Assemble(m, Chunks(image, m.ChunkSize))
		if err != nil {
			return
		}
		if !bytes.Equal(out, image) || len(out) != m.Size {
			t.Fatal("assembled something other than the chunks")
		}
	})
}

func FuzzDecodeThumb(f *testing.F) {
	f.Add(encodeJPEG(f, photoLike(96, 72), 30))
	f.Add(encodeJPEG(f, photoLike(8, 8), 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeThumb(b)
		if err != nil {
			return
		}
		if r := m.Bounds(); r.Dx() > ThumbSide || r.Dy() > ThumbSide || len(b) > ThumbMax {
			t.Fatalf("accepted a %v thumbnail of %d bytes", r, len(b))
		}
	})
}
