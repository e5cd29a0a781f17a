package geo

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// seeded is a deterministic random stream, so that the statistical checks
// below give the same answer on every run.
func seeded(b byte) io.Reader { return rand.NewChaCha8([32]byte{b}) }

// zeros is a source that is not random.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// distinctOfLevel checks that cells are distinct, of one level and none of
// them in not.
func distinctOfLevel(t *testing.T, cells []Cell, level int, not []Cell) {
	t.Helper()
	seen := map[Cell]bool{}
	for _, c := range cells {
		if c.Level() != level || seen[c] || slices.Contains(not, c) {
			t.Fatalf("decoy %s: level %d (want %d), repeated %v, real %v", c, c.Level(), level, seen[c], slices.Contains(not, c))
		}
		seen[c] = true
	}
}

func TestDecoys(t *testing.T) {
	for _, level := range []int{1, 2, 5, 7, 12} {
		d, err := Decoys(20, seeded(1), level)
		if err != nil || len(d) != 20 {
			t.Fatalf("Decoys(20, level %d) = %d cells, %v", level, len(d), err)
		}
		distinctOfLevel(t, d, level, nil)
	}
	// The same stream gives the same decoys (decoys can be kept stable
	// with a keyed stream); another gives others.
	a, _ := Decoys(5, seeded(7), 6)
	b, _ := Decoys(5, seeded(7), 6)
	c, _ := Decoys(5, seeded(8), 6)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("decoys of one seed %v and %v, of another %v", a, b, c)
	}
	// Level 1 has exactly 32 cells.
	all, err := Decoys(32, seeded(2), 1)
	if err != nil || len(all) != 32 {
		t.Fatalf("all 32 cells of level 1: %d, %v", len(all), err)
	}
	distinctOfLevel(t, all, 1, nil)
	if _, err := Decoys(33, seeded(2), 1); !errors.Is(err, ErrFewCandidates) {
		t.Errorf("33 decoys of level 1: %v", err)
	}
	if d, err := Decoys(0, seeded(2), 5); err != nil || len(d) != 0 {
		t.Errorf("no decoys: %v, %v", d, err)
	}
	for _, n := range []int{-1, MaxDecoys + 1} {
		if _, err := Decoys(n, seeded(2), 5); !errors.Is(err, ErrRange) {
			t.Errorf("%d decoys: %v", n, err)
		}
	}
	if _, err := Decoys(3, seeded(2), 13); !errors.Is(err, ErrRange) {
		t.Errorf("level 13: %v", err)
	}
	if _, err := Decoys(3, bytes.NewReader(make([]byte, 20)), 5); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short random source: %v", err)
	}
	if _, err := Decoys(3, zeros{}, 5); err == nil {
		t.Error("a constant source gave distinct decoys")
	}
}

// TestDecoysUniformByArea: decoys fall into each part of the Earth in
// proportion to its area, not to its share of latitudes. The band poleward
// of 45° holds 1−sin 45° = 29.3% of the sphere (a quarter of the latitudes
// would be 50%); the band within 10° of the equator sin 10° = 17.4%.
func TestDecoysUniformByArea(t *testing.T) {
	rnd := seeded(3)
	const draws = 20000
	polar, tropical := 0, 0
	for range draws {
		d, err := Decoys(1, rnd, 12)
		if err != nil {
			t.Fatal(err)
		}
		lat := d[0].Center().Lat
		if math.Abs(lat) >= 45 {
			polar++
		}
		if math.Abs(lat) < 10 {
			tropical++
		}
	}
	if f := float64(polar) / draws; !near(f, 1-math.Sin(math.Pi/4), 0.015) {
		t.Errorf("%.3f of decoys poleward of 45°, want 0.293", f)
	}
	if f := float64(tropical) / draws; !near(f, math.Sin(radians(10)), 0.015) {
		t.Errorf("%.3f of decoys within 10° of the equator, want 0.174", f)
	}
}

func TestSiblingDecoys(t *testing.T) {
	_, region, err := Region(Point{52.52, 13.405}, 150) // level 5
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []int{1, 2, 3, 4} {
		d, err := SiblingDecoys(10, seeded(4), region, up)
		if err != nil || len(d) != 10 {
			t.Fatalf("SiblingDecoys(up %d) = %v, %v", up, d, err)
		}
		distinctOfLevel(t, d, region[0].Level(), region)
		for _, c := range d {
			a, _ := c.Ancestor(region[0].Level() - up)
			found := false
			for _, r := range region {
				ra, _ := r.Ancestor(region[0].Level() - up)
				found = found || ra == a
			}
			if !found {
				t.Fatalf("decoy %s (up %d) shares no ancestor with %v", c, up, region)
			}
		}
	}
	// One cell has 31 siblings: all of them can be drawn, not one more.
	real := []Cell{mustCell(t, "u33db")}
	d, err := SiblingDecoys(31, seeded(5), real, 1)
	if err != nil || len(d) != 31 {
		t.Fatalf("31 siblings: %d, %v", len(d), err)
	}
	distinctOfLevel(t, d, 5, real)
	if _, err := SiblingDecoys(32, seeded(5), real, 1); !errors.Is(err, ErrFewCandidates) {
		t.Errorf("32 siblings of one cell: %v", err)
	}
	// Even when nearly every candidate is real.
	var many []Cell
	for i := range 32 {
		for j := range 31 {
			many = append(many, Cell{h: "u3" + alphabet[i:i+1] + alphabet[j:j+1]})
		}
	}
	if d, err := SiblingDecoys(32, seeded(6), many, 1); err != nil || len(d) != 32 {
		t.Fatalf("the last 32 free cells: %v, %v", d, err)
	} else {
		for _, c := range d {
			if c.h[3] != alphabet[31] {
				t.Fatalf("decoy %s is not one of the free cells", c)
			}
		}
	}
	for _, tc := range []struct {
		name string
		real []Cell
		up   int
	}{
		{"no real cells", nil, 1},
		{"up 0", real, 0},
		{"up to level 0", real, 5},
		{"mixed levels", []Cell{mustCell(t, "u33db"), mustCell(t, "u33d")}, 1},
		{"zero cell", []Cell{{}}, 1},
	} {
		if _, err := SiblingDecoys(3, seeded(1), tc.real, tc.up); !errors.Is(err, ErrRange) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := SiblingDecoys(3, bytes.NewReader(nil), real, 2); !errors.Is(err, io.EOF) {
		t.Errorf("empty random source: %v", err)
	}
}

func TestPoolDecoys(t *testing.T) {
	real := []Cell{mustCell(t, "u33db")}
	var pool []Cell
	for _, s := range []string{"u33dc", "u33dc", "u33db", "u33", "u4pru", "gcpvj", "dr5ru", "9q8yy", "u33dcx"} {
		pool = append(pool, mustCell(t, s))
	}
	eligible := []Cell{mustCell(t, "u33dc"), mustCell(t, "u4pru"), mustCell(t, "gcpvj"), mustCell(t, "dr5ru"), mustCell(t, "9q8yy")}
	d, err := PoolDecoys(5, seeded(1), pool, real)
	if err != nil || len(d) != 5 {
		t.Fatalf("PoolDecoys = %v, %v", d, err)
	}
	distinctOfLevel(t, d, 5, real)
	for _, c := range d {
		if !slices.Contains(eligible, c) {
			t.Errorf("decoy %s is not an eligible pool cell", c)
		}
	}
	if _, err := PoolDecoys(6, seeded(1), pool, real); !errors.Is(err, ErrFewCandidates) {
		t.Errorf("6 decoys from 5 cells: %v", err)
	}
	// Each eligible cell is drawn about equally often.
	counts := map[Cell]int{}
	rnd := seeded(2)
	for range 5000 {
		d, err := PoolDecoys(1, rnd, pool, real)
		if err != nil {
			t.Fatal(err)
		}
		counts[d[0]]++
	}
	for _, c := range eligible {
		if counts[c] < 850 || counts[c] > 1150 {
			t.Errorf("cell %s drawn %d times of 5000 from 5 cells", c, counts[c])
		}
	}
	if _, err := PoolDecoys(1, seeded(1), pool, nil); !errors.Is(err, ErrRange) {
		t.Errorf("no real cells: %v", err)
	}
}

func TestShuffle(t *testing.T) {
	cells := []Cell{mustCell(t, "u"), mustCell(t, "v"), mustCell(t, "g")}
	counts := map[string]int{}
	rnd := seeded(9)
	for range 6000 {
		c := slices.Clone(cells)
		if err := Shuffle(c, rnd); err != nil {
			t.Fatal(err)
		}
		counts[c[0].h+c[1].h+c[2].h]++
	}
	if len(counts) != 6 {
		t.Fatalf("%d orders of 3 cells: %v", len(counts), counts)
	}
	for order, n := range counts {
		if n < 850 || n > 1150 {
			t.Errorf("order %s came %d times of 6000", order, n)
		}
	}
	if err := Shuffle(slices.Clone(cells), bytes.NewReader(nil)); err == nil {
		t.Error("Shuffle without randomness succeeded")
	}
	if err := Shuffle(nil, zeros{}); err != nil {
		t.Errorf("Shuffle(nil): %v", err)
	}
}
