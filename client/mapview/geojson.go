package mapview

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// The GeoJSON document (RFC 7946): a FeatureCollection of Point features.
type (
	featureCollection struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}
	feature struct {
		Type       string     `json:"type"`
		ID         string     `json:"id,omitempty"`
		Geometry   point      `json:"geometry"`
		Properties properties `json:"properties"`
	}
	point struct {
		Type        string     `json:"type"`
		Coordinates [2]float64 `json:"coordinates"`
	}
	properties struct {
		Kind          string  `json:"kind"`
		Note          string  `json:"note,omitempty"`
		AgeSeconds    int64   `json:"age_seconds"`
		Expires       string  `json:"expires,omitempty"`
		Confirmations *int    `json:"confirmations,omitempty"`
		Confirmed     *bool   `json:"confirmed,omitempty"`
		RadiusM       float64 `json:"radius_m,omitempty"`
	}
)

// GeoJSON writes the markers as an RFC 7946 FeatureCollection: each a
// Feature with a Point geometry [longitude, latitude] (WGS 84 degrees,
// rounded to 6 decimals, about 0.1 m; no "crs" member, which RFC 7946
// removed) and properties kind, note, age_seconds, expires (RFC 3339, UTC),
// and for pins confirmations and confirmed, for alerts radius_m (the
// alert's circle around the point: GeoJSON has no circle geometry). The
// feature's id is the marker's ID. Markers with an invalid position are
// left out. Notes are JSON strings; a program that shows them must still
// treat them as text that strangers wrote.
func GeoJSON(w io.Writer, markers []Marker) error {
	fc := featureCollection{Type: "FeatureCollection", Features: []feature{}}
	for i := range markers {
		m := &markers[i]
		if !m.valid() {
			continue
		}
		f := feature{
			Type:     "Feature",
			ID:       m.ID,
			Geometry: point{Type: "Point", Coordinates: [2]float64{round6(m.At.Lon), round6(m.At.Lat)}},
			Properties: properties{
				Kind:       kindName(m.Kind),
				Note:       m.Note,
				AgeSeconds: int64(m.Age / time.Second),
			},
		}
		if !m.Expires.IsZero() {
			f.Properties.Expires = m.Expires.UTC().Format(time.RFC3339)
		}
		if m.Kind == KindAlert {
			f.Properties.RadiusM = math.Round(m.RadiusM)
		} else {
			n, c := m.Confirmations, m.Confirmed
			f.Properties.Confirmations, f.Properties.Confirmed = &n, &c
		}
		fc.Features = append(fc.Features, f)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(fc); err != nil {
		return fmt.Errorf("mapview: geojson: %w", err)
	}
	return nil
}

// round6 rounds degrees to 6 decimals, as RFC 7946 (section 11.2)
// suggests; -0 becomes 0.
func round6(d float64) float64 {
	r := math.Round(d*1e6) / 1e6
	if r == 0 {
		return 0
	}
	return r
}
