// Package mapview draws map markers (danger pins and protest alerts) for
// people and for other programs: a terminal map in braille characters with a
// scale bar, north and a legend (Terminal), a list with distance, bearing,
// age and confirmations (List), RFC 7946 GeoJSON for any map tool
// (GeoJSON), and a self-contained SVG for the local web interface (SVG).
//
// It is pure rendering: no network, no files, no clock (the caller passes
// the time where ages are shown). Positions are projected around the
// view's centre by the azimuthal equidistant projection: a marker's
// distance and bearing from the centre are drawn exactly (geo.Distance,
// geo.Bearing), north is up, and the scale is the same in every direction.
// Over the few kilometres a map of pins shows, other distances are off by
// far less than a character.
//
// Notes are text that strangers wrote. The terminal renderers escape
// every character a terminal acts on (internal/termsafe); the SVG carries
// them only as escaped character data, never in attributes; GeoJSON is
// written by encoding/json.
package mapview

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/komrade-net/komrade/wire/geo"
)

// Marker kinds: the pin kinds and an alert.
const (
	KindPolice = "police"
	KindDanger = "danger"
	KindMedic  = "medic"
	KindWater  = "water"
	KindOther  = "other"
	KindAlert  = "alert"
)

// Marker is one thing to show on a map: a pin or an alert, as the reader
// (client/pin) has validated and counted it.
type Marker struct {
	// ID names the pin or alert (as `komrade pin confirm` takes it).
	ID string
	// Kind is one of the Kind constants; anything else is drawn as "?".
	Kind string
	// At is the marker's position (a pin's snapped cell centre, an
	// alert's centre).
	At geo.Point
	// Note is the author's text (a pin's note, an alert's text).
	Note string
	// Age is how long ago it was created.
	Age time.Duration
	// Expires is when it stops being shown.
	Expires time.Time
	// Confirmations counts the distinct identities that said "still".
	Confirmations int
	// Confirmed is set when Confirmations reached the reader's k.
	Confirmed bool
	// RadiusM is an alert's radius in metres (0 for pins).
	RadiusM float64
}

// View is the part of the world a map shows: a circle around Center.
type View struct {
	Center  geo.Point
	RadiusM float64
}

// MinRadiusM is the smallest radius a View may have: 10 m, well under a
// snapped pin's cell.
const MinRadiusM = 10

// Validate reports whether v can be drawn: a valid centre and a radius
// within MinRadiusM..geo.MaxRadiusM.
func (v View) Validate() error {
	if err := v.Center.Validate(); err != nil {
		return fmt.Errorf("mapview: centre: %w", err)
	}
	if math.IsNaN(v.RadiusM) || v.RadiusM < MinRadiusM || v.RadiusM > geo.MaxRadiusM {
		return fmt.Errorf("mapview: radius not within %d m..%d km", MinRadiusM, geo.MaxRadiusM/1000)
	}
	return nil
}

// Offset is where p lies from the centre of v, in metres east and north
// (negative: west, south), by the azimuthal equidistant projection: the
// offset's length is geo.Distance and its direction geo.Bearing.
func (v View) Offset(p geo.Point) (east, north float64) {
	d := geo.Distance(v.Center, p)
	b := geo.Bearing(v.Center, p) * math.Pi / 180
	return d * math.Sin(b), d * math.Cos(b)
}

// errNoRoom is the error of a terminal too small to draw on.
var errNoRoom = errors.New("mapview: too small to draw a map")

// valid reports whether m can be placed: a valid point and a radius that
// is a finite, non-negative number.
func (m *Marker) valid() bool {
	return m.At.Validate() == nil && !math.IsNaN(m.RadiusM) && !math.IsInf(m.RadiusM, 0) && m.RadiusM >= 0
}

// glyph is the letter a marker is drawn with: the kind's capital when
// confirmed (and for alerts, which are not confirmed), its small letter
// when not yet confirmed.
func glyph(m *Marker) rune {
	var g rune
	switch m.Kind {
	case KindPolice:
		g = 'P'
	case KindDanger:
		g = 'D'
	case KindMedic:
		g = 'M'
	case KindWater:
		g = 'W'
	case KindOther:
		g = 'O'
	case KindAlert:
		return 'A'
	default:
		return '?'
	}
	if !m.Confirmed {
		g += 'a' - 'A'
	}
	return g
}

// kindName is the kind as shown: unknown kinds are "?".
func kindName(kind string) string {
	switch kind {
	case KindPolice, KindDanger, KindMedic, KindWater, KindOther, KindAlert:
		return kind
	}
	return "?"
}

// niceLength is the largest length of the form 1, 2 or 5 times a power of
// ten metres that is at most maxM (at least 1 m).
func niceLength(maxM float64) float64 {
	if !(maxM >= 1) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(maxM)))
	for _, f := range []float64{5, 2, 1} {
		if f*p <= maxM {
			return f * p
		}
	}
	return p
}

// formatLength writes a length rounded for people: "350 m", "1.2 km",
// "15 km". A round scale value stays exact ("500 m", "2 km").
func formatLength(m float64) string {
	switch {
	case m < 999.5:
		return fmt.Sprintf("%.0f m", m)
	case m < 9950 && math.Mod(m, 1000) != 0:
		return fmt.Sprintf("%.1f km", m/1000)
	default:
		return fmt.Sprintf("%.0f km", m/1000)
	}
}

// formatAge writes a duration in the largest units that matter: "now",
// "12m", "3h05m", "2d".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}
