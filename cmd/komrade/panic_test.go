package main_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/config"
)

// offlineConfig writes a client config whose only gateway is a closed
// loopback port: the daemon runs offline, which is all a panic needs.
func offlineConfig(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "client.toml")
	body := fmt.Sprintf("gateways = [\"/ip4/127.0.0.1/tcp/%d/p2p/%s\"]\nnetwork = %q\n", port, id, config.DefaultClient().Network)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPanicCLI drives the binary: init with a duress passphrase; `komrade
// panic` makes a running daemon destroy its store and exit, and says what
// was destroyed; the duress passphrase given to `komrade daemon` destroys
// another home and reads as a wrong passphrase.
func TestPanicCLI(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	pf, df := filepath.Join(dir, "pass"), filepath.Join(dir, "duress")
	os.WriteFile(pf, []byte("a long passphrase\n"), 0o600)
	os.WriteFile(df, []byte("the duress passphrase\n"), 0o600)
	cfg := offlineConfig(t, dir)
	initHome := func(name string) string {
		home := filepath.Join(dir, name)
		out, err := exec.Command(bin, "init", "--home", home, "--passphrase-file", pf, "--duress-file", df).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "duress passphrase set") {
			t.Fatalf("init --duress-file: %v\n%s", err, out)
		}
		return home
	}
	gone := func(home string) {
		t.Helper()
		for _, f := range []string{"state.db", "state.db.keys", "komrade.sock"} {
			if _, err := os.Stat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left in %s: %v", f, home, err)
			}
		}
		for _, p := range []string{pf, df} {
			out, err := exec.Command(bin, "daemon", "--home", home, "--passphrase-file", p, "--config", cfg).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "komrade init") {
				t.Errorf("daemon after the store was destroyed: %v\n%s", err, out)
			}
		}
	}

	// komrade panic with a daemon running.
	home := initHome("a")
	_, lines := startProcess(t, bin, "daemon", "--home", home, "--passphrase-file", pf, "--config", cfg)
	waitLine(t, lines, regexp.MustCompile(`daemon running`), time.Minute)
	out, err := exec.Command(bin, "panic", "--home", home).CombinedOutput()
	if err != nil {
		t.Fatalf("panic: %v\n%s", err, out)
	}
	for _, want := range []string{"destroyed state.db.keys", "destroyed state.db:", "the daemon dropped its keys", "done in"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("panic's report lacks %q:\n%s", want, out)
		}
	}
	// The daemon exits by itself: its output ends.
	deadline := time.After(30 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-lines:
		case <-deadline:
			t.Fatal("the daemon did not exit after panic")
		}
	}
	gone(home)
	out, err = exec.Command(bin, "panic", "--home", home).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nothing to destroy") {
		t.Errorf("second panic: %v\n%s", err, out)
	}

	// The duress passphrase at unlock.
	home = initHome("b")
	out, err = exec.Command(bin, "daemon", "--home", home, "--passphrase-file", df, "--config", cfg).CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != "komrade: store: wrong passphrase" {
		t.Fatalf("daemon with the duress passphrase: %v\n%s", err, out)
	}
	gone(home)
}
