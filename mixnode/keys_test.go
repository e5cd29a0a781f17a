package mixnode

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/seal"
)

func TestSealedIdentity(t *testing.T) {
	dir := t.TempDir()
	priv, err := CreateIdentity(dir, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, IdentityFile))
	if bytes.Contains(raw, priv.Seed()) || !strings.Contains(string(raw), "SEALED") {
		t.Fatal("identity key stored in the clear")
	}
	fi, _ := os.Stat(filepath.Join(dir, IdentityFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if _, err := LoadIdentity(dir, nil); err == nil || !strings.Contains(err.Error(), "passphrase_file") {
		t.Fatalf("no passphrase: %v", err)
	}
	if _, err := LoadIdentity(dir, []byte("wrong")); !errors.Is(err, seal.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err := LoadIdentity(dir, []byte("correct horse"))
	if err != nil || !got.Equal(priv) {
		t.Fatalf("load: %v", err)
	}
	if _, err := CreateIdentity(dir, nil); err == nil {
		t.Fatal("existing identity overwritten")
	}
}

func TestInitWithPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "pass")
	os.WriteFile(pf, []byte("s3cret\n"), 0o644)
	cfg := config.DefaultNode()
	cfg.PassphraseFile = pf
	if _, _, err := Init(filepath.Join(dir, "node"), cfg); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable passphrase file: %v", err)
	}
	os.Chmod(pf, 0o600)
	path, id, err := Init(filepath.Join(dir, "node"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := config.LoadNode(path)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := ReadPassphrase(loaded.PassphraseFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := LoadIdentity(loaded.DataDir, pass)
	if err != nil || NodeIDOf(priv) != id {
		t.Fatalf("identity after init: %v", err)
	}
}
