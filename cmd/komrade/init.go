package main

import (
	"context"
	"errors"
	"fmt"
	"os"

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
		return mixnode.ReadPassphrase(f)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, errors.New("no terminal to ask for a passphrase: use --passphrase-file")
	}
	fmt.Fprint(os.Stderr, "passphrase: ")
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
		return nil, errors.New("an empty passphrase protects nothing")
	}
	return p, nil
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create your identity, protected by a passphrase",
		ArgsUsage: " ",
		Description: "Creates an Ed25519 signing key and an X25519 key in an encrypted store\n" +
			"(argon2id, XChaCha20-Poly1305) in the home directory, and prints the\n" +
			"fingerprint your contacts can compare.",
		Flags: []cli.Flag{homeFlag(), passphraseFileFlag()},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			h, err := home(cmd)
			if err != nil {
				return err
			}
			pass, err := passphrase(cmd, true)
			if err != nil {
				return err
			}
			id, err := client.Init(h, pass)
			if err != nil {
				return err
			}
			fmt.Printf("identity created in %s\nfingerprint: %s\n", h, id.Fingerprint())
			return nil
		},
	}
}
