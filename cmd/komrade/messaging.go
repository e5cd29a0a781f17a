package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/config"
)

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts"}
}

// api connects to the daemon of the home directory of --home.
func api(cmd *cli.Command) (*daemon.API, error) {
	h, err := home(cmd)
	if err != nil {
		return nil, err
	}
	return daemon.Connect(h), nil
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
			&cli.StringFlag{Name: "config", Required: true, Usage: "client config (gateways, epoch length, rates)"},
			&cli.BoolFlag{Name: "background", Usage: "ask for the passphrase, then go on in the background (log in HOME/daemon.log)"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			cfg, err := config.LoadClient(cmd.String("config"))
			if err != nil {
				return err
			}
			h, err := home(cmd)
			if err != nil {
				return err
			}
			pass, err := passphrase(cmd, false)
			if err != nil {
				return err
			}
			if cmd.Bool("background") && os.Getenv(childEnv) == "" {
				return startInBackground(ctx, h, pass)
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			d, err := daemon.Start(ctx, h, pass, cfg, nil)
			if err != nil {
				return err
			}
			if os.Getenv(childEnv) != "" {
				fmt.Printf("daemon running (pid %d)\n", os.Getpid())
			} else {
				fmt.Println("daemon running; stop it with Ctrl-C")
			}
			os.Stdout.Sync()
			select {
			case <-ctx.Done():
			case <-d.Done():
				// komrade panic: the store is destroyed; stop now.
				fmt.Fprintln(os.Stderr, "komrade panic: store destroyed; the daemon stops")
			}
			return d.Close()
		},
	}
}

func contactCommand() *cli.Command {
	return &cli.Command{
		Name:  "contact",
		Usage: "make and list contacts",
		Commands: []*cli.Command{
			{
				Name:      "invite",
				Usage:     "create an invite code for a new contact (give it in person: it is a secret)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) != 1 {
						return fmt.Errorf("usage: komrade contact invite NAME")
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					code, err := a.Invite(ctx, pos[0])
					if err != nil {
						return err
					}
					if cmd.Bool("json") {
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
				Usage:     "accept an invite code (pasted at the prompt, or from --code-file or standard input)",
				ArgsUsage: "[CODE]",
				Description: "The invite code is a secret: whoever has it can take your place in the\n" +
					"conversation until you answer it. Paste it at the prompt (or pipe it in, or\n" +
					"give --code-file) rather than on the command line, where it stays in your\n" +
					"shell history and is visible to other users in the process list.",
				Flags: []cli.Flag{homeFlag(),
					&cli.StringFlag{Name: "name", Usage: "what you call this contact (required)"},
					&cli.StringFlag{Name: "code-file", Usage: "read the invite code from this file"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) > 1 || cmd.String("name") == "" {
						return fmt.Errorf("usage: komrade contact add --name NAME [CODE]")
					}
					code, err := inviteCode(pos, cmd.String("code-file"))
					if err != nil {
						return err
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					if err := a.Accept(ctx, code, cmd.String("name")); err != nil {
						return err
					}
					fmt.Printf("added %s; compare fingerprints with `komrade contact show`\n", cmd.String("name"))
					return nil
				},
			},
			{
				Name:      "remove",
				Usage:     "delete a contact, its queued and read messages, and any invite or request to it not yet answered",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{homeFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) != 1 {
						return fmt.Errorf("usage: komrade contact remove NAME")
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					n, err := a.RemoveContact(ctx, pos[0])
					if err != nil {
						return err
					}
					fmt.Printf("removed %s (%d outgoing messages dropped, read ones deleted; unread ones stay in the inbox)\n", termSafe(pos[0], "  "), n)
					return nil
				},
			},
			{
				Name:      "request",
				Usage:     "ask someone to be your contact, knowing only their address (see `komrade profile publish`)",
				ArgsUsage: "ADDRESS",
				Description: "Reads their public profile through the mix network and leaves an encrypted\n" +
					"request, with proof-of-work, in their introduction set. They see it with\n" +
					"`komrade contact requests`; the contact is confirmed when they accept.",
				Flags: []cli.Flag{homeFlag(),
					&cli.StringFlag{Name: "name", Usage: "what you call this contact (required)"},
					&cli.StringFlag{Name: "as", Usage: "the name they will see for you"},
					&cli.StringFlag{Name: "note", Usage: fmt.Sprintf("a short message (at most %d bytes)", messenger.MaxNoteLen)}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) != 1 || cmd.String("name") == "" {
						return fmt.Errorf("usage: komrade contact request ADDRESS --name NAME [--as YOURNAME] [--note TEXT]")
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					if err := a.Request(ctx, pos[0], cmd.String("name"), cmd.String("as"), cmd.String("note")); err != nil {
						return err
					}
					fmt.Printf("request sent; %s appears with a fingerprint in `komrade contact show` once they accept\n", cmd.String("name"))
					return nil
				},
			},
			{
				Name:  "requests",
				Usage: "list friend requests waiting for your answer",
				Flags: []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					a, err := api(cmd)
					if err != nil {
						return err
					}
					reqs, err := a.Requests(ctx)
					if err != nil {
						return err
					}
					if cmd.Bool("json") {
						return printJSON(reqs)
					}
					if len(reqs) == 0 {
						fmt.Println("no friend requests")
					}
					for _, r := range reqs {
						fmt.Printf("%s  %q  fingerprint %s  %s\n", r.ID, r.From, r.Fingerprint, r.At.Local().Format("2006-01-02 15:04"))
						if r.Note != "" {
							fmt.Println(wrapSafe("    ", r.Note, "    ", termWidth()))
						}
					}
					if len(reqs) > 0 {
						fmt.Println("answer with `komrade contact accept ID --name NAME` or `komrade contact ignore ID`;")
						fmt.Println("the name they gave is their claim: check the fingerprint with them.")
					}
					return nil
				},
			},
			{
				Name:      "accept",
				Usage:     "accept a friend request",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{homeFlag(), &cli.StringFlag{Name: "name", Usage: "what you call this contact (required)"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) != 1 || cmd.String("name") == "" {
						return fmt.Errorf("usage: komrade contact accept ID --name NAME")
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					if err := a.AcceptRequest(ctx, pos[0], cmd.String("name")); err != nil {
						return err
					}
					fmt.Printf("added %s\n", cmd.String("name"))
					return nil
				},
			},
			{
				Name:      "ignore",
				Usage:     "drop a friend request (the sender is not told)",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{homeFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					pos := cmd.Args().Slice()
					if len(pos) != 1 {
						return fmt.Errorf("usage: komrade contact ignore ID")
					}
					a, err := api(cmd)
					if err != nil {
						return err
					}
					return a.IgnoreRequest(ctx, pos[0])
				},
			},
			{
				Name:  "show",
				Usage: "list contacts and their fingerprints",
				Flags: []cli.Flag{homeFlag(), jsonFlag()},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					a, err := api(cmd)
					if err != nil {
						return err
					}
					cs, err := a.Contacts(ctx)
					if err != nil {
						return err
					}
					if cmd.Bool("json") {
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
							fp = "(waiting for them to accept)"
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
		Usage:     "send a message; waits until the recipient's mailbox holds it",
		ArgsUsage: "CONTACT TEXT...",
		Description: "The message is saved in the outbox first, so it is not lost if you stop\n" +
			"waiting or the daemon stops: the daemon delivers it. States: queued, sent,\n" +
			"acknowledged (stored in the recipient's mailbox), failed (see `komrade outbox`).\n" +
			"Flags may come before or after the text; everything after -- is text\n" +
			"(`komrade send bob -- --help` sends \"--help\").\n\n" +
			"Limits: a message is at most 64 boxes of 1472 bytes (94200 bytes of UTF-8\n" +
			"text). Each box takes one slot of the cover stream and waits for its\n" +
			"acknowledgement before the next goes, so a long message takes a while: the\n" +
			"largest, about 90 s on a testnet and several minutes on a real network.\n" +
			"Empty messages are refused. Without a network the message waits in the outbox.",
		Flags: []cli.Flag{homeFlag(), &cli.BoolFlag{Name: "no-wait", Usage: "return once the message is queued"},
			&cli.BoolFlag{Name: "json", Usage: "print the outbox entry as JSON for scripts"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) < 2 {
				return fmt.Errorf("usage: komrade send CONTACT TEXT")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			start := time.Now()
			o, err := a.Send(ctx, pos[0], strings.Join(pos[1:], " "), !cmd.Bool("no-wait"))
			if err != nil {
				if ctx.Err() != nil {
					// Not on standard output under --json: that is for JSON.
					out := os.Stdout
					if cmd.Bool("json") {
						out = os.Stderr
					}
					fmt.Fprintln(out, "still queued; the daemon delivers it (see `komrade outbox`)")
					return nil
				}
				return err
			}
			// Under --json, the entry is printed instead of the sentences;
			// the errors and the exit status stay.
			say := func(format string, a ...any) { fmt.Printf(format, a...) }
			if cmd.Bool("json") {
				say = func(string, ...any) {}
				if err := printJSON(o); err != nil {
					return err
				}
			}
			switch {
			case o.BlockedBy != 0:
				return fmt.Errorf("message %d is queued behind failed message %d to %s; retry that one with `komrade outbox retry %d`",
					o.ID, o.BlockedBy, o.To, o.BlockedBy)
			case o.Awaiting:
				say("message %d queued: %s has not answered your invite or request yet; the daemon sends it then\n", o.ID, o.To)
			case o.Offline:
				say("message %d queued: the network does not answer now; the daemon sends it when it does (see `komrade outbox`)\n", o.ID)
			case o.State == messenger.Acknowledged:
				say("acknowledged in %v\n", time.Since(start).Round(time.Millisecond))
			case o.State == messenger.Failed:
				return fmt.Errorf("message %d failed: %s (retry with `komrade outbox retry %d`)", o.ID, o.Error, o.ID)
			default:
				say("message %d %s; see `komrade outbox`\n", o.ID, o.State)
			}
			return nil
		},
	}
}

func outboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "outbox",
		Usage: "show the delivery state of sent messages",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			out, err := a.Outbox(ctx)
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(out)
			}
			if len(out) == 0 {
				fmt.Println("the outbox is empty")
			}
			for _, o := range out {
				text := o.Text
				if r := []rune(text); len(r) > 40 {
					text = string(r[:37]) + "..."
				}
				line := fmt.Sprintf("%4d  %-12s %-16s %d/%d  %q", o.ID, o.State, o.To, o.Done, o.Parts, text)
				if o.Error != "" {
					line += "  " + termSafe(o.Error, "      ")
				}
				if o.BlockedBy != 0 {
					line += fmt.Sprintf("  (waits behind failed message %d)", o.BlockedBy)
				}
				if o.Awaiting {
					line += "  (until they answer your invite)"
				}
				if o.Lost {
					line += "  LOST: the network lost it and it could not be sent again; the reader never got it"
				}
				fmt.Println(line)
			}
			return nil
		},
		Commands: []*cli.Command{{
			Name:      "retry",
			Usage:     "send a failed message again",
			ArgsUsage: "ID",
			Flags:     []cli.Flag{homeFlag()},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				pos := cmd.Args().Slice()
				var id uint64
				if len(pos) != 1 {
					return fmt.Errorf("usage: komrade outbox retry ID")
				}
				if _, err := fmt.Sscan(pos[0], &id); err != nil {
					return fmt.Errorf("usage: komrade outbox retry ID (a number from `komrade outbox`)")
				}
				a, err := api(cmd)
				if err != nil {
					return err
				}
				return a.Retry(ctx, id)
			},
		}},
	}
}

func inboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "inbox",
		Usage: "print unread messages and mark them read",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			msgs, err := a.Inbox(ctx, "")
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(msgs)
			}
			if len(msgs) == 0 {
				fmt.Println("no unread messages")
			}
			if s, err := a.Status(ctx); err == nil {
				for name, n := range s.Skipped {
					fmt.Printf("note: %d message(s) from %s could not be read and were skipped (see komrade status)\n", n, termSafe(name, "      "))
				}
				for name, n := range s.Lost {
					fmt.Printf("note: %d message(s) from %s were lost by the network (see komrade status)\n", n, termSafe(name, "      "))
				}
				for name, n := range s.Missing {
					fmt.Printf("note: %d message(s) from %s are missing; asked them to send again (they arrive late)\n", n, termSafe(name, "      "))
				}
			}
			for _, m := range msgs {
				printMessage(m)
			}
			return nil
		},
	}
}

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "print the messages of a contact you already read, for as long as they are kept (keep_read)",
		ArgsUsage: "CONTACT",
		Description: "Read messages are kept for keep_read in the client config (default 24h;\n" +
			"\"0s\" keeps none) and then destroyed: a seized device shows the messages\n" +
			"read within that time. Oldest first, with the arrival time and, when it\n" +
			"differs, the time the sender claims to have written it.",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade history CONTACT")
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			h, err := a.History(ctx, pos[0], time.Time{})
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(h)
			}
			printHistory(pos[0], h)
			return nil
		},
	}
}

// printHistory prints a contact's read messages under a line saying how
// long they are kept, with a date line wherever the day changes.
func printHistory(who string, h *daemon.History) {
	who = termSafe(who, "  ")
	if h.KeepRead.Duration == 0 {
		fmt.Println("history is off: read messages are destroyed when read (keep_read = \"0s\");")
		fmt.Println("to keep them a while, set e.g. keep_read = \"24h\" in client.toml and restart the daemon")
	} else {
		fmt.Printf("read messages are kept for %s (keep_read in client.toml)\n", shortDuration(h.KeepRead.Duration))
	}
	if len(h.Messages) == 0 {
		if h.KeepRead.Duration != 0 {
			fmt.Printf("no read messages from %s kept\n", who)
		}
		return
	}
	var day string
	for _, m := range h.Messages {
		if d := m.At.Local().Format("Mon Jan 2 2006"); d != day {
			day = d
			fmt.Printf("-- %s --\n", d)
		}
		printMessage(m.InboxMessage)
	}
}

// shortDuration prints d as keep_read is usually written: "24h", not
// "24h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the daemon's gateway, epoch, cover traffic, unread counts, outbox and friend requests",
		Flags: []cli.Flag{homeFlag(), jsonFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			a, err := api(cmd)
			if err != nil {
				return err
			}
			s, err := a.Status(ctx)
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				return printJSON(s)
			}
			fmt.Printf("fingerprint %s\naddress     %s\n", s.Fingerprint, s.Address)
			if s.OfflineSince != nil {
				fmt.Printf("gateway     offline since %s (trying the gateways of the config; messages wait in the outbox)\n",
					s.OfflineSince.Local().Format("2006-01-02 15:04:05"))
			} else {
				fmt.Printf("gateway     %s (%d failovers)\n", s.Gateway, s.Failovers)
			}
			fmt.Printf("epoch       %d (%d nodes)\n", s.Epoch, s.Nodes)
			fmt.Printf("loops       %d sent, %d returned, mean round trip %.0f ms\n", s.Loops.Sent, s.Loops.Returned, s.Loops.MeanRTTMs)
			fmt.Printf("departures  %s; %d real packets waiting for a slot\n", counts(s.Loops.Departures, "none yet"), s.Loops.Queued)
			fmt.Printf("contacts    %d, friend requests %d\n", len(s.Contacts), s.Requests)
			fmt.Printf("unread      %s\n", counts(s.Unread, "none"))
			fmt.Printf("outbox      %s\n", counts(s.Outbox, "empty"))
			for name, n := range s.Skipped {
				fmt.Printf("unreadable  %d message(s) from %s could not be read and were skipped\n", n, termSafe(name, "            "))
			}
			for name, n := range s.Lost {
				fmt.Printf("lost        %d message(s) from %s were lost by the network and could not be sent again (later ones arrived)\n", n, termSafe(name, "            "))
			}
			for name, n := range s.Missing {
				fmt.Printf("missing     %d message(s) from %s lost by the network; asked them to send again\n", n, termSafe(name, "            "))
			}
			for name, n := range s.LostSent {
				fmt.Printf("lost sent   %d message(s) to %s were lost by the network and never reached them (see komrade outbox)\n", n, termSafe(name, "            "))
			}
			if w := s.Watch; w != nil {
				fmt.Printf("watch       %d areas: %d live alerts, %d live pins; seen since start: %d alerts, %d pins; %d of your pins waiting\n",
					w.Areas, w.Alerts, w.Pins, w.AlertsSeen, w.PinsSeen, w.Pending)
				if w.Skipped > 0 {
					fmt.Printf("            %d pin items skipped: they failed validation\n", w.Skipped)
				}
			}
			if s.PollError != "" {
				fmt.Printf("last poll   %v: %s\n", s.LastPoll.Round(time.Second), termSafe(s.PollError, "            "))
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
		Action: func(ctx context.Context, cmd *cli.Command) error {
			pos := cmd.Args().Slice()
			if len(pos) != 1 {
				return fmt.Errorf("usage: komrade chat CONTACT")
			}
			who := pos[0]
			a, err := api(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(ctx)
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
			pending := map[uint64]bool{} // sent, not yet acknowledged
			// The daemon's inbox is a local call: look often, so that what
			// arrived shows at once.
			tick := time.NewTicker(250 * time.Millisecond)
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
					o, err := a.Send(ctx, who, l, false)
					if err != nil {
						fmt.Printf("! not sent: %s\n", termSafe(err.Error(), "  "))
						continue
					}
					pending[o.ID] = true
				case <-tick.C:
					msgs, err := a.Inbox(ctx, who)
					if err != nil {
						return err
					}
					if len(pending) > 0 {
						out, err := a.Outbox(ctx)
						if err != nil {
							return err
						}
						for _, o := range out {
							if !pending[o.ID] {
								continue
							}
							switch o.State {
							case messenger.Acknowledged:
								delete(pending, o.ID)
							case messenger.Failed:
								delete(pending, o.ID)
								fmt.Printf("! message %d failed: %s (`komrade outbox retry %d`)\n", o.ID, termSafe(o.Error, "  "), o.ID)
							}
						}
					}
					for _, m := range msgs {
						printMessage(m)
					}
				}
			}
		},
	}
}

// inviteCode reads an invite code: from the argument (with a warning: it
// is a secret), from file, from a prompt on a terminal, or from standard
// input.
func inviteCode(args []string, file string) (string, error) {
	switch {
	case len(args) == 1 && file != "":
		return "", errors.New("give the code as an argument or with --code-file, not both")
	case len(args) == 1:
		fmt.Fprintln(os.Stderr, "warning: an invite code on the command line stays in your shell history and shows in the process list; next time paste it at the prompt")
		return args[0], nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--code-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, "invite code: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("reading the code: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(io.LimitReader(os.Stdin, 8192)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the code from standard input: %w", err)
	}
	if strings.TrimSpace(line) == "" {
		return "", errors.New("no invite code: paste it at the prompt, pipe it in, or give --code-file")
	}
	return strings.TrimSpace(line), nil
}

// counts prints a map of counts as "3 real, 5 loop" in key order (names
// sanitised: contact names are the user's own, but come through the API).
func counts[V int | uint64](m map[string]V, none string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], termSafe(k, "")))
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, ", ")
}
