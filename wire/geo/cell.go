package geo

import (
	"fmt"
	"math"
)

// Geohash levels: a cell of level n is a geohash of n characters.
const (
	// MinLevel is the coarsest level: 32 cells of 45° × 45°.
	MinLevel = 1
	// MaxLevel is the finest level: cells of about 3.7 cm × 1.9 cm.
	MaxLevel = 12
)

// alphabet is the geohash base32 alphabet: digits and lower-case letters
// without a, i, l and o.
const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"

// digitOf maps a byte to its base32 value, or -1.
var digitOf = func() (m [256]int8) {
	for i := range m {
		m[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = int8(i)
	}
	return m
}()

// Cell is a geohash cell: a rectangle of latitude and longitude named by a
// geohash of 1 to 12 characters, its level. A cell of level n+1 is one of
// the 32 parts of the cell of level n whose name it extends. Cells are
// comparable and may be map keys. The zero Cell is no cell (its level is 0);
// ParseCell and CellOf make the others, so every non-zero Cell is valid.
//
// The 5n bits of a level-n geohash alternate longitude and latitude bits,
// longitude first; each pair halves an interval (longitude -180..180,
// latitude -90..90), and a value on a half's lower boundary belongs to the
// upper half. Cells are therefore closed below and open above, except that
// latitude 90 and longitude 180 fall into the last cell.
type Cell struct {
	h string
}

// Box is a rectangle of latitude and longitude in degrees.
type Box struct {
	MinLat, MinLon, MaxLat, MaxLon float64
}

// Contains reports whether p lies within b, boundaries included.
func (b Box) Contains(p Point) bool {
	return p.Lat >= b.MinLat && p.Lat <= b.MaxLat && p.Lon >= b.MinLon && p.Lon <= b.MaxLon
}

// levelBits returns the number of longitude and latitude bits of a level:
// 5·level bits, longitude taking the odd one.
func levelBits(level int) (lonBits, latBits uint) {
	n := uint(5 * level)
	return (n + 1) / 2, n / 2
}

// spans returns a level's cell size in degrees: longitude, latitude.
func spans(level int) (lonSpan, latSpan float64) {
	lonBits, latBits := levelBits(level)
	return math.Ldexp(360, -int(lonBits)), math.Ldexp(180, -int(latBits))
}

// quantize returns the index of the cell of 2^bits equal cells of lo..hi
// that holds x, by bisection as geohash defines it (exact: halving a float
// interval is exact). x beyond hi lands in the last cell, below lo in the
// first.
func quantize(x, lo, hi float64, bits uint) uint32 {
	var idx uint32
	for range bits {
		mid := (lo + hi) / 2
		idx <<= 1
		if x >= mid {
			idx |= 1
			lo = mid
		} else {
			hi = mid
		}
	}
	return idx
}

// makeCell names the cell of a level whose longitude and latitude indexes
// are given.
func makeCell(lonIdx, latIdx uint32, level int) Cell {
	lonBits, latBits := levelBits(level)
	var buf [MaxLevel]byte
	for c := range level {
		var v byte
		for b := range 5 {
			v <<= 1
			if (c*5+b)%2 == 0 {
				lonBits--
				v |= byte(lonIdx>>lonBits) & 1
			} else {
				latBits--
				v |= byte(latIdx>>latBits) & 1
			}
		}
		buf[c] = alphabet[v]
	}
	return Cell{h: string(buf[:level])}
}

// indexes returns the longitude and latitude indexes of c.
func (c Cell) indexes() (lonIdx, latIdx uint32) {
	for i := 0; i < len(c.h); i++ {
		v := uint32(digitOf[c.h[i]])
		for b := 4; b >= 0; b-- {
			bit := (v >> uint(b)) & 1
			if (i*5+4-b)%2 == 0 {
				lonIdx = lonIdx<<1 | bit
			} else {
				latIdx = latIdx<<1 | bit
			}
		}
	}
	return lonIdx, latIdx
}

// checkLevel reports whether level is 1..12.
func checkLevel(level int) error {
	if level < MinLevel || level > MaxLevel {
		return fmt.Errorf("geo: level %d not within %d..%d: %w", level, MinLevel, MaxLevel, ErrRange)
	}
	return nil
}

// CellOf returns the cell of the given level (1..12) that holds p.
func CellOf(p Point, level int) (Cell, error) {
	if err := p.Validate(); err != nil {
		return Cell{}, err
	}
	if err := checkLevel(level); err != nil {
		return Cell{}, err
	}
	return cellOf(p, level), nil
}

// cellOf is CellOf for a valid point and level.
func cellOf(p Point, level int) Cell {
	lonBits, latBits := levelBits(level)
	return makeCell(quantize(p.Lon, -180, 180, lonBits), quantize(p.Lat, -90, 90, latBits), level)
}

// ParseCell reads a geohash of 1 to 12 characters of the geohash alphabet
// ("0123456789bcdefghjkmnpqrstuvwxyz"). Only lower case is taken, so a cell
// has one name; lower-case user input before parsing it.
func ParseCell(s string) (Cell, error) {
	if len(s) < MinLevel || len(s) > MaxLevel {
		return Cell{}, fmt.Errorf("geo: geohash of %d characters, want %d..%d: %w", len(s), MinLevel, MaxLevel, ErrFormat)
	}
	for i := 0; i < len(s); i++ {
		if digitOf[s[i]] < 0 {
			return Cell{}, fmt.Errorf("geo: geohash has %q at %d, not of the alphabet %s: %w", s[i], i, alphabet, ErrFormat)
		}
	}
	return Cell{h: s}, nil
}

// String returns the geohash ("" for the zero Cell).
func (c Cell) String() string { return c.h }

// IsZero reports whether c is the zero Cell.
func (c Cell) IsZero() bool { return c.h == "" }

// Level returns the number of characters of the geohash: 1..12, 0 for the
// zero Cell.
func (c Cell) Level() int { return len(c.h) }

// Bounds returns the cell's rectangle (the whole Earth for the zero Cell).
func (c Cell) Bounds() Box {
	lonIdx, latIdx := c.indexes()
	lonSpan, latSpan := spans(c.Level())
	if c.IsZero() {
		lonSpan, latSpan = 360, 180
	}
	// Exact: the spans are powers of two times 360 or 180 and the indexes
	// have at most 30 bits.
	minLon := -180 + float64(lonIdx)*lonSpan
	minLat := -90 + float64(latIdx)*latSpan
	return Box{MinLat: minLat, MinLon: minLon, MaxLat: minLat + latSpan, MaxLon: minLon + lonSpan}
}

// Center returns the centre of the cell's rectangle.
func (c Cell) Center() Point {
	b := c.Bounds()
	return Point{Lat: (b.MinLat + b.MaxLat) / 2, Lon: (b.MinLon + b.MaxLon) / 2}
}

// Ancestor returns the cell of the given coarser (or equal) level that
// holds c: its geohash cut to level characters.
func (c Cell) Ancestor(level int) (Cell, error) {
	if err := checkLevel(level); err != nil {
		return Cell{}, err
	}
	if level > c.Level() {
		return Cell{}, fmt.Errorf("geo: cell of level %d has no ancestor of level %d: %w", c.Level(), level, ErrRange)
	}
	return Cell{h: c.h[:level]}, nil
}

// CellSize returns the size in metres of the cells of a level at a
// latitude: the height (north–south) is the same everywhere, the width
// (east–west) shrinks with the cosine of the latitude. Level 7, for
// instance, is 153 m × 153 m on the equator, 107 m × 153 m at 45°, and
// 76 m × 153 m at 60°. Levels out of range give zero.
//
//	level  width on the equator  height
//	 1      5004 km              5004 km
//	 2      1251 km               625 km
//	 3       156 km               156 km
//	 4        39.1 km              19.5 km
//	 5         4.89 km              4.89 km
//	 6         1.22 km              0.611 km
//	 7         153 m                153 m
//	 8          38.2 m               19.1 m
//	 9           4.77 m               4.77 m
//	10           1.19 m               0.596 m
//	11           0.149 m              0.149 m
//	12           0.037 m              0.019 m
func CellSize(level int, lat float64) (widthM, heightM float64) {
	if checkLevel(level) != nil {
		return 0, 0
	}
	lonSpan, latSpan := spans(level)
	return lonSpan * metresPerDegree * math.Cos(radians(lat)), latSpan * metresPerDegree
}

// DefaultSnapM is the cell size pins are snapped to unless the user
// chooses another: level 7, about 150 m.
const DefaultSnapM = 150

// Snap coarsens p to the centre of a cell, so that a published position
// says no more than the cell: it picks the level whose cells, at p's
// latitude, are nearest to cellSizeM (0 means DefaultSnapM) and returns the
// centre of p's cell of that level and the cell. A cell's size here is its
// shorter side at the cell's centre, so that neither coordinate is given
// much more precisely than asked; nearest means by ratio (successive levels
// differ 4- to 8-fold). Cell widths shrink towards the poles (CellSize), so
// the level and the actual size vary with latitude: the default gives
// level 7 up to about 69.7° (153 m × 153 m on the equator, 94 m × 153 m at
// 52° N, 55 m × 153 m at 69°), level 6 beyond (about 420 m × 611 m at 70°),
// and coarser levels still within a few degrees of the poles. A pin's
// area is computed from the snapped point, not from p.
func Snap(p Point, cellSizeM float64) (Point, Cell, error) {
	if err := p.Validate(); err != nil {
		return Point{}, Cell{}, err
	}
	if cellSizeM == 0 {
		cellSizeM = DefaultSnapM
	}
	if math.IsNaN(cellSizeM) || math.IsInf(cellSizeM, 0) {
		return Point{}, Cell{}, fmt.Errorf("geo: snap size: %w", ErrNotFinite)
	}
	if cellSizeM < 0 {
		return Point{}, Cell{}, fmt.Errorf("geo: snap size %g m is negative: %w", cellSizeM, ErrRange)
	}
	best, bestDiff := Cell{}, math.Inf(1)
	for level := MinLevel; level <= MaxLevel; level++ {
		c := cellOf(p, level)
		w, h := CellSize(level, c.Center().Lat)
		if diff := math.Abs(math.Log(min(w, h) / cellSizeM)); diff < bestDiff {
			best, bestDiff = c, diff
		}
	}
	return best.Center(), best, nil
}
