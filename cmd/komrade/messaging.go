package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/config"
)

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"}
}

// args returns the positional arguments and, since urfave/cli stops parsing
// flags at the first argument, the values of string flags written after
// them (`komrade contact add CODE --name bob`).
func args(c *cli.Context, flags ...string) ([]string, map[string]string) {
	vals := map[string]string{}
	for _, f := range flags {
		vals[f] = c.String(f)
	}
	var pos []string
	in := c.Args().Slice()
	for i := 0; i < len(in); i++ {
		a := in[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && a != "-" && a != "--" {
			if _, ok := vals[name]; ok {
				if !hasVal && i+1 < len(in) {
					i++
					val = in[i]
				}
				vals[name] = val
				continue
			}
		}
		pos = append(pos, a)
	}
	return pos, vals
}

func api(c *cli.Context, homeDir string) (*daemon.API, error) {
	if homeDir == "" {
		var err error
		if homeDir, err = home(c); err != nil {
			return nil, err
		}
	}
	return daemon.Connect(homeDir), nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:      "daemon",
		Usage:     "run your client: gateway link, cover traffic, mailbox polling, local API",
		ArgsUsage: " ",
		Description: "Unlocks your identity, connects to a gateway of the client config, sends\n" +
			"Loopix cover traffic (lambda_p, lambda_l, lambda_d in the config) and serves\n" +
			"the other commands on HOME/komrade.sock until SIGINT or SIGTERM.",
		Flags: []cli.Flag{homeFlag(), passphraseFileFlag(),
			&cli.StringFlag{Name: "config", Required: true, Usage: "client config (gateways, epoch length, rates)"}},
		Action: func(c *cli.Context) error {
			cfg, err := config.LoadClient(c.String("config"))
			if err != nil {
				return err
			}
			h, err := home(c)
			if err != nil {
				return err
			}
			pass, err := passphrase(c, false)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(c.Context)
			defer stop()
			d, err := daemon.Start(ctx, h, pass, cfg, nil)
			if err != nil {
				return err
			}
			fmt.Println("daemon running; stop it with Ctrl-C")
			os.Stdout.Sync()
			<-ctx.Done()
			return d.Close()
		},
	}
}

func contactCommand() *cli.Command {
	return &cli.Command{
		Name:  "contact",
		Usage: "make and list contacts",
		Subcommands: []*cli.Command{
			{
				Name:      "invite",
				Usage:     "create an invite code for a new contact (give it in person: it is a secret)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					pos, fl := args(c, "home")
					if len(pos) != 1 {
						return fmt.Errorf("usage: komrade contact invite NAME")
					}
					a, err := api(c, fl["home"])
					if err != nil {
						return err
					}
					code, err := a.Invite(c.Context, pos[0])
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(map[string]string{"code": code})
					}
					fmt.Println(code)
					// On a terminal, also as a QR code to scan in person.
					if term.IsTerminal(int(os.Stdout.Fd())) {
						q, err := qrcode.New(code, qrcode.Low)
						if err != nil {
							return fmt.Errorf("qr code: %w", err)
						}
						fmt.Print(q.ToSmallString(false))
					}
					return nil
				},
			},
			{
				Name:      "add",
				Usage:     "accept an invite code",
				ArgsUsage: "CODE",
				Flags:     []cli.Flag{homeFlag(), &cli.StringFlag{Name: "name", Usage: "what you call this contact (required)"}},
				Action: func(c *cli.Context) error {
					pos, fl := args(c, "home", "name")
					if len(pos) != 1 || fl["name"] == "" {
						return fmt.Errorf("usage: komrade contact add CODE --name NAME")
					}
					a, err := api(c, fl["home"])
					if err != nil {
						return err
					}
					if err := a.Accept(c.Context, pos[0], fl["name"]); err != nil {
						return err
					}
					fmt.Printf("added %s; compare fingerprints with `komrade contact show`\n", fl["name"])
					return nil
				},
			},
			{
				Name:  "show",
				Usage: "list contacts and their fingerprints",
				Flags: []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					a, err := api(c, "")
					if err != nil {
						return err
					}
					cs, err := a.Contacts(c.Context)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(cs)
					}
					names := make([]string, 0, len(cs))
					for n := range cs {
						names = append(names, n)
					}
					sort.Strings(names)
					for _, n := range names {
						fp := cs[n]
						if fp == "" {
							fp = "(waiting for them to accept the invite)"
						}
						fmt.Printf("%-16s %s\n", n, fp)
					}
					return nil
				},
			},
		},
	}
}

func sendCommand() *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "send a message; returns once the mailbox holds it",
		ArgsUsage: "CONTACT TEXT...",
		Flags:     []cli.Flag{homeFlag()},
		Action: func(c *cli.Context) error {
			pos, fl := args(c, "home")
			if len(pos) < 2 {
				return fmt.Errorf("usage: komrade send CONTACT TEXT")
			}
			a, err := api(c, fl["home"])
			if err != nil {
				return err
			}
			start := time.Now()
			if err := a.Send(c.Context, pos[0], strings.Join(pos[1:], " ")); err != nil {
				return err
			}
			fmt.Printf("acknowledged in %v\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func inboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "inbox",
		Usage: "print unread messages and mark them read",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			a, err := api(c, "")
			if err != nil {
				return err
			}
			msgs, err := a.Inbox(c.Context, "")
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(msgs)
			}
			if len(msgs) == 0 {
				fmt.Println("no unread messages")
			}
			for _, m := range msgs {
				fmt.Printf("[%s] %s: %s\n", m.At.Local().Format("15:04"), m.From, m.Text)
			}
			return nil
		},
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the daemon's gateway, epoch, cover traffic and unread counts",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			a, err := api(c, "")
			if err != nil {
				return err
			}
			s, err := a.Status(c.Context)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(s)
			}
			fmt.Printf("fingerprint %s\ngateway     %s\nepoch       %d (%d nodes)\n", s.Fingerprint, s.Gateway, s.Epoch, s.Nodes)
			fmt.Printf("loops       %d sent, %d returned, mean rtt %v\n", s.Loops.Sent, s.Loops.Returned, s.Loops.MeanRTT.Round(time.Millisecond))
			fmt.Printf("departures  %v, %d queued\n", s.Loops.Departures, s.Loops.Queued)
			fmt.Printf("contacts    %d, unread %v\n", len(s.Contacts), s.Unread)
			if s.PollError != "" {
				fmt.Printf("last poll   %v: %s\n", s.LastPoll.Round(time.Second), s.PollError)
			}
			return nil
		},
	}
}

func chatCommand() *cli.Command {
	return &cli.Command{
		Name:      "chat",
		Usage:     "talk with a contact: each line you type is sent, their messages appear as they arrive",
		ArgsUsage: "CONTACT",
		Flags:     []cli.Flag{homeFlag()},
		Action: func(c *cli.Context) error {
			pos, fl := args(c, "home")
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade chat CONTACT")
			}
			who := pos[0]
			a, err := api(c, fl["home"])
			if err != nil {
				return err
			}
			ctx, stop := signalContext(c.Context)
			defer stop()
			if _, err := a.Contacts(ctx); err != nil {
				return err
			}
			fmt.Printf("chatting with %s; Ctrl-D or Ctrl-C to leave\n", who)
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(os.Stdin)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case l, ok := <-lines:
					if !ok {
						return nil
					}
					if strings.TrimSpace(l) == "" {
						continue
					}
					if err := a.Send(ctx, who, l); err != nil {
						fmt.Printf("! not delivered: %v\n", err)
					}
				case <-tick.C:
					msgs, err := a.Inbox(ctx, who)
					if err != nil {
						return err
					}
					for _, m := range msgs {
						fmt.Printf("[%s] %s: %s\n", m.At.Local().Format("15:04"), m.From, m.Text)
					}
				}
			}
		},
	}
}
