package store

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkReplaceSecret: the cost of one secret replacement (a contact's
// ratchet state rewritten in its own transaction, as after every message)
// in a store with 200 contacts and 1000 inbox messages.
//
//	go test ./client/store/ -run '^$' -bench ReplaceSecret -benchtime 200x
func BenchmarkReplaceSecret(b *testing.B) {
	s, err := Create(filepath.Join(b.TempDir(), "state.db"), []byte("pass"), fast)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	contact := make([]byte, 600)
	if err := s.Update(func(tx *Tx) error {
		for i := range 200 {
			if err := tx.Put("contacts", fmt.Sprintf("contact%03d", i), contact); err != nil {
				return err
			}
		}
		for i := range 1000 {
			if err := tx.Put("inbox", fmt.Sprintf("contact%03d/%d", i%200, i), make([]byte, 300)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		contact[0] = byte(i)
		if err := s.Put("contacts", fmt.Sprintf("contact%03d", i%200), contact); err != nil {
			b.Fatal(err)
		}
	}
}
