package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/daemon"
)

// The publishing half of the social layer: `komrade profile` and
// `komrade post`. Files are read here and handed to the daemon as bytes.

// maxImageFile is the largest image file accepted (the daemon checks it
// again).
const maxImageFile = 10 << 20

const imageLimits = "An image is a JPEG, PNG or GIF of at most 10 MiB. It is turned upright by its\n" +
	"EXIF orientation, scaled to at most 448 pixels on its long side (and a small\n" +
	"thumbnail) and encoded again, so its EXIF (GPS position, camera, time), XMP and\n" +
	"comments are not published."

// readImage reads an image file of at most maxImageFile bytes.
func readImage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImageFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxImageFile {
		return nil, fmt.Errorf("%s is larger than 10 MiB", path)
	}
	return b, nil
}

// saveFile writes a fetched image to path (mode 0600).
func saveFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

func profileCommand() *cli.Command {
	setFlags := []cli.Flag{homeFlag(),
		&cli.StringFlag{Name: "name", Usage: "display name (at most 64 bytes)"},
		&cli.StringFlag{Name: "bio", Usage: "a few words about you (at most 280 bytes; 200 characters with --visibility friends)"},
		&cli.StringFlag{Name: "photo", Usage: "a JPEG, PNG or GIF `FILE` of at most 10 MiB"},
		&cli.BoolFlag{Name: "no-photo", Usage: "remove the photo"},
		&cli.StringFlag{Name: "visibility", Usage: "world, friends or local: who sees name, bio and photo"},
		&cli.StringFlag{Name: "near", Usage: "`LAT,LON` where a local profile is listed (published snapped to about 150 m)"},
	}
	set := func(ctx context.Context, cmd *cli.Command) (string, error) {
		a, err := api(cmd)
		if err != nil {
			return "", err
		}
		req := &daemon.ProfileSetRequest{Visibility: cmd.String("visibility"), Near: cmd.String("near"), ClearPhoto: cmd.Bool("no-photo")}
		if cmd.IsSet("name") {
			n := cmd.String("name")
			req.Name = &n
		}
		if cmd.IsSet("bio") {
			b := cmd.String("bio")
			req.Bio = &b
		}
		if f := cmd.String("photo"); f != "" {
			if req.ClearPhoto {
				return "", errors.New("--photo and --no-photo together")
			}
			if req.Photo, err = readImage(f); err != nil {
				return "", err
			}
		}
		ctx, stop := signalContext(ctx)
		defer stop()
		return a.SetProfile(ctx, req)
	}
	return &cli.Command{
		Name:  "profile",
		Usage: "your profile: name, bio and photo; lets people who know your address send you friend requests",
		Commands: []*cli.Command{{
			Name:  "set",
			Usage: "change and publish your profile; prints your address",
			Description: "Flags you leave out keep their current values. Your address is your public\n" +
				"signing key: anyone who has it can read the profile and leave you a friend\n" +
				"request; nobody learns who reads or writes.\n\n" +
				"Visibility: world (default) publishes name, bio and photo with the profile;\n" +
				"friends leaves them out of it (friend requests still work) and gives them to\n" +
				"your contacts only, in your friends stream (a name is needed there, and a bio\n" +
				"of at most 200 characters); local publishes them and also lists\n" +
				"your name in the area around --near, where anyone who reads that area finds\n" +
				"it (see docs/threat-model.md). Publishing links the name to the address:\n" +
				"choose it accordingly.\n\n" + imageLimits,
			Flags: setFlags,
			Action: func(ctx context.Context, cmd *cli.Command) error {
				addr, err := set(ctx, cmd)
				if err != nil {
					return err
				}
				fmt.Printf("profile published; your address:\n%s\n", addr)
				return nil
			},
		}, {
			Name:      "show",
			Usage:     "read a profile through the network: yours, a contact's or an address's",
			ArgsUsage: "[CONTACT|ADDRESS]",
			Flags: []cli.Flag{homeFlag(), jsonFlag(),
				&cli.StringFlag{Name: "save-photo", Usage: "save the photo (a JPEG) to `FILE`"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() > 1 {
					return errors.New("usage: komrade profile show [CONTACT|ADDRESS]")
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				p, err := a.ShowProfile(ctx, cmd.Args().First(), cmd.String("save-photo") != "")
				if err != nil {
					return err
				}
				if f := cmd.String("save-photo"); f != "" {
					if len(p.Photo) == 0 {
						return errors.New("this profile has no photo")
					}
					if err := saveFile(f, p.Photo); err != nil {
						return err
					}
				}
				if cmd.Bool("json") {
					p.Photo = nil
					return printJSON(p)
				}
				printProfile(p, cmd.String("save-photo"))
				return nil
			},
		}, {
			Name:  "publish",
			Usage: "publish your profile again, or with a new name (`profile set --name`); prints your address",
			Description: "The same as `komrade profile set` with only --name: the other fields keep\n" +
				"their values. Without --name the current name stays.",
			Flags: []cli.Flag{homeFlag(), &cli.StringFlag{Name: "name", Usage: "display name in the profile"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				addr, err := set(ctx, cmd)
				if err != nil {
					return err
				}
				fmt.Printf("profile published; your address:\n%s\n", addr)
				return nil
			},
		}},
	}
}

func printProfile(p *daemon.ProfileView, savedTo string) {
	name := p.Name
	if name == "" {
		name = "(none shown)"
	}
	fmt.Printf("name:        %s\n", termSafe(name, "             "))
	if p.Contact != "" {
		fmt.Printf("contact:     %s\n", termSafe(p.Contact, "             "))
	}
	fmt.Printf("address:     %s\nfingerprint: %s\nvisibility:  %s\n", p.Address, p.Fingerprint, p.Visibility)
	if p.Bio != "" {
		fmt.Printf("bio:         %s\n", termSafe(p.Bio, "             "))
	}
	if len(p.PhotoSize) == 2 {
		fmt.Printf("photo:       %d×%d", p.PhotoSize[0], p.PhotoSize[1])
		if savedTo != "" {
			fmt.Printf(", saved to %s", savedTo)
		}
		fmt.Println()
	}
	fmt.Printf("updated:     %s (expires %s)\n", p.Updated.Local().Format(time.DateTime), p.Expires.Local().Format(time.DateOnly))
	if len(p.Recent) > 0 {
		fmt.Printf("recent posts (see `komrade post show ID`):\n%s\n", indent(p.Recent))
	}
}

func postCommand() *cli.Command {
	return &cli.Command{
		Name:      "post",
		Usage:     "publish a post to the world, your friends or an area; prints its id",
		ArgsUsage: "TEXT...",
		Description: "A post is at most 1000 characters (characters, not bytes) and at most one\n" +
			"image (--image). It goes to the world feed (--to world, the default), to your\n" +
			"contacts only (--to friends: sealed in your friends stream, never anonymous), or\n" +
			"to the people around a place (--near LAT,LON --radius KM, at most 25 km; the place\n" +
			"is published snapped to about 150 m). It is signed by your identity, so it names\n" +
			"you, unless --anonymous: then it carries no key of yours and nothing linked to\n" +
			"you or to your other posts, and proof-of-work instead of a signature.\n" +
			"--reply ID answers a post (its id as `komrade post` printed it, or --json\n" +
			"gives it). Quote the text, or put it after --; flags may come before or after.\n" +
			"A post with an image takes a few dozen slots of the cover stream: at the\n" +
			"default rates, about half a minute.\n\n" + imageLimits,
		HideHelpCommand: true, // `komrade post help me` is a post
		Flags: []cli.Flag{homeFlag(), jsonFlag(),
			&cli.StringFlag{Name: "image", Usage: "a JPEG, PNG or GIF `FILE` of at most 10 MiB (one image a post)"},
			&cli.StringFlag{Name: "to", Usage: "world, friends (your contacts only: sealed in your friends stream) or area (default: world, or area with --near)"},
			&cli.StringFlag{Name: "near", Usage: "the centre `LAT,LON` of an area post"},
			&cli.FloatFlag{Name: "radius", Usage: "the radius of an area post in `KM` (more than 0, at most 25)", Value: 1},
			&cli.BoolFlag{Name: "anonymous", Usage: "publish without your identity (proof-of-work instead)"},
			&cli.StringFlag{Name: "reply", Usage: "the id of the `POST` this one answers"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			text := strings.Join(cmd.Args().Slice(), " ")
			if strings.TrimSpace(text) == "" {
				return errors.New("usage: komrade post TEXT (see --help)")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			req := &daemon.PostRequest{Text: text, To: cmd.String("to"), Near: cmd.String("near"), Anonymous: cmd.Bool("anonymous"), Reply: cmd.String("reply")}
			if req.Near != "" {
				req.RadiusKM = cmd.Float("radius")
			}
			if f := cmd.String("image"); f != "" {
				if req.Image, err = readImage(f); err != nil {
					return err
				}
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			id, err := a.Post(ctx, req)
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(map[string]string{"id": id})
			}
			fmt.Printf("posted; its id:\n%s\n", id)
			return nil
		},
		Commands: []*cli.Command{{
			Name:      "show",
			Usage:     "read a post by its id through the network",
			ArgsUsage: "ID",
			Flags: []cli.Flag{homeFlag(), jsonFlag(),
				&cli.StringFlag{Name: "save-image", Usage: "save the post's image (a JPEG) to `FILE`"},
				&cli.BoolFlag{Name: "thumbnail", Usage: "with --save-image: save the thumbnail instead of the full image"}},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() != 1 {
					return errors.New("usage: komrade post show ID")
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				image := ""
				if cmd.String("save-image") != "" {
					image = "full"
					if cmd.Bool("thumbnail") {
						image = "thumb"
					}
				}
				ctx, stop := signalContext(ctx)
				defer stop()
				v, err := a.ShowPost(ctx, cmd.Args().First(), image)
				if err != nil {
					return err
				}
				if f := cmd.String("save-image"); f != "" {
					if len(v.Image) == 0 {
						return errors.New("this post has no image")
					}
					if err := saveFile(f, v.Image); err != nil {
						return err
					}
				}
				if cmd.Bool("json") {
					v.Image = nil
					return printJSON(v)
				}
				printPost(v, cmd.String("save-image"))
				return nil
			},
		}},
	}
}

func printPost(v *daemon.PostView, savedTo string) {
	from := "anonymous"
	switch {
	case v.Contact != "":
		from = termSafe(v.Contact, "  ") + " (" + v.Fingerprint + ")"
	case v.Author != "":
		from = v.Fingerprint + " (address " + v.Author + ")"
	}
	fmt.Printf("post %s\nfrom %s, to %s, %s\n", v.ID, from, v.To, v.Created.Local().Format(time.DateTime))
	if v.Reply != "" {
		fmt.Printf("in reply to %s\n", v.Reply)
	}
	if v.Area != nil {
		fmt.Printf("around %.4f,%.4f within %.1f km\n", v.Area.Lat, v.Area.Lon, float64(v.Area.RadiusM)/1000)
	}
	if len(v.ImageSize) == 2 {
		fmt.Printf("image %d×%d", v.ImageSize[0], v.ImageSize[1])
		if savedTo != "" {
			fmt.Printf(", saved to %s", savedTo)
		}
		fmt.Println()
	}
	fmt.Printf("\n  %s\n", termSafe(v.Text, "  "))
}
