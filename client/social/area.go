package social

import (
	"fmt"

	"github.com/komrade-net/komrade/wire/geo"
)

// Area sets: writers and readers meet only in sets of the same cell level,
// so the "area" namespace uses one level for everything: AreaLevel
// (geohash precision 4: cells of about 39 km × 20 km at the equator,
// narrower towards the poles). A circle of at most MaxAreaRadiusM meets at
// most 12 such cells on the equator (about 16 at 60° of latitude). A post
// goes to every cell its circle meets; a reader reads every cell its own
// circle meets, plus decoys: what an exit or a storage node learns of a
// reader is a few cells of that size, not the circle; the reader filters
// entries by true distance.
const (
	AreaLevel      = 4
	MaxAreaRadiusM = 25_000
)

// AreaCells returns the area sets that a circle (a post's audience, or a
// reader's area) meets.
func AreaCells(center geo.Point, radiusM float64) ([]geo.Cell, error) {
	if radiusM <= 0 || radiusM > MaxAreaRadiusM {
		return nil, fmt.Errorf("radius %.0f m: want more than 0 and at most %d km", radiusM, MaxAreaRadiusM/1000)
	}
	return geo.CoverAt(center, radiusM, AreaLevel)
}
