package mapview

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/komrade-net/komrade/internal/termsafe"
	"github.com/komrade-net/komrade/wire/geo"
)

// Sizes of a terminal map.
const (
	// MinWidth and MinHeight are the smallest terminal Terminal draws in.
	MinWidth  = 40
	MinHeight = 10
)

// ShortID is how many characters of a marker's id List shows on a
// terminal: the prefix `komrade pin confirm` takes.
const ShortID = 12

// legendItems explain the map's characters, in the order shown.
var legendItems = []string{
	"+ you", "P police", "D danger", "M medic", "W water", "O other", "A alert",
	"small letter: unconfirmed", "* several", "^N north",
}

// brailleBit is the bit of a braille pattern (U+2800 + bits) for the dot
// in column x (0..1) and row y (0..3) of a character.
var brailleBit = [2][4]uint8{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// canvas is a terminal map being drawn: braille dots for lines, and
// characters over them.
type canvas struct {
	w, h   int // characters
	dots   [][]uint8
	chars  [][]rune
	cx, cy float64 // the centre, in dots
	mPerD  float64 // metres per dot
}

func newCanvas(w, h int, radiusM float64) *canvas {
	c := &canvas{w: w, h: h, dots: make([][]uint8, h), chars: make([][]rune, h)}
	for i := range h {
		c.dots[i] = make([]uint8, w)
		c.chars[i] = make([]rune, w)
	}
	// A braille dot is about square on a terminal (a character is about
	// twice as high as wide, and has 2×4 dots), so one scale serves both
	// axes. The view's circle fits the shorter side.
	dw, dh := 2*w, 4*h
	c.cx, c.cy = float64(dw-1)/2, float64(dh-1)/2
	c.mPerD = radiusM / (float64(min(dw, dh)-1) / 2)
	return c
}

// dot is the dot a point east, north metres from the centre falls on.
func (c *canvas) dot(east, north float64) (int, int) {
	return int(math.Round(c.cx + east/c.mPerD)), int(math.Round(c.cy - north/c.mPerD))
}

func (c *canvas) plot(x, y int) {
	if x < 0 || y < 0 || x >= 2*c.w || y >= 4*c.h {
		return
	}
	c.dots[y/4][x/2] |= brailleBit[x%2][y%4]
}

// circle draws a circle of radius r metres around east, north.
func (c *canvas) circle(east, north, r float64) {
	rd := r / c.mPerD
	if rd < 1 {
		return
	}
	steps := int(math.Min(8*rd, 4096)) + 8
	for i := range steps {
		a := 2 * math.Pi * float64(i) / float64(steps)
		c.plot(c.dot(east+r*math.Sin(a), north+r*math.Cos(a)))
	}
}

// put writes a character over the dots at character cell (col, row);
// it reports whether the cell was on the map.
func (c *canvas) put(col, row int, r rune) bool {
	if col < 0 || row < 0 || col >= c.w || row >= c.h {
		return false
	}
	c.chars[row][col] = r
	return true
}

// Terminal draws the markers of v on a terminal map of width × height
// characters (at least MinWidth × MinHeight): braille dots for the view's
// circle and the alerts' circles; a letter per marker by kind, small when
// the pin is not yet confirmed, "*" where several share a character; "+"
// at the centre; north up with an arrow; a scale bar of a round length;
// and a legend. Markers outside the map are counted under it; invalid ones
// are skipped and counted too. Nothing of a marker's text is drawn.
func Terminal(w io.Writer, v View, markers []Marker, width, height int) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if width < MinWidth || height < MinHeight {
		return fmt.Errorf("%w: %d×%d, at least %d×%d", errNoRoom, width, height, MinWidth, MinHeight)
	}
	legend := packLine(legendItems, width)
	mapH := height - 1 - len(legend)
	if mapH < 3 {
		return fmt.Errorf("%w: the legend leaves %d lines", errNoRoom, mapH)
	}
	c := newCanvas(width, mapH, v.RadiusM)
	c.circle(0, 0, v.RadiusM)
	beyond, skipped := 0, 0
	type placed struct {
		col, row int
		g        rune
	}
	var marks []placed
	for i := range markers {
		m := &markers[i]
		if !m.valid() {
			skipped++
			continue
		}
		e, n := v.Offset(m.At)
		if m.Kind == KindAlert {
			c.circle(e, n, m.RadiusM)
		}
		x, y := c.dot(e, n)
		col, row := floorDiv(x, 2), floorDiv(y, 4)
		if col < 0 || row < 0 || col >= c.w || row >= c.h {
			beyond++
			continue
		}
		marks = append(marks, placed{col, row, glyph(m)})
	}
	ccol, crow := floorDiv(int(math.Round(c.cx)), 2), floorDiv(int(math.Round(c.cy)), 4)
	c.put(ccol, crow, '+')
	for _, p := range marks {
		if cur := c.chars[p.row][p.col]; cur != 0 && cur != '+' && cur != p.g {
			c.put(p.col, p.row, '*')
		} else {
			c.put(p.col, p.row, p.g)
		}
	}
	c.put(0, 0, '^')
	c.put(0, 1, 'N')

	bw := bufio.NewWriter(w)
	for row := range c.h {
		var b strings.Builder
		for col := range c.w {
			switch {
			case c.chars[row][col] != 0:
				b.WriteRune(c.chars[row][col])
			case c.dots[row][col] != 0:
				b.WriteRune(0x2800 + rune(c.dots[row][col]))
			default:
				b.WriteByte(' ')
			}
		}
		fmt.Fprintln(bw, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(bw, termsafe.Truncate(scaleBar(c, width, beyond, skipped), width))
	for _, l := range legend {
		fmt.Fprintln(bw, l)
	}
	return bw.Flush()
}

// scaleBar is the line under the map: a bar of a round length, drawn to
// the map's scale, then what the map could not show.
func scaleBar(c *canvas, width, beyond, skipped int) string {
	mPerChar := 2 * c.mPerD
	maxCols := max(4, width/3)
	length := niceLength(float64(maxCols) * mPerChar)
	cols := max(2, int(math.Round(length/mPerChar)))
	s := "|" + strings.Repeat("-", cols-2) + "| " + formatLength(length)
	if beyond > 0 {
		s += fmt.Sprintf("   %d beyond the map", beyond)
	}
	if skipped > 0 {
		s += fmt.Sprintf("   %d skipped (invalid)", skipped)
	}
	return s
}

// packLine puts items on as few lines of width columns as fit, two spaces
// apart.
func packLine(items []string, width int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case len(cur)+2+len(it) <= width:
			cur += "  " + it
		default:
			lines = append(lines, cur)
			cur = it
		}
	}
	if cur != "" {
		lines = append(lines, termsafe.Truncate(cur, width))
	}
	for i := range lines {
		lines[i] = termsafe.Truncate(lines[i], width)
	}
	return lines
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// List writes one line per marker: alerts first, then pins, each by
// distance from the centre of v. A line gives the marker's letter, kind,
// distance, compass point and bearing, age, confirmations (pins) or
// radius (alerts), the time left until it expires (at now), its id and
// its note. With width > 0 (a terminal's columns) the id is cut to its
// first ShortID characters (enough for `komrade pin confirm`) and each line
// is cut to fit; a note that does not fit beside the rest goes below it,
// indented and wrapped, never cut (an alert's text is what it is for).
// The note is always made terminal-safe and kept to one logical line.
// Invalid markers are skipped and counted in a last line.
func List(w io.Writer, v View, markers []Marker, now time.Time, width int) error {
	if err := v.Center.Validate(); err != nil {
		return fmt.Errorf("mapview: centre: %w", err)
	}
	type row struct {
		m    *Marker
		dist float64
	}
	var rows []row
	skipped := 0
	for i := range markers {
		m := &markers[i]
		if !m.valid() {
			skipped++
			continue
		}
		rows = append(rows, row{m, geo.Distance(v.Center, m.At)})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if (a.m.Kind == KindAlert) != (b.m.Kind == KindAlert) {
			if a.m.Kind == KindAlert {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.dist, b.dist)
	})
	bw := bufio.NewWriter(w)
	for _, r := range rows {
		m := r.m
		b := geo.Bearing(v.Center, m.At)
		if r.dist < 0.5 {
			b = 0
		}
		var state string
		if m.Kind == KindAlert {
			state = "radius " + formatLength(m.RadiusM)
		} else {
			c := "unconfirmed"
			if m.Confirmed {
				c = "confirmed"
			}
			state = fmt.Sprintf("%d conf, %s", m.Confirmations, c)
		}
		left := "expired"
		if d := m.Expires.Sub(now); d > 0 {
			left = "expires in " + formatAge(d)
			if d < time.Minute {
				left = "expires in <1m"
			}
		}
		age := formatAge(m.Age)
		if age != "now" {
			age += " ago"
		}
		id := termsafe.Line(m.ID)
		if width > 0 && len(id) > ShortID {
			id = id[:ShortID]
		}
		head := fmt.Sprintf("%c %-6s %8s %-2s %03.0f°  %-9s  %-24s  %-16s  %s",
			glyph(m), kindName(m.Kind), formatLength(r.dist), geo.Compass(b), math.Mod(math.Round(b), 360), age, state, left, id)
		line := head
		if m.Note != "" {
			line += "  " + termsafe.Line(m.Note)
		}
		if width > 0 && termsafe.Columns(line) > width {
			line = termsafe.Truncate(head, width)
			if m.Note != "" {
				line += "\n" + termsafe.Wrap("    ", termsafe.Line(m.Note), "    ", width)
			}
		}
		fmt.Fprintln(bw, line)
	}
	if skipped > 0 {
		fmt.Fprintf(bw, "%d skipped (invalid position or radius)\n", skipped)
	}
	return bw.Flush()
}
