package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSeizedStoreForgetsPurgedHistory follows a message the way the daemon
// keeps read messages (client/daemon/history.go): unread in "inbox", moved
// to "history" when read (read time ‖ the entry, same key, one
// transaction), deleted when keep_read runs out. A seized store with its
// passphrase shows the kept message while it is kept, and neither copy
// nor the key that sealed the history copy once it is purged.
func TestSeizedStoreForgetsPurgedHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	pass := []byte("pass")
	s, err := Create(path, pass, fast)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 20 {
		if err := s.Put("contacts", fmt.Sprintf("c%02d", i), bytes.Repeat([]byte{byte(i)}, 300)); err != nil {
			t.Fatal(err)
		}
	}
	const key = "alice/00000000000000000007"
	text := []byte("inbox message 0007 from alice, read and kept ......")
	kept := binary.BigEndian.AppendUint64(nil, 1_700_000_000)
	kept = append(kept, text...)
	if err := s.Put("inbox", key, text); err != nil {
		t.Fatal(err)
	}
	// Read: moved to the history.
	if err := s.Update(func(tx *Tx) error {
		if err := tx.Delete("inbox", key); err != nil {
			return err
		}
		return tx.Put("history", key, kept)
	}); err != nil {
		t.Fatal(err)
	}
	z := seize(t, path, pass)
	if contains(z.recover("inbox", key, len(text)), text) {
		t.Error("the read message is recoverable from the inbox it left")
	}
	if !contains(z.recover("history", key, len(kept)), kept) {
		t.Fatal("the scan does not find the message kept in the history")
	}
	// The key sealing the kept copy, as the seized key file holds it.
	var slot uint32
	if err := s.View(func(tx *Tx) error {
		v := tx.tx.Bucket(s.name("bucket", "history")).Get(s.name("history", key))
		var ok bool
		slot, ok = slotOf(v)
		if !ok {
			return fmt.Errorf("history value of %d bytes", len(v))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(z.slotKeys[slot]) == 0 {
		t.Fatalf("the seized key file has no key for the kept message's slot %d", slot)
	}
	sealing := z.slotKeys[slot]

	// keep_read runs out: purged. Other messages come and go meanwhile.
	if err := s.Update(func(tx *Tx) error { return tx.Delete("history", key) }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Put("inbox", fmt.Sprintf("bob/%020d", i), msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	z = seize(t, path, pass)
	if got := z.recover("history", key, len(kept)); len(got) != 0 {
		t.Errorf("the purged message is recoverable from the seized store: %q", got)
	}
	if contains(z.recover("inbox", key, len(text)), text) {
		t.Error("the read message is recoverable from the inbox")
	}
	for sl, ks := range z.slotKeys {
		for _, k := range ks {
			if contains(sealing, k) {
				t.Errorf("the purged message's key is still in the key file (slot %d)", sl)
			}
		}
	}
	if !contains(z.recover("inbox", fmt.Sprintf("bob/%020d", 2), len(msg(2))), msg(2)) {
		t.Error("the scan does not find an unread message")
	}
}
