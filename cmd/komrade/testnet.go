package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
)

// printParams prints a network's id and parameters, as in its file.
func printParams(p pki.Params, file string) {
	fmt.Printf("network %s (%s)\n", p.ID(), file)
	fmt.Printf("  name %q  epoch_length %v  mu %v  max_delay %v  pow_bits %d\n", p.Name, p.EpochLength, p.Mu, p.MaxDelay, p.PoWBits)
	for _, ns := range slices.Sorted(maps.Keys(p.Sets)) {
		s := p.Sets[ns]
		fmt.Printf("  sets.%-5s  max_item_size %d  ttl %v  pow_bits %d  dedup %v  max_items_per_key %d  per_hour %d\n",
			ns, s.MaxItemSize, s.TTL, s.PoWBits, s.Dedup, s.MaxItemsPerKey, s.MaxItemsPerKeyPerHour)
	}
}

func testnetCommand() *cli.Command {
	return &cli.Command{
		Name:      "testnet",
		Usage:     "run a local mix network in this process on 127.0.0.1 until interrupted",
		ArgsUsage: " ",
		Description: "Starts --nodes mix nodes (real libp2p, kad-dht and Sphinx) with short delays,\n" +
			"writes DIR/client.toml and waits. In another terminal:\n\n" +
			"   komrade ping --config DIR/client.toml --count 10",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Value: 9, Usage: "number of mix nodes (at least 3)"},
			&cli.StringFlag{Name: "dir", Value: "komrade-testnet", Usage: "directory for node data and client.toml"},
			&cli.DurationFlag{Name: "epoch", Value: 2 * time.Minute, Usage: "Sphinx key epoch length"},
			&cli.DurationFlag{Name: "mu", Value: 5 * time.Millisecond, Usage: "mean per-hop delay"},
			&cli.IntFlag{Name: "pow-bits", Value: 8, Usage: "proof-of-work difficulty of anonymous posts and set items"},
			&cli.Float64Flag{Name: "lambda-m", Value: 1, Usage: "loop cover packets per second per node (0: none)"},
			&cli.IntFlag{Name: "ping", Usage: "send this many echo probes through the network from an in-process client, print them and exit"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			ctx, stop := signalContext(ctx)
			defer stop()
			lm := cmd.Float64("lambda-m")
			if lm == 0 {
				lm = -1
			}
			dir, err := filepath.Abs(cmd.String("dir"))
			if err != nil {
				return err
			}
			start := time.Now()
			net, err := testnet.Start(ctx, testnet.Options{
				Nodes: cmd.Int("nodes"), Dir: dir, EpochLength: cmd.Duration("epoch"),
				Mu: cmd.Duration("mu"), PoWBits: max(cmd.Int("pow-bits"), -1), LambdaM: lm, Logger: slog.Default(),
			})
			if err != nil {
				return err
			}
			defer net.Close()
			dirv := net.Nodes[0].Directory()
			fmt.Printf("testnet: %d nodes up in %v (epoch %d)\n", len(net.Nodes), time.Since(start).Round(time.Millisecond), dirv.Epoch)
			for i, n := range net.Nodes {
				fmt.Printf("  node %d  layer %d  %s\n", i, dirv.LayerOf(n.ID())+1, n.Addrs()[0])
			}
			printParams(net.Params, filepath.Join(dir, config.NetworkFile))
			fmt.Printf("client config: %s\n", net.ClientConfigPath)
			if n := cmd.Int("ping"); n > 0 {
				return runPing(ctx, net.Client, n, 100*time.Millisecond, 30*time.Second, false)
			}
			fmt.Printf("try: komrade ping --config %s --count 10\n", net.ClientConfigPath)
			fmt.Println("running until interrupted (Ctrl-C)")
			os.Stdout.Sync()
			<-ctx.Done()
			fmt.Println("testnet: stopping")
			return nil
		},
	}
}
