package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/komrade-net/komrade/client/daemon"
)

// childEnv marks a daemon started by `komrade daemon --background`: it
// reads its passphrase from file descriptor 3, a pipe from its parent.
const childEnv = "KOMRADE_DAEMON_CHILD"

// readChildPassphrase reads the passphrase the parent wrote to fd 3.
func readChildPassphrase() ([]byte, error) {
	f := os.NewFile(3, "passphrase")
	if f == nil {
		return nil, errors.New("no passphrase pipe")
	}
	defer f.Close()
	p, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil || len(p) == 0 {
		return nil, fmt.Errorf("reading the passphrase from the parent: %v", err)
	}
	return p, nil
}

// startInBackground starts the same command again as a session of its own,
// hands it the passphrase through a pipe (never the environment or the
// command line), and returns once its socket answers, or with its log when
// it stopped first.
func startInBackground(ctx context.Context, home string, pass []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(home, "daemon.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	c := exec.Command(exe, os.Args[1:]...)
	c.Env = append(os.Environ(), childEnv+"=1")
	c.Stdout, c.Stderr = logf, logf
	c.ExtraFiles = []*os.File{r}
	detach(c)
	if err := c.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("start the daemon: %w", err)
	}
	r.Close()
	_, werr := w.Write(pass)
	w.Close()
	if werr != nil {
		return fmt.Errorf("hand the passphrase to the daemon: %w", werr)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	api := daemon.Connect(home)
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the daemon stopped (%v); the end of %s:\n%s", err, logPath, tail(logPath, 10))
		case <-deadline.C:
			return fmt.Errorf("the daemon did not answer within 2 minutes; it goes on (pid %d): see %s", c.Process.Pid, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := api.Status(sctx)
			cancel()
			if err == nil {
				fmt.Printf("daemon running in the background (pid %d); log in %s; stop it with `kill %d`\n", c.Process.Pid, logPath, c.Process.Pid)
				return nil
			}
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	out := ""
	for _, l := range lines {
		out += termSafe(l, "  ") + "\n"
	}
	return out
}
