package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// EarthRadiusM is the Earth's mean radius in metres (IUGG), the radius of
// the sphere every distance, bearing and cell size here is computed on.
// Against the WGS 84 ellipsoid the error of a distance is below 0.5%.
const EarthRadiusM = 6371008.8

// metresPerDegree is the length of one degree of a great circle.
const metresPerDegree = math.Pi * EarthRadiusM / 180

// maxPointText is the longest text ParsePoint reads: enough for two
// coordinates with far more digits than any GPS gives.
const maxPointText = 64

// Errors of ParsePoint, Point.Validate and the functions that check their
// arguments; test with errors.Is.
var (
	// ErrFormat is text of the wrong form: not "LAT,LON" in decimal
	// degrees, not a geohash, not an area key.
	ErrFormat = errors.New("geo: malformed")
	// ErrNotFinite is a coordinate or length that is NaN or infinite.
	ErrNotFinite = errors.New("geo: not a finite number")
	// ErrRange is a value outside its range: a latitude outside -90..90, a
	// longitude outside -180..180, a level outside 1..12, a radius beyond
	// MaxRadiusM.
	ErrRange = errors.New("geo: out of range")
)

// Point is a position in decimal degrees: Lat north of the equator
// (-90..90), Lon east of Greenwich (-180..180; both ends are the
// antimeridian).
type Point struct {
	Lat, Lon float64
}

// Validate reports whether p is a position: finite, latitude within
// -90..90 and longitude within -180..180.
func (p Point) Validate() error {
	if math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0) || math.IsNaN(p.Lon) || math.IsInf(p.Lon, 0) {
		return fmt.Errorf("geo: point: %w", ErrNotFinite)
	}
	if p.Lat < -90 || p.Lat > 90 {
		return fmt.Errorf("geo: latitude not within -90..90: %w", ErrRange)
	}
	if p.Lon < -180 || p.Lon > 180 {
		return fmt.Errorf("geo: longitude not within -180..180: %w", ErrRange)
	}
	return nil
}

// String formats p as ParsePoint reads it, with 6 decimals (about 0.1 m).
func (p Point) String() string {
	return strconv.FormatFloat(p.Lat, 'f', 6, 64) + "," + strconv.FormatFloat(p.Lon, 'f', 6, 64)
}

// ParsePoint reads "LAT,LON" in decimal degrees, such as "57.64911,10.40744"
// or "-33.9, 151.2": an optional sign, digits and an optional fraction, no
// exponent, no hexadecimal, no NaN or Inf; spaces around either number are
// allowed. The point must be valid (see Point.Validate). Errors do not
// repeat the text: a position should not end up in a log.
func ParsePoint(s string) (Point, error) {
	if len(s) > maxPointText {
		return Point{}, fmt.Errorf("geo: point of %d characters, at most %d: %w", len(s), maxPointText, ErrFormat)
	}
	latText, lonText, ok := strings.Cut(s, ",")
	if !ok {
		return Point{}, fmt.Errorf("geo: point has no comma between latitude and longitude: %w", ErrFormat)
	}
	lat, err := parseDegrees(latText)
	if err != nil {
		return Point{}, fmt.Errorf("geo: latitude: %w", err)
	}
	lon, err := parseDegrees(lonText)
	if err != nil {
		return Point{}, fmt.Errorf("geo: longitude: %w", err)
	}
	p := Point{Lat: lat, Lon: lon}
	if err := p.Validate(); err != nil {
		return Point{}, err
	}
	return p, nil
}

// parseDegrees reads one decimal number: [+-]digits[.digits] or
// [+-].digits, surrounded by optional spaces. Anything strconv would take
// beyond that (exponents, hex, underscores, "NaN", "Inf") is refused here,
// so the only numbers are plain ones.
func parseDegrees(s string) (float64, error) {
	t := strings.Trim(s, " \t")
	if t == "" {
		return 0, fmt.Errorf("empty number: %w", ErrFormat)
	}
	body := t
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	digits, dots := 0, 0
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			if lower := strings.ToLower(body); strings.HasPrefix(lower, "nan") || strings.HasPrefix(lower, "inf") {
				return 0, fmt.Errorf("not a number: %w", ErrNotFinite)
			}
			return 0, fmt.Errorf("unexpected %q: %w", c, ErrFormat)
		}
	}
	if digits == 0 || dots > 1 {
		return 0, fmt.Errorf("want digits with at most one point: %w", ErrFormat)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		// Only a range error is possible for such text, and only for
		// numbers far beyond any coordinate.
		return 0, fmt.Errorf("number too large: %w", ErrRange)
	}
	return v, nil
}

// radians converts degrees to radians.
func radians(deg float64) float64 { return deg * math.Pi / 180 }

// degrees converts radians to degrees.
func degrees(rad float64) float64 { return rad * 180 / math.Pi }

// Distance is the great-circle distance from a to b in metres (haversine on
// a sphere of EarthRadiusM). Both points should be valid; the result for
// invalid ones is meaningless (NaN in, NaN out).
func Distance(a, b Point) float64 {
	phi1, phi2 := radians(a.Lat), radians(b.Lat)
	sinDLat := math.Sin((phi2 - phi1) / 2)
	sinDLon := math.Sin(radians(b.Lon-a.Lon) / 2)
	h := sinDLat*sinDLat + math.Cos(phi1)*math.Cos(phi2)*sinDLon*sinDLon
	// Rounding can push h of nearly antipodal points past 1.
	h = min(max(h, 0), 1)
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(h))
}

// Bearing is the initial bearing of the great circle from a to b in
// degrees clockwise from true north, in [0, 360). It is 0 when a and b are
// the same point; from a pole every direction is south (or north), and the
// result there follows the longitudes as given.
func Bearing(a, b Point) float64 {
	phi1, phi2 := radians(a.Lat), radians(b.Lat)
	dLon := radians(b.Lon - a.Lon)
	y := math.Sin(dLon) * math.Cos(phi2)
	x := math.Cos(phi1)*math.Sin(phi2) - math.Sin(phi1)*math.Cos(phi2)*math.Cos(dLon)
	return normDegrees(degrees(math.Atan2(y, x)))
}

// normDegrees maps an angle into [0, 360).
func normDegrees(d float64) float64 {
	d = math.Mod(d, 360)
	if d < 0 {
		d += 360
	}
	if d >= 360 { // -tiny + 360 rounds to 360
		d = 0
	}
	return d
}

// compassNames are the eight points of the compass, clockwise from north.
var compassNames = [8]string{"N", "NE", "E", "SE", "S", "SW", "W", "NW"}

// Compass names a bearing in degrees by the nearest of the eight points of
// the compass: N, NE, E, SE, S, SW, W, NW (each covers 45°, N from 337.5°
// up to 22.5°). Any finite angle is accepted (-90 is W); NaN and infinities
// give "".
func Compass(bearing float64) string {
	if math.IsNaN(bearing) || math.IsInf(bearing, 0) {
		return ""
	}
	i := int(math.Floor(normDegrees(bearing)/45+0.5)) % 8
	return compassNames[i]
}

// Destination is the point reached from p by going distM metres along the
// great circle that starts at the given bearing (degrees from north). The
// longitude is normalised to -180..180.
func Destination(p Point, bearing, distM float64) Point {
	phi1, lam1 := radians(p.Lat), radians(p.Lon)
	theta := radians(bearing)
	delta := distM / EarthRadiusM
	sinphi2 := math.Sin(phi1)*math.Cos(delta) + math.Cos(phi1)*math.Sin(delta)*math.Cos(theta)
	sinphi2 = min(max(sinphi2, -1), 1)
	phi2 := math.Asin(sinphi2)
	lam2 := lam1 + math.Atan2(math.Sin(theta)*math.Sin(delta)*math.Cos(phi1), math.Cos(delta)-math.Sin(phi1)*sinphi2)
	lon := normDegrees(degrees(lam2)+180) - 180
	return Point{Lat: degrees(phi2), Lon: lon}
}
