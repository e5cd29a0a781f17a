package geo

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParsePoint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Point
	}{
		{"57.64911,10.40744", Point{57.64911, 10.40744}},
		{" 57.64911 , 10.40744 ", Point{57.64911, 10.40744}},
		{"-33.9,\t151.2", Point{-33.9, 151.2}},
		{"+1.5,-.5", Point{1.5, -0.5}},
		{"1.,2", Point{1, 2}},
		{"-90,-180", Point{-90, -180}},
		{"90,180", Point{90, 180}},
		{"0,0", Point{0, 0}},
		{"-0.0,0000012.5000", Point{0, 12.5}},
	} {
		got, err := ParsePoint(tc.in)
		if err != nil {
			t.Errorf("ParsePoint(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParsePoint(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrFormat},
		{"57.6", ErrFormat},
		{",", ErrFormat},
		{"1,", ErrFormat},
		{",1", ErrFormat},
		{"1,2,3", ErrFormat},
		{"1;2", ErrFormat},
		{"1 2", ErrFormat},
		{".,0", ErrFormat},
		{"1..2,0", ErrFormat},
		{"1.2.3,0", ErrFormat},
		{"--1,0", ErrFormat},
		{"+-1,0", ErrFormat},
		{"1e1,0", ErrFormat},
		{"0x1p3,0", ErrFormat},
		{"1_0,0", ErrFormat},
		{"½,0", ErrFormat},
		{"١,0", ErrFormat}, // Arabic-Indic digit one
		{"0,1" + strings.Repeat("0", 70), ErrFormat},
		{"NaN,0", ErrNotFinite},
		{"0,nan", ErrNotFinite},
		{"Inf,0", ErrNotFinite},
		{"0,-Infinity", ErrNotFinite},
		{"+inf,0", ErrNotFinite},
		{"90.000001,0", ErrRange},
		{"-91,0", ErrRange},
		{"0,180.5", ErrRange},
		{"0,-181", ErrRange},
		{"999999999,0", ErrRange},
	} {
		got, err := ParsePoint(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("ParsePoint(%q) = %v, %v; want an error of %v", tc.in, got, err, tc.want)
		}
	}
}

func TestPointValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Point
		want error
	}{
		{Point{0, 0}, nil},
		{Point{90, -180}, nil},
		{Point{math.NaN(), 0}, ErrNotFinite},
		{Point{0, math.NaN()}, ErrNotFinite},
		{Point{math.Inf(1), 0}, ErrNotFinite},
		{Point{0, math.Inf(-1)}, ErrNotFinite},
		{Point{-90.0001, 0}, ErrRange},
		{Point{0, 180.0001}, ErrRange},
	} {
		err := tc.p.Validate()
		if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
			t.Errorf("%v.Validate() = %v, want %v", tc.p, err, tc.want)
		}
	}
}

func TestPointString(t *testing.T) {
	p := Point{57.64911, -10.40744}
	if got := p.String(); got != "57.649110,-10.407440" {
		t.Fatalf("String() = %q", got)
	}
	q, err := ParsePoint(p.String())
	if err != nil || q != p {
		t.Fatalf("ParsePoint(String()) = %v, %v; want %v", q, err, p)
	}
}

// near reports whether a and b differ by at most tol.
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestDistance(t *testing.T) {
	paris, london := Point{48.8566, 2.3522}, Point{51.5074, -0.1278}
	for _, tc := range []struct {
		name string
		a, b Point
		want float64 // metres
		tol  float64
	}{
		{"same point", paris, paris, 0, 0},
		{"Paris-London", paris, london, 343_556, 50},
		{"London-Paris", london, paris, 343_556, 50},
		{"one degree of meridian", Point{10, 20}, Point{11, 20}, metresPerDegree, 1e-6},
		{"one degree of equator", Point{0, 20}, Point{0, 21}, metresPerDegree, 1e-6},
		{"across the antimeridian", Point{0, 179.5}, Point{0, -179.5}, metresPerDegree, 1e-6},
		{"pole to pole", Point{90, 0}, Point{-90, 0}, math.Pi * EarthRadiusM, 1e-6},
		{"antipodes", Point{30, 40}, Point{-30, -140}, math.Pi * EarthRadiusM, 1e-3},
		{"pole, any longitude", Point{90, 0}, Point{90, 123}, 0, 1e-9},
	} {
		if got := Distance(tc.a, tc.b); !near(got, tc.want, tc.tol) {
			t.Errorf("%s: Distance = %.3f m, want %.3f ± %g", tc.name, got, tc.want, tc.tol)
		}
	}
}

func TestBearing(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Point
		want float64
	}{
		{"north", Point{0, 0}, Point{1, 0}, 0},
		{"east", Point{0, 0}, Point{0, 1}, 90},
		{"south", Point{0, 0}, Point{-1, 0}, 180},
		{"west", Point{0, 0}, Point{0, -1}, 270},
		{"east across the antimeridian", Point{0, 179}, Point{0, -179}, 90},
		{"west across the antimeridian", Point{0, -179}, Point{0, 179}, 270},
		// The classic example: the great circle from Baghdad to Osaka
		// starts at 60° although both lie at 35° N.
		{"Baghdad-Osaka", Point{35, 45}, Point{35, 135}, 60.1624},
		{"same point", Point{12, 34}, Point{12, 34}, 0},
	} {
		got := Bearing(tc.a, tc.b)
		if !near(got, tc.want, 1e-3) || got < 0 || got >= 360 {
			t.Errorf("%s: Bearing = %.5f, want %.4f", tc.name, got, tc.want)
		}
	}
}

func TestCompass(t *testing.T) {
	for _, tc := range []struct {
		deg  float64
		want string
	}{
		{0, "N"}, {22.49, "N"}, {22.5, "NE"}, {45, "NE"}, {90, "E"}, {135, "SE"},
		{180, "S"}, {225, "SW"}, {270, "W"}, {315, "NW"}, {337.49, "NW"},
		{337.5, "N"}, {359.9, "N"}, {360, "N"}, {-90, "W"}, {-1, "N"}, {765, "NE"},
		{math.NaN(), ""}, {math.Inf(1), ""}, {math.Inf(-1), ""},
	} {
		if got := Compass(tc.deg); got != tc.want {
			t.Errorf("Compass(%g) = %q, want %q", tc.deg, got, tc.want)
		}
	}
}

func TestDestination(t *testing.T) {
	for _, tc := range []struct {
		p       Point
		bearing float64
		dist    float64
	}{
		{Point{52.52, 13.405}, 0, 1000},
		{Point{52.52, 13.405}, 123, 25_000},
		{Point{-33.9, 151.2}, 270, 500_000},
		{Point{10, 179.9}, 90, 50_000}, // crosses the antimeridian
		{Point{-10, -179.9}, 260, 50_000},
	} {
		q := Destination(tc.p, tc.bearing, tc.dist)
		if err := q.Validate(); err != nil {
			t.Errorf("Destination(%v, %g, %g) = %v: %v", tc.p, tc.bearing, tc.dist, q, err)
		}
		if d := Distance(tc.p, q); !near(d, tc.dist, 1e-6*tc.dist) {
			t.Errorf("Destination(%v, %g, %g) lies %.3f m away", tc.p, tc.bearing, tc.dist, d)
		}
		if b := Bearing(tc.p, q); !near(b, tc.bearing, 1e-6) {
			t.Errorf("Destination(%v, %g, %g) lies at bearing %.6f", tc.p, tc.bearing, tc.dist, b)
		}
	}
	// Straight over the north pole.
	q := Destination(Point{89, 0}, 0, 2*metresPerDegree)
	if !near(q.Lat, 89, 1e-9) || !near(math.Abs(q.Lon), 180, 1e-9) {
		t.Errorf("over the pole: %v, want 89,±180", q)
	}
}
