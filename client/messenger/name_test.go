package messenger

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/config/seal"
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

// TestInviteChecksName: a bad name is refused before anything is stored.
func TestInviteChecksName(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	m := New(nil, id, st, nil) // Invite makes no request
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
