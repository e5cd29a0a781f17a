package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testRand is a deterministic source for tests that sweep many points.
func testRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randPoint is a point uniform in latitude and longitude.
func randPoint(r *rand.Rand) Point {
	return Point{Lat: r.Float64()*180 - 90, Lon: r.Float64()*360 - 180}
}

func mustCell(t testing.TB, s string) Cell {
	t.Helper()
	c, err := ParseCell(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGeohashVectors(t *testing.T) {
	for _, tc := range []struct {
		p    Point
		hash string
	}{
		// Wikipedia's Geohash article and geohash.org.
		{Point{57.64911, 10.40744}, "u4pruydqqvj"},
		{Point{42.6, -5.6}, "ezs42"},
		{Point{0, 0}, "s00000000000"},
		{Point{-90, -180}, "000000000000"},
		{Point{90, 180}, "zzzzzzzzzzzz"},
		{Point{-1e-9, -1e-9}, "7zzzzzzzzzzz"},
		{Point{0, -180}, "800000000000"},
		{Point{0, 180}, "xbpbpbpbpbpb"},
	} {
		for level := MinLevel; level <= len(tc.hash); level++ {
			c, err := CellOf(tc.p, level)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.hash[:level]; c.String() != want {
				t.Errorf("CellOf(%v, %d) = %q, want %q", tc.p, level, c, want)
			}
		}
		c := mustCell(t, tc.hash)
		if !c.Bounds().Contains(tc.p) {
			t.Errorf("%s: bounds %v do not hold %v", tc.hash, c.Bounds(), tc.p)
		}
	}
	// "ezs42" decodes to 42.605, -5.603 (Wikipedia), within ±0.022°.
	b := mustCell(t, "ezs42").Bounds()
	if want := (Box{MinLat: 42.5830078125, MinLon: -5.625, MaxLat: 42.626953125, MaxLon: -5.5810546875}); b != want {
		t.Errorf("ezs42 bounds %+v, want %+v", b, want)
	}
	if c := mustCell(t, "ezs42").Center(); !near(c.Lat, 42.605, 0.0005) || !near(c.Lon, -5.603, 0.0005) {
		t.Errorf("ezs42 centre %v", c)
	}
	// The level-1 cells in order: 8 columns of 45°, 4 rows, interleaved.
	if b := mustCell(t, "b").Bounds(); b != (Box{MinLat: 45, MinLon: -180, MaxLat: 90, MaxLon: -135}) {
		t.Errorf("b bounds %+v", b)
	}
	if b := mustCell(t, "s").Bounds(); b != (Box{MinLat: 0, MinLon: 0, MaxLat: 45, MaxLon: 45}) {
		t.Errorf("s bounds %+v", b)
	}
}

func TestParseCell(t *testing.T) {
	for _, s := range []string{"", "u4pruydqqvjzz", "a", "i", "l", "o", "U4", "u4 ", " u4", "u4-", "ü", "u4\x00"} {
		if c, err := ParseCell(s); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseCell(%q) = %v, %v; want ErrFormat", s, c, err)
		}
	}
	c := mustCell(t, "u4pruydqqvj")
	if c.Level() != 11 || c.String() != "u4pruydqqvj" || c.IsZero() {
		t.Errorf("cell %v: level %d", c, c.Level())
	}
	if (Cell{}).Level() != 0 || !(Cell{}).IsZero() {
		t.Error("zero cell has a level")
	}
	if b := (Cell{}).Bounds(); b != (Box{MinLat: -90, MinLon: -180, MaxLat: 90, MaxLon: 180}) {
		t.Errorf("zero cell bounds %+v, want the Earth", b)
	}
}

func TestCellOfErrors(t *testing.T) {
	if _, err := CellOf(Point{math.NaN(), 0}, 5); !errors.Is(err, ErrNotFinite) {
		t.Errorf("NaN point: %v", err)
	}
	for _, level := range []int{-1, 0, 13} {
		if _, err := CellOf(Point{}, level); !errors.Is(err, ErrRange) {
			t.Errorf("level %d: %v", level, err)
		}
	}
}

// TestCellRoundTrip: a point lies in its cell at every level, the cell's
// name parses back, the centre lies in the same cell, and ancestors are
// prefixes that hold the cell.
func TestCellRoundTrip(t *testing.T) {
	r := testRand(1)
	for range 2000 {
		p := randPoint(r)
		for level := MinLevel; level <= MaxLevel; level++ {
			c, err := CellOf(p, level)
			if err != nil {
				t.Fatal(err)
			}
			b := c.Bounds()
			if !b.Contains(p) {
				t.Fatalf("%v level %d: cell %s %+v does not hold it", p, level, c, b)
			}
			lonSpan, latSpan := spans(level)
			if b.MaxLon-b.MinLon != lonSpan || b.MaxLat-b.MinLat != latSpan {
				t.Fatalf("cell %s has size %g×%g, want %g×%g", c, b.MaxLon-b.MinLon, b.MaxLat-b.MinLat, lonSpan, latSpan)
			}
			if q, err := ParseCell(c.String()); err != nil || q != c {
				t.Fatalf("ParseCell(%q) = %v, %v", c, q, err)
			}
			if q := cellOf(c.Center(), level); q != c {
				t.Fatalf("centre of %s is in %s", c, q)
			}
			for up := MinLevel; up <= level; up++ {
				a, err := c.Ancestor(up)
				if err != nil || !strings.HasPrefix(c.String(), a.String()) || a.Level() != up {
					t.Fatalf("%s.Ancestor(%d) = %v, %v", c, up, a, err)
				}
				ab := a.Bounds()
				if !ab.Contains(Point{b.MinLat, b.MinLon}) || !ab.Contains(Point{b.MaxLat, b.MaxLon}) {
					t.Fatalf("ancestor %s %+v does not hold %s %+v", a, ab, c, b)
				}
			}
		}
	}
	c := mustCell(t, "u4pr")
	for _, level := range []int{0, 5, 13} {
		if _, err := c.Ancestor(level); !errors.Is(err, ErrRange) {
			t.Errorf("Ancestor(%d) of a level-4 cell: %v", level, err)
		}
	}
}

func TestCellSize(t *testing.T) {
	for _, tc := range []struct {
		level  int
		lat    float64
		w, h   float64
		tolRel float64
	}{
		{1, 0, 5_003_779, 5_003_779, 1e-6},
		{5, 0, 4_886.5, 4_886.5, 1e-4},
		{6, 0, 1_221.6, 610.8, 1e-4},
		{7, 0, 152.70, 152.70, 1e-4},
		{7, 60, 76.35, 152.70, 1e-4},
		{8, 45, 26.99, 19.09, 1e-3},
		{12, 0, 0.0373, 0.0186, 3e-3},
	} {
		w, h := CellSize(tc.level, tc.lat)
		if !near(w, tc.w, tc.tolRel*tc.w) || !near(h, tc.h, tc.tolRel*tc.h) {
			t.Errorf("CellSize(%d, %g) = %.4f × %.4f, want %.4f × %.4f", tc.level, tc.lat, w, h, tc.w, tc.h)
		}
	}
	if w, h := CellSize(13, 0); w != 0 || h != 0 {
		t.Errorf("CellSize(13) = %g × %g", w, h)
	}
}

func TestSnap(t *testing.T) {
	for _, tc := range []struct {
		p     Point
		size  float64
		level int
	}{
		{Point{0, 0}, 0, 7},
		{Point{52.52, 13.405}, 0, 7},
		{Point{-33.9, 151.2}, DefaultSnapM, 7},
		{Point{69, 0}, 0, 7},
		{Point{70.5, 20}, 0, 6}, // level 7 would be only 51 m wide
		{Point{-85, 0}, 0, 6},
		{Point{90, 0}, 0, 4}, // slivers near the pole: 60 m × 19.5 km
		{Point{52.52, 13.405}, 5000, 5},
		{Point{52.52, 13.405}, 1000, 6},
		{Point{52.52, 13.405}, 20, 8},
		{Point{0, 0}, 0.01, 12},
		{Point{0, 0}, 1e9, 1},
	} {
		q, c, err := Snap(tc.p, tc.size)
		if err != nil {
			t.Errorf("Snap(%v, %g): %v", tc.p, tc.size, err)
			continue
		}
		if c.Level() != tc.level {
			w, h := CellSize(c.Level(), c.Center().Lat)
			t.Errorf("Snap(%v, %g) picked level %d (%.0f m × %.0f m), want %d", tc.p, tc.size, c.Level(), w, h, tc.level)
		}
		if q != c.Center() || !c.Bounds().Contains(tc.p) {
			t.Errorf("Snap(%v, %g) = %v in %s, not the centre of the point's cell", tc.p, tc.size, q, c)
		}
		// Snapping is idempotent: the snapped point stays where it is.
		if q2, c2, err := Snap(q, tc.size); err != nil || q2 != q || c2 != c {
			t.Errorf("Snap(Snap(%v)) = %v %s, %v; want %v %s", tc.p, q2, c2, err, q, c)
		}
	}
	for _, size := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, _, err := Snap(Point{}, size); err == nil {
			t.Errorf("Snap with size %g: no error", size)
		}
	}
	if _, _, err := Snap(Point{91, 0}, 0); !errors.Is(err, ErrRange) {
		t.Errorf("Snap of an invalid point: %v", err)
	}
}
