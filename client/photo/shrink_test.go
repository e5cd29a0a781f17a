package photo

import (
	"image"
	"testing"
)

// The source is made of flat regions 4k pixels wide, aligned to k and to
// every chroma subsampling, so that each k×k block (and each chroma block)
// lies in one region: the box average of each must then be the region's
// value exactly, at the edges too, where blocks are partial.
func TestShrinkYCbCr(t *testing.T) {
	const k = 3
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411,
		image.YCbCrSubsampleRatio410}
	for _, r := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 100, 70), r)
		for y := 0; y < 70; y++ {
			for x := 0; x < 100; x++ {
				rx, ry := x/(4*k), y/(4*k)
				m.Y[m.YOffset(x, y)] = byte(10 + 20*rx + 7*ry)
				m.Cb[m.COffset(x, y)] = byte(40 + 9*rx + 13*ry)
				m.Cr[m.COffset(x, y)] = byte(200 - 11*rx - 5*ry)
			}
		}
		for _, sub := range []image.Rectangle{m.Bounds(), image.Rect(12, 12, 100, 70), image.Rect(24, 0, 97, 61)} {
			src := m.SubImage(sub).(*image.YCbCr)
			out := shrinkYCbCr(src, k)
			want := image.Rect(0, 0, (sub.Dx()+k-1)/k, (sub.Dy()+k-1)/k)
			if out.Bounds() != want || out.SubsampleRatio != r {
				t.Fatalf("%v %v: shrunk to %v %v, want %v", r, sub, out.Bounds(), out.SubsampleRatio, want)
			}
			for y := 0; y < want.Dy(); y++ {
				for x := 0; x < want.Dx(); x++ {
					got, exp := out.YCbCrAt(x, y), src.YCbCrAt(sub.Min.X+x*k, sub.Min.Y+y*k)
					if got != exp {
						t.Fatalf("%v %v: (%d,%d) = %v, want %v", r, sub, x, y, got, exp)
					}
				}
			}
		}
	}
}

// A block's average: a 2×2 checkerboard of 0 and 255 shrinks to mid grey
// (rounded), a 1-pixel-wide last column averages its two pixels.
func TestShrinkYCbCrAverages(t *testing.T) {
	m := image.NewYCbCr(image.Rect(0, 0, 5, 2), image.YCbCrSubsampleRatio444)
	for y := 0; y < 2; y++ {
		for x := 0; x < 5; x++ {
			if (x+y)%2 == 1 {
				m.Y[m.YOffset(x, y)] = 255
			}
			m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)] = 128, 128
		}
	}
	out := shrinkYCbCr(m, 2)
	if out.Bounds() != image.Rect(0, 0, 3, 1) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if out.Y[0] != 128 || out.Y[1] != 128 || out.Y[2] != 128 { // (0+255)/2 rounded; the last column is 0 and 255
		t.Fatalf("Y = %v", out.Y[:3])
	}
}
