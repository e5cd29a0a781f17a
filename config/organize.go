package config

import (
	"fmt"
	"time"

	"github.com/komrade-net/komrade/wire/geo"
)

// WatchArea is one `[[watch]]` table of client.toml: an area whose danger
// pins and protest alerts the daemon fetches, in its cover traffic, every
// watch_every.
//
//	[[watch]]
//	near = "52.52,13.405"
//	radius_km = 2
type WatchArea struct {
	Near     string  `toml:"near"`
	RadiusKM float64 `toml:"radius_km"`
}

// Limits of the organizing settings.
const (
	// MaxWatchAreas is the most [[watch]] areas.
	MaxWatchAreas = 8
	// MaxWatchRadiusKM is the widest watched area (an area post's).
	MaxWatchRadiusKM = 25
	// MaxPinConfirmations bounds pin_confirmations.
	MaxPinConfirmations = 20
	// MaxPinDelay bounds pin_delay_min and pin_delay_max.
	MaxPinDelay = time.Hour
	// MinWatchEvery and MaxWatchEvery bound watch_every.
	MinWatchEvery = 5 * time.Second
	MaxWatchEvery = time.Hour
)

// Point returns the centre of a watched area (Validate checked it).
func (w WatchArea) Point() geo.Point {
	p, _ := geo.ParsePoint(w.Near)
	return p
}

func validateOrganize(c *Client) error {
	if len(c.Watch) > MaxWatchAreas {
		return fieldErr("watch", fmt.Sprintf("%d areas: at most %d", len(c.Watch), MaxWatchAreas))
	}
	for i, w := range c.Watch {
		if _, err := geo.ParsePoint(w.Near); err != nil {
			return fieldErr(fmt.Sprintf("watch[%d].near", i), "must be \"LAT,LON\" in decimal degrees, e.g. \"52.52,13.405\"")
		}
		if !(w.RadiusKM > 0 && w.RadiusKM <= MaxWatchRadiusKM) {
			return fieldErr(fmt.Sprintf("watch[%d].radius_km", i), fmt.Sprintf("must be more than 0 and at most %d", MaxWatchRadiusKM))
		}
	}
	if c.PinConfirmations < 0 || c.PinConfirmations > MaxPinConfirmations {
		return fieldErr("pin_confirmations", fmt.Sprintf("must be 1 to %d (0 or absent: 2)", MaxPinConfirmations))
	}
	lo, hi := time.Duration(0), time.Duration(0)
	for _, d := range []struct {
		name string
		v    *Duration
		to   *time.Duration
	}{{"pin_delay_min", c.PinDelayMin, &lo}, {"pin_delay_max", c.PinDelayMax, &hi}} {
		if d.v == nil {
			continue
		}
		if d.v.Duration < 0 || d.v.Duration > MaxPinDelay {
			return fieldErr(d.name, "must be between \"0s\" and \"1h\"")
		}
		*d.to = d.v.Duration
	}
	if c.PinDelayMin != nil && c.PinDelayMax != nil && lo > hi {
		return fieldErr("pin_delay_max", "must not be less than pin_delay_min")
	}
	if (c.PinDelayMin == nil) != (c.PinDelayMax == nil) {
		return fieldErr("pin_delay_max", "set pin_delay_min and pin_delay_max together (the defaults are 30s and 2m)")
	}
	if w := c.WatchEvery; w != nil && (w.Duration < MinWatchEvery || w.Duration > MaxWatchEvery) {
		return fieldErr("watch_every", "must be between \"5s\" and \"1h\" (default \"20s\")")
	}
	return nil
}
