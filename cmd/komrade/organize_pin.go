package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/mapview"
	"github.com/komrade-net/komrade/client/pin"
)

// Danger pins, confirmations, protest alerts and the watch (package
// client/pin, docs/pins.md): `komrade pin`, `pin confirm`, `alert`,
// `watch` and `pins`.

func organizePinCommands() []*cli.Command {
	return []*cli.Command{pinCommand(), alertCommand(), watchCommand(), pinsCommand(), mapCommand()}
}

const pinPrivacy = "Nothing in a pin, an alert or a confirmation names you: no signature, no key\n" +
	"of yours, only proof-of-work. A confirmation carries a key made for that pin\n" +
	"alone from a secret of yours, so that you count once per pin and nobody can\n" +
	"link your confirmations to each other or to you. Everything travels through\n" +
	"the mix network in your cover traffic. See docs/pins.md."

func pinCommand() *cli.Command {
	return &cli.Command{
		Name:  "pin",
		Usage: "drop an anonymous danger pin (police, danger, medic, water, other) on the map",
		Description: "The position is snapped to the centre of a cell of about --cell metres (150\n" +
			"by default), so that the pin does not pinpoint you, and the pin is published\n" +
			"after a random delay (30 s to 2 min by default: pin_delay_min and\n" +
			"pin_delay_max in client.toml), so that its time does not point to you either.\n" +
			"The command returns at once and says when; the daemon keeps the pin in its\n" +
			"store until then, so a restart does not lose it.\n\n" +
			"A pin shows for --ttl (default by kind: police 1h, danger 3h, medic 6h, water\n" +
			"12h, other 3h; at most 24h). Readers extend it when others confirm it\n" +
			"(`komrade pin confirm ID still`), shorten it when they say it is gone, and\n" +
			"mark it confirmed once pin_confirmations people (2 by default, you included)\n" +
			"said it is still there.\n\n" + pinPrivacy,
		Flags: []cli.Flag{homeFlag(), jsonFlag(),
			&cli.StringFlag{Name: "kind", Usage: "police, danger, medic, water or other (needed)"},
			&cli.StringFlag{Name: "at", Usage: "`LAT,LON` in decimal degrees (needed)"},
			&cli.StringFlag{Name: "note", Usage: fmt.Sprintf("a short note (at most %d characters)", pin.MaxNoteChars)},
			&cli.DurationFlag{Name: "ttl", Usage: "how long it shows, e.g. 45m (default: by kind; at most 24h)"},
			&cli.FloatFlag{Name: "cell", Usage: "snap the position to a cell of about this many `METRES`", Value: 150},
		},
		Commands: []*cli.Command{pinConfirmCommand()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() > 0 {
				return fmt.Errorf("unexpected %q: komrade pin --kind KIND --at LAT,LON [--note TEXT], or komrade pin confirm ID still|gone", cmd.Args().First())
			}
			if cmd.String("kind") == "" || cmd.String("at") == "" {
				return fmt.Errorf("usage: komrade pin --kind KIND --at LAT,LON [--note TEXT] [--ttl DUR] [--cell METRES]")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			p, err := a.Pin(ctx, daemon.PinRequest{Kind: cmd.String("kind"), At: cmd.String("at"), Note: cmd.String("note"),
				TTLS: int64(cmd.Duration("ttl") / time.Second), CellM: cmd.Float("cell")})
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(p)
			}
			fmt.Printf("%s pin %s at %.6f,%.6f (snapped), published at %s (in %s), with your own \"still\"\n",
				p.Kind, p.ID[:mapview.ShortID], p.Lat, p.Lon, p.Publish.Local().Format("15:04:05"), shortDuration(time.Until(p.Publish).Round(time.Second)))
			fmt.Printf("id %s\n", p.ID)
			return nil
		},
	}
}

func pinConfirmCommand() *cli.Command {
	return &cli.Command{
		Name:      "confirm",
		Usage:     "say that a pin is still there, or gone",
		ArgsUsage: "ID still|gone",
		Description: "ID is a pin's id from `komrade pins` (its first 12 digits will do). Only\n" +
			"your latest confirmation of a pin counts: confirming twice counts once.\n" +
			"\"still\" keeps the pin alive for its lifetime from now; \"gone\" halves what\n" +
			"is left of it, and once pin_confirmations people said gone it ends.\n\n" + pinPrivacy,
		Flags: []cli.Flag{homeFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			args := cmd.Args().Slice()
			if len(args) != 2 {
				return fmt.Errorf("usage: komrade pin confirm ID still|gone")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			id, err := a.ConfirmPin(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Printf("pin %s: %s sent\n", id[:mapview.ShortID], args[1])
			return nil
		},
	}
}

func alertCommand() *cli.Command {
	return &cli.Command{
		Name:      "alert",
		Usage:     "send an anonymous protest alert to everyone watching an area",
		ArgsUsage: "TEXT",
		Description: "The alert goes at once, ahead of background traffic, to every area cell its\n" +
			"circle meets (centre snapped to about 150 m, radius at most 25 km); daemons\n" +
			"that watch an area meeting the circle show it within their watch interval\n" +
			"(20 s by default). It shows for --ttl (default 1h, at most 6h). The text is\n" +
			fmt.Sprintf("at most %d characters.\n\n", pin.MaxTextChars) + pinPrivacy,
		Flags: []cli.Flag{homeFlag(),
			&cli.StringFlag{Name: "near", Required: true, Usage: "the centre, `LAT,LON` in decimal degrees"},
			&cli.FloatFlag{Name: "radius", Required: true, Usage: "the radius in km (at most 25)"},
			&cli.DurationFlag{Name: "ttl", Usage: "how long it shows, e.g. 30m (default 1h, at most 6h)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			text := strings.Join(cmd.Args().Slice(), " ")
			if text == "" {
				return fmt.Errorf("usage: komrade alert --near LAT,LON --radius KM TEXT")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			id, err := a.Alert(ctx, daemon.AlertRequest{Near: cmd.String("near"), RadiusKM: cmd.Float("radius"), Text: text, TTLS: int64(cmd.Duration("ttl") / time.Second)})
			if err != nil {
				return err
			}
			fmt.Printf("alert %s sent\n", id[:mapview.ShortID])
			return nil
		},
	}
}

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "show live alerts and pins of an area as they arrive",
		Description: "Prints the live alerts and pins of --near/--radius (or of the [[watch]] areas\n" +
			"of client.toml), then each new one, until interrupted. While it runs the\n" +
			"daemon reads the area's cells every watch_every (20 s by default), with decoy\n" +
			"cells drawn once and kept for that area; the [[watch]] areas are read all the\n" +
			"time. The reads are requests in place of the cover traffic's fillers: your\n" +
			"link carries the same packets whether you watch or not, and the mix network\n" +
			"hides from the nodes that serve them who reads which cells (docs/pins.md).",
		Flags: append([]cli.Flag{homeFlag(), jsonFlag()}, nearFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			req := daemon.PinsRequest{Near: cmd.String("near"), RadiusKM: cmd.Float("radius")}
			asJSON := cmd.Bool("json")
			started := func() {
				if !asJSON {
					where := "your watched areas"
					if req.Near != "" {
						where = fmt.Sprintf("%g km around %s", req.RadiusKM, req.Near)
					}
					fmt.Printf("watching %s (Ctrl-C to stop)\n", termSafe(where, ""))
				}
			}
			return a.Watch(ctx, req, started, func(m pin.Marker) error {
				if asJSON {
					return printJSON(m)
				}
				printMarker(m, time.Now())
				return nil
			})
		},
	}
}

func pinsCommand() *cli.Command {
	return &cli.Command{
		Name:  "pins",
		Usage: "list the live pins and alerts of an area: kind, distance, bearing, age, confirmations",
		Description: "Answers from the daemon's local copy of the watched areas. For an area the\n" +
			"watch does not read, the daemon reads its cells once now (with the area's\n" +
			"decoys), which takes a few seconds. Unconfirmed pins are marked: fewer than\n" +
			"pin_confirmations people said they are still there. --json gives everything a\n" +
			"map needs (ids, positions, notes, ages, expiries, confirmations).",
		Flags: append([]cli.Flag{homeFlag(), jsonFlag()}, nearFlags()...),
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
			if cmd.Bool("json") {
				return printJSON(r)
			}
			if len(r.Areas) == 0 {
				fmt.Println("no watched areas: give --near and --radius, or add [[watch]] areas to client.toml")
				return nil
			}
			if r.Stats.Skipped > 0 {
				fmt.Printf("%d items skipped: they failed validation\n", r.Stats.Skipped)
			}
			for _, p := range r.Pending {
				fmt.Printf("yours, not yet published: %s pin %s, published at %s\n", p.Kind, p.ID[:mapview.ShortID], p.Publish.Local().Format("15:04:05"))
			}
			if len(r.Markers) == 0 {
				fmt.Println("no live alerts or pins")
				return nil
			}
			// The same list as under `komrade map`, without the map.
			// Each area lists its own markers, distances from its centre.
			markers := pin.MapMarkers(r.Markers)
			for _, a := range r.Areas {
				if len(r.Areas) > 1 {
					fmt.Printf("within %.1f km of %.5f,%.5f:\n", a.RadiusM/1000, a.Near.Lat, a.Near.Lon)
				}
				if err := mapview.List(os.Stdout, mapview.View{Center: a.Near, RadiusM: a.RadiusM}, pin.InArea(markers, a), r.Now, termWidth()); err != nil {
					return fmt.Errorf("pins: %w", err)
				}
			}
			fmt.Printf("(confirmed: at least %d people said still)\n", r.Confirmations)
			return nil
		},
	}
}

// printMarker prints an alert (prominently) or a pin on two lines: what,
// where from the area's centre, how old, until when; then its text.
func printMarker(m pin.Marker, now time.Time) {
	where := fmt.Sprintf("%.1f km %s", m.DistanceM/1000, m.Compass)
	old := age(now.Sub(m.Created)) + " ago"
	until := m.Expires.Local().Format("15:04")
	if m.Type == "alert" {
		fmt.Printf("!!! ALERT %s  %s  %s  radius %.1f km  until %s\n", m.ID[:mapview.ShortID], where, old, m.RadiusM/1000, until)
		fmt.Println("    " + termSafe(m.Text, "    "))
		return
	}
	conf := fmt.Sprintf("unconfirmed (%d still", m.Still)
	if m.Confirmed {
		conf = fmt.Sprintf("confirmed (%d still", m.Still)
	}
	if m.Gone > 0 {
		conf += fmt.Sprintf(", %d gone", m.Gone)
	}
	fmt.Printf("pin %-6s %s  %s  %s  %s)  until %s\n", m.Kind, m.ID[:mapview.ShortID], where, old, conf, until)
	if m.Note != "" {
		fmt.Println("    " + termSafe(m.Note, "    "))
	}
}
