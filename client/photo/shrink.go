package photo

import "image"

// shrinkYCbCr reduces m by the integer factor k on both axes, averaging
// each k×k block of each plane (a box filter); a block at the right or
// bottom edge averages what it has. It is a cheap first step before the
// fine scaler, which on a large picture otherwise spends most of its time
// weighting dozens of source pixels per output pixel: the box keeps every
// source pixel's contribution, so the result does not alias.
func shrinkYCbCr(m *image.YCbCr, k int) *image.YCbCr {
	b := m.Bounds()
	sw, sh := b.Dx(), b.Dy()
	out := image.NewYCbCr(image.Rect(0, 0, (sw+k-1)/k, (sh+k-1)/k), m.SubsampleRatio)
	ob := out.Bounds()

	y0 := m.YOffset(b.Min.X, b.Min.Y)
	boxPlane(out.Y, out.YStride, ob.Dx(), ob.Dy(), m.Y[y0:], m.YStride, sw, sh, k)

	// The chroma planes' sizes follow from the subsampling: the offsets of
	// the last pixel's column and row.
	c0 := m.COffset(b.Min.X, b.Min.Y)
	scw := m.COffset(b.Max.X-1, b.Min.Y) - c0 + 1
	sch := (m.COffset(b.Min.X, b.Max.Y-1)-c0)/m.CStride + 1
	ocw := out.COffset(ob.Max.X-1, 0) + 1
	och := out.COffset(0, ob.Max.Y-1)/out.CStride + 1
	boxPlane(out.Cb, out.CStride, ocw, och, m.Cb[c0:], m.CStride, scw, sch, k)
	boxPlane(out.Cr, out.CStride, ocw, och, m.Cr[c0:], m.CStride, scw, sch, k)
	return out
}

// boxPlane fills the dw×dh plane dst with the averages of k×k blocks of the
// sw×sh plane src, clamping blocks to src.
func boxPlane(dst []byte, dstride, dw, dh int, src []byte, sstride, sw, sh, k int) {
	for dy := 0; dy < dh; dy++ {
		y1 := min(dy*k, sh-1)
		y2 := min(y1+k, sh)
		for dx := 0; dx < dw; dx++ {
			x1 := min(dx*k, sw-1)
			x2 := min(x1+k, sw)
			sum := 0
			for y := y1; y < y2; y++ {
				row := src[y*sstride+x1 : y*sstride+x2]
				for _, v := range row {
					sum += int(v)
				}
			}
			n := (y2 - y1) * (x2 - x1)
			dst[dy*dstride+dx] = byte((sum + n/2) / n)
		}
	}
}
