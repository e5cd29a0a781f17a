package geo

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParsePoint reads arbitrary text as a point: it either fails with one
// of the documented errors or gives a valid point that formats and parses
// back to within the 6 decimals of String.
func FuzzParsePoint(f *testing.F) {
	for _, s := range []string{"57.64911,10.40744", " -33.9 , 151.2", "90,180", "-90,-180", "NaN,0",
		"1e5,0", "0x1p1,0", "91,0", "1,2,3", "", ",", ".5,-.5", "+0,-0", "0,inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePoint(s)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrRange) && !errors.Is(err, ErrNotFinite) {
				t.Fatalf("ParsePoint(%q): undocumented error %v", s, err)
			}
			if p != (Point{}) {
				t.Fatalf("ParsePoint(%q) failed but returned %v", s, p)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePoint(%q) = %v, invalid: %v", s, p, err)
		}
		q, err := ParsePoint(p.String())
		if err != nil || !near(q.Lat, p.Lat, 5e-7) || !near(q.Lon, p.Lon, 5e-7) {
			t.Fatalf("ParsePoint(%q) = %v; formatted %q parses to %v, %v", s, p, p.String(), q, err)
		}
	})
}

// FuzzParseCell decodes arbitrary text as a geohash: a valid one is its own
// name, its centre encodes back to it, its rectangle has its level's size
// and lies within each ancestor's, and its area key decodes back to it.
func FuzzParseCell(f *testing.F) {
	for _, s := range []string{"u4pruydqqvj", "ezs42", "s00000000000", "zzzzzzzzzzzz", "0", "a", "", "U4", "u4pruydqqvjzz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrFormat) || !c.IsZero() {
				t.Fatalf("ParseCell(%q) = %v, %v", s, c, err)
			}
			return
		}
		if c.String() != s || c.Level() != len(s) || c.IsZero() {
			t.Fatalf("ParseCell(%q) = %q level %d", s, c, c.Level())
		}
		b := c.Bounds()
		lonSpan, latSpan := spans(c.Level())
		if b.MinLat < -90 || b.MaxLat > 90 || b.MinLon < -180 || b.MaxLon > 180 ||
			b.MaxLat-b.MinLat != latSpan || b.MaxLon-b.MinLon != lonSpan {
			t.Fatalf("%s: bounds %+v", s, b)
		}
		center := c.Center()
		if got, err := CellOf(center, c.Level()); err != nil || got != c {
			t.Fatalf("%s: centre %v encodes to %v, %v", s, center, got, err)
		}
		if got := cellOf(Point{b.MinLat, b.MinLon}, c.Level()); got != c {
			t.Fatalf("%s: lower corner encodes to %s", s, got)
		}
		for level := MinLevel; level < c.Level(); level++ {
			a, err := c.Ancestor(level)
			if err != nil {
				t.Fatal(err)
			}
			ab := a.Bounds()
			if !ab.Contains(Point{b.MinLat, b.MinLon}) || !ab.Contains(Point{b.MaxLat, b.MaxLon}) {
				t.Fatalf("%s: ancestor %s %+v does not hold %+v", s, a, ab, b)
			}
		}
		if got, err := ParseAreaKey(AreaKey(c)); err != nil || got != c {
			t.Fatalf("%s: area key decodes to %v, %v", s, got, err)
		}
	})
}

// FuzzParseAreaKey decodes arbitrary set keys of the area namespace: what
// it accepts is exactly the key of the cell it returns.
func FuzzParseAreaKey(f *testing.F) {
	for _, s := range []string{"geohash:u4pruyd", "geohash:", "geohash:zzzzzzzzzzzz", "geohash:a", "gh:u4", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAreaKey(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) || !c.IsZero() {
				t.Fatalf("ParseAreaKey(%q) = %v, %v", b, c, err)
			}
			return
		}
		if k := AreaKey(c); !bytes.Equal(k, b) || len(k) > MaxAreaKeySize {
			t.Fatalf("ParseAreaKey(%q) = %s, whose key is %q", b, c, k)
		}
	})
}
