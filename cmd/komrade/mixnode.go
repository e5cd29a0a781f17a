package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode"
)

func mixnodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "mixnode",
		Usage: "set up and run a mix node",
		Commands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "create a node identity and a config file in a data directory",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "datadir", Required: true, Usage: "directory for the identity key, config and data (created 0700)"},
					&cli.StringSliceFlag{Name: "listen", Usage: "libp2p listen multiaddr (default " + config.DefaultListenAddress + ")"},
					&cli.StringSliceFlag{Name: "bootstrap", Usage: "multiaddr with /p2p/ of a node already in the network (repeatable)"},
					&cli.StringFlag{Name: "announce", Usage: "public multiaddr to publish instead of the listen address"},
					&cli.StringFlag{Name: "network", Usage: "network file (network.toml) of the network to join, copied into the data dir; without it the node gets the default parameters"},
					&cli.StringFlag{Name: "passphrase-file", Usage: "encrypt the identity key with the passphrase in this file (mode 0600); the config remembers the path"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					cfg := config.DefaultNode()
					if l := cmd.StringSlice("listen"); len(l) > 0 {
						cfg.ListenAddrs = l
					}
					cfg.Bootstrap = cmd.StringSlice("bootstrap")
					if nf := cmd.String("network"); nf != "" {
						p, err := config.LoadNetwork(nf)
						if err != nil {
							return err
						}
						cfg.Network = p
					}
					if pf := cmd.String("passphrase-file"); pf != "" {
						abs, err := filepath.Abs(pf)
						if err != nil {
							return err
						}
						cfg.PassphraseFile = abs
					}
					if a := cmd.String("announce"); a != "" {
						cfg.AnnounceAddrs = []string{a}
					}
					path, id, err := mixnode.Init(cmd.String("datadir"), cfg)
					if err != nil {
						return err
					}
					fmt.Printf("node id: %s\nnetwork: %s\nconfig:  %s\nstart it with: komrade mixnode run --config %s\n", id, cfg.Network.ID(), path, path)
					return nil
				},
			},
			{
				Name:      "run",
				Usage:     "run a mix node until SIGINT or SIGTERM",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Required: true, Usage: "node config file (written by 'komrade mixnode init')"},
					&cli.BoolFlag{Name: "onion", Usage: "serve an onion service through Tor for clients (same as onion = true in the config; needs tor: apt-get install tor)"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					cfg, err := config.LoadNode(cmd.String("config"))
					if err != nil {
						return err
					}
					if cmd.Bool("onion") {
						cfg.Onion = true
					}
					n, err := mixnode.New(cfg, mixnode.Options{})
					if err != nil {
						return err
					}
					ctx, stop := signalContext(ctx)
					defer stop()
					if err := n.Start(ctx); err != nil {
						n.Close()
						return err
					}
					fmt.Printf("network %s (%s)\n", cfg.Network.ID(), cfg.NetworkFile)
					fmt.Printf("node %s running; addresses:\n%s\n", n.ID(), indent(n.Addrs()))
					if a := n.OnionAddr(); a != "" {
						fmt.Printf("onion address (for clients with transport = \"tor\"):\n%s\n", indent([]string{a}))
					}
					<-ctx.Done()
					slog.Info("shutting down")
					return n.Close()
				},
			},
		},
	}
}
