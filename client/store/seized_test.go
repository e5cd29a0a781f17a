package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// seized is what an attacker holds after taking the device and coercing the
// passphrase: the raw bytes of the store's files, free pages and all, and
// the keys the passphrase derives.
type seized struct {
	db, keyFile []byte
	s           *Store // opened on a copy, for the derived keys only
	// slotKeys are the keys found wrapped anywhere in the key file, by
	// the slot number they open with.
	slotKeys map[uint32][][]byte
}

// seize copies the store's files as they are on disk and opens the copy with
// the passphrase. The raw bytes are those before the copy was opened.
func seize(t *testing.T, path string, pass []byte) *seized {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := os.ReadFile(keyPath(path))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "seized.db")
	if err := os.WriteFile(cp, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if kf != nil {
		if err := os.WriteFile(keyPath(cp), kf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(cp, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	z := &seized{db: raw, keyFile: kf, s: s, slotKeys: map[uint32][][]byte{}}
	// Unwrap at every offset, as any slot number.
	n := uint32(len(kf)/slotSize + 1)
	for o := 0; o+slotSize <= len(kf); o++ {
		w := kf[o : o+slotSize]
		for i := range n {
			if k, err := s.wrap.Open(nil, w[:24], w[24:], slotAD(i)); err == nil {
				z.slotKeys[i] = append(z.slotKeys[i], k)
			}
		}
	}
	return z
}

// recover decrypts every candidate ciphertext anywhere in the raw file (at
// every byte offset, not only where bbolt's live pages say values are) with
// every key the passphrase opens, and returns the values it finds for
// (bucket, key) whose length is n: sealed under the store key (format 1), or
// under a key found in the key file for the slot the value names.
func (z *seized) recover(bucket, key string, n int) [][]byte {
	return append(z.recoverFormat1(bucket, key, n), z.recoverKeyed(bucket, key, n)...)
}

// recoverFormat1 finds the values sealed under the store key.
func (z *seized) recoverFormat1(bucket, key string, n int) [][]byte {
	k := z.s.name(bucket, key)
	var found [][]byte
	l := 24 + 2 + len(key) + n + 16
	for o := 0; o+l <= len(z.db); o++ {
		if rec, err := z.s.open(k, z.db[o:o+l]); err == nil {
			if _, v, err := parseRecord(rec); err == nil {
				found = append(found, v)
			}
		}
	}
	return found
}

// recoverKeyed finds the values sealed under keys of their own.
func (z *seized) recoverKeyed(bucket, key string, n int) [][]byte {
	k := z.s.name(bucket, key)
	var found [][]byte
	l := slotRefLen + 24 + 2 + len(key) + n + 16
	for o := 0; o+l <= len(z.db); o++ {
		v := z.db[o : o+l]
		ad := append(bytes.Clone(k), v[:slotRefLen]...)
		for _, key := range z.slotKeys[binary.BigEndian.Uint32(v)] {
			aead, _ := chacha20poly1305.NewX(key)
			if rec, err := aead.Open(nil, v[slotRefLen:slotRefLen+24], v[slotRefLen+24:], ad); err == nil {
				if _, v, err := parseRecord(rec); err == nil {
					found = append(found, v)
				}
			}
		}
	}
	return found
}

func contains(vs [][]byte, v []byte) bool {
	for _, x := range vs {
		if bytes.Equal(x, v) {
			return true
		}
	}
	return false
}

// TestSeizedStoreForgets: a value replaced (a contact's ratchet chain key
// moving on) or deleted (an inbox message read) cannot be recovered from a
// seized store by someone who has the passphrase, while the current value
// can (so the scan does find what is there).
func TestSeizedStoreForgets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	pass := []byte("pass")
	s, err := Create(path, pass, fast)
	if err != nil {
		t.Fatal(err)
	}
	// Other contacts and messages around, so the pages are realistic.
	for i := range 20 {
		if err := s.Put("contacts", fmt.Sprintf("c%02d", i), bytes.Repeat([]byte{byte(i)}, 300)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("contacts", "alice", chain(0)); err != nil {
		t.Fatal(err)
	}
	// Messages arrive; the ratchet moves on with each, in one transaction
	// as the messenger does it. Then the messages are read.
	for i := range 5 {
		if err := s.Update(func(tx *Tx) error {
			if err := tx.Put("inbox", fmt.Sprintf("alice/%d", i), msg(i)); err != nil {
				return err
			}
			return tx.Put("contacts", "alice", chain(i+1))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(func(tx *Tx) error {
		for i := range 4 {
			if err := tx.Delete("inbox", fmt.Sprintf("alice/%d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Seized now, and again after a message is sent (the outgoing chain
	// moves on too): bbolt reuses freed pages, so what survives depends on
	// what was written since.
	check(t, seize(t, path, pass), 5)
	if err := s.Put("contacts", "alice", chain(6)); err != nil {
		t.Fatal(err)
	}
	check(t, seize(t, path, pass), 6)
	s.Close()
	check(t, seize(t, path, pass), 6)
}

func chain(i int) []byte { return []byte(fmt.Sprintf("alice chain key %04d ................", i)) }
func msg(i int) []byte   { return []byte(fmt.Sprintf("inbox message %04d from alice ......", i)) }

// check scans a seized store in which alice's chain is at key last and her
// messages 0-3 are read, 4 unread.
func check(t *testing.T, z *seized, last int) {
	t.Helper()
	got := z.recover("contacts", "alice", len(chain(0)))
	if !contains(got, chain(last)) {
		t.Fatalf("the scan does not find the current chain key: %q", got)
	}
	for i := range last {
		if contains(got, chain(i)) {
			t.Errorf("replaced chain key %d recovered from the seized store", i)
		}
	}
	for i := range 5 {
		got := z.recover("inbox", fmt.Sprintf("alice/%d", i), len(msg(i)))
		switch {
		case i < 4 && contains(got, msg(i)):
			t.Errorf("read (deleted) message %d recovered from the seized store", i)
		case i == 4 && !contains(got, msg(i)):
			t.Errorf("the scan does not find unread message %d", i)
		}
	}
}
