// Command komrade is the Komrade client and mix node: one binary whose
// subcommands parse flags and call the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"
)

func main() {
	app := &cli.Command{
		Name:  "komrade",
		Usage: "an anonymous social network and messenger over a Loopix-style mix network",
		Description: "Every packet is a fixed-size Sphinx packet that crosses three layers of mix\n" +
			"nodes, each holding it for a random delay, so that no observer can tell who\n" +
			"talks to whom. Try `komrade demo` (a local network, two users, messages both\n" +
			"ways); then `komrade init` and `komrade daemon` to use a real network.",
		Version: version(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
				return ctx, fmt.Errorf("--log-level: %w", err)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
			return ctx, nil
		},
		Commands: []*cli.Command{
			initCommand(),
			daemonCommand(),
			panicCommand(),
			contactCommand(),
			profileCommand(),
			postCommand(),
			eventCommand(),
			sendCommand(),
			outboxCommand(),
			inboxCommand(),
			historyCommand(),
			chatCommand(),
			statusCommand(),
			uiCommand(),
			demoCommand(),
			mixnodeCommand(),
			testnetCommand(),
			pingCommand(),
			versionCommand(),
		},
	}
	app.Commands = append(app.Commands, socialFeedCommands()...)
	app.Commands = append(app.Commands, organizePinCommands()...)
	hideLeafHelpCommands(app)
	if err := app.Run(context.Background(), os.Args); err != nil {
		// Errors can carry text from the network (an exit's or a peer's
		// message): printed like any other text from others.
		fmt.Fprintln(os.Stderr, "komrade:", termSafe(err.Error(), "  "))
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// hideLeafHelpCommands hides the help subcommand that urfave/cli gives
// every command from those without subcommands of their own. There a word
// "help" among the arguments (`komrade send help-desk …`, `komrade send bob
// I need help --no-wait`) would be taken for that subcommand, which also
// ends flag parsing. Their help is -h, --help and `komrade help COMMAND`.
func hideLeafHelpCommands(cmd *cli.Command) {
	if len(cmd.Commands) == 0 {
		cmd.HideHelpCommand = true
	}
	for _, sub := range cmd.Commands {
		hideLeafHelpCommands(sub)
	}
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func indent(lines []string) string { return "  " + strings.Join(lines, "\n  ") }
