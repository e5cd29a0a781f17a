package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/config"
)

func pingCommand() *cli.Command {
	return &cli.Command{
		Name:      "ping",
		Usage:     "send echo probes through full mix paths and report round trips",
		ArgsUsage: " ",
		Description: "Fetches the directory from a gateway, sends --count echo packets, each along a\n" +
			"fresh random path (gateway, L1, L2, L3) with a reply block back (L1, L2, L3,\n" +
			"gateway), and waits for the replies. Exits non-zero if any is lost.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Required: true, Usage: "client config (e.g. DIR/client.toml written by 'komrade testnet')"},
			&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Value: 5, Usage: "number of probes"},
			&cli.DurationFlag{Name: "interval", Value: 100 * time.Millisecond, Usage: "time between probes"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long to wait for each reply"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per probe and a summary object"},
			&cli.BoolFlag{Name: "tor", Usage: "reach the gateway's onion address through Tor (same as transport = \"tor\" in the config)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			transport := ""
			if cmd.Bool("tor") {
				transport = config.TransportTor
			}
			cfg, err := config.LoadClientTransport(cmd.String("config"), transport)
			if err != nil {
				return err
			}
			if cmd.Int("count") < 1 {
				return fmt.Errorf("--count must be at least 1")
			}
			ctx, stop := signalContext(ctx)
			defer stop()
			return runPing(ctx, cfg, cmd.Int("count"), cmd.Duration("interval"), cmd.Duration("timeout"), cmd.Bool("json"))
		},
	}
}

// runPing dials a gateway of cfg, sends count probes and prints them.
func runPing(ctx context.Context, cfg config.Client, count int, interval, timeout time.Duration, asJSON bool) error {
	cl, err := client.Dial(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	enc := json.NewEncoder(os.Stdout)
	if !asJSON {
		d := cl.Directory()
		fmt.Printf("gateway %s, epoch %d, %d nodes (%d/%d/%d per layer)\n", cl.Gateway(), d.Epoch, len(d.Nodes), len(d.Layer[0]), len(d.Layer[1]), len(d.Layer[2]))
	}
	sum := cl.Ping(ctx, count, interval, timeout, func(r client.PingResult) {
		switch {
		case asJSON && r.Err != nil:
			enc.Encode(map[string]any{"seq": r.Seq, "error": r.Err.Error()})
		case asJSON:
			enc.Encode(map[string]any{"seq": r.Seq, "rtt_ms": ms(r.RTT)})
		case r.Err != nil:
			fmt.Printf("seq=%d lost: %v\n", r.Seq, r.Err)
		default:
			fmt.Printf("seq=%d rtt=%v\n", r.Seq, r.RTT.Round(10*time.Microsecond))
		}
	})
	if asJSON {
		enc.Encode(map[string]any{"sent": sum.Sent, "received": sum.Received,
			"min_ms": ms(sum.Min), "avg_ms": ms(sum.Avg), "max_ms": ms(sum.Max)})
	} else {
		fmt.Printf("%d/%d replies", sum.Received, sum.Sent)
		if sum.Received > 0 {
			r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
			fmt.Printf(", rtt min/avg/max %v/%v/%v", r(sum.Min), r(sum.Avg), r(sum.Max))
		}
		fmt.Println()
	}
	if sum.Received != sum.Sent {
		return cli.Exit(fmt.Sprintf("%d of %d probes lost", sum.Sent-sum.Received, sum.Sent), 1)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
