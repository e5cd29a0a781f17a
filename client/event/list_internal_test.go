package event

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	sealp "github.com/komrade-net/komrade/internal/seal"
)

// TestListForgetsOver: a day after an event, List deletes its keys (and
// a read event's read key, and our RSVP) from the store.
func TestListForgetsOver(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), sealp.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	uid, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	e := New(nil, uid, st, messenger.New(nil, uid, st, nil), nil, nil)
	put := func(bucket string, id ID, v any) {
		t.Helper()
		if err := st.Update(func(tx *store.Tx) error { return putLocal(tx, bucket, id, v) }); err != nil {
			t.Fatal(err)
		}
	}
	var ids []ID
	for i, when := range []time.Time{time.Now().Add(-25 * time.Hour), time.Now().Add(time.Hour)} {
		id, key, rk, b := testEvent(t)
		b.When = when.Unix()
		bb, err := EncodeBody(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			put(bucketHost, id, &hostRec{Seed: key.Seed(), RSVPPriv: rk.Bytes(), Seq: 1, Body: bb})
		} else {
			put(bucketKnown, id, &knownRec{ReadKey: make([]byte, 32), Seq: 1, Body: bb, Sealed: true})
		}
		put(bucketMyRSVP, id, &myRSVP{Answer: Yes, Exp: 1})
		ids = append(ids, id)
	}
	l, err := e.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].ID != ids[1].String() || l[0].MyRSVP != "yes" || l[0].Public {
		t.Fatalf("list: %+v", l)
	}
	if err := st.View(func(tx *store.Tx) error {
		for _, b := range []string{bucketHost, bucketKnown, bucketMyRSVP} {
			if _, err := tx.Get(b, ids[0].String()); err != store.ErrNotFound {
				t.Errorf("%s of the event that is over: %v", b, err)
			}
		}
		_, err := tx.Get(bucketKnown, ids[1].String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
