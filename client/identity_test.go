package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
)

func TestIdentity(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	id, err := initWith(home, []byte("pass"), nil, seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
		t.Fatalf("home mode %v", fi.Mode().Perm())
	}
	if _, err := initWith(home, []byte("pass"), nil, seal.Params{Time: 1, Memory: 64, Threads: 1}); err == nil {
		t.Fatal("existing identity overwritten")
	}
	if _, err := OpenIdentity(home, []byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err := OpenIdentity(home, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Sign.Equal(id.Sign) || !got.DH.Equal(id.DH) || got.Fingerprint() != id.Fingerprint() {
		t.Fatal("identity changed across reopen")
	}
	if n := len(strings.Fields(id.Fingerprint())); n != 8 {
		t.Fatalf("fingerprint %q", id.Fingerprint())
	}
	if _, err := OpenIdentity(t.TempDir(), []byte("pass")); err == nil || !strings.Contains(err.Error(), "komrade init") {
		t.Fatalf("missing home: %v", err)
	}
}
