package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/mapview"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/internal/secretfile"
)

func mapCommand() *cli.Command {
	return &cli.Command{
		Name:  "map",
		Usage: "draw the live pins and alerts around a place on a terminal map, with a list",
		Description: "Draws the pins and alerts of the circle --near LAT,LON --radius KM (or of\n" +
			"each watched area) with braille characters: a letter per pin (P police, D\n" +
			"danger, M medic, W water, O other; small letters for pins fewer than\n" +
			"pin_confirmations people confirmed), A for an alert, + the centre, a scale\n" +
			"bar and north. Below it a list: kind, distance and bearing from the centre,\n" +
			"age, confirmations, time left, id and note. Answers from the daemon's local\n" +
			"copy; an area the watch does not read is read once now (with its decoys).\n" +
			"--geojson FILE also writes them as RFC 7946 GeoJSON (mode 0600; \"-\" for\n" +
			"standard output) for any map tool: a file that shows where you looked.",
		Flags: append([]cli.Flag{
			homeFlag(),
			&cli.StringFlag{Name: "geojson", Usage: "also write the markers as GeoJSON to `FILE`"},
			&cli.IntFlag{Name: "width", Usage: "map width in characters (default: the terminal's, at least 40)"},
			&cli.IntFlag{Name: "height", Usage: "map height in lines", Value: 20},
		}, nearFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			r, err := a.Pins(ctx, daemon.PinsRequest{Near: cmd.String("near"), RadiusKM: cmd.Float("radius"), Fetch: true})
			if err != nil {
				return err
			}
			if len(r.Areas) == 0 {
				return fmt.Errorf("map: no area: give --near and --radius, or add [[watch]] areas to client.toml")
			}
			markers := pin.MapMarkers(r.Markers)
			if path := cmd.String("geojson"); path != "" {
				if err := writeGeoJSON(path, markers); err != nil {
					return err
				}
			}
			width := int(cmd.Int("width"))
			if width <= 0 {
				width = max(termWidth(), 40)
			}
			if r.Stats.Skipped > 0 {
				fmt.Printf("%d items skipped: they failed validation\n", r.Stats.Skipped)
			}
			for _, area := range r.Areas {
				// Each area draws and lists its own markers, distances
				// from its centre.
				v := mapview.View{Center: area.Near, RadiusM: area.RadiusM}
				in := pin.InArea(markers, area)
				if err := mapview.Terminal(os.Stdout, v, in, width, int(cmd.Int("height"))); err != nil {
					return fmt.Errorf("map: %w", err)
				}
				if err := mapview.List(os.Stdout, v, in, r.Now, width); err != nil {
					return fmt.Errorf("map: %w", err)
				}
			}
			for _, p := range r.Pending {
				fmt.Printf("yours, not yet published: %s pin %s, published at %s\n", p.Kind, p.ID[:mapview.ShortID], p.Publish.Local().Format(time.TimeOnly))
			}
			fmt.Printf("(capitals: confirmed, at least %d people said still)\n", r.Confirmations)
			return nil
		},
	}
}

// writeGeoJSON writes markers to path ("-": standard output). The file
// shows which area the user looked at: it is written 0600.
func writeGeoJSON(path string, markers []mapview.Marker) error {
	var b bytes.Buffer
	if err := mapview.GeoJSON(&b, markers); err != nil {
		return fmt.Errorf("map: geojson: %w", err)
	}
	if path == "-" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	if err := secretfile.Write(path, b.Bytes()); err != nil {
		return fmt.Errorf("map: write %s: %w", path, err)
	}
	return nil
}
