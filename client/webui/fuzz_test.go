package webui

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// FuzzImages feeds arbitrary bytes to the two image decoders of the
// interface: reencode (pictures from the network, served to the browser)
// and checkUpload (pictures from the browser). Neither may panic; what
// reencode returns must decode, in the format and size it came in.
func FuzzImages(f *testing.F) {
	m := image.NewRGBA(image.Rect(0, 0, 7, 5))
	m.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var j, p, g bytes.Buffer
	jpeg.Encode(&j, m, nil)
	png.Encode(&p, m)
	gif.Encode(&g, m, nil)
	f.Add(j.Bytes(), "a.jpg")
	f.Add(p.Bytes(), "a.png")
	f.Add(g.Bytes(), "a.gif")
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "a.jpg")
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00\x00\x00\x01\x00\x00\x08\x02"), "big.png")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		checkUpload(b, name)
		out, ctype, err := reencode(b)
		if err != nil {
			return
		}
		in, format, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("reencode took what DecodeConfig refuses: %v", err)
		}
		got, gotFormat, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || gotFormat != format || "image/"+format != ctype || got.Width != in.Width || got.Height != in.Height {
			t.Fatalf("reencode: %v %s %s %+v, from %s %+v", err, gotFormat, ctype, got, format, in)
		}
	})
}
