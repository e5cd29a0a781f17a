package messenger

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
)

// TestEventInvitationsKept: invitations read from a contact are kept once
// each, at most maxEventInvitations per contact, until forgotten.
func TestEventInvitationsKept(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	m := New(nil, id, st, nil)
	read := func(from string, body []byte) {
		t.Helper()
		if err := st.Update(func(tx *store.Tx) error { return m.onEvent(from, body)(tx, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	read("bob", []byte("first"))
	read("bob", []byte("first")) // the same again
	for i := 0; i < maxEventInvitations+5; i++ {
		read("mallory", []byte(fmt.Sprint("flood ", i)))
	}
	got, err := m.EventInvitations()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, in := range got {
		n[in.From]++
	}
	if n["bob"] != 1 || n["mallory"] != maxEventInvitations {
		t.Fatalf("kept %v", n)
	}
	for _, in := range got {
		if err := m.ForgetEventInvitation(in.Key); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := m.EventInvitations(); err != nil || len(got) != 0 {
		t.Fatalf("after forgetting: %d, %v", len(got), err)
	}
}
