package geo

import (
	"bytes"
	"fmt"
)

// areaKeyPrefix starts every area set key. Another cell scheme would take
// another prefix, so keys of the two could never collide.
const areaKeyPrefix = "geohash:"

// MaxAreaKeySize is the longest AreaKey: the prefix and 12 characters,
// 20 bytes (a set key may have 64).
const MaxAreaKeySize = len(areaKeyPrefix) + MaxLevel

// AreaKey is the set key (wire/setitem Item.Key) of a cell's set in the
// "area" namespace: the ASCII bytes "geohash:" followed by the cell's
// geohash, e.g. "geohash:u4pruyd" (9 to 20 bytes). The encoding is stable:
// changing it moves every area set. The zero Cell has no key (nil).
func AreaKey(c Cell) []byte {
	if c.IsZero() {
		return nil
	}
	return append([]byte(areaKeyPrefix), c.h...)
}

// ParseAreaKey returns the cell whose AreaKey is b, for storage nodes and
// readers that check the keys of area sets: b must be exactly "geohash:"
// and a valid geohash of 1 to 12 characters.
func ParseAreaKey(b []byte) (Cell, error) {
	if len(b) > MaxAreaKeySize {
		return Cell{}, fmt.Errorf("geo: area key of %d bytes, at most %d: %w", len(b), MaxAreaKeySize, ErrFormat)
	}
	rest, ok := bytes.CutPrefix(b, []byte(areaKeyPrefix))
	if !ok {
		return Cell{}, fmt.Errorf("geo: area key does not start with %q: %w", areaKeyPrefix, ErrFormat)
	}
	c, err := ParseCell(string(rest))
	if err != nil {
		return Cell{}, fmt.Errorf("geo: area key: %w", err)
	}
	return c, nil
}
