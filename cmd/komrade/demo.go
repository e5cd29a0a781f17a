package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "start a local mix network, make two users, exchange an invite and messages, then post, read a feed and vote",
		ArgsUsage: " ",
		Description: "Runs everything in this process on 127.0.0.1: 9 mix nodes, then alice and bob,\n" +
			"each with an encrypted store and Loopix cover traffic. Alice invites bob, they\n" +
			"exchange messages both ways through the mix network and the mailboxes in the\n" +
			"DHT. Then alice posts to the world feed, bob's feed shows it, bob votes, and\n" +
			"alice's feed shows the vote. Every step is printed with its latency.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "messages", Value: 3, Usage: "messages each way"},
			&cli.DurationFlag{Name: "mu", Value: 5 * time.Millisecond, Usage: "mean per-hop delay"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			ctx, stop := signalContext(ctx)
			defer stop()
			dir, err := os.MkdirTemp("", "komrade-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
			step := func(what string, start time.Time) {
				fmt.Printf("%-52s %8v\n", what, time.Since(start).Round(time.Millisecond))
			}
			t0 := time.Now()
			net, err := testnet.Start(ctx, testnet.Options{Dir: filepath.Join(dir, "net"), Mu: cmd.Duration("mu"), Logger: quiet})
			if err != nil {
				return err
			}
			defer net.Close()
			step(fmt.Sprintf("started %d mix nodes in 3 layers", len(net.Nodes)), t0)

			type user struct {
				name string
				m    *messenger.Messenger
				s    *social.Social
			}
			newUser := func(name string) (*user, error) {
				t := time.Now()
				st, err := store.Create(filepath.Join(dir, name+".db"), []byte("demo passphrase of "+name), seal.DefaultParams)
				if err != nil {
					return nil, err
				}
				id, err := client.NewIdentity()
				if err != nil {
					return nil, err
				}
				cl, err := client.Dial(ctx, net.Client, quiet)
				if err != nil {
					return nil, err
				}
				if err := cl.StartCover(ctx, client.Rates{LambdaP: 20, LambdaL: 2, LambdaD: 2}); err != nil {
					return nil, err
				}
				step(fmt.Sprintf("%s: identity %s…, cover traffic on", name, id.Fingerprint()[:9]), t)
				m := messenger.New(cl, id, st, quiet)
				return &user{name: name, m: m, s: social.New(cl, id, st, m, quiet)}, nil
			}
			alice, err := newUser("alice")
			if err != nil {
				return err
			}
			bob, err := newUser("bob")
			if err != nil {
				return err
			}
			t := time.Now()
			code, err := alice.m.Invite("bob")
			if err != nil {
				return err
			}
			step(fmt.Sprintf("alice: invite code (%d characters)", len(code)), t)
			t = time.Now()
			if err := bob.m.Accept(ctx, code, "alice"); err != nil {
				return err
			}
			step("bob: accepted, hello stored in alice's mailbox", t)
			t = time.Now()
			if _, err := alice.m.Receive(ctx); err != nil {
				return err
			}
			fp, _ := alice.m.Contacts()
			step(fmt.Sprintf("alice: bob's hello read, fingerprint %s…", fp["bob"][:9]), t)

			n := cmd.Int("messages")
			for _, dirn := range []struct{ from, to *user }{{alice, bob}, {bob, alice}} {
				for i := 0; i < n; i++ {
					text := fmt.Sprintf("%s to %s, message %d: see you at the square", dirn.from.name, dirn.to.name, i+1)
					t = time.Now()
					if err := dirn.from.m.Send(ctx, dirn.to.name, text); err != nil {
						return err
					}
					step(fmt.Sprintf("%s: sent and acknowledged #%d", dirn.from.name, i+1), t)
				}
				t = time.Now()
				got := 0
				for got < n {
					msgs, err := dirn.to.m.Receive(ctx)
					if err != nil {
						return err
					}
					for _, m := range msgs {
						got++
						step(fmt.Sprintf("%s: received %q", dirn.to.name, truncate(m.Text, 24)), t)
					}
					if ctx.Err() != nil {
						return ctx.Err()
					}
				}
			}
			if err := demoSocial(ctx, alice.s, bob.s, step); err != nil {
				return err
			}
			fmt.Printf("demo complete in %v\n", time.Since(t0).Round(time.Millisecond))
			return nil
		},
	}
}

// demoSocial: alice posts to the world, bob's refreshed world feed shows
// it (under his name for her), bob votes it up, alice's feed counts the vote.
func demoSocial(ctx context.Context, alice, bob *social.Social, step func(string, time.Time)) error {
	t := time.Now()
	id, err := alice.Post(ctx, social.PostOptions{To: social.World, Text: "march on saturday, 11:00, main square"})
	if err != nil {
		return err
	}
	step(fmt.Sprintf("alice: posted to the world, id %s…", id.String()[:8]), t)
	find := func(u *social.Social) (*social.FeedItem, error) {
		if _, err := u.Refresh(ctx); err != nil {
			return nil, err
		}
		page, err := u.Feed(social.KindWorld, social.FeedQuery{})
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			if page.Items[i].ID == id.String() {
				return &page.Items[i], nil
			}
		}
		return nil, nil
	}
	t = time.Now()
	var it *social.FeedItem
	for it == nil {
		if it, err = find(bob); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	step(fmt.Sprintf("bob: world feed shows %s's post %q", it.Author, truncate(it.Text, 16)), t)
	t = time.Now()
	if err := bob.Vote(ctx, id, social.VoteUp); err != nil {
		return err
	}
	step("bob: voted up (anonymous, one per identity)", t)
	t = time.Now()
	for it == nil || it.Up == 0 {
		if it, err = find(alice); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	step(fmt.Sprintf("alice: her post has %d up, %d down", it.Up, it.Down), t)
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
