package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// Test images are made here, in code: no binary fixtures.

var (
	red   = color.RGBA{0xE0, 0x10, 0x10, 0xFF}
	green = color.RGBA{0x10, 0xD0, 0x10, 0xFF}
	blue  = color.RGBA{0x10, 0x10, 0xD0, 0xFF}
)

// markedImage is a w×h blue picture with a red square in its top-left
// corner and a green one in its top-right corner, each side/5 wide.
func markedImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	s := min(w, h) / 5
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := blue
			switch {
			case y < s && x < s:
				c = red
			case y < s && x >= w-s:
				c = green
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// photoLike is a w×h picture with smooth gradients and a little noise, as
// a camera's picture has, from a fixed seed.
func photoLike(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			n := int(seed>>28) - 8
			i := m.PixOffset(x, y)
			m.Pix[i+0] = clamp(x*255/w + n)
			m.Pix[i+1] = clamp(y*255/h + n)
			m.Pix[i+2] = clamp((x+y)*255/(w+h) + n)
			m.Pix[i+3] = 0xFF
		}
	}
	return m
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

func encodeJPEG(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withSegments returns the JPEG j with the given marker segments inserted
// right after its SOI marker, as cameras and editors place them.
func withSegments(j []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), j[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

// segment builds a marker segment: FF marker, length, payload.
func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// exifAPP1 builds an EXIF APP1 segment, in byte order bo, whose IFD0 holds
// a camera make, the orientation o, and a pointer to a GPS IFD carrying a
// latitude (52° 31' 12.34" N): what a phone writes.
func exifAPP1(bo byteOrder, o uint16) []byte {
	var t []byte
	if bo == binary.LittleEndian {
		t = append(t, 'I', 'I')
	} else {
		t = append(t, 'M', 'M')
	}
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8)
	// entry appends a 12-byte IFD entry; value is the 4-byte value field.
	entry := func(tag, typ uint16, count uint32, value []byte) {
		t = bo.AppendUint16(t, tag)
		t = bo.AppendUint16(t, typ)
		t = bo.AppendUint32(t, count)
		t = append(t, value...)
	}
	short := func(v uint16) []byte { return append(bo.AppendUint16(nil, v), 0, 0) }
	long := func(v uint32) []byte { return bo.AppendUint32(nil, v) }
	// IFD0 at 8: 3 entries, 2 + 36 + 4 = 42 bytes; the make's text at 50,
	// the GPS IFD at 58 (2 + 24 + 4 = 30 bytes), its rationals at 88.
	t = bo.AppendUint16(t, 3)
	entry(0x010F, 2, 8, long(50)) // Make: ASCII, 8 bytes at 50
	entry(tagOrientation, typeShort, 1, short(o))
	entry(0x8825, 4, 1, long(58)) // GPSInfo: LONG pointer to the GPS IFD
	t = bo.AppendUint32(t, 0)     // no IFD1
	t = append(t, "Camera\x00\x00"...)
	t = bo.AppendUint16(t, 2)
	entry(0x0001, 2, 2, []byte{'N', 0, 0, 0}) // GPSLatitudeRef: "N"
	entry(0x0002, 5, 3, long(88))             // GPSLatitude: 3 RATIONAL at 88
	t = bo.AppendUint32(t, 0)
	for _, r := range [][2]uint32{{52, 1}, {31, 1}, {1234, 100}} {
		t = bo.AppendUint32(t, r[0])
		t = bo.AppendUint32(t, r[1])
	}
	if len(t) != 112 {
		panic("exifAPP1: layout")
	}
	return segment(0xE1, append([]byte("Exif\x00\x00"), t...))
}

const xmpNS = "http://ns.adobe.com/xap/1.0/\x00"

// xmpAPP1 is an XMP packet with a location, in its APP1 segment.
func xmpAPP1() []byte {
	return segment(0xE1, []byte(xmpNS+`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>`+
		`<rdf:Description exif:GPSLatitude="52,31.2N"/></rdf:RDF></x:xmpmeta>`))
}

// jfifAPP0 is a JFIF APP0 segment, which many writers put first.
func jfifAPP0() []byte {
	return segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
}

// jpegMarkers lists every marker of a JPEG, including those after the
// scans, by walking its segments and the entropy-coded data.
func jpegMarkers(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Fatal("no SOI")
	}
	markers := []byte{0xD8}
	i := 2
	for i+1 < len(b) {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		markers = append(markers, m)
		if m == 0xD9 {
			return markers
		}
		if i+4 > len(b) {
			t.Fatal("truncated segment")
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
		if m != 0xDA {
			continue
		}
		// Entropy-coded data: skip stuffed 00 and restart markers.
		for i+1 < len(b) && !(b[i] == 0xFF && b[i+1] != 0 && (b[i+1] < 0xD0 || b[i+1] > 0xD7)) {
			i++
		}
	}
	t.Fatal("no EOI")
	return nil
}

// colourAt names the colour of m around (x, y): red, green, blue or other.
func colourAt(m image.Image, x, y int) string {
	r, g, b, _ := m.At(x, y).RGBA()
	r, g, b = r>>8, g>>8, b>>8
	switch {
	case r > 160 && g < 90 && b < 90:
		return "red"
	case g > 150 && r < 90 && b < 90:
		return "green"
	case b > 150 && r < 90 && g < 90:
		return "blue"
	case r > 235 && g > 235 && b > 235:
		return "white"
	}
	return "other"
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}
