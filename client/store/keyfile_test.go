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

// liveSlots counts the key file's slots that are not zeros.
func liveSlots(t *testing.T, path string) int {
	t.Helper()
	kf, err := os.ReadFile(keyPath(path))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for o := 0; o+slotSize <= len(kf); o += slotSize {
		if !bytes.Equal(kf[o:o+slotSize], zeroSlot[:]) {
			n++
		}
	}
	return n
}

// TestKeySlots: a slot per live value; a failed transaction, a replaced
// and a deleted value leave none behind; a read that began before a
// replacement still reads the old value.
func TestKeySlots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		if err := s.Put("b", fmt.Sprint(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := liveSlots(t, path); n != 10 {
		t.Fatalf("%d live slots for 10 values", n)
	}
	boom := errors.New("boom")
	if err := s.Update(func(tx *Tx) error {
		tx.Put("b", "new", []byte("x"))
		tx.Put("b", "0", []byte("y"))
		tx.Delete("b", "1")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := liveSlots(t, path); n != 10 {
		t.Fatalf("%d live slots after a failed transaction, want 10", n)
	}
	if err := s.Update(func(tx *Tx) error {
		tx.Put("b", "0", []byte("once"))
		tx.Put("b", "0", []byte("twice"))
		return tx.Delete("b", "1")
	}); err != nil {
		t.Fatal(err)
	}
	if n := liveSlots(t, path); n != 9 {
		t.Fatalf("%d live slots for 9 values", n)
	}
	if v, err := s.Get("b", "0"); err != nil || string(v) != "twice" {
		t.Fatalf("get: %q %v", v, err)
	}

	// A read that began before a replacement reads the old value; its key
	// is destroyed when the read ends. (The file is grown first: a write
	// that must grow bbolt's memory map waits for running reads.)
	if err := s.Put("b", "big", make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.Delete("b", "big") }); err != nil {
		t.Fatal(err)
	}
	began, replaced, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- s.View(func(tx *Tx) error {
			close(began)
			<-replaced
			v, err := tx.Get("b", "2")
			if err == nil && !bytes.Equal(v, []byte{2}) {
				err = fmt.Errorf("old read got %q", v)
			}
			return err
		})
	}()
	<-began
	if err := s.Put("b", "2", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if n := liveSlots(t, path); n != 10 {
		t.Fatalf("%d live slots while a read may need the old key, want 10", n)
	}
	close(replaced)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := liveSlots(t, path); n != 9 {
		t.Fatalf("%d live slots after the read, want 9", n)
	}
}

// TestSweep: a slot that no committed value names (a crash between writing
// a new key and committing, or between committing and zeroing the old key)
// is zeroed when the store is opened.
func TestSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	s.Put("b", "k", []byte("v"))
	// As if the process died with a new key written and not committed.
	if _, _, err := s.keys.newKey(); err != nil {
		t.Fatal(err)
	}
	s.keys.pending = nil
	s.Close()
	if n := liveSlots(t, path); n != 2 {
		t.Fatalf("%d live slots before the sweep, want 2", n)
	}
	s, err = Open(path, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := liveSlots(t, path); n != 1 {
		t.Fatalf("%d live slots after the sweep, want 1", n)
	}
	if v, err := s.Get("b", "k"); err != nil || string(v) != "v" {
		t.Fatalf("get: %q %v", v, err)
	}
}

// TestMissingKeyFile: a store without its key file is reported, not opened
// empty.
func TestMissingKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	s.Put("b", "k", []byte("v"))
	s.Close()
	os.Remove(keyPath(path))
	if _, err := Open(path, []byte("pass")); !errors.Is(err, ErrDamaged) {
		t.Fatalf("open without the key file: %v", err)
	}
}

// writeFormat1 turns a new store into one as stores were written before
// per-value keys: values sealed under the store key, no format mark, no key
// file.
func writeFormat1(t *testing.T, path string, values map[[2]string][]byte) {
	t.Helper()
	s, err := Create(path, []byte("pass"), fast)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(metaBucket).Delete(metaFormat); err != nil {
			return err
		}
		for bk, v := range values {
			b, err := tx.CreateBucketIfNotExists(s.name("bucket", bk[0]))
			if err != nil {
				return err
			}
			k := s.name(bk[0], bk[1])
			rec := append([]byte{byte(len(bk[1]) >> 8), byte(len(bk[1]))}, bk[1]...)
			if err := b.Put(k, s.seal(k, append(rec, v...))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(keyPath(path))
}

// TestMigrateFormat1: a store written before per-value keys opens; its
// values are sealed again under keys of their own, and the file no longer
// holds them under the store key (not even in free pages).
func TestMigrateFormat1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	values := map[[2]string][]byte{}
	for i := range 50 {
		values[[2]string{"contacts", fmt.Sprintf("c%02d", i)}] = []byte(fmt.Sprintf("contact %02d ratchet state", i))
	}
	values[[2]string{"inbox", "c00/0"}] = []byte("hello")
	writeFormat1(t, path, values)
	z := seize(t, path, []byte("pass"))
	if got := z.recover("contacts", "c07", len(values[[2]string{"contacts", "c07"}])); len(got) == 0 {
		t.Fatal("the scan does not find a format-1 value")
	}

	s, err := Open(path, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	for bk, want := range values {
		if v, err := s.Get(bk[0], bk[1]); err != nil || !bytes.Equal(v, want) {
			t.Fatalf("%v after migrating: %q %v", bk, v, err)
		}
	}
	if n := liveSlots(t, path); n != len(values) {
		t.Fatalf("%d live slots for %d values", n, len(values))
	}
	s.Close()
	z = seize(t, path, []byte("pass"))
	for _, bk := range [][2]string{{"contacts", "c00"}, {"contacts", "c07"}, {"contacts", "c49"}, {"inbox", "c00/0"}} {
		if got := z.recoverFormat1(bk[0], bk[1], len(values[bk])); len(got) != 0 {
			t.Errorf("%v: a value sealed under the store key is left after migrating", bk)
		}
	}
	if s, err = Open(path, []byte("pass")); err != nil {
		t.Fatal(err)
	}
	// Now every value can be replaced for good.
	if err := s.Put("contacts", "c07", []byte("contact 07 ratchet next!!")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	z = seize(t, path, []byte("pass"))
	if got := z.recover("contacts", "c07", len(values[[2]string{"contacts", "c07"}])); len(got) != 0 {
		t.Fatalf("a replaced value recovered after migrating: %q", got)
	}
	c08 := values[[2]string{"contacts", "c08"}]
	if got := z.recoverFormat1("contacts", "c08", len(c08)); len(got) != 0 {
		t.Fatal("a value sealed under the store key is left after migrating")
	}
	if got := z.recoverKeyed("contacts", "c08", len(c08)); !contains(got, c08) {
		t.Fatal("the scan does not find a live value after migrating")
	}
	if _, err := os.Stat(path + ".scrub"); !os.IsNotExist(err) {
		t.Fatalf("scrub file left: %v", err)
	}
}
