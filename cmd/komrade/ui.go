package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/komrade-net/komrade/client/webui"
	"github.com/komrade-net/komrade/internal/secretfile"
)

// uiLoginFile is the redirect file `komrade ui` writes in the home
// directory (mode 0600): the browser opens it, never a command line with
// the login code on it (other users can read command lines).
const uiLoginFile = "ui-login.html"

func uiCommand() *cli.Command {
	return &cli.Command{
		Name:  "ui",
		Usage: "open the daemon's web interface in a browser on this machine",
		Description: "Asks the running daemon for a one-time login code (it works once, within a minute),\n" +
			"writes a page that logs in with it to " + uiLoginFile + " in the home directory (mode 0600)\n" +
			"and opens the browser on that file. The interface listens on 127.0.0.1 only\n" +
			"(ui_listen in the client config). With --no-browser, or when no browser can be\n" +
			"opened, it prints the interface's address and the file's path instead.",
		Flags: []cli.Flag{homeFlag(), &cli.BoolFlag{Name: "no-browser", Usage: "print the address and the login file instead of opening a browser"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			h, err := home(cmd)
			if err != nil {
				return err
			}
			a, err := api(cmd)
			if err != nil {
				return err
			}
			l, err := a.UILogin(ctx)
			if err != nil {
				return err
			}
			path := filepath.Join(h, uiLoginFile)
			if err := secretfile.Write(path, webui.LoginPage(l.LoginURL)); err != nil {
				return fmt.Errorf("ui: write the login file: %w", err)
			}
			if !cmd.Bool("no-browser") {
				err := openBrowser(ctx, path)
				if err == nil {
					fmt.Printf("Komrade's interface is open in your browser (%s).\n", l.URL)
					return nil
				}
				fmt.Fprintf(os.Stderr, "komrade: no browser could be opened (%v)\n", err)
			}
			fmt.Printf("interface   %s\nlogin file  %s\nOpen the login file in a browser on this machine within %v; it works once.\n",
				l.URL, path, webui.LoginCodeTTL)
			return nil
		},
	}
}

// openBrowser opens the system's browser on a local file, if there is a
// way to on this system. The openers (open, xdg-open, rundll32) hand the
// file to the browser and return.
func openBrowser(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch runtime.GOOS {
	case "darwin":
		return exec.CommandContext(ctx, "open", path).Run()
	case "windows":
		return exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", path).Run()
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no graphical session")
	}
	return exec.CommandContext(ctx, "xdg-open", path).Run()
}
