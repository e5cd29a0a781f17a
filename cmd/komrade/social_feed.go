package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/social"
)

// socialFeedCommands are the reading half of the social layer: feeds,
// follows, votes, mutes and areas.
func socialFeedCommands() []*cli.Command {
	return []*cli.Command{feedCommand(), followCommand(), unfollowCommand(), followingCommand(),
		voteCommand(), muteCommand(), unmuteCommand(), areaCommand()}
}

func nearFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "near", Usage: "a place, LAT,LON in decimal degrees"},
		&cli.FloatFlag{Name: "radius", Usage: "a radius in km (at most 25) around --near"},
	}
}

func feedCommand() *cli.Command {
	return &cli.Command{
		Name:      "feed",
		Usage:     "show a feed from the daemon's local copy: world, friends, area or following",
		ArgsUsage: "world|friends|area|following",
		Description: "Answers at once from what the daemon read in the background (a post\n" +
			"read through the mix network takes seconds, so the daemon keeps its copy\n" +
			"fresh in its spare λP slots) and says how fresh it is. Newest first; each\n" +
			"line starts with the first 12 digits of the post's id; vote, mute and post\n" +
			"--reply take the whole id, which --json gives. area: posts for the places you watch (`komrade area add`), or\n" +
			"for --near/--radius within them. friends: your contacts' friends posts.",
		Flags: append([]cli.Flag{homeFlag(), jsonFlag(),
			&cli.DurationFlag{Name: "since", Usage: "only posts at most this old, e.g. 2h"},
			&cli.IntFlag{Name: "limit", Value: social.DefaultFeedLimit, Usage: "the most posts shown"},
			&cli.StringFlag{Name: "save-images", Usage: "write the thumbnails the local copy holds into this directory (POSTID.jpg)"}},
			nearFlags()...),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade feed world|friends|area|following")
			}
			req := daemon.FeedRequest{Kind: pos[0], Near: cmd.String("near"), RadiusKM: cmd.Float("radius"),
				SinceS: int64(cmd.Duration("since") / time.Second), Limit: int(cmd.Int("limit"))}
			if (req.Near == "") != (req.RadiusKM == 0) {
				return fmt.Errorf("--near and --radius go together")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			page, err := a.Feed(ctx, req)
			if err != nil {
				return err
			}
			if dir := cmd.String("save-images"); dir != "" {
				n, missing, err := saveThumbs(ctx, a, page, dir)
				if err != nil {
					return err
				}
				if !cmd.Bool("json") {
					fmt.Printf("%d thumbnails written to %s", n, dir)
					if missing > 0 {
						fmt.Printf(" (%d not fetched yet)", missing)
					}
					fmt.Println()
				}
			}
			if cmd.Bool("json") {
				return printJSON(page)
			}
			printFeed(page, time.Now())
			return nil
		},
	}
}

// printFeed prints a page: how fresh it is, then its posts.
func printFeed(p *social.FeedPage, now time.Time) {
	var fresh []string
	for _, src := range []string{string(p.Kind), "tallies"} {
		if t, ok := p.Fresh[src]; ok {
			fresh = append(fresh, fmt.Sprintf("%s %s ago", src, age(now.Sub(t))))
		} else {
			fresh = append(fresh, src+" not yet")
		}
	}
	fmt.Printf("%s feed, refreshed: %s\n", p.Kind, strings.Join(fresh, ", "))
	if p.Note != "" {
		fmt.Println(p.Note)
	}
	if p.Skipped > 0 {
		fmt.Printf("%d items skipped: they failed validation\n", p.Skipped)
	}
	if len(p.Items) == 0 {
		fmt.Println("no posts yet")
		return
	}
	for _, it := range p.Items {
		head := fmt.Sprintf("%s  %s  %s ago", it.ID[:12], termSafe(it.Author, "  "), age(time.Duration(it.AgeS)*time.Second))
		if it.DistanceM != nil {
			head += fmt.Sprintf("  %.1f km", *it.DistanceM/1000)
		}
		head += fmt.Sprintf("  +%d -%d  %d replies", it.Up, it.Down, it.Replies)
		if it.MyVote != "" {
			head += "  (you: " + it.MyVote + ")"
		}
		if it.Reply != "" {
			head += "  reply to " + it.Reply[:12]
		}
		fmt.Println(head)
		fmt.Println("  " + termSafe(it.Text, "  "))
	}
}

// age prints a duration as a feed does: 40s, 5m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

func followCommand() *cli.Command {
	return &cli.Command{
		Name:      "follow",
		Usage:     "follow an author: the daemon reads their profile and keeps their posts (feed following)",
		ArgsUsage: "ADDRESS",
		Flags:     []cli.Flag{homeFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade follow ADDRESS")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			if err := a.Follow(ctx, pos[0]); err != nil {
				return err
			}
			fmt.Println("following; their posts appear in `komrade feed following` once the daemon has read their profile")
			return nil
		},
	}
}

func unfollowCommand() *cli.Command {
	return &cli.Command{
		Name:      "unfollow",
		Usage:     "stop following an author",
		ArgsUsage: "ADDRESS",
		Flags:     []cli.Flag{homeFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade unfollow ADDRESS")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			return a.Unfollow(ctx, pos[0])
		},
	}
}

func followingCommand() *cli.Command {
	return &cli.Command{
		Name:      "following",
		Usage:     "list the authors you follow",
		ArgsUsage: " ",
		Flags:     []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			fs, err := a.Following(ctx)
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(fs)
			}
			if len(fs) == 0 {
				fmt.Println("you follow nobody yet: `komrade follow ADDRESS`")
			}
			for _, f := range fs {
				checked := "profile not read yet"
				if f.Checked != nil {
					checked = "profile read " + age(time.Since(*f.Checked)) + " ago"
				}
				fmt.Printf("%s  %s  (%s)\n", f.Address, termSafe(f.Name, "  "), checked)
			}
			return nil
		},
	}
}

func voteCommand() *cli.Command {
	return &cli.Command{
		Name:      "vote",
		Usage:     "vote on a post, anonymously: up, down, or clear to take it back",
		ArgsUsage: "POST up|down|clear",
		Description: "POST is a post id (see `komrade feed --json`). The vote is signed by a key\n" +
			"derived from your identity and the post, the same each time (so a new vote\n" +
			"replaces the old) and linked to nothing else; it carries proof-of-work.",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 2 {
				return fmt.Errorf("usage: komrade vote POST up|down|clear")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			t, err := a.Vote(ctx, pos[0], pos[1])
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(t)
			}
			fmt.Printf("voted %s; the tally as far as read: +%d -%d\n", pos[1], t.Up, t.Down)
			return nil
		},
	}
}

func muteCommand() *cli.Command {
	return &cli.Command{
		Name:      "mute",
		Usage:     "hide an author (ADDRESS) or a thread (POST) from your feeds; local only",
		ArgsUsage: "ADDRESS|POST",
		Flags:     []cli.Flag{homeFlag(), jsonFlag(), &cli.BoolFlag{Name: "list", Usage: "list what is muted"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			pos := cmd.Args().Slice()
			if cmd.Bool("list") {
				ms, err := a.Mutes(ctx)
				if err != nil {
					return err
				}
				if cmd.Bool("json") {
					return printJSON(ms)
				}
				for _, m := range ms {
					fmt.Printf("%s  %s\n", m.ID, m.What)
				}
				return nil
			}
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade mute ADDRESS|POST")
			}
			m, err := a.Mute(ctx, pos[0])
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(m)
			}
			fmt.Printf("muted %s %s\n", m.What, m.ID)
			return nil
		},
	}
}

func unmuteCommand() *cli.Command {
	return &cli.Command{
		Name:      "unmute",
		Usage:     "show a muted author or thread again",
		ArgsUsage: "ADDRESS|POST",
		Flags:     []cli.Flag{homeFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade unmute ADDRESS|POST")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			return a.Unmute(ctx, pos[0])
		},
	}
}

func areaCommand() *cli.Command {
	need := func(cmd *cli.Command) (string, float64, error) {
		near, r := cmd.String("near"), cmd.Float("radius")
		if near == "" || r == 0 {
			return "", 0, fmt.Errorf("give --near LAT,LON and --radius KM")
		}
		return near, r, nil
	}
	return &cli.Command{
		Name:  "area",
		Usage: "the places whose posts the daemon keeps fresh (feed area)",
		Description: "The daemon reads the area sets of the cells (about 39 km × 20 km) that each\n" +
			"circle meets, plus as many decoy cells drawn once near them, so that exits\n" +
			"and storage nodes do not learn which places you watch.",
		Commands: []*cli.Command{
			{
				Name:  "add",
				Usage: "watch a place",
				Flags: append([]cli.Flag{homeFlag(), jsonFlag()}, nearFlags()...),
				Action: func(ctx context.Context, cmd *cli.Command) error {
					near, r, err := need(cmd)
					if err != nil {
						return err
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					w, err := a.AddArea(ctx, near, r)
					if err != nil {
						return err
					}
					if cmd.Bool("json") {
						return printJSON(w)
					}
					fmt.Printf("watching %s within %g km: %d cells and %d decoys each refresh\n", w.Near, w.RadiusM/1000, w.Cells, w.Decoys)
					return nil
				},
			},
			{
				Name:  "remove",
				Usage: "stop watching a place",
				Flags: append([]cli.Flag{homeFlag()}, nearFlags()...),
				Action: func(ctx context.Context, cmd *cli.Command) error {
					near, r, err := need(cmd)
					if err != nil {
						return err
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					return a.RemoveArea(ctx, near, r)
				},
			},
			{
				Name:  "list",
				Usage: "list the places you watch",
				Flags: []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					a, err := api(cmd)
					if err != nil {
						return err
					}
					ws, err := a.Areas(ctx)
					if err != nil {
						return err
					}
					if cmd.Bool("json") {
						return printJSON(ws)
					}
					if len(ws) == 0 {
						fmt.Println("no areas: `komrade area add --near LAT,LON --radius KM`")
					}
					for _, w := range ws {
						fmt.Printf("%s  %g km  (%d cells, %d decoys)\n", w.Near, w.RadiusM/1000, w.Cells, w.Decoys)
					}
					return nil
				},
			},
		},
	}
}

// saveThumbs writes the thumbnails of page's posts that the local copy
// holds into dir (POSTID.jpg, mode 0600: a friends post's picture is for
// friends); it returns how many it wrote and how many it lacks.
func saveThumbs(ctx context.Context, a *daemon.API, page *social.FeedPage, dir string) (int, int, error) {
	var ids []string
	for _, it := range page.Items {
		if it.Thumb != "" {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	thumbs, err := a.Thumbs(ctx, ids)
	if err != nil {
		return 0, 0, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, 0, err
	}
	n := 0
	for _, id := range ids {
		jpg, ok := thumbs[id]
		if !ok {
			continue
		}
		if _, err := social.ParsePostID(id); err != nil { // a file name from the daemon
			return n, 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, id+".jpg"), jpg, 0o600); err != nil {
			return n, 0, err
		}
		n++
	}
	return n, len(ids) - n, nil
}
