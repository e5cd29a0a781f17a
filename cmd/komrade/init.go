package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/mixnode"
)

func homeFlag() cli.Flag {
	return &cli.StringFlag{Name: "home", Usage: "client home directory (default: your config directory/komrade)"}
}

func passphraseFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "passphrase-file", Usage: "read the passphrase from this file (mode 0600) instead of prompting"}
}

func home(cmd *cli.Command) (string, error) {
	if h := cmd.String("home"); h != "" {
		return h, nil
	}
	return client.DefaultHome()
}

// passphrase reads the passphrase from --passphrase-file or the terminal;
// confirm asks twice.
func passphrase(cmd *cli.Command, confirm bool) ([]byte, error) {
	if f := cmd.String("passphrase-file"); f != "" {
		p, err := mixnode.ReadPassphrase(f)
		if err == nil && confirm {
			warnWeak(p)
		}
		return p, err
	}
	if os.Getenv(childEnv) != "" { // a daemon started by --background
		return readChildPassphrase()
	}
	return askSecret("passphrase", confirm)
}

// askSecret asks for a passphrase (what names it) on the terminal; confirm
// asks twice and warns when it is weak.
func askSecret(what string, confirm bool) ([]byte, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("no terminal to ask for a %s: use --passphrase-file (--duress-file)", what)
	}
	if inBackground(fd) {
		return nil, errors.New("running in the background, so the passphrase cannot be asked for: " +
			"use `komrade daemon --background` (it asks, then detaches) or --passphrase-file")
	}
	fmt.Fprintf(os.Stderr, "%s: ", what)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(os.Stderr, "again: ")
		q, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passphrases differ")
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("an empty %s protects nothing", what)
	}
	if confirm {
		warnWeak(p)
	}
	return p, nil
}

// warnWeak says so when a new passphrase is short: whoever takes the device
// can guess offline; argon2id only slows each guess.
func warnWeak(p []byte) {
	n := utf8.RuneCount(p)
	if n >= 12 {
		return
	}
	fmt.Fprintf(os.Stderr, "warning: this passphrase is weak (%d characters). Whoever takes this device can try passphrases\n"+
		"offline; argon2id makes each try slow, not impossible. Four or more random words are far stronger.\n", n)
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create your identity, protected by a passphrase",
		ArgsUsage: " ",
		Description: "Creates an Ed25519 signing key and an X25519 key in an encrypted store\n" +
			"(argon2id, XChaCha20-Poly1305) in the home directory, and prints the\n" +
			"fingerprint your contacts can compare.\n\n" +
			"With --duress (or --duress-file) it also sets a duress passphrase: given to\n" +
			"unlock instead of your passphrase (to `komrade daemon`), it destroys the store\n" +
			"as `komrade panic` does, and the unlock fails as for a wrong passphrase. The\n" +
			"store's files do not show whether it has one; it can be set only now. Anyone\n" +
			"who copied the files first is not affected by it, and that the store is gone\n" +
			"shows afterwards. See docs/threat-model.md, Panic.",
		Flags: []cli.Flag{homeFlag(), passphraseFileFlag(),
			&cli.BoolFlag{Name: "duress", Usage: "also ask for a duress passphrase, which destroys the store when given to unlock"},
			&cli.StringFlag{Name: "duress-file", Usage: "read the duress passphrase from this file (mode 0600) instead of asking"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			h, err := home(cmd)
			if err != nil {
				return err
			}
			pass, err := passphrase(cmd, true)
			if err != nil {
				return err
			}
			var duress []byte
			switch {
			case cmd.String("duress-file") != "":
				if duress, err = mixnode.ReadPassphrase(cmd.String("duress-file")); err != nil {
					return err
				}
			case cmd.Bool("duress"):
				if duress, err = askSecret("duress passphrase", true); err != nil {
					return err
				}
			}
			var id *client.Identity
			if duress != nil {
				if string(duress) == string(pass) {
					return errors.New("the duress passphrase must differ from the passphrase")
				}
				id, err = client.InitDuress(h, pass, duress)
			} else {
				id, err = client.Init(h, pass)
			}
			if err != nil {
				return err
			}
			if duress != nil {
				fmt.Println("duress passphrase set: given to unlock, it destroys this store")
			}
			fmt.Printf("identity created in %s\nfingerprint: %s\n", h, id.Fingerprint())
			return nil
		},
	}
}
