package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/komrade-net/komrade/internal/seal"
)

var fast = seal.Params{Time: 1, Memory: 64, Threads: 1}

func TestStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error {
		if err := tx.Put("contacts", "alice", []byte("alice's capabilities")); err != nil {
			return err
		}
		return tx.Put("contacts", "bob", []byte("bob's capabilities"))
	}); err != nil {
		t.Fatal(err)
	}
	// A failed transaction leaves nothing behind.
	boom := errors.New("boom")
	if err := s.Update(func(tx *Tx) error {
		tx.Put("contacts", "carol", []byte("x"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	s.Close()

	raw, _ := os.ReadFile(path)
	for _, secret := range []string{"alice", "capabilities", "contacts"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("%q readable on disk", secret)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	if _, err := Open(path, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	s, err = Open(path, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get("contacts", "alice"); err != nil || string(v) != "alice's capabilities" {
		t.Fatalf("get: %q %v", v, err)
	}
	if _, err := s.Get("contacts", "carol"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rolled-back key: %v", err)
	}
	got := map[string]string{}
	s.View(func(tx *Tx) error {
		return tx.List("contacts", func(k string, v []byte) error { got[k] = string(v); return nil })
	})
	if len(got) != 2 || got["bob"] != "bob's capabilities" {
		t.Fatalf("list: %v", got)
	}
	if _, err := Create(path, []byte("pass"), fast); err == nil {
		t.Fatal("existing store overwritten")
	}
}

// TestTamperedValue: a value moved to another key, or altered, fails.
func TestTamperedValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Put("b", "k1", []byte("one"))
	s.Put("b", "k2", []byte("two"))
	// Swap the sealed records of k1 and k2 below the encryption.
	err = s.Update(func(tx *Tx) error {
		b := tx.tx.Bucket(s.name("bucket", "b"))
		v1 := append([]byte(nil), b.Get(s.name("b", "k1"))...)
		v2 := append([]byte(nil), b.Get(s.name("b", "k2"))...)
		b.Put(s.name("b", "k1"), v2)
		return b.Put(s.name("b", "k2"), v1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("b", "k1"); err == nil {
		t.Fatal("a record moved to another key was accepted")
	}
}

// TestDamagedStore: a store cut short (which made bbolt's mmap kill the
// process with SIGBUS), overwritten with random bytes, or read-only gives a
// clear error, and the file is left as it was.
func TestDamagedStore(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "state.db")
	s, err := Create(good, []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := s.Update(func(tx *Tx) error {
			return tx.Put("b", fmt.Sprintf("k%04d", i), bytes.Repeat([]byte{byte(i)}, 200))
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) < 32<<10 {
		t.Fatalf("store of %d bytes: too small for the test", len(whole))
	}
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, len(whole))
	rand.Read(random)
	for _, c := range []struct {
		name string
		path string
		want string
	}{
		{"cut to 8 KiB", write("cut8", whole[:8<<10], 0o600), "damaged"},
		{"cut to 20 KiB", write("cut20", whole[:20<<10], 0o600), "damaged"},
		{"cut to 100 bytes", write("cut100", whole[:100], 0o600), "damaged"},
		{"random bytes", write("random", random, 0o600), "damaged"},
	} {
		before, _ := os.ReadFile(c.path)
		_, err := Open(c.path, []byte("pass"))
		if err == nil || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrDamaged", c.name, err)
		}
		if after, _ := os.ReadFile(c.path); !bytes.Equal(before, after) {
			t.Errorf("%s: the file was changed", c.name)
		}
	}
	if os.Geteuid() != 0 { // root opens read-only files for writing all the same
		ro := write("ro", whole, 0o400)
		if _, err := Open(ro, []byte("pass")); err == nil || strings.Contains(err.Error(), "daemon") {
			t.Errorf("read-only store: %v, want a permission error", err)
		}
	}
	if s, err := Open(good, []byte("pass")); err != nil {
		t.Fatalf("the whole store no longer opens: %v", err)
	} else {
		s.Close()
	}
}

// TestCreateIsExclusive: of several Creates racing for one path, one wins.
func TestCreateIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Create(path, []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
			if err == nil {
				won.Add(1)
				s.Close()
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d creates succeeded, want 1", won.Load())
	}
	s, err := Open(path, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
