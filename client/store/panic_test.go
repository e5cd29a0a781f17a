package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fill makes a store at path with some values, replaced and deleted ones
// too, so that the salt has been written again in many pages; it returns
// the salt and the key that wraps the key file's slots.
func fill(t testing.TB, path string, pass, duress []byte, n, size int) []byte {
	t.Helper()
	s, err := CreateWithDuress(path, pass, duress, fast)
	if err != nil {
		t.Fatal(err)
	}
	// In transactions of up to 100 values, a third deleted by the next.
	for i := 0; i < n; i += 100 {
		err := s.Update(func(tx *Tx) error {
			for j := i; j < min(i+100, n); j++ {
				if err := tx.Put(fmt.Sprintf("bucket%d", j%7), fmt.Sprint("k", j), bytes.Repeat([]byte{byte(j)}, size)); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = s.Update(func(tx *Tx) error {
				for j := i; j < min(i+100, n); j += 3 {
					if err := tx.Delete(fmt.Sprintf("bucket%d", j%7), fmt.Sprint("k", j)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var salt []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		salt = bytes.Clone(tx.Bucket(metaBucket).Get(metaSalt))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return salt
}

// keepInodes links the store's files under other names, so that the test
// can read what Destroy left in them, as someone who recovers the removed
// files from the disk would.
func keepInodes(t *testing.T, path string) (db, keys string) {
	t.Helper()
	dir := t.TempDir()
	db, keys = filepath.Join(dir, "kept.db"), keyPath(filepath.Join(dir, "kept.db"))
	if err := os.Link(path, db); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(keyPath(path), keys); err != nil {
		t.Fatal(err)
	}
	return db, keys
}

// checkDestroyed: the files are gone, and what was in them (kept through
// other links) opens with no passphrase: the key file is zeros, no copy of
// the salt is left in the store file, and neither the passphrase nor the
// duress passphrase opens the kept copy.
func checkDestroyed(t *testing.T, path, keptDB, keptKeys string, salt []byte, passes ...[]byte) {
	t.Helper()
	for _, p := range []string{path, keyPath(path)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	kf, err := os.ReadFile(keptKeys)
	if err != nil {
		t.Fatal(err)
	}
	if len(kf) == 0 || !bytes.Equal(kf, make([]byte, len(kf))) {
		t.Errorf("key file of %d bytes not all zeros", len(kf))
	}
	raw, err := os.ReadFile(keptDB)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, salt) {
		t.Errorf("a copy of the salt is left in the store file")
	}
	for _, p := range passes {
		for _, f := range []string{path, keptDB} {
			if s, err := Open(f, p); err == nil {
				s.Close()
				t.Errorf("%s opens with %q after Destroy", f, p)
			}
		}
	}
}

func TestDestroy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	pass := []byte("the passphrase")
	salt := fill(t, path, pass, nil, 200, 300)
	raw, _ := os.ReadFile(path)
	// bbolt wrote the meta bucket again with other transactions: old
	// copies of the salt linger in free pages (as the count shows).
	copies := bytes.Count(raw, salt)
	keptDB, keptKeys := keepInodes(t, path)
	d, err := Destroy(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyFile != keyPath(path) || d.KeySlots == 0 || len(d.StoreFiles) != 1 || d.SaltCopies < copies || d.StoreBytes == 0 {
		t.Errorf("report %+v (%d copies of the salt before)", d, copies)
	}
	t.Logf("%d copies of the salt found; report %+v", copies, d)
	checkDestroyed(t, path, keptDB, keptKeys, salt, pass)
	// Again: nothing left, nothing to report, no error.
	d, err = Destroy(path)
	if err != nil || d.KeyFile != "" || len(d.StoreFiles) != 0 {
		t.Errorf("second Destroy: %+v, %v", d, err)
	}
}

// TestDestroyOpen: an open store destroyed by its own process stops
// working at once, and Close afterwards is harmless.
func TestDestroyOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	pass := []byte("the passphrase")
	salt := fill(t, path, pass, nil, 50, 300)
	s, err := Open(path, pass)
	if err != nil {
		t.Fatal(err)
	}
	keptDB, keptKeys := keepInodes(t, path)
	d, err := s.Destroy()
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyFile == "" || d.SaltCopies == 0 {
		t.Errorf("report %+v", d)
	}
	if err := s.Put("b", "k", []byte("v")); err == nil {
		t.Error("Put after Destroy succeeded")
	}
	if _, err := s.Get("bucket1", "k1"); err == nil {
		t.Error("Get after Destroy succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Destroy: %v", err)
	}
	checkDestroyed(t, path, keptDB, keptKeys, salt, pass)
}

// TestDuress: the duress passphrase at Open destroys the store and fails
// as a wrong passphrase; afterwards neither passphrase opens anything. A
// wrong passphrase destroys nothing.
func TestDuress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	pass, duress := []byte("the passphrase"), []byte("the duress one")
	salt := fill(t, path, pass, duress, 30, 300)
	if _, err := Open(path, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrDuress) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	s, err := Open(path, pass)
	if err != nil {
		t.Fatalf("the passphrase after a wrong one: %v", err)
	}
	s.Close()
	keptDB, keptKeys := keepInodes(t, path)
	_, err = Open(path, duress)
	if !errors.Is(err, ErrWrongPassphrase) || !errors.Is(err, ErrDuress) || err.Error() != ErrWrongPassphrase.Error() {
		t.Fatalf("duress passphrase: %v", err)
	}
	checkDestroyed(t, path, keptDB, keptKeys, salt, pass, duress)
	if _, err := CreateWithDuress(filepath.Join(t.TempDir(), "x.db"), pass, pass, fast); err == nil {
		t.Error("a duress passphrase equal to the passphrase accepted")
	}
}

// TestDuressLooksAbsent: a store with a duress passphrase and one without
// hold the same meta keys with values of the same lengths; a store made
// before duress passphrases gets its random bytes at the next Open.
func TestDuressLooksAbsent(t *testing.T) {
	meta := func(path string) map[string]int {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		m := map[string]int{}
		db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(metaBucket).ForEach(func(k, v []byte) error { m[string(k)] = len(v); return nil })
		})
		return m
	}
	dir := t.TempDir()
	with, without := filepath.Join(dir, "with.db"), filepath.Join(dir, "without.db")
	fill(t, with, []byte("pass one"), []byte("duress"), 3, 300)
	fill(t, without, []byte("pass two"), nil, 3, 300)
	mw, mo := meta(with), meta(without)
	if fmt.Sprint(mw) != fmt.Sprint(mo) || mw[string(metaDuress)] != duressLen {
		t.Fatalf("meta differs: with %v, without %v", mw, mo)
	}
	// An older store: no duress entry.
	db, err := bolt.Open(without, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Delete(metaDuress) })
	db.Close()
	s, err := Open(without, []byte("pass two"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if m := meta(without); m[string(metaDuress)] != duressLen {
		t.Fatalf("an older store got no duress entry: %v", m)
	}
}

// BenchmarkDestroy: what `komrade panic` costs in the store, for a store
// of 30 000 values of 1 KiB (about 40 MiB: a large one).
func BenchmarkDestroy(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "state.db")
		fill(b, path, []byte("pass"), nil, 30000, 1024)
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/(1<<20), "store-MiB")
		b.StartTimer()
		if _, err := Destroy(path); err != nil {
			b.Fatal(err)
		}
	}
}
