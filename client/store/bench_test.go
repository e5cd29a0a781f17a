package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReplaceSecret: the cost of one secret replacement (a contact's
// ratchet state rewritten in its own transaction, as after every message)
// in a store with 200 contacts and 1000 inbox messages.
//
//	go test ./client/store/ -run '^$' -bench ReplaceSecret -benchtime 200x
func BenchmarkReplaceSecret(b *testing.B) {
	s, contact := benchStore(b)
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		contact[0] = byte(i)
		if err := s.Put("contacts", fmt.Sprintf("contact%03d", i%200), contact); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrub: what the other design (rewrite the whole file after a
// replacement and zero the old one) would cost per scrub, on the same store.
//
//	go test ./client/store/ -run '^$' -bench Scrub -benchtime 50x
func BenchmarkScrub(b *testing.B) {
	s, _ := benchStore(b)
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		if err := s.scrub(); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(s.path); err == nil {
		b.ReportMetric(float64(fi.Size()), "file-bytes")
	}
}

// benchStore is a store of 200 contacts and 1000 inbox messages.
func benchStore(b *testing.B) (*Store, []byte) {
	s, err := Create(filepath.Join(b.TempDir(), "state.db"), []byte("pass"), fast)
	if err != nil {
		b.Fatal(err)
	}
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
	return s, contact
}
