package photo

import (
	"encoding/binary"
	"testing"
)

func TestJPEGOrientation(t *testing.T) {
	base := encodeJPEG(t, markedImage(40, 30), 80)
	for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := uint16(1); o <= 8; o++ {
			if got := jpegOrientation(withSegments(base, exifAPP1(bo, o))); got != int(o) {
				t.Errorf("%v, orientation %d: read %d", bo, o, got)
			}
			// After a JFIF APP0 and an XMP APP1, as many writers order them.
			if got := jpegOrientation(withSegments(base, jfifAPP0(), xmpAPP1(), exifAPP1(bo, o))); got != int(o) {
				t.Errorf("%v, orientation %d after APP0 and XMP: read %d", bo, o, got)
			}
		}
	}
}

func TestJPEGOrientationInvalid(t *testing.T) {
	base := encodeJPEG(t, markedImage(40, 30), 80)
	good := exifAPP1(binary.BigEndian, 6)
	if jpegOrientation(withSegments(base, good)) != 6 {
		t.Fatal("the unmodified segment must read 6")
	}
	// Offsets within the segment: 4 (marker, length) + 6 ("Exif\0\0") = 10
	// to the TIFF header; IFD0 at 10+8; the orientation entry is its second.
	const tiff = 10
	const orientEntry = tiff + 8 + 2 + 12
	cases := map[string]func(s []byte) []byte{
		"no EXIF":                func(s []byte) []byte { return nil },
		"value 0":                func(s []byte) []byte { s[orientEntry+8], s[orientEntry+9] = 0, 0; return s },
		"value 9":                func(s []byte) []byte { s[orientEntry+9] = 9; return s },
		"type LONG":              func(s []byte) []byte { s[orientEntry+3] = 4; return s },
		"count 2":                func(s []byte) []byte { s[orientEntry+7] = 2; return s },
		"bad byte order":         func(s []byte) []byte { s[tiff] = 'X'; return s },
		"bad magic":              func(s []byte) []byte { s[tiff+3] = 43; return s },
		"IFD0 past the end":      func(s []byte) []byte { s[tiff+4] = 0x7F; return s },
		"IFD0 inside the header": func(s []byte) []byte { s[tiff+7] = 4; return s },
		"entry count past end":   func(s []byte) []byte { s[tiff+8] = 0x10; return s },
		"not Exif":               func(s []byte) []byte { s[4] = 'e'; return s },
		"TIFF truncated":         func(s []byte) []byte { s = s[:tiff+6]; s[3] = byte(len(s) - 2); return s },
	}
	for name, mutate := range cases {
		seg := mutate(append([]byte(nil), good...))
		if got := jpegOrientation(withSegments(base, seg)); got != 1 {
			t.Errorf("%s: read %d, want 1", name, got)
		}
	}
	// A segment whose length runs past the file, and inputs that are no
	// JPEG at all.
	for name, b := range map[string][]byte{
		"segment past end": {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'},
		"length 1":         {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0, 0},
		"not a JPEG":       []byte("GIF89a......"),
		"empty":            nil,
	} {
		if got := jpegOrientation(b); got != 1 {
			t.Errorf("%s: read %d, want 1", name, got)
		}
	}
	// EXIF after the first scan is not the image's: it is not read.
	afterScan := append(append([]byte(nil), base[:len(base)-2]...), good...)
	if got := jpegOrientation(append(afterScan, 0xFF, 0xD9)); got != 1 {
		t.Errorf("EXIF after the scan: read %d, want 1", got)
	}
}
