package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkCover checks that cells, all of one level, are sorted, distinct,
// and hold every point of the circle: its centre, points just inside its
// edge at every degree of bearing, random points within, and the poles if
// the circle holds them.
func checkCover(t *testing.T, center Point, radiusM float64, level int, cells []Cell, r *rand.Rand) {
	t.Helper()
	if !slices.IsSortedFunc(cells, compareCells) || len(slices.Compact(slices.Clone(cells))) != len(cells) {
		t.Fatalf("circle %v r=%g: cells not sorted and distinct: %v", center, radiusM, cells)
	}
	set := make(map[Cell]bool, len(cells))
	for _, c := range cells {
		if c.Level() != level {
			t.Fatalf("circle %v r=%g: cell %s not of level %d", center, radiusM, c, level)
		}
		set[c] = true
	}
	in := func(p Point, what string) {
		t.Helper()
		if c := cellOf(p, level); !set[c] {
			t.Fatalf("circle %v r=%g level %d: %s %v (distance %.3f m) is in %s, not in the cover %v",
				center, radiusM, level, what, p, Distance(center, p), c, cells)
		}
	}
	in(center, "the centre")
	// Just inside the edge: 1 µm (and a billionth) in, beyond the rounding
	// of Destination.
	edge := min(radiusM*(1-1e-9), radiusM-1e-6)
	if edge <= 0 {
		return
	}
	for b := range 360 {
		in(Destination(center, float64(b), edge), "an edge point")
	}
	for range 50 {
		in(Destination(center, r.Float64()*360, r.Float64()*edge), "an inner point")
	}
	for _, pole := range []float64{90, -90} {
		if Distance(center, Point{pole, 0}) < edge {
			for lon := -180.0; lon <= 180; lon += 7.5 {
				in(Point{pole, lon}, "the pole")
			}
		}
	}
}

// interesting are centres where the grid or the sphere has edges.
var interesting = []Point{
	{0, 0}, {52.52, 13.405}, {-33.9, 151.2}, {57.64911, 10.40744},
	{0, 180}, {0, -180}, {0, 179.9999}, {-45, -179.9999}, {65.5, 179.99},
	{90, 0}, {-90, 0}, {89.999, 45}, {-89.99, -120}, {89.9, 179.9},
	{45, -135}, {0, 45}, {22.5, 0}, {-0.0000001, -0.0000001},
}

func TestCoverHoldsCircle(t *testing.T) {
	r := testRand(2)
	radii := []float64{0, 1, 10, 150, 1000, 5000, 20_000, 100_000, 500_000, MaxRadiusM}
	try := func(center Point, radiusM float64) {
		t.Helper()
		level, cells, err := Cover(center, radiusM)
		if err != nil {
			t.Fatalf("Cover(%v, %g): %v", center, radiusM, err)
		}
		if len(cells) == 0 || len(cells) > MaxCoverCells {
			t.Fatalf("Cover(%v, %g): %d cells", center, radiusM, len(cells))
		}
		checkCover(t, center, radiusM, level, cells, r)
		// The level is the finest: one finer has too many cells.
		if level < MaxLevel {
			finer, err := CoverAt(center, radiusM, level+1)
			if err == nil && len(finer) <= MaxCoverCells {
				t.Fatalf("Cover(%v, %g) = level %d, but level %d has only %d cells", center, radiusM, level, level+1, len(finer))
			}
		}
		// CoverAt at the same level agrees.
		if at, err := CoverAt(center, radiusM, level); err != nil || !slices.Equal(at, cells) {
			t.Fatalf("CoverAt(%v, %g, %d) = %v, %v; Cover gave %v", center, radiusM, level, at, err, cells)
		}
	}
	for _, c := range interesting {
		for _, rad := range radii {
			try(c, rad)
		}
	}
	for range 1000 {
		c := randPoint(r)
		if r.IntN(4) == 0 { // crowd the poles and the antimeridian
			c.Lat = math.Copysign(90-r.Float64()*r.Float64()*10, c.Lat)
		} else if r.IntN(3) == 0 {
			c.Lon = math.Copysign(180-r.Float64()*r.Float64(), c.Lon)
		}
		try(c, math.Exp(r.Float64()*math.Log(MaxRadiusM))) // 1 m .. MaxRadiusM, log-uniform
	}
}

func TestCoverAntimeridian(t *testing.T) {
	for _, center := range []Point{{0, 179.99}, {0, -179.99}, {-41.3, 179.999}, {66, -179.95}} {
		level, cells, err := Cover(center, 5000)
		if err != nil {
			t.Fatal(err)
		}
		var east, west bool
		for _, c := range cells {
			b := c.Bounds()
			east = east || b.MaxLon == 180
			west = west || b.MinLon == -180
			if b.MinLon > -170 && b.MaxLon < 170 {
				t.Errorf("Cover(%v, 5 km): cell %s %+v is far from the antimeridian", center, c, b)
			}
		}
		if !east || !west {
			t.Errorf("Cover(%v, 5 km) = level %d %v: cells on the east side %v, on the west side %v; want both", center, level, cells, east, west)
		}
		if level < 4 {
			t.Errorf("Cover(%v, 5 km) fell to level %d at the antimeridian", center, level)
		}
	}
}

func TestCoverPoles(t *testing.T) {
	for _, tc := range []struct {
		center  Point
		radiusM float64
		north   bool
	}{
		{Point{89.95, 10}, 10_000, true}, // holds the north pole, 5.6 km away
		{Point{90, 0}, 1, true},
		{Point{-89.99, -170}, 2000, false},
		{Point{-90, 0}, 0, false},
	} {
		level, cells, err := Cover(tc.center, tc.radiusM)
		if err != nil {
			t.Fatal(err)
		}
		if level != 1 || len(cells) != 8 {
			t.Errorf("Cover(%v, %g) = level %d %v; want the 8 polar cells of level 1", tc.center, tc.radiusM, level, cells)
		}
		for _, c := range cells {
			if b := c.Bounds(); tc.north && b.MinLat != 45 || !tc.north && b.MaxLat != -45 {
				t.Errorf("Cover(%v, %g): cell %s %+v not around the pole", tc.center, tc.radiusM, c, b)
			}
		}
	}
	// Near the pole, but not around it: every longitude it reaches, few cells.
	center := Point{89.9, 0}
	level, cells, err := Cover(center, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if level != 2 {
		t.Errorf("Cover(%v, 5 km) = level %d %v, want level 2", center, level, cells)
	}
	checkCover(t, center, 5000, level, cells, testRand(3))
}

// TestCoverBound: MaxRadiusM always fits level 1 in MaxCoverCells cells.
func TestCoverBound(t *testing.T) {
	for lat := -90.0; lat <= 90; lat += 0.25 {
		for lon := -180.0; lon <= 180; lon += 45.0 / 8 {
			if _, _, err := Cover(Point{lat, lon}, MaxRadiusM); err != nil {
				t.Fatalf("Cover(%v,%v, MaxRadiusM): %v", lat, lon, err)
			}
		}
	}
}

func TestCoverErrors(t *testing.T) {
	for _, tc := range []struct {
		center  Point
		radiusM float64
		want    error
	}{
		{Point{0, 0}, -1, ErrRange},
		{Point{0, 0}, MaxRadiusM + 1, ErrRange},
		{Point{0, 0}, math.NaN(), ErrNotFinite},
		{Point{0, 0}, math.Inf(1), ErrNotFinite},
		{Point{91, 0}, 1000, ErrRange},
		{Point{0, math.NaN()}, 1000, ErrNotFinite},
	} {
		if _, _, err := Cover(tc.center, tc.radiusM); !errors.Is(err, tc.want) {
			t.Errorf("Cover(%v, %g): %v, want %v", tc.center, tc.radiusM, err, tc.want)
		}
		if _, _, err := Region(tc.center, tc.radiusM); !errors.Is(err, tc.want) {
			t.Errorf("Region(%v, %g): %v, want %v", tc.center, tc.radiusM, err, tc.want)
		}
	}
	if _, err := CoverAt(Point{}, 1000, 0); !errors.Is(err, ErrRange) {
		t.Errorf("CoverAt level 0: %v", err)
	}
	if _, err := CoverAt(Point{}, 10_000, 9); !errors.Is(err, ErrTooManyCells) {
		t.Errorf("CoverAt 10 km at level 9 (5 m cells): %v", err)
	}
	if _, err := LevelFor(-1); !errors.Is(err, ErrRange) {
		t.Errorf("LevelFor(-1): %v", err)
	}
}

// TestCoverAtWholeEarth: the largest radius reaches every cell.
func TestCoverAtWholeEarth(t *testing.T) {
	cells, err := CoverAt(Point{12, 34}, math.Pi*EarthRadiusM, 2)
	if err != nil || len(cells) != 1024 {
		t.Fatalf("CoverAt(whole Earth, level 2): %d cells, %v", len(cells), err)
	}
}

func TestLevelFor(t *testing.T) {
	r := testRand(4)
	prev := MaxLevel
	for _, tc := range []struct {
		radiusM float64
		level   int
	}{
		{0, 12}, {0.005, 12}, {1, 9}, {10, 8}, {150, 7}, {1000, 5}, {5000, 4},
		{20_000, 4}, {100_000, 3}, {500_000, 2}, {MaxRadiusM, 1},
	} {
		level, err := LevelFor(tc.radiusM)
		if err != nil || level != tc.level {
			t.Errorf("LevelFor(%g) = %d, %v; want %d", tc.radiusM, level, err, tc.level)
		}
		if level > prev {
			t.Errorf("LevelFor(%g) = %d, finer than for a smaller radius", tc.radiusM, level)
		}
		prev = level
		// On the equator, wherever the circle lies, its cover at that level
		// has at most MaxCoverCells cells, and Cover is this level or finer.
		for range 200 {
			center := Point{0, r.Float64()*360 - 180}
			cells, err := CoverAt(center, tc.radiusM, level)
			if err != nil || len(cells) > MaxCoverCells {
				t.Fatalf("CoverAt(%v, %g, LevelFor = %d): %d cells, %v", center, tc.radiusM, level, len(cells), err)
			}
			if cl, _, err := Cover(center, tc.radiusM); err != nil || cl < level {
				t.Fatalf("Cover(%v, %g) = level %d, %v; coarser than LevelFor's %d", center, tc.radiusM, cl, err, level)
			}
		}
	}
}

func TestRegion(t *testing.T) {
	r := testRand(5)
	centers := slices.Clone(interesting)
	for range 300 {
		centers = append(centers, randPoint(r))
	}
	for _, center := range centers {
		for _, radiusM := range []float64{0, 150, 2000, 30_000, MaxRadiusM} {
			coverLevel, cover, err := Cover(center, radiusM)
			if err != nil {
				t.Fatal(err)
			}
			level, cells, err := Region(center, radiusM)
			if err != nil {
				t.Fatal(err)
			}
			if want := max(coverLevel-RegionUp, MinLevel); level != want {
				t.Fatalf("Region(%v, %g) level %d, want %d", center, radiusM, level, want)
			}
			if len(cells) == 0 || len(cells) > len(cover) || !slices.IsSortedFunc(cells, compareCells) {
				t.Fatalf("Region(%v, %g) = %v for the cover %v", center, radiusM, cells, cover)
			}
			for _, c := range cover {
				a, err := c.Ancestor(level)
				if err != nil || !slices.Contains(cells, a) {
					t.Fatalf("Region(%v, %g) = %v misses %s's ancestor", center, radiusM, cells, c)
				}
			}
			for _, c := range cells {
				if c.Level() != level {
					t.Fatalf("Region(%v, %g): cell %s not of level %d", center, radiusM, c, level)
				}
			}
		}
	}
	// A 150 m watch in Berlin reads level-5 cells (4.9 km), not level 7.
	level, cells, err := Region(Point{52.52, 13.405}, 150)
	if err != nil || level != 5 || len(cells) > 4 {
		t.Fatalf("Region(Berlin, 150 m) = level %d %v, %v", level, cells, err)
	}
}

func BenchmarkCover(b *testing.B) {
	centers := []Point{{52.52, 13.405}, {0, 179.999}, {89.95, 10}, {-33.9, 151.2}}
	radii := []float64{150, 5000, 100_000}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := Cover(centers[i%len(centers)], radii[i%len(radii)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
