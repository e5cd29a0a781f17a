package webui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // uploads may be GIFs (client/photo takes the first frame)
	"image/jpeg"
	"image/png"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/social"
)

// Images are where content other people wrote is most dangerous: a file
// served with a type the browser can run (SVG, HTML) is stored XSS. The
// interface therefore serves only images it decoded and encoded again
// itself, as JPEG or PNG with that exact Content-Type, nosniff and a
// sandboxing CSP; and it accepts uploads only when their bytes are a
// JPEG, PNG or GIF whatever their name says.

// errUnsupportedImage is an upload that is not a JPEG, PNG or GIF.
var errUnsupportedImage = errors.New("only JPEG, PNG or GIF pictures can be posted (SVG, HTML and other files are refused)")

// checkUpload refuses anything but a JPEG, PNG or GIF by its bytes (a
// name ending .jpg says nothing), and a picture whose declared size is
// out of bounds, before anything decodes its pixels. client/photo then
// decodes it, turns it upright and encodes it again without metadata.
func checkUpload(b []byte, name string) error {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".svg", ".svgz", ".html", ".htm", ".xhtml", ".xml":
		return errUnsupportedImage
	}
	switch http.DetectContentType(b) {
	case "image/jpeg", "image/png", "image/gif":
	default:
		return errUnsupportedImage
	}
	if _, _, err := checkedConfig(b); err != nil {
		return err
	}
	return nil
}

// checkedConfig reads an image's declared format and size and checks the
// size against client/photo's limits.
func checkedConfig(b []byte) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return cfg, "", fmt.Errorf("%w: %v", errUnsupportedImage, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > photo.MaxInputSide || cfg.Height > photo.MaxInputSide ||
		cfg.Width*cfg.Height > photo.MaxInputPixels {
		return cfg, "", photo.ErrDimensions
	}
	return cfg, format, nil
}

// maxServedSide bounds the pictures the interface serves: what comes from
// the network is at most photo.FullSide (448) pixels on a side.
const maxServedSide = 2048

// reencode decodes a JPEG or PNG (its pixel count checked first) and
// encodes it again in the same format: what is served is only pixels,
// never bytes someone else chose. It returns the bytes and their type.
func reencode(b []byte) ([]byte, string, error) {
	cfg, format, err := checkedConfig(b)
	if err != nil {
		return nil, "", err
	}
	if cfg.Width > maxServedSide || cfg.Height > maxServedSide {
		return nil, "", photo.ErrDimensions
	}
	if format != "jpeg" && format != "png" {
		return nil, "", errUnsupportedImage
	}
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("webui: decode image: %w", err)
	}
	var out bytes.Buffer
	if format == "png" {
		err = png.Encode(&out, m)
		return out.Bytes(), "image/png", err
	}
	err = jpeg.Encode(&out, m, &jpeg.Options{Quality: 92})
	return out.Bytes(), "image/jpeg", err
}

// imageHeaders are an image response's: its exact type, and a CSP that
// sandboxes it should it be opened on its own.
func imageHeaders(h http.Header, ctype string) {
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", CSP+"; sandbox")
	h.Set("Content-Disposition", "inline")
}

// image serves a post's thumbnail or full image, re-encoded.
func (s *Server) image(w http.ResponseWriter, r *http.Request, full bool) {
	id, err := social.ParsePostID(r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	var b []byte
	if full {
		b, err = s.b.Image(ctx, id)
	} else {
		b, err = s.b.Thumb(ctx, id)
	}
	if err != nil {
		http.Error(w, "image unavailable", http.StatusBadGateway)
		return
	}
	out, ctype, err := reencode(b)
	if err != nil {
		http.Error(w, "image refused", http.StatusUnprocessableEntity)
		return
	}
	imageHeaders(w.Header(), ctype)
	w.Write(out)
}
