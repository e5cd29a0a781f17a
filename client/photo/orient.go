package photo

import "image"

// orient returns m transformed by the EXIF orientation o so that it shows
// upright; for 5–8 the width and height swap. m is returned as it is for 1
// (and for any value outside 1–8, which jpegOrientation never gives).
func orient(m *image.RGBA, o int) *image.RGBA {
	if o <= orientNormal || o > orientRotate270 {
		return m
	}
	sb := m.Bounds()
	w, h := sb.Dx(), sb.Dy()
	dw, dh := w, h
	if o >= orientTranspose {
		dw, dh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			// (sx, sy) is the stored pixel that shows at (dx, dy).
			var sx, sy int
			switch o {
			case orientFlipH:
				sx, sy = w-1-dx, dy
			case orientRotate180:
				sx, sy = w-1-dx, h-1-dy
			case orientFlipV:
				sx, sy = dx, h-1-dy
			case orientTranspose:
				sx, sy = dy, dx
			case orientRotate90:
				sx, sy = dy, h-1-dx
			case orientTransverse:
				sx, sy = w-1-dy, h-1-dx
			case orientRotate270:
				sx, sy = w-1-dy, dx
			}
			si := m.PixOffset(sb.Min.X+sx, sb.Min.Y+sy)
			di := out.PixOffset(dx, dy)
			copy(out.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return out
}
