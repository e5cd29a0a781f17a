package photo

import "encoding/binary"

// The EXIF orientation values (TIFF tag 0x0112): how the stored pixels must
// be transformed to be shown upright.
const (
	orientNormal     = 1 // as stored
	orientFlipH      = 2 // mirrored left to right
	orientRotate180  = 3
	orientFlipV      = 4 // mirrored top to bottom
	orientTranspose  = 5 // mirrored along the main diagonal
	orientRotate90   = 6 // turned 90° clockwise to show
	orientTransverse = 7 // mirrored along the anti-diagonal
	orientRotate270  = 8 // turned 90° anticlockwise to show
)

const (
	tagOrientation = 0x0112
	typeShort      = 3
)

// jpegOrientation returns the EXIF orientation (1–8) that a JPEG's first
// EXIF APP1 segment declares, or 1 when there is none or it cannot be read.
// It reads only the segments before the first scan, and checks every
// length and offset against the bytes it has: the input is the user's file,
// whatever it holds.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return orientNormal
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return orientNormal
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2 // no length
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return orientNormal
		}
		n := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if n < 2 || i+2+n > len(b) {
			return orientNormal
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return orientNormal
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the body
// of an EXIF segment), in either byte order; 1 when absent or invalid.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return orientNormal
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return orientNormal
	}
	if bo.Uint16(t[2:4]) != 42 {
		return orientNormal
	}
	off := uint64(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > uint64(len(t)) {
		return orientNormal
	}
	count := uint64(bo.Uint16(t[off : off+2]))
	entries := off + 2
	if count > (uint64(len(t))-entries)/12 {
		return orientNormal
	}
	for k := uint64(0); k < count; k++ {
		e := t[entries+12*k : entries+12*k+12]
		if bo.Uint16(e[0:2]) != tagOrientation {
			continue
		}
		if bo.Uint16(e[2:4]) != typeShort || bo.Uint32(e[4:8]) != 1 {
			return orientNormal
		}
		// A single SHORT sits in the first two bytes of the value field.
		v := int(bo.Uint16(e[8:10]))
		if v < orientNormal || v > orientRotate270 {
			return orientNormal
		}
		return v
	}
	return orientNormal
}
