package social

// The user's areas: places the refresher keeps fresh (bucket "areas").
// Each is read as the area sets of the cells its circle meets (AreaCells)
// plus decoy cells drawn once, when the area is added, and kept with it:
// fresh decoys at every read would leave the real cells as the only ones
// read again and again.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/geo"
)

// Limits of the user's areas.
const (
	// MaxAreas is the most areas a user watches.
	MaxAreas = 8
	// MinDecoys is the fewest decoy cells read with an area; an area of
	// more real cells gets as many decoys as it has real cells.
	MinDecoys = 4
	// decoyUp is how many levels above AreaLevel the decoys are drawn
	// from (geo.SiblingDecoys): cells of the same ~150 km square.
	decoyUp = 1
)

// WatchedArea is one of the user's areas.
type WatchedArea struct {
	Near    geo.Point `json:"near"`
	RadiusM float64   `json:"radius_m"`
	Cells   int       `json:"cells"`  // area sets read for it each round
	Decoys  int       `json:"decoys"` // decoy sets read with them
	decoys  []geo.Cell
}

// areaRec is a watched area in the store.
type areaRec struct {
	LatE6   int32    `cbor:"1,keyasint"`
	LonE6   int32    `cbor:"2,keyasint"`
	RadiusM uint32   `cbor:"3,keyasint"`
	Decoys  []string `cbor:"4,keyasint"`
	Added   int64    `cbor:"5,keyasint"`
}

var areaDec = detcbor.NewDecoder(geo.MaxDecoys, 4)

func e6(x float64) int32 { return int32(math.Round(x * 1e6)) }

func areaKey(p geo.Point, radiusM float64) string {
	return fmt.Sprintf("%d,%d,%d", e6(p.Lat), e6(p.Lon), uint32(math.Round(radiusM)))
}

// AddArea makes the circle (near, radiusM) one of the user's areas and
// draws its decoys.
func (s *Social) AddArea(near geo.Point, radiusM float64) (*WatchedArea, error) {
	if err := near.Validate(); err != nil {
		return nil, err
	}
	real, err := AreaCells(near, radiusM)
	if err != nil {
		return nil, err
	}
	n := max(MinDecoys, len(real))
	decoys, err := geo.SiblingDecoys(n, rand.Reader, real, decoyUp)
	if errors.Is(err, geo.ErrFewCandidates) {
		decoys, err = geo.Decoys(n, rand.Reader, AreaLevel)
	}
	if err != nil {
		return nil, fmt.Errorf("social: decoys: %w", err)
	}
	rec := areaRec{LatE6: e6(near.Lat), LonE6: e6(near.Lon), RadiusM: uint32(math.Round(radiusM)), Added: time.Now().Unix()}
	for _, c := range decoys {
		rec.Decoys = append(rec.Decoys, c.String())
	}
	b, err := detcbor.Marshal(&rec)
	if err != nil {
		return nil, err
	}
	key := areaKey(near, radiusM)
	err = s.st.Update(func(tx *store.Tx) error {
		n := 0
		if err := tx.List(bucketAreas, func(k string, _ []byte) error {
			if k != key {
				n++
			}
			return nil
		}); err != nil {
			return err
		}
		if n >= MaxAreas {
			return fmt.Errorf("social: you watch %d areas already, the most there can be (remove one first)", MaxAreas)
		}
		return tx.Put(bucketAreas, key, b)
	})
	if err != nil {
		return nil, err
	}
	s.fs.wake()
	w := rec.watched()
	return &w, nil
}

// RemoveArea stops watching the circle (near, radiusM).
func (s *Social) RemoveArea(near geo.Point, radiusM float64) error {
	key := areaKey(near, radiusM)
	return s.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketAreas, key); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("social: %s with a radius of %.0f m is not one of your areas (see `komrade area list`)", near, radiusM)
		} else if err != nil {
			return err
		}
		return tx.Delete(bucketAreas, key)
	})
}

func (r *areaRec) watched() WatchedArea {
	w := WatchedArea{Near: geo.Point{Lat: float64(r.LatE6) / 1e6, Lon: float64(r.LonE6) / 1e6}, RadiusM: float64(r.RadiusM)}
	if cells, err := AreaCells(w.Near, w.RadiusM); err == nil {
		w.Cells = len(cells)
	}
	for _, d := range r.Decoys {
		if c, err := geo.ParseCell(d); err == nil && c.Level() == AreaLevel {
			w.decoys = append(w.decoys, c)
		}
	}
	w.Decoys = len(w.decoys)
	return w
}

// Areas lists the user's areas, oldest first.
func (s *Social) Areas() ([]WatchedArea, error) {
	type added struct {
		w  WatchedArea
		at int64
	}
	var all []added
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucketAreas, func(_ string, v []byte) error {
			var r areaRec
			if err := areaDec.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("social: area: %w", err)
			}
			all = append(all, added{r.watched(), r.Added})
			return nil
		})
	})
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	out := make([]WatchedArea, len(all))
	for i, a := range all {
		out[i] = a.w
	}
	return out, err
}

// coveredBy reports whether every area set the circle meets is one the
// refresher reads for the user's areas.
func coveredBy(areas []WatchedArea, near geo.Point, radiusM float64) bool {
	want, err := AreaCells(near, radiusM)
	if err != nil {
		return false
	}
	have := map[geo.Cell]bool{}
	for _, a := range areas {
		cells, _ := AreaCells(a.Near, a.RadiusM)
		for _, c := range cells {
			have[c] = true
		}
	}
	for _, c := range want {
		if !have[c] {
			return false
		}
	}
	return true
}

func (a *Area) point() geo.Point {
	return geo.Point{Lat: float64(a.LatE6) / 1e6, Lon: float64(a.LonE6) / 1e6}
}

// areaDistance is the distance from an area post's place to the query's
// point, or else to the nearest of the user's areas; ok is false when the
// post's circle and the reader's do not meet.
func areaDistance(post *Area, areas []WatchedArea, q FeedQuery) (float64, bool) {
	p := post.point()
	if q.Near != nil {
		d := geo.Distance(p, *q.Near)
		return d, d <= q.RadiusM+float64(post.RadiusM)
	}
	best, ok := math.Inf(1), false
	for _, a := range areas {
		if d := geo.Distance(p, a.Near); d <= a.RadiusM+float64(post.RadiusM) && d < best {
			best, ok = d, true
		}
	}
	return best, ok
}
