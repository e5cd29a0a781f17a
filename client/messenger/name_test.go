package messenger

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/internal/seal"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"bob", "Bob Marley", "Ана", "李", "x-1_2.3", strings.Repeat("é", MaxNameLength)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", " bob", "bob ", "a/b", "bo\x1bb", "bob\n", "a\u202eb", "\xff", strings.Repeat("a", MaxNameLength+1)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) accepted", bad)
		}
	}
}

// offlineMessenger is a messenger with a fresh identity and store and no
// client: enough for what makes no request.
func offlineMessenger(t *testing.T) (*Messenger, *store.Store) {
	t.Helper()
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return New(nil, id, st, nil), st
}

// TestInviteChecksName: a bad name is refused before anything is stored.
func TestInviteChecksName(t *testing.T) {
	m, _ := offlineMessenger(t) // Invite makes no request
	if _, err := m.Invite("a/b"); err == nil {
		t.Fatal("invite for a/b accepted")
	}
	if c, err := m.Contacts(); err != nil || len(c) != 0 {
		t.Fatalf("contacts after a refused invite: %v %v", c, err)
	}
	if _, err := m.Invite("bob"); err != nil {
		t.Fatal(err)
	}
}

// TestOldContactLoads: a contact saved before the stream indexes were
// dropped (keys 4 and 7) still loads, and is saved without them.
func TestOldContactLoads(t *testing.T) {
	m, st := offlineMessenger(t)
	old := struct {
		Name     string          `cbor:"1,keyasint"`
		OutWrite []byte          `cbor:"3,keyasint"`
		OutNext  uint64          `cbor:"4,keyasint"`
		OutChain message.Ratchet `cbor:"5,keyasint"`
		InRead   []byte          `cbor:"6,keyasint"`
		InNext   uint64          `cbor:"7,keyasint"`
		InChain  message.Ratchet `cbor:"8,keyasint"`
		Inviter  bool            `cbor:"9,keyasint"`
	}{Name: "bob", OutWrite: []byte("w"), OutNext: 3, OutChain: message.Ratchet{Index: 3}, InRead: []byte("r"), InNext: 5, InChain: message.Ratchet{Index: 5}}
	b, err := detcbor.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put("contacts", "bob", b); err != nil {
		t.Fatal(err)
	}
	c, err := m.load("bob")
	if err != nil {
		t.Fatalf("old contact: %v", err)
	}
	if c.OutChain.Index != 3 || c.InChain.Index != 5 {
		t.Fatalf("indexes %d/%d, want 3/5", c.OutChain.Index, c.InChain.Index)
	}
	if err := st.Update(func(tx *store.Tx) error { return m.save(tx, c) }); err != nil {
		t.Fatal(err)
	}
	if c, err = m.load("bob"); err != nil || c.RetiredOutNext != 0 || c.RetiredInNext != 0 {
		t.Fatalf("saved again: %+v, %v", c, err)
	}
}
