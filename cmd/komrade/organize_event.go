package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/event"
)

// `komrade event`: events, invitations and RSVPs (client/event,
// docs/events.md).

// whenLayouts are the forms --when takes, in the local time zone unless
// the form carries one.
var whenLayouts = []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// parseWhenFlag reads --when and returns it as RFC 3339.
func parseWhenFlag(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, l := range whenLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t.Format(time.RFC3339), nil
		}
	}
	return "", fmt.Errorf("--when %q: want a date and time such as \"2026-12-05 18:00\" (your time zone) or 2026-12-05T18:00:00+01:00", s)
}

const eventAbout = "An event is a record signed by a key made for that event alone, readable by\n" +
	"anyone who has its id (--public) or only by the contacts you invite (--invite:\n" +
	"the body is encrypted, and each invitee gets the key in a message). Only you,\n" +
	"holding the event's key, can update or cancel it; readers refuse anything else.\n" +
	"RSVPs are encrypted to the event: only you, the host, read them. See\n" +
	"docs/events.md for who learns what."

func eventCommand() *cli.Command {
	idArg := func(cmd *cli.Command, usage string) (string, error) {
		if cmd.Args().Len() != 1 {
			return "", errors.New("usage: " + usage)
		}
		return cmd.Args().First(), nil
	}
	return &cli.Command{
		Name:        "event",
		Usage:       "create events, invite contacts, RSVP; only the host reads the RSVPs",
		Description: eventAbout,
		Commands: []*cli.Command{{
			Name:  "create",
			Usage: "create and publish an event; prints its id",
			Description: "An event is --public (anyone with its id reads it, and it is announced in the\n" +
				"world feed, or in the area feed around --near) or invite-only (--invite NAME,\n" +
				"repeated or comma-separated: those contacts get an invitation with their next\n" +
				"messages; nobody else can read it).\n\n" +
				"--anonymous leaves your identity out of everything the event publishes: the\n" +
				"record, its announcement and the event's keys carry nothing of yours (invitees\n" +
				"still know who invited them: the invitation is a message from you).\n" +
				"Without it, the event names you as its host, with your signature.\n\n" +
				"--when is a date and time up to 28 days ahead, such as \"2026-12-05 18:00\" in\n" +
				"your time zone. The title is at most 100 characters, --where at most 200.\n" +
				"--near is published snapped to about 150 m.\n\n" + eventAbout,
			Flags: []cli.Flag{homeFlag(), jsonFlag(),
				&cli.StringFlag{Name: "title", Usage: "what the event is (at most 100 characters)", Required: true},
				&cli.StringFlag{Name: "when", Usage: "`DATE TIME`, e.g. \"2026-12-05 18:00\" (your time zone) or RFC 3339", Required: true},
				&cli.StringFlag{Name: "where", Usage: "where it is, in words (at most 200 characters)", Required: true},
				&cli.StringFlag{Name: "near", Usage: "`LAT,LON` of the place (published snapped to about 150 m)"},
				&cli.FloatFlag{Name: "radius", Usage: "`KM` around --near in which a public event is announced (default 5, at most 25)"},
				&cli.BoolFlag{Name: "anonymous", Usage: "publish nothing that identifies you as the host"},
				&cli.BoolFlag{Name: "public", Usage: "anyone with the id may read it; announced in a feed"},
				&cli.StringSliceFlag{Name: "invite", Usage: "`CONTACT` to invite (repeat, or separate with commas)"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() > 0 {
					return fmt.Errorf("unexpected argument %q (quote a title or place with spaces)", cmd.Args().First())
				}
				when, err := parseWhenFlag(cmd.String("when"))
				if err != nil {
					return err
				}
				var invite []string
				for _, v := range cmd.StringSlice("invite") {
					for _, n := range strings.Split(v, ",") {
						if n = strings.TrimSpace(n); n != "" {
							invite = append(invite, n)
						}
					}
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				cr, err := a.CreateEvent(ctx, &daemon.EventCreateRequest{Title: cmd.String("title"), When: when, Where: cmd.String("where"),
					Near: cmd.String("near"), RadiusKM: cmd.Float("radius"), Anonymous: cmd.Bool("anonymous"), Public: cmd.Bool("public"), Invite: invite})
				if err != nil {
					return err
				}
				if cmd.Bool("json") {
					return printJSON(cr)
				}
				fmt.Printf("event published: %s\n", cr.ID)
				if len(cr.Invited) > 0 {
					fmt.Printf("invitations queued to: %s (see `komrade outbox`)\n", termSafe(strings.Join(cr.Invited, ", "), "  "))
				}
				if cr.Announcement != "" {
					fmt.Printf("announced in the feed: post %s\n", cr.Announcement)
				}
				return nil
			},
		}, {
			Name:        "list",
			Usage:       "the events you host, were invited to or read (no request through the network)",
			Description: "Invitations not read yet are listed first: read one with `komrade event show ID`.",
			Flags:       []cli.Flag{homeFlag(), jsonFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				a, err := api(cmd)
				if err != nil {
					return err
				}
				l, err := a.Events(ctx)
				if err != nil {
					return err
				}
				if cmd.Bool("json") {
					return printJSON(l)
				}
				if len(l) == 0 {
					fmt.Println("no events")
					return nil
				}
				for _, v := range l {
					printEventLine(&v)
				}
				return nil
			},
		}, {
			Name:      "show",
			Usage:     "read an event through the network; its host also sees the RSVPs",
			ArgsUsage: "ID",
			Description: "ID is the event's id, or the start of it (8 characters at least) for an event\n" +
				"in `komrade event list`.",
			Flags: []cli.Flag{homeFlag(), jsonFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				id, err := idArg(cmd, "komrade event show ID")
				if err != nil {
					return err
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				v, err := a.ShowEvent(ctx, id)
				if err != nil {
					return err
				}
				if cmd.Bool("json") {
					return printJSON(v)
				}
				printEvent(v)
				return nil
			},
		}, {
			Name:      "rsvp",
			Usage:     "answer an event: yes, no or maybe (a new answer replaces the last)",
			ArgsUsage: "ID yes|no|maybe",
			Description: "The answer is encrypted to the event: only its host reads it. For an\n" +
				"invite-only event it names you (the host invited you); for a public event it\n" +
				"is anonymous: the host counts it and learns nothing of who sent it.",
			Flags: []cli.Flag{homeFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() != 2 {
					return errors.New("usage: komrade event rsvp ID yes|no|maybe")
				}
				if _, err := event.ParseAnswer(cmd.Args().Get(1)); err != nil {
					return err
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				if err := a.RSVP(ctx, cmd.Args().First(), cmd.Args().Get(1)); err != nil {
					return err
				}
				fmt.Printf("answered %s\n", cmd.Args().Get(1))
				return nil
			},
		}, {
			Name:      "update",
			Usage:     "change an event you host (title, time, place)",
			ArgsUsage: "ID",
			Description: "Flags you leave out keep their values. Readers see the change when they read\n" +
				"the event next; only you, holding the event's key, can make it.",
			Flags: []cli.Flag{homeFlag(), jsonFlag(),
				&cli.StringFlag{Name: "title", Usage: "new title"},
				&cli.StringFlag{Name: "when", Usage: "new `DATE TIME`"},
				&cli.StringFlag{Name: "where", Usage: "new place, in words"},
				&cli.StringFlag{Name: "near", Usage: "new `LAT,LON` (snapped to about 150 m)"},
				&cli.BoolFlag{Name: "no-near", Usage: "remove the position"},
			},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				id, err := idArg(cmd, "komrade event update ID [--title T] [--when W] [--where P] [--near LAT,LON | --no-near]")
				if err != nil {
					return err
				}
				req := &daemon.EventUpdateRequest{ID: id, NoNear: cmd.Bool("no-near")}
				for _, f := range []struct {
					name string
					dst  **string
				}{{"title", &req.Title}, {"where", &req.Where}, {"near", &req.Near}} {
					if cmd.IsSet(f.name) {
						v := cmd.String(f.name)
						*f.dst = &v
					}
				}
				if cmd.IsSet("when") {
					w, err := parseWhenFlag(cmd.String("when"))
					if err != nil {
						return err
					}
					req.When = &w
				}
				if req.Title == nil && req.Where == nil && req.Near == nil && req.When == nil && !req.NoNear {
					return errors.New("nothing to change: give --title, --when, --where, --near or --no-near")
				}
				if req.Near != nil && req.NoNear {
					return errors.New("--near and --no-near together")
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				v, err := a.UpdateEvent(ctx, req)
				if err != nil {
					return err
				}
				if cmd.Bool("json") {
					return printJSON(v)
				}
				fmt.Printf("event updated (version %d)\n", v.Seq)
				return nil
			},
		}, {
			Name:      "invite",
			Usage:     "invite more contacts to an invite-only event you host",
			ArgsUsage: "ID CONTACT...",
			Description: "Sends each contact the event's invitation (its id and read key) in your\n" +
				"conversation, as at `event create --invite`. A public event needs none:\n" +
				"give its id. An invitation cannot be taken back: whoever has it can read the\n" +
				"event and answer it.",
			Flags: []cli.Flag{homeFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() < 2 {
					return fmt.Errorf("usage: komrade event invite ID CONTACT...")
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				var names []string
				for _, n := range cmd.Args().Slice()[1:] {
					for _, x := range strings.Split(n, ",") {
						if x = strings.TrimSpace(x); x != "" {
							names = append(names, x)
						}
					}
				}
				done, err := a.InviteToEvent(ctx, cmd.Args().First(), names)
				if len(done) > 0 {
					fmt.Printf("invitations queued to: %s (see `komrade outbox`)\n", termSafe(strings.Join(done, ", "), "  "))
				}
				return err
			},
		}, {
			Name:      "cancel",
			Usage:     "cancel an event you host",
			ArgsUsage: "ID",
			Description: "Publishes the event as cancelled (signed by its key); readers see it when they\n" +
				"read it next, and RSVPs are refused. It cannot be undone.",
			Flags: []cli.Flag{homeFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				id, err := idArg(cmd, "komrade event cancel ID")
				if err != nil {
					return err
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				if _, err := a.CancelEvent(ctx, id); err != nil {
					return err
				}
				fmt.Println("event cancelled")
				return nil
			},
		}},
	}
}

func printEventLine(v *event.View) {
	if !v.Read {
		fmt.Printf("%s  invitation from %s, not read yet\n", v.ID[:16], termSafe(v.InvitedBy, "  "))
		return
	}
	state := ""
	if v.Cancelled {
		state = " [cancelled]"
	}
	fmt.Printf("%s  %s  %s — %s (host: %s)%s\n", v.ID[:16], v.When.Local().Format("Mon 2 Jan 15:04"),
		termSafe(v.Title, "  "), termSafe(v.Where, "  "), termSafe(v.Host, "  "), state)
}

func printEvent(v *event.View) {
	const pad = "            "
	fmt.Printf("event:      %s\n", v.ID)
	fmt.Printf("title:      %s\n", termSafe(v.Title, pad))
	fmt.Printf("when:       %s\n", v.When.Local().Format("Mon 2 Jan 2006 15:04 MST"))
	fmt.Printf("where:      %s\n", termSafe(v.Where, pad))
	if v.Near != nil {
		fmt.Printf("near:       %.5f,%.5f\n", v.Near.Lat, v.Near.Lon)
	}
	kind := "invite-only"
	if v.Public {
		kind = "public"
	}
	fmt.Printf("kind:       %s\nhost:       %s\n", kind, termSafe(v.Host, pad))
	if v.InvitedBy != "" {
		fmt.Printf("invited by: %s\n", termSafe(v.InvitedBy, pad))
	}
	if v.Cancelled {
		fmt.Println("status:     CANCELLED")
	}
	if v.MyRSVP != "" {
		fmt.Printf("your RSVP:  %s\n", v.MyRSVP)
	}
	if len(v.Invited) > 0 {
		fmt.Printf("invited:    %s\n", termSafe(strings.Join(v.Invited, ", "), pad))
	}
	if v.Announcement != "" {
		fmt.Printf("announced:  post %s\n", v.Announcement)
	}
	if c := v.RSVPs; c != nil {
		fmt.Printf("RSVPs:      %d yes, %d maybe, %d no", c.Yes, c.Maybe, c.No)
		if c.Skipped > 0 {
			fmt.Printf(" (%d items skipped: failed validation)", c.Skipped)
		}
		fmt.Println()
		for _, n := range c.Named {
			fmt.Printf("  %-8s %s\n", n.Answer, termSafe(n.Who, "  "))
		}
	}
}
