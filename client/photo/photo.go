package photo

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
)

// Limits on what Prepare accepts.
const (
	// MaxInput is the largest file Prepare reads: 10 MiB.
	MaxInput = 10 << 20
	// MaxInputSide is the longest side, in pixels, an input may declare.
	MaxInputSide = 16384
	// MaxInputPixels is the most pixels an input may declare: decoding
	// allocates about 4 bytes for each, so this bounds a decompression bomb
	// to 160 MB however small its file is.
	MaxInputPixels = 40_000_000
)

// Sizes of what Prepare produces.
const (
	// FullSide is the longest side of the full image, in pixels. A full
	// image that does not fit FullMax bytes at FullSide is made again at
	// fallbackSide (320).
	FullSide = 448
	// ThumbSide is the longest side of the thumbnail, in pixels. A
	// thumbnail that does not fit ThumbMax bytes even at a low quality is
	// made again at a smaller size.
	ThumbSide = 96
	// ThumbMax is the largest thumbnail, in bytes. The thumbnail travels
	// inside the profile or post record, whose value may have at most
	// record.MaxValue (1900) bytes: a signed record costs 119 of them
	// (author, signature, times and framing), which leaves 1781 for its
	// body, and ThumbMax leaves 757 of those for the text, the manifest's
	// key and their framing.
	ThumbMax = 1024
)

// fallbackSide is the full image's longest side when FullSide would not
// fit FullMax bytes even at the lowest quality tried.
const fallbackSide = 320

// Quality ladders, tried in order until the encoding fits.
var (
	fullQualities  = []int{85, 75, 60, 45, 30}
	thumbQualities = []int{60, 45, 30, 20, 10}
	thumbSides     = []int{ThumbSide, 80, 64, 48, 32, 16}
)

// Errors of Prepare. They name the reason, never the content.
var (
	ErrTooLarge   = errors.New("photo: file larger than 10 MiB")
	ErrNotImage   = errors.New("photo: not a JPEG, PNG or GIF image")
	ErrDimensions = errors.New("photo: image dimensions out of bounds")
)

// Prepared is a picture ready to publish: two baseline JPEGs without any
// metadata, upright.
type Prepared struct {
	// Full is the full image, at most FullSide pixels on its long side and
	// at most FullMax bytes; publish it with Split.
	Full                  []byte
	FullWidth, FullHeight int
	// Thumb is the thumbnail, at most ThumbSide pixels on its long side and
	// at most ThumbMax bytes; it goes inside the profile or post record.
	Thumb                   []byte
	ThumbWidth, ThumbHeight int
}

// Prepare reads a JPEG, PNG or GIF of at most MaxInput bytes from r and
// makes the full image and the thumbnail of it (see the package comment).
// An input that is larger, that is no such image, or whose declared
// dimensions exceed MaxInputSide or MaxInputPixels is refused before it is
// decoded. Of an animated GIF, the first frame is kept.
func Prepare(r io.Reader) (*Prepared, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("photo: read: %w", err)
	}
	if len(data) > MaxInput {
		return nil, ErrTooLarge
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if err := checkInputDims(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	// Decode with the format's own decoder: image.Decode would also take
	// any format another package registered.
	var src image.Image
	orientation := orientNormal
	switch format {
	case "jpeg":
		src, err = jpeg.Decode(bytes.NewReader(data))
		orientation = jpegOrientation(data)
	case "png":
		src, err = png.Decode(bytes.NewReader(data))
	case "gif":
		src, err = gif.Decode(bytes.NewReader(data))
		if err == nil && src.Bounds() != image.Rect(0, 0, cfg.Width, cfg.Height) {
			// The first frame may cover only part of the logical screen,
			// which shows transparent around it.
			screen := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
			draw.Draw(screen, src.Bounds(), src, src.Bounds().Min, draw.Src)
			src = screen
		}
	default:
		return nil, fmt.Errorf("%w: %s", ErrNotImage, format)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: decode %s: %v", ErrNotImage, format, err)
	}
	if b := src.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("%w: decoded %dx%d, declared %dx%d", ErrNotImage, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}

	p := &Prepared{}
	var full *image.RGBA
	for _, side := range []int{FullSide, fallbackSide} {
		full = upright(src, orientation, side)
		if p.Full, err = encodeWithin(full, fullQualities, FullMax); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("photo: full image: %w", err)
	}
	p.FullWidth, p.FullHeight = full.Bounds().Dx(), full.Bounds().Dy()

	for _, side := range thumbSides {
		thumb := upright(full, orientNormal, side)
		if p.Thumb, err = encodeWithin(thumb, thumbQualities, ThumbMax); err == nil {
			p.ThumbWidth, p.ThumbHeight = thumb.Bounds().Dx(), thumb.Bounds().Dy()
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("photo: thumbnail: %w", err)
	}
	return p, nil
}

func checkInputDims(w, h int) error {
	if w < 1 || h < 1 || w > MaxInputSide || h > MaxInputSide || w*h > MaxInputPixels {
		return fmt.Errorf("%w: %dx%d (at most %d a side and %d pixels)", ErrDimensions, w, h, MaxInputSide, MaxInputPixels)
	}
	return nil
}

// fit returns w×h scaled down, keeping its aspect ratio, so that its long
// side is at most side; never up, and never below 1 pixel.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, (h*side+w/2)/w)
	}
	return max(1, (w*side+h/2)/h), side
}

// upright scales src so that, once turned by the EXIF orientation o, its
// long side is at most side, and turns it. Scaling first keeps the turn on
// the small image. Transparent pixels are composited onto white, as a JPEG
// has no alpha.
func upright(src image.Image, o, side int) *image.RGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	turned := o >= orientTranspose
	if turned {
		sw, sh = sh, sw
	}
	w, h := fit(sw, sh, side)
	if turned {
		w, h = h, w
	}
	if ycc, ok := src.(*image.YCbCr); ok {
		// A large JPEG is first reduced to at least twice the size asked.
		if k := min(sb.Dx()/(2*w), sb.Dy()/(2*h)); k >= 2 {
			src = shrinkYCbCr(ycc, k)
			sb = src.Bounds()
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if op2, ok := src.(interface{ Opaque() bool }); !ok || !op2.Opaque() {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sb, op, nil)
	return orient(dst, o)
}

var errNoFit = errors.New("does not fit even at the lowest quality")

// encodeWithin encodes m as a baseline JPEG at the first of qualities whose
// encoding has at most limit bytes. image/jpeg writes no APPn or COM
// segment, so nothing but the pixels goes out.
func encodeWithin(m image.Image, qualities []int, limit int) ([]byte, error) {
	var buf bytes.Buffer
	for _, q := range qualities {
		buf.Reset()
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		if buf.Len() <= limit {
			return bytes.Clone(buf.Bytes()), nil
		}
	}
	return nil, fmt.Errorf("%dx%d in %d bytes: %w", m.Bounds().Dx(), m.Bounds().Dy(), limit, errNoFit)
}

// DecodeThumb checks a thumbnail received from the network and decodes it:
// at most ThumbMax bytes, a JPEG, at most ThumbSide pixels a side, all
// checked before the pixels are decoded.
func DecodeThumb(b []byte) (image.Image, error) {
	if len(b) == 0 || len(b) > ThumbMax {
		return nil, fmt.Errorf("%w: thumbnail of %d bytes (at most %d)", ErrMalformed, len(b), ThumbMax)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: thumbnail: %v", ErrMalformed, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > ThumbSide || cfg.Height > ThumbSide {
		return nil, fmt.Errorf("%w: thumbnail of %dx%d", ErrMalformed, cfg.Width, cfg.Height)
	}
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: thumbnail: %v", ErrMalformed, err)
	}
	return m, nil
}
