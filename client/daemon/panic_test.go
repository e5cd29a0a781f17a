package daemon_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/config"
)

// unreachableGateway is a config whose only gateway is a closed loopback
// port: the daemon runs offline, which is all a panic needs.
func unreachableGateway(t *testing.T) config.Client {
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
	cfg := config.DefaultClient()
	cfg.Gateways = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id)}
	return cfg
}

// TestPanicRoute: POST /panic destroys the running daemon's store, says
// what it destroyed, and the daemon stops; afterwards the home opens with
// no passphrase.
func TestPanicRoute(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	pass := []byte("a passphrase")
	if _, err := client.InitDuress(home, pass, []byte("a duress passphrase")); err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(ctx, home, pass, unreachableGateway(t), log)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			d.Close()
		}
	})
	api := daemon.Connect(home)
	if _, err := api.Invite(ctx, "bob"); err != nil { // something in the store
		t.Fatal(err)
	}
	rep, err := api.Panic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.KeyFile != filepath.Join(home, client.StateFile+".keys") || len(rep.StoreFiles) != 1 || rep.SaltCopies == 0 {
		t.Errorf("report %+v", rep)
	}
	select {
	case <-d.Done():
	case <-ctx.Done():
		t.Fatal("the daemon did not signal that it must stop")
	}
	closed = true
	if err := d.Close(); err != nil {
		t.Errorf("Close after panic: %v", err)
	}
	if _, err := api.Status(ctx); !errors.Is(err, daemon.ErrNotRunning) {
		t.Errorf("the daemon still answers: %v", err)
	}
	for _, f := range []string{client.StateFile, client.StateFile + ".keys", daemon.SocketFile} {
		if _, err := os.Stat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", f, err)
		}
	}
	for _, p := range []string{"a passphrase", "a duress passphrase"} {
		if _, _, err := client.OpenHome(home, []byte(p)); err == nil {
			t.Errorf("home opens with %q after panic", p)
		}
	}
}
