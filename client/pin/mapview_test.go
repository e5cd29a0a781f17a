package pin

import (
	"testing"

	"github.com/komrade-net/komrade/client/mapview"
	"github.com/komrade-net/komrade/wire/geo"
)

// Of two areas 10 km apart, each shows its own pins and the alerts whose
// circle meets it, not the other's.
func TestInArea(t *testing.T) {
	a := Area{Near: geo.Point{Lat: 52.52, Lon: 13.405}, RadiusM: 2000}
	b := Area{Near: geo.Destination(a.Near, 90, 10_000), RadiusM: 2000}
	ms := []mapview.Marker{
		{ID: "pin a", Kind: "police", At: geo.Destination(a.Near, 0, 1500)},
		{ID: "pin b", Kind: "medic", At: geo.Destination(b.Near, 180, 1500)},
		{ID: "alert between", Kind: mapview.KindAlert, At: geo.Destination(a.Near, 90, 5000), RadiusM: 3500},
		{ID: "alert near b", Kind: mapview.KindAlert, At: geo.Destination(b.Near, 90, 3000), RadiusM: 1500},
	}
	ids := func(ms []mapview.Marker) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if got := ids(InArea(ms, a)); len(got) != 2 || got[0] != "pin a" || got[1] != "alert between" {
		t.Errorf("area a shows %q", got)
	}
	if got := ids(InArea(ms, b)); len(got) != 3 || got[0] != "pin b" || got[1] != "alert between" || got[2] != "alert near b" {
		t.Errorf("area b shows %q", got)
	}
}
