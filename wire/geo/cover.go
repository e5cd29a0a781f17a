package geo

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

const (
	// MaxCoverCells bounds the cells of a Cover: its level is the finest
	// whose cells meeting the circle's bounding box number at most this.
	MaxCoverCells = 12
	// MaxRadiusM is the largest radius Cover, Region and LevelFor take:
	// 1000 km, within which level 1 always meets at most MaxCoverCells
	// cells, wherever the centre lies.
	MaxRadiusM = 1_000_000
	// MaxCoverAtCells bounds the cells of a CoverAt, whose level the
	// caller chooses.
	MaxCoverAtCells = 4096
	// RegionUp is how many levels above its Cover a Region lies: its cells
	// are 32² = 1024 times larger.
	RegionUp = 2
)

// ErrTooManyCells is a CoverAt whose circle meets more than MaxCoverAtCells
// cells of the level asked for.
var ErrTooManyCells = errors.New("geo: too many cells")

// bbox is the bounding box of a circle on the sphere: a latitude interval
// and the longitude intervals (one, or two where the box crosses the
// antimeridian, or every longitude where the circle holds a pole).
type bbox struct {
	minLat, maxLat float64
	allLon         bool
	lons           [][2]float64
}

// boundingBox returns the smallest latitude/longitude box that holds every
// point within radiusM of c (J. Matuschek, "Finding Points Within a
// Distance of a Latitude/Longitude Using Bounding Coordinates"): the
// latitude reach is the angular radius δ; if the circle holds a pole it
// holds every longitude; otherwise the longitude reach is
// asin(sin δ / cos lat), which is at the circle's points that touch the
// box's sides (poleward of the centre), and the interval wraps at ±180°.
func boundingBox(c Point, radiusM float64) bbox {
	delta := radiusM / EarthRadiusM
	deltaDeg := degrees(delta)
	b := bbox{minLat: c.Lat - deltaDeg, maxLat: c.Lat + deltaDeg}
	if b.minLat <= -90 || b.maxLat >= 90 {
		b.minLat, b.maxLat = max(b.minLat, -90), min(b.maxLat, 90)
		b.allLon = true
		return b
	}
	s := math.Sin(delta) / math.Cos(radians(c.Lat))
	if s >= 1 {
		b.allLon = true
		return b
	}
	reach := degrees(math.Asin(s))
	lo, hi := c.Lon-reach, c.Lon+reach
	switch {
	case hi-lo >= 360:
		b.allLon = true
	// Longitudes -180 and 180 are one meridian, in the first column and
	// the last: a box that reaches it takes both.
	case lo <= -180:
		b.lons = [][2]float64{{-180, hi}, {lo + 360, 180}}
	case hi >= 180:
		b.lons = [][2]float64{{-180, hi - 360}, {lo, 180}}
	default:
		b.lons = [][2]float64{{lo, hi}}
	}
	return b
}

// indexRange is an inclusive range of cell indexes.
type indexRange struct{ lo, hi uint32 }

// columns are the longitude index ranges of a box at one level: one, or
// two at the antimeridian.
type columns struct {
	r [2]indexRange
	n int
}

// ranges returns the index ranges of the cells of a level that meet b, and
// how many cells that is.
func (b bbox) ranges(level int) (lat indexRange, cols columns, n uint64) {
	lonBits, latBits := levelBits(level)
	lat = indexRange{quantize(b.minLat, -90, 90, latBits), quantize(b.maxLat, -90, 90, latBits)}
	all := columns{r: [2]indexRange{{0, 1<<lonBits - 1}}, n: 1}
	if b.allLon {
		cols = all
	} else {
		for _, iv := range b.lons {
			cols.r[cols.n] = indexRange{quantize(iv[0], -180, 180, lonBits), quantize(iv[1], -180, 180, lonBits)}
			cols.n++
		}
		// Two wrapped intervals that meet in one column, or overlap,
		// cover every column.
		if cols.n == 2 && cols.r[0].hi+1 >= cols.r[1].lo {
			cols = all
		}
	}
	var width uint64
	for _, r := range cols.r[:cols.n] {
		width += uint64(r.hi-r.lo) + 1
	}
	return lat, cols, width * (uint64(lat.hi-lat.lo) + 1)
}

// cells lists the cells of a level that meet b, sorted by geohash.
func (b bbox) cells(level int) []Cell {
	lat, cols, n := b.ranges(level)
	out := make([]Cell, 0, n)
	for y := lat.lo; y <= lat.hi; y++ {
		for _, r := range cols.r[:cols.n] {
			for x := r.lo; x <= r.hi; x++ {
				out = append(out, makeCell(x, y, level))
			}
		}
	}
	slices.SortFunc(out, compareCells)
	return out
}

// compareCells orders cells by geohash.
func compareCells(a, b Cell) int {
	switch {
	case a.h < b.h:
		return -1
	case a.h > b.h:
		return 1
	}
	return 0
}

// checkCircle validates a circle's centre and radius (0..maxM metres).
func checkCircle(center Point, radiusM, maxM float64) error {
	if err := center.Validate(); err != nil {
		return err
	}
	if math.IsNaN(radiusM) || math.IsInf(radiusM, 0) {
		return fmt.Errorf("geo: radius: %w", ErrNotFinite)
	}
	if radiusM < 0 || radiusM > maxM {
		return fmt.Errorf("geo: radius %g m not within 0..%g: %w", radiusM, maxM, ErrRange)
	}
	return nil
}

// Cover returns the cells that an area entry for the circle (center,
// radiusM) is written to: every cell of the finest level at which the cells
// meeting the circle's bounding box number at most MaxCoverCells (12),
// sorted by geohash. The cells hold the whole circle, and more: readers
// filter entries by true distance. The radius is 0..MaxRadiusM.
//
// The level depends on the centre as well as on the radius: a circle that
// happens to lie across few cell boundaries gets a finer level, and
// longitude cells narrow towards the poles, so a circle far north or south
// gets a coarser one. A circle that holds a pole meets every column of
// cells and gets level 1: the 8 cells around the pole from 45° to 90°.
// Writers and readers meet only in sets of the same level; see the package
// documentation.
func Cover(center Point, radiusM float64) (level int, cells []Cell, err error) {
	if err := checkCircle(center, radiusM, MaxRadiusM); err != nil {
		return 0, nil, err
	}
	b := boundingBox(center, radiusM)
	fits := func(level int) bool {
		_, _, n := b.ranges(level)
		return n <= MaxCoverCells
	}
	if !fits(MinLevel) {
		// Not reached for radii up to MaxRadiusM (TestCoverBound).
		return 0, nil, fmt.Errorf("geo: a circle of %g m meets more than %d cells of level %d: %w", radiusM, MaxCoverCells, MinLevel, ErrTooManyCells)
	}
	// A cell meets the box if one of its parts does, so the count only
	// grows with the level: search for the last level that fits.
	lo, hi := MinLevel, MaxLevel+1 // fits(lo), and !fits(hi) or hi is past MaxLevel
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, b.cells(lo), nil
}

// CoverAt returns the cells of the given level that meet the bounding box
// of the circle (center, radiusM), sorted by geohash: the cover at a level
// the caller fixes, for protocols in which writers and readers must use the
// same level whatever their circles. More than MaxCoverAtCells cells is
// ErrTooManyCells. The radius is 0..EarthRadiusM·π (half the
// circumference: the whole Earth).
func CoverAt(center Point, radiusM float64, level int) ([]Cell, error) {
	if err := checkCircle(center, radiusM, math.Pi*EarthRadiusM); err != nil {
		return nil, err
	}
	if err := checkLevel(level); err != nil {
		return nil, err
	}
	b := boundingBox(center, radiusM)
	if _, _, n := b.ranges(level); n > MaxCoverAtCells {
		return nil, fmt.Errorf("geo: a circle of %g m meets %d cells of level %d, at most %d: %w", radiusM, n, level, MaxCoverAtCells, ErrTooManyCells)
	}
	return b.cells(level), nil
}

// LevelFor returns the level that a circle of radiusM (0..MaxRadiusM) gets
// on the equator in the worst case: the finest level at which such a circle
// meets at most MaxCoverCells cells wherever on the equator it lies. It
// depends on the radius alone, so writers and readers that agree on a
// radius agree on the level (use it with CoverAt). Cover's level for a
// centre on the equator is this or finer; towards the poles the circle
// meets more columns and CoverAt at this level returns more cells (about
// 1/cos(latitude) times as many columns).
func LevelFor(radiusM float64) (int, error) {
	if err := checkCircle(Point{}, radiusM, MaxRadiusM); err != nil {
		return 0, err
	}
	reach := 2 * degrees(radiusM/EarthRadiusM) // the box's side on the equator, in degrees
	for level := MaxLevel; level >= MinLevel; level-- {
		lonSpan, latSpan := spans(level)
		// An interval of length w meets at most ⌈w/s⌉+1 cells of size s.
		cols := math.Ceil(reach/lonSpan) + 1
		rows := math.Ceil(reach/latSpan) + 1
		if cols*rows <= MaxCoverCells {
			return level, nil
		}
	}
	return 0, fmt.Errorf("geo: a circle of %g m meets more than %d cells of level %d: %w", radiusM, MaxCoverCells, MinLevel, ErrTooManyCells)
}

// Region returns what a reader of the circle (center, radiusM) fetches
// instead of its Cover: the cells RegionUp (2) levels above the Cover's
// level (level 1 at the coarsest) that hold the Cover's cells, sorted by
// geohash, usually one to four. An exit and the storage nodes see only
// these cells, each about 1024 times the area of a Cover cell; the reader
// filters what it reads by true distance.
func Region(center Point, radiusM float64) (level int, cells []Cell, err error) {
	coverLevel, cover, err := Cover(center, radiusM)
	if err != nil {
		return 0, nil, err
	}
	level = max(coverLevel-RegionUp, MinLevel)
	for _, c := range cover {
		a := Cell{h: c.h[:level]}
		if !slices.Contains(cells, a) {
			cells = append(cells, a)
		}
	}
	slices.SortFunc(cells, compareCells)
	return level, cells, nil
}
