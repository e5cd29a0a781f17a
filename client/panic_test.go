package client

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
)

// TestDuressAtUnlock: the duress passphrase given to OpenHome destroys the
// store and the log, and reads as a wrong passphrase; afterwards neither
// passphrase opens anything.
func TestDuressAtUnlock(t *testing.T) {
	home := t.TempDir()
	pass, duress := []byte("real passphrase"), []byte("duress passphrase")
	fast := seal.Params{Time: 1, Memory: 64, Threads: 1}
	if _, err := initWith(home, pass, duress, fast); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, LogFile), []byte("fingerprint=abcd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenHome(home, []byte("wrong")); !errors.Is(err, store.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	st, _, err := OpenHome(home, pass)
	if err != nil {
		t.Fatalf("a wrong passphrase destroyed the home: %v", err)
	}
	st.Close()
	_, _, err = OpenHome(home, duress)
	if !errors.Is(err, store.ErrWrongPassphrase) || errors.Is(err, store.ErrDuress) {
		t.Fatalf("duress passphrase: %v (want just a wrong passphrase)", err)
	}
	for _, f := range []string{StateFile, StateFile + ".keys", LogFile} {
		if _, err := os.Stat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after the duress passphrase: %v", f, err)
		}
	}
	for _, p := range [][]byte{pass, duress} {
		if _, _, err := OpenHome(home, p); err == nil {
			t.Errorf("home opens with %q after the duress passphrase", p)
		}
	}
}

// TestPanic: Panic destroys a home whose store is not open, and says what
// it destroyed; a second Panic finds nothing.
func TestPanic(t *testing.T) {
	home := t.TempDir()
	pass := []byte("real passphrase")
	if _, err := initWith(home, pass, nil, seal.Params{Time: 1, Memory: 64, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	r, err := Panic(home, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyFile == "" || len(r.StoreFiles) != 1 || r.SaltCopies == 0 || r.Log != "" {
		t.Errorf("report %+v", r)
	}
	if _, _, err := OpenHome(home, pass); err == nil {
		t.Error("home opens after Panic")
	}
	r, err = Panic(home, nil)
	if err != nil || r.KeyFile != "" || len(r.StoreFiles) != 0 {
		t.Errorf("second Panic: %+v, %v", r, err)
	}
}
