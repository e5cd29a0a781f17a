package geo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// MaxDecoys is the most decoy cells one call draws.
const MaxDecoys = 64

// ErrFewCandidates is a decoy draw that asks for more distinct cells than
// there are to draw from.
var ErrFewCandidates = errors.New("geo: too few cells to draw decoys from")

// drawsPerDecoy bounds the draws of the rejection loops: with a random
// source the chance of needing that many is negligible (below 2^-80 in
// the worst case, all 32 cells of level 1, whose polar ones each hold 1.8%
// of the Earth), so reaching it means the source is not random.
const drawsPerDecoy = 100

// randUint64 reads 8 bytes of rnd.
func randUint64(rnd io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return 0, fmt.Errorf("geo: read random bytes: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// randBelow returns a uniform integer in [0, n), n > 0, by rejection (no
// modulo bias). Each draw is accepted with probability above 1/2, so 64
// rejections in a row mean the source is not random.
func randBelow(rnd io.Reader, n uint64) (uint64, error) {
	limit := math.MaxUint64 - math.MaxUint64%n // a multiple of n
	for range 64 {
		v, err := randUint64(rnd)
		if err != nil {
			return 0, err
		}
		if v < limit {
			return v % n, nil
		}
	}
	return 0, errors.New("geo: 64 random numbers in a row out of range: the random source is not random")
}

// randUnit returns a uniform float64 in [0, 1) with 53 random bits.
func randUnit(rnd io.Reader) (float64, error) {
	v, err := randUint64(rnd)
	if err != nil {
		return 0, err
	}
	return math.Ldexp(float64(v>>11), -53), nil
}

// randomPoint returns a point uniform by area on the sphere: uniform
// longitude, and latitude asin(u) for u uniform in [-1, 1).
func randomPoint(rnd io.Reader) (Point, error) {
	u, err := randUnit(rnd)
	if err != nil {
		return Point{}, err
	}
	v, err := randUnit(rnd)
	if err != nil {
		return Point{}, err
	}
	return Point{Lat: degrees(math.Asin(2*u - 1)), Lon: 360*v - 180}, nil
}

// checkDecoyCount reports whether n is 0..MaxDecoys.
func checkDecoyCount(n int) error {
	if n < 0 || n > MaxDecoys {
		return fmt.Errorf("geo: %d decoys, want 0..%d: %w", n, MaxDecoys, ErrRange)
	}
	return nil
}

// Decoys draws n distinct cells of a level uniformly by area over the whole
// Earth, using rnd (crypto/rand.Reader, or a keyed stream for decoys that
// stay the same across reads; see the package documentation). It knows
// nothing of where people live: about 71% of its cells are sea and most of
// the rest is empty land, which an observer with a population map tells
// apart from real reads at a glance. Prefer PoolDecoys, then
// SiblingDecoys; Decoys is the fallback when neither has candidates.
func Decoys(n int, rnd io.Reader, level int) ([]Cell, error) {
	if err := checkDecoyCount(n); err != nil {
		return nil, err
	}
	if err := checkLevel(level); err != nil {
		return nil, err
	}
	// Level 1 has 32 cells, level 2 already 1024 > MaxDecoys.
	if level == MinLevel && n > 32 {
		return nil, fmt.Errorf("geo: %d decoys of level 1, which has 32 cells: %w", n, ErrFewCandidates)
	}
	out := make([]Cell, 0, n)
	for draws := 0; len(out) < n; draws++ {
		if draws >= drawsPerDecoy*n {
			return nil, fmt.Errorf("geo: %d draws gave %d of %d distinct decoys: the random source repeats itself", draws, len(out), n)
		}
		p, err := randomPoint(rnd)
		if err != nil {
			return nil, err
		}
		if c := cellOf(p, level); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// realLevel checks that realCells are 1..MaxCoverAtCells cells of one
// level, and returns it.
func realLevel(realCells []Cell) (int, error) {
	if len(realCells) == 0 || len(realCells) > MaxCoverAtCells {
		return 0, fmt.Errorf("geo: %d real cells to draw decoys for, want 1..%d: %w", len(realCells), MaxCoverAtCells, ErrRange)
	}
	level := realCells[0].Level()
	for _, c := range realCells {
		if c.IsZero() || c.Level() != level {
			return 0, fmt.Errorf("geo: real cells of levels %d and %d; decoys need one level: %w", level, c.Level(), ErrRange)
		}
	}
	return level, nil
}

// SiblingDecoys draws n distinct cells, uniformly and none of them a real
// cell, from the cells of the real cells' level (they must share one) that
// lie in the real cells' ancestors up levels above; up is at least 1 and
// leaves ancestors of level 1 or finer. An observer learns the ancestors
// (with up = 2 on a Region of level L, cells of level L−2), but within them
// the decoys are as plausible as the ancestors' land is even.
func SiblingDecoys(n int, rnd io.Reader, realCells []Cell, up int) ([]Cell, error) {
	if err := checkDecoyCount(n); err != nil {
		return nil, err
	}
	level, err := realLevel(realCells)
	if err != nil {
		return nil, err
	}
	if up < 1 || level-up < MinLevel {
		return nil, fmt.Errorf("geo: siblings %d levels above level %d: want 1..%d: %w", up, level, level-MinLevel, ErrRange)
	}
	var parents []string
	for _, c := range realCells {
		if p := c.h[:level-up]; !slices.Contains(parents, p) {
			parents = append(parents, p)
		}
	}
	isReal := make(map[Cell]bool, len(realCells))
	for _, c := range realCells {
		isReal[c] = true
	}
	// Each ancestor has 32^up cells of the level. When that makes few
	// candidates, list them and sample without replacement, which cannot
	// run out of draws however many of them are real.
	perParent := uint64(1) << (5 * uint(up))
	if up <= 2 && uint64(len(parents))*perParent <= siblingListMax {
		var cand []Cell
		for _, p := range parents {
			for v := range perParent {
				if c := (Cell{h: p + suffix(v, up)}); !isReal[c] {
					cand = append(cand, c)
				}
			}
		}
		if len(cand) < n {
			return nil, fmt.Errorf("geo: %d decoys from %d sibling cells: %w", n, len(cand), ErrFewCandidates)
		}
		return sample(cand, n, rnd)
	}
	// Otherwise there are more than siblingListMax cells, of which at most
	// MaxCoverAtCells are real and MaxDecoys drawn: a draw is new with
	// probability above 0.9. Drawing an ancestor uniformly and then one of
	// its cells is uniform over all their cells (each has as many), and
	// rejecting real and drawn cells keeps it uniform over the rest.
	out := make([]Cell, 0, n)
	for draws := 0; len(out) < n; draws++ {
		if draws >= drawsPerDecoy*n {
			return nil, fmt.Errorf("geo: %d draws gave %d of %d distinct decoys: the random source repeats itself", draws, len(out), n)
		}
		pi, err := randBelow(rnd, uint64(len(parents)))
		if err != nil {
			return nil, err
		}
		v, err := randBelow(rnd, perParent)
		if err != nil {
			return nil, err
		}
		if c := (Cell{h: parents[pi] + suffix(v, up)}); !isReal[c] && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// siblingListMax is the most sibling cells SiblingDecoys lists.
const siblingListMax = 1 << 16

// suffix spells the low 5·k bits of v as k geohash characters.
func suffix(v uint64, k int) string {
	var b [MaxLevel]byte
	for i := k - 1; i >= 0; i-- {
		b[i] = alphabet[v&31]
		v >>= 5
	}
	return string(b[:k])
}

// sample returns n cells drawn uniformly without replacement from cand
// (which it reorders): a partial Fisher–Yates shuffle.
func sample(cand []Cell, n int, rnd io.Reader) ([]Cell, error) {
	for i := range n {
		j, err := randBelow(rnd, uint64(len(cand)-i))
		if err != nil {
			return nil, err
		}
		k := i + int(j)
		cand[i], cand[k] = cand[k], cand[i]
	}
	return cand[:n:n], nil
}

// PoolDecoys draws n distinct cells uniformly from pool, taking only cells
// of the real cells' level (which must be one) and never a real cell. The
// pool is meant to be cells that other users really published to (the
// cells of entries the reader has seen): their reads look like the real
// one, since they are real places people post about. Fewer than n such
// cells is ErrFewCandidates; fall back to SiblingDecoys then.
func PoolDecoys(n int, rnd io.Reader, pool, realCells []Cell) ([]Cell, error) {
	if err := checkDecoyCount(n); err != nil {
		return nil, err
	}
	level, err := realLevel(realCells)
	if err != nil {
		return nil, err
	}
	var cand []Cell
	for _, c := range pool {
		if c.Level() == level && !slices.Contains(realCells, c) && !slices.Contains(cand, c) {
			cand = append(cand, c)
		}
	}
	if len(cand) < n {
		return nil, fmt.Errorf("geo: %d decoys from %d pool cells of level %d: %w", n, len(cand), level, ErrFewCandidates)
	}
	return sample(cand, n, rnd)
}

// Shuffle puts cells in a uniformly random order (Fisher–Yates) with rnd.
// Read the real and decoy cells in shuffled order: in any fixed order the
// position of a read would tell which it is.
func Shuffle(cells []Cell, rnd io.Reader) error {
	for i := len(cells) - 1; i > 0; i-- {
		j, err := randBelow(rnd, uint64(i)+1)
		if err != nil {
			return err
		}
		cells[i], cells[j] = cells[j], cells[i]
	}
	return nil
}
