package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
)

func panicCommand() *cli.Command {
	return &cli.Command{
		Name:      "panic",
		Usage:     "destroy your identity and everything stored, at once (no question asked)",
		ArgsUsage: " ",
		Description: "Makes this home's encrypted store unreadable in well under a second, with any\n" +
			"passphrase: the key file that holds the key of every stored value is overwritten\n" +
			"with zeros and removed, every copy of the passphrase's salt in the store file is\n" +
			"overwritten, the store file is removed, and the daemon's log goes too; all synced\n" +
			"to disk. A running daemon is told first: it destroys the store it has open, and\n" +
			"stops, taking the keys it held in memory with it. Then it prints what it\n" +
			"destroyed. Identity, contacts, messages, history, follows and pins: all gone,\n" +
			"with no way back. Your contacts are not told.\n\n" +
			"It does not ask: it is for when there is no time. What it cannot do: erase old\n" +
			"copies a copy-on-write file system, a snapshot, a backup or an SSD's wear\n" +
			"levelling kept; touch your client config (--config, which may list watched\n" +
			"places); or hide that Komrade was installed. See docs/threat-model.md, Panic.\n\n" +
			"`komrade init --duress` sets a second passphrase that does the same when it is\n" +
			"given to unlock (e.g. to `komrade daemon`), and then fails as a wrong passphrase.",
		Flags: []cli.Flag{homeFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			h, err := home(cmd)
			if err != nil {
				return err
			}
			start := time.Now()
			// The daemon first: it has the store open and the keys in memory.
			a := daemon.Connect(h)
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			rep, derr := a.Panic(dctx)
			cancel()
			ranDaemon := derr == nil
			if derr != nil && !errors.Is(derr, daemon.ErrNotRunning) {
				fmt.Fprintf(os.Stderr, "the daemon did not do it (%s); destroying the files directly\n", termSafe(derr.Error(), "  "))
			}
			// Then whatever is left (everything, without a daemon).
			local, lerr := client.Panic(h, nil)
			took := time.Since(start)
			if rep == nil || !ranDaemon {
				rep = &client.PanicReport{}
			}
			printPanic(h, rep, local, took)
			if ranDaemon {
				waitGone(ctx, h)
			}
			if lerr != nil {
				return fmt.Errorf("panic: %w", lerr)
			}
			return nil
		},
	}
}

// printPanic says what the daemon (d) and this command (l) destroyed.
func printPanic(home string, d, l *client.PanicReport, took time.Duration) {
	name := func(p string) string {
		if r, err := filepath.Rel(home, p); err == nil {
			return r
		}
		return p
	}
	n := 0
	for _, r := range []*client.PanicReport{d, l} {
		if r.KeyFile != "" {
			fmt.Printf("destroyed %s: the keys of every stored value (%d slots, %d bytes) overwritten with zeros, removed\n",
				name(r.KeyFile), r.KeySlots, r.KeyBytes)
			n++
		}
		for _, f := range r.StoreFiles {
			fmt.Printf("destroyed %s: the passphrase's salt overwritten (%d copies in %d bytes), removed: no passphrase opens it\n",
				name(f), r.SaltCopies, r.StoreBytes)
			n++
		}
		if r.Log != "" {
			fmt.Printf("destroyed %s: overwritten, removed\n", name(r.Log))
			n++
		}
	}
	if d.KeyFile != "" || len(d.StoreFiles) > 0 {
		fmt.Println("the daemon dropped its keys and stops")
	}
	if n == 0 {
		fmt.Printf("nothing to destroy in %s (no store there)\n", home)
		return
	}
	fmt.Printf("done in %d ms\n", took.Milliseconds())
}

// waitGone waits (a few seconds at most) until the daemon's socket is
// gone, and says so if it is not.
func waitGone(ctx context.Context, home string) {
	sock := filepath.Join(home, daemon.SocketFile)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sock); errors.Is(err, os.ErrNotExist) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Fprintln(os.Stderr, "the daemon has not stopped yet; its store is destroyed all the same")
}
