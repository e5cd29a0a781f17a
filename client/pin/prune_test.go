package pin

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/wire/setitem"
)

// A cursor before now is dropped (every item it passed has expired), one
// after it kept, and an empty or unreadable one dropped.
func TestPruneCursors(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Unix(1_700_000_000, 0)
	s := &Service{st: st, now: func() time.Time { return now }}
	put := func(key string, c cursorRec) {
		t.Helper()
		b, err := detcbor.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(bucket, key, b); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) []byte {
		return append(setitem.ExpiryBytes(now.Add(d).Unix()), make([]byte, 32)...)
	}
	put("cur/old", cursorRec{Cursor: at(-time.Minute), Caught: true})
	put("cur/new", cursorRec{Cursor: at(22 * time.Hour)})
	put("cur/empty", cursorRec{Caught: true})
	if err := st.Put(bucket, "cur/junk", []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	if err := s.prune(now); err != nil {
		t.Fatal(err)
	}
	for key, kept := range map[string]bool{"cur/old": false, "cur/new": true, "cur/empty": false, "cur/junk": false} {
		_, err := st.Get(bucket, key)
		if got := err == nil; got != kept || (err != nil && !errors.Is(err, store.ErrNotFound)) {
			t.Errorf("%s: kept %v (%v), want %v", key, got, err, kept)
		}
	}
}
