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
	"strings"
	"time"

	"github.com/komrade-net/komrade/client"
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
	logPath := filepath.Join(home, client.LogFile)
	// Read and write: if the daemon stops, its last lines are read from
	// this file even when the path is gone (a duress passphrase wipes the
	// log, and its failure must read as a wrong passphrase's).
	logf, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
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
			return fmt.Errorf("the daemon stopped (%v); the end of %s:\n%s", err, logPath, tail(logf, 10))
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

// tail returns the last n lines of an open file, without the zeros a
// wipe left (client.Panic).
func tail(f *os.File, n int) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	var lines []string
	sc := bufio.NewScanner(io.NewSectionReader(f, 0, fi.Size()))
	for sc.Scan() {
		l := strings.ReplaceAll(sc.Text(), "\x00", "")
		if l == "" {
			continue
		}
		lines = append(lines, l)
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
