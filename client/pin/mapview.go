package pin

import (
	"time"

	"github.com/komrade-net/komrade/client/mapview"
	"github.com/komrade-net/komrade/wire/geo"
)

// MapMarker is m as package mapview draws it. An alert's text is its note;
// a pin's confirmations are the distinct identities that said "still".
func (m Marker) MapMarker() mapview.Marker {
	out := mapview.Marker{
		ID:            m.ID,
		Kind:          m.Kind,
		At:            geo.Point{Lat: m.Lat, Lon: m.Lon},
		Note:          m.Note,
		Age:           time.Duration(m.AgeS) * time.Second,
		Expires:       m.Expires,
		Confirmations: m.Still,
		Confirmed:     m.Confirmed,
	}
	if m.Type == TypeAlert.String() {
		out.Kind = mapview.KindAlert
		out.Note = m.Text
		out.RadiusM = m.RadiusM
	}
	return out
}

// MapMarkers converts a list of markers for package mapview.
func MapMarkers(ms []Marker) []mapview.Marker {
	out := make([]mapview.Marker, len(ms))
	for i, m := range ms {
		out[i] = m.MapMarker()
	}
	return out
}

// InArea returns the markers a shows, as the reader rules filter them:
// pins within its radius, alerts whose circle meets it.
func InArea(ms []mapview.Marker, a Area) []mapview.Marker {
	var out []mapview.Marker
	for _, m := range ms {
		if geo.Distance(a.Near, m.At) <= a.RadiusM+m.RadiusM {
			out = append(out, m)
		}
	}
	return out
}
