package mapview

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/komrade-net/komrade/wire/geo"
)

// The SVG's geometry, in its own units (pixels at 100%).
const (
	svgSize   = 640.0
	svgRadius = 290.0 // the view's circle
	svgMargin = 8.0
)

// kindColour is the fill of each kind's marker.
var kindColour = map[string]string{
	KindPolice: "#1f4fd1",
	KindDanger: "#c81e1e",
	KindMedic:  "#1d8a36",
	KindWater:  "#1790b8",
	KindOther:  "#666666",
	KindAlert:  "#d86a00",
}

// SVG writes a self-contained SVG image of the markers of v: north up, a
// grid of round metre spacing, the view's circle, a scale bar and a north
// arrow; each marker a disc with its letter (a hollow, dashed disc when the
// pin is unconfirmed; an alert also its circle), with a <title> (shown on
// hover) giving its kind, distance, bearing, confirmations and note.
//
// It references nothing outside itself (no links, images, fonts, styles or
// scripts), and everything a marker brings (id, note) goes only into
// character data, escaped by encoding/xml (characters XML cannot hold
// become U+FFFD), never into an attribute or markup: a note cannot add an
// element or an attribute. Markers outside the image are left out and
// counted at its foot.
func SVG(w io.Writer, v View, markers []Marker) error {
	if err := v.Validate(); err != nil {
		return err
	}
	c := svgSize / 2
	px := svgRadius / v.RadiusM // pixels per metre
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" font-family="sans-serif">`+"\n",
		svgSize, svgSize, svgSize, svgSize)
	fmt.Fprintf(bw, "<title>Map of %d markers within %s</title>\n", len(markers), formatLength(v.RadiusM))
	fmt.Fprintf(bw, `<rect x="0" y="0" width="%g" height="%g" fill="#ffffff"/>`+"\n", svgSize, svgSize)

	// A grid of about four lines per radius, of a round spacing.
	step := niceLength(v.RadiusM / 3)
	fmt.Fprintln(bw, `<g stroke="#dddddd" stroke-width="1">`)
	for k := 0; float64(k)*step*px <= c; k++ {
		for _, s := range []float64{1, -1} {
			if k == 0 && s < 0 {
				continue
			}
			o := c + s*float64(k)*step*px
			fmt.Fprintf(bw, `<line x1="%.1f" y1="0" x2="%.1f" y2="%g"/><line x1="0" y1="%.1f" x2="%g" y2="%.1f"/>`+"\n", o, o, svgSize, o, svgSize, o)
		}
	}
	fmt.Fprintln(bw, `</g>`)
	fmt.Fprintf(bw, `<circle cx="%g" cy="%g" r="%g" fill="none" stroke="#999999" stroke-width="1.5"/>`+"\n", c, c, svgRadius)

	beyond, skipped := 0, 0
	for i := range markers {
		m := &markers[i]
		if !m.valid() {
			skipped++
			continue
		}
		e, n := v.Offset(m.At)
		x, y := c+e*px, c-n*px
		if x < 0 || y < 0 || x > svgSize || y > svgSize {
			beyond++
			continue
		}
		colour, ok := kindColour[m.Kind]
		if !ok {
			colour = "#000000"
		}
		fmt.Fprintln(bw, `<g>`)
		bw.WriteString("<title>")
		xml.EscapeText(bw, []byte(markerTitle(v, m)))
		bw.WriteString("</title>\n")
		if m.Kind == KindAlert {
			fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s" fill-opacity="0.12" stroke="%s" stroke-width="2"/>`+"\n",
				x, y, m.RadiusM*px, colour, colour)
		}
		fill, text, dash := colour, "#ffffff", ""
		if m.Kind != KindAlert && !m.Confirmed {
			fill, text, dash = "#ffffff", colour, ` stroke-dasharray="3 2"`
		}
		fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="11" fill="%s" stroke="%s" stroke-width="2"%s/>`+"\n", x, y, fill, colour, dash)
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" font-size="13" font-weight="bold" text-anchor="middle" fill="%s">%c</text>`+"\n",
			x, y+4.5, text, glyph(m))
		fmt.Fprintln(bw, `</g>`)
	}

	// The centre, north and the scale.
	fmt.Fprintf(bw, `<path d="M%g %gh12M%g %gv12" stroke="#000000" stroke-width="2"/>`+"\n", c-6, c, c, c-6)
	fmt.Fprintf(bw, `<g><title>North</title><path d="M%g %gl10 26l-10 -7l-10 7z" fill="#000000"/><text x="%g" y="%g" font-size="16" font-weight="bold" text-anchor="middle">N</text></g>`+"\n",
		svgSize-30, svgMargin+18, svgSize-30, svgMargin+14)
	bar := niceLength(v.RadiusM / 2)
	x0, y0 := svgMargin+8, svgSize-svgMargin-10
	fmt.Fprintf(bw, `<path d="M%g %gv-8M%g %gh%.1fM%.1f %gv-8" stroke="#000000" stroke-width="2" fill="none"/>`+"\n",
		x0, y0, x0, y0, bar*px, x0+bar*px, y0)
	fmt.Fprintf(bw, `<text x="%.1f" y="%g" font-size="14">%s</text>`+"\n", x0+bar*px+6, y0, formatLength(bar))
	var foot []string
	if beyond > 0 {
		foot = append(foot, fmt.Sprintf("%d beyond the map", beyond))
	}
	if skipped > 0 {
		foot = append(foot, fmt.Sprintf("%d skipped (invalid)", skipped))
	}
	if len(foot) > 0 {
		fmt.Fprintf(bw, `<text x="%g" y="%g" font-size="13" text-anchor="end">%s</text>`+"\n", svgSize-svgMargin, svgSize-svgMargin, strings.Join(foot, ", "))
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// markerTitle is the hover text of a marker (to be escaped).
func markerTitle(v View, m *Marker) string {
	d := geo.Distance(v.Center, m.At)
	b := geo.Bearing(v.Center, m.At)
	s := fmt.Sprintf("%s, %s %s (%.0f°), age %s", kindName(m.Kind), formatLength(d), geo.Compass(b), math.Mod(math.Round(b), 360), formatAge(m.Age))
	if m.Kind == KindAlert {
		s += ", radius " + formatLength(m.RadiusM)
	} else if m.Confirmed {
		s += fmt.Sprintf(", confirmed by %d", m.Confirmations)
	} else {
		s += fmt.Sprintf(", unconfirmed (%d)", m.Confirmations)
	}
	if m.ID != "" {
		s += ", id " + m.ID
	}
	if m.Note != "" {
		s += ": " + m.Note
	}
	return s
}
