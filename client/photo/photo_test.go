package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// checkClean fails unless b is a baseline JPEG with no metadata segment
// (APPn, COM) and none of the original's metadata bytes, decodes, and has
// the dimensions Prepare reported.
func checkClean(t *testing.T, what string, b []byte, w, h int) image.Image {
	t.Helper()
	for _, m := range jpegMarkers(t, b) {
		switch {
		case m >= 0xE0 && m <= 0xEF:
			t.Errorf("%s: APP%d segment in the output", what, m-0xE0)
		case m == 0xFE:
			t.Errorf("%s: COM segment in the output", what)
		case m >= 0xC1 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			t.Errorf("%s: SOF%d, not baseline", what, m-0xC0)
		}
	}
	if !bytes.Contains(b, []byte{0xFF, 0xC0}) {
		t.Errorf("%s: no baseline SOF0", what)
	}
	for _, s := range []string{"Exif", "http://ns.adobe.com", "Camera", "JFIF"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s: output contains %q", what, s)
		}
	}
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: output does not decode: %v", what, err)
	}
	if got := m.Bounds().Size(); got != image.Pt(w, h) {
		t.Fatalf("%s: decodes to %v, Prepare said %dx%d", what, got, w, h)
	}
	return m
}

// Every orientation, on a phone-like JPEG carrying EXIF with GPS and an XMP
// packet: the output is upright, sized, and carries none of it.
func TestPrepareOrientations(t *testing.T) {
	// Where the stored top-left (red) and top-right (green) corners show
	// once turned upright, from the EXIF specification's definitions of
	// the eight values ("0th row" and "0th column" sides).
	want := map[int][2]string{
		1: {"TL", "TR"}, 2: {"TR", "TL"}, 3: {"BR", "BL"}, 4: {"BL", "BR"},
		5: {"TL", "BL"}, 6: {"TR", "BR"}, 7: {"BR", "TR"}, 8: {"BL", "TL"},
	}
	// 640×480 is scaled in one step; 2000×1500 is first shrunk 2× by the
	// box filter (shrinkYCbCr).
	for _, size := range []image.Point{{640, 480}, {2000, 1500}} {
		prepareOrientations(t, encodeJPEG(t, markedImage(size.X, size.Y), 90), want)
	}
}

func prepareOrientations(t *testing.T, base []byte, want map[int][2]string) {
	for o := 1; o <= 8; o++ {
		bo := byteOrder(binary.BigEndian)
		if o%2 == 0 {
			bo = binary.LittleEndian
		}
		in := withSegments(base, jfifAPP0(), exifAPP1(bo, uint16(o)), xmpAPP1(),
			segment(0xFE, []byte("a comment from the Camera")))
		p, err := Prepare(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		fw, fh, tw, th := 448, 336, 96, 72
		if o >= 5 {
			fw, fh, tw, th = fh, fw, th, tw
		}
		if p.FullWidth != fw || p.FullHeight != fh || p.ThumbWidth != tw || p.ThumbHeight != th {
			t.Fatalf("orientation %d: full %dx%d, thumb %dx%d; want %dx%d, %dx%d", o,
				p.FullWidth, p.FullHeight, p.ThumbWidth, p.ThumbHeight, fw, fh, tw, th)
		}
		if len(p.Full) > FullMax || len(p.Thumb) > ThumbMax {
			t.Fatalf("orientation %d: full %d bytes, thumb %d", o, len(p.Full), len(p.Thumb))
		}
		full := checkClean(t, "full", p.Full, p.FullWidth, p.FullHeight)
		thumb := checkClean(t, "thumb", p.Thumb, p.ThumbWidth, p.ThumbHeight)
		for _, m := range []image.Image{full, thumb} {
			b := m.Bounds()
			in := b.Dx() / 12
			corner := map[string]image.Point{
				"TL": {in, in}, "TR": {b.Dx() - 1 - in, in},
				"BL": {in, b.Dy() - 1 - in}, "BR": {b.Dx() - 1 - in, b.Dy() - 1 - in},
			}
			for c, p := range corner {
				expect := "blue"
				switch c {
				case want[o][0]:
					expect = "red"
				case want[o][1]:
					expect = "green"
				}
				if got := colourAt(m, p.X, p.Y); got != expect {
					t.Errorf("orientation %d, %dx%d: %s corner is %s, want %s", o, b.Dx(), b.Dy(), c, got, expect)
				}
			}
		}
	}
}

func TestPrepareNeverUpscales(t *testing.T) {
	p, err := Prepare(bytes.NewReader(encodeJPEG(t, markedImage(200, 100), 90)))
	if err != nil {
		t.Fatal(err)
	}
	if p.FullWidth != 200 || p.FullHeight != 100 || p.ThumbWidth != 96 || p.ThumbHeight != 48 {
		t.Fatalf("full %dx%d thumb %dx%d", p.FullWidth, p.FullHeight, p.ThumbWidth, p.ThumbHeight)
	}
	tiny := image.NewRGBA(image.Rect(0, 0, 3, 2))
	p, err = Prepare(bytes.NewReader(encodeJPEG(t, tiny, 90)))
	if err != nil {
		t.Fatal(err)
	}
	if p.FullWidth != 3 || p.FullHeight != 2 || p.ThumbWidth != 3 || p.ThumbHeight != 2 {
		t.Fatalf("full %dx%d thumb %dx%d", p.FullWidth, p.FullHeight, p.ThumbWidth, p.ThumbHeight)
	}
	// A sliver keeps at least one pixel on its short side.
	p, err = Prepare(bytes.NewReader(encodeJPEG(t, image.NewGray(image.Rect(0, 0, 4000, 2)), 90)))
	if err != nil {
		t.Fatal(err)
	}
	if p.FullWidth != 448 || p.FullHeight != 1 || p.ThumbWidth != 96 || p.ThumbHeight != 1 {
		t.Fatalf("full %dx%d thumb %dx%d", p.FullWidth, p.FullHeight, p.ThumbWidth, p.ThumbHeight)
	}
}

// The worst picture for JPEG, noise, still fits its limits: the full
// image in at most MaxChunks chunks, the thumbnail in its record.
func TestPrepareNoiseFits(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 1200, 1200))
	seed := uint32(7)
	for i := range m.Pix {
		seed = seed*1664525 + 1013904223
		m.Pix[i] = byte(seed >> 24)
	}
	p, err := Prepare(bytes.NewReader(encodeJPEG(t, m, 95)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Full) > FullMax || len(p.Thumb) > ThumbMax {
		t.Fatalf("full %d bytes (max %d), thumb %d (max %d)", len(p.Full), FullMax, len(p.Thumb), ThumbMax)
	}
	checkClean(t, "full", p.Full, p.FullWidth, p.FullHeight)
	checkClean(t, "thumb", p.Thumb, p.ThumbWidth, p.ThumbHeight)
	t.Logf("noise: full %dx%d %d bytes, thumb %dx%d %d bytes", p.FullWidth, p.FullHeight, len(p.Full),
		p.ThumbWidth, p.ThumbHeight, len(p.Thumb))
}

// PNG and GIF in; transparency ends up white, a GIF keeps its first frame.
func TestPreparePNGAndGIF(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 500, 500))
	for y := 0; y < 500; y++ {
		for x := 0; x < 500; x++ {
			if x < 250 {
				n.SetNRGBA(x, y, color.NRGBA{0xE0, 0x10, 0x10, 0xFF})
			} // the right half stays transparent
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, n); err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(&buf)
	if err != nil {
		t.Fatal(err)
	}
	m := checkClean(t, "png", p.Full, 448, 448)
	if l, r := colourAt(m, 50, 200), colourAt(m, 400, 200); l != "red" || r != "white" {
		t.Fatalf("png: left %s, right %s; want red, white", l, r)
	}

	pal := color.Palette{color.Transparent, red, green}
	frame := func(c uint8) *image.Paletted {
		f := image.NewPaletted(image.Rect(0, 0, 300, 200), pal)
		for i := range f.Pix {
			if i%300 < 150 {
				f.Pix[i] = c
			}
		}
		return f
	}
	buf.Reset()
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame(1), frame(2)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	p, err = Prepare(&buf)
	if err != nil {
		t.Fatal(err)
	}
	m = checkClean(t, "gif", p.Full, 300, 200)
	if l, r := colourAt(m, 50, 100), colourAt(m, 250, 100); l != "red" || r != "white" {
		t.Fatalf("gif: left %s, right %s; want red (the first frame), white", l, r)
	}
	// A first frame that covers only the middle of the logical screen: the
	// rest is transparent, so white.
	buf.Reset()
	small := image.NewPaletted(image.Rect(100, 50, 200, 150), pal)
	for i := range small.Pix {
		small.Pix[i] = 2
	}
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{small}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 300, Height: 200}}); err != nil {
		t.Fatal(err)
	}
	p, err = Prepare(&buf)
	if err != nil {
		t.Fatal(err)
	}
	m = checkClean(t, "gif frame", p.Full, 300, 200)
	if c, e := colourAt(m, 150, 100), colourAt(m, 20, 20); c != "green" || e != "white" {
		t.Fatalf("gif frame: centre %s, edge %s; want green, white", c, e)
	}
	// An opaque paletted GIF too.
	buf.Reset()
	opaque := image.NewPaletted(image.Rect(0, 0, 64, 64), palette.Plan9)
	if err := gif.Encode(&buf, opaque, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(&buf); err != nil {
		t.Fatal(err)
	}
}

// countingReader is an endless source of zero bytes that counts them.
type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	clear(p)
	c.n += len(p)
	return len(p), nil
}

func TestPrepareSizeLimit(t *testing.T) {
	endless := &countingReader{}
	if _, err := Prepare(endless); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless input: %v, want ErrTooLarge", err)
	}
	if endless.n > MaxInput+1+64<<10 {
		t.Fatalf("read %d bytes of an endless input", endless.n)
	}
	// A valid JPEG padded to exactly MaxInput is taken, one byte more not.
	j := encodeJPEG(t, markedImage(64, 48), 80)
	padded := append(j, make([]byte, MaxInput-len(j))...)
	if _, err := Prepare(bytes.NewReader(padded)); err != nil {
		t.Fatalf("%d bytes: %v", len(padded), err)
	}
	_, err := Prepare(bytes.NewReader(append(padded, 0)))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "10 MiB") {
		t.Fatalf("%d bytes: %v, want ErrTooLarge naming the limit", len(padded)+1, err)
	}
}

func TestPrepareNotImage(t *testing.T) {
	j := encodeJPEG(t, photoLike(300, 200), 90)
	var bmp bytes.Buffer
	bmp.WriteString("BM")
	bmp.Write(make([]byte, 60))
	for name, in := range map[string][]byte{
		"empty":          nil,
		"text":           []byte("hello, this is not a picture\n"),
		"bmp":            bmp.Bytes(),
		"truncated jpeg": j[:len(j)/2],
		"header only":    j[:200],
	} {
		_, err := Prepare(bytes.NewReader(in))
		if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), "not a JPEG, PNG or GIF") {
			t.Errorf("%s: %v, want ErrNotImage", name, err)
		}
	}
}

// pngHeader is the start of a PNG declaring w×h: signature and IHDR, no
// pixel data at all, so that only a refusal by the declared size, before
// decoding, can answer ErrDimensions.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func TestPrepareRefusesBombs(t *testing.T) {
	// The same header with sane dimensions gets past the check and fails
	// in the decoder, for want of pixel data.
	if _, err := Prepare(bytes.NewReader(pngHeader(100, 100))); !errors.Is(err, ErrNotImage) {
		t.Fatalf("100x100 header without data: %v, want ErrNotImage from the decoder", err)
	}
	// A JPEG whose SOF0 declares 60000×60000.
	j := encodeJPEG(t, markedImage(16, 16), 80)
	sof := bytes.Index(j, []byte{0xFF, 0xC0})
	bigJPEG := append([]byte(nil), j...)
	binary.BigEndian.PutUint16(bigJPEG[sof+5:], 60000)
	binary.BigEndian.PutUint16(bigJPEG[sof+7:], 60000)
	// A GIF whose logical screen is 65535×65535.
	var g bytes.Buffer
	if err := gif.Encode(&g, image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9), nil); err != nil {
		t.Fatal(err)
	}
	bigGIF := append([]byte(nil), g.Bytes()...)
	binary.LittleEndian.PutUint16(bigGIF[6:], 65535)
	binary.LittleEndian.PutUint16(bigGIF[8:], 65535)

	for name, in := range map[string][]byte{
		"png 100000x100000": pngHeader(100000, 100000),
		"png 16385x10":      pngHeader(MaxInputSide+1, 10),
		"png 10x16385":      pngHeader(10, MaxInputSide+1),
		"png 6400x6400":     pngHeader(6400, 6400), // 41 MP
		"jpeg 60000x60000":  bigJPEG,
		"gif 65535x65535":   bigGIF,
	} {
		_, err := Prepare(bytes.NewReader(in))
		if !errors.Is(err, ErrDimensions) {
			t.Errorf("%s: %v, want ErrDimensions", name, err)
		}
	}
}

func TestDecodeThumb(t *testing.T) {
	p, err := Prepare(bytes.NewReader(encodeJPEG(t, photoLike(800, 600), 90)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeThumb(p.Thumb)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounds().Dx() != p.ThumbWidth || m.Bounds().Dy() != p.ThumbHeight {
		t.Fatalf("thumb decodes to %v", m.Bounds())
	}
	// Too many bytes, too many pixels, not a JPEG, truncated.
	big := encodeJPEG(t, photoLike(ThumbSide+1, 10), 10)
	if len(big) > ThumbMax {
		t.Fatalf("test thumbnail of %d bytes", len(big))
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"too long":  append(bytes.Clone(p.Thumb), make([]byte, ThumbMax)...),
		"too wide":  big,
		"png":       pngHeader(10, 10),
		"truncated": p.Thumb[:len(p.Thumb)-40],
	} {
		if _, err := DecodeThumb(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ w, h, side, ww, wh int }{
		{640, 480, 448, 448, 336},
		{480, 640, 448, 336, 448},
		{448, 448, 448, 448, 448},
		{100, 50, 448, 100, 50},
		{16384, 1, 448, 448, 1},
		{4000, 3000, 96, 96, 72},
		{1001, 1000, 448, 448, 448},
	} {
		if w, h := fit(c.w, c.h, c.side); w != c.ww || h != c.wh {
			t.Errorf("fit(%d, %d, %d) = %d, %d; want %d, %d", c.w, c.h, c.side, w, h, c.ww, c.wh)
		}
	}
}
