// Package testuser makes the users of network tests in the client packages
// (social, pin, event): a fresh identity, an encrypted store in the test's
// temporary directory (with cheap passphrase parameters: the store's
// encryption is real, its key derivation is not what these tests measure)
// and a client dialled to a testnet's gateway, optionally running cover
// traffic. Everything is closed when the test ends. Only tests import it.
package testuser

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// User is what a client package's service needs: a store, an identity and
// a client link.
type User struct {
	Store  *store.Store
	ID     *client.Identity
	Client *client.Client
}

// New makes a user on net. With rates, its client runs cover traffic at
// them (as the daemon does); without, requests go out at once.
func New(t testing.TB, net *testnet.Network, rates *client.Rates, log *slog.Logger) *User {
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, net.Client, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if rates != nil {
		if err := c.StartCover(context.Background(), *rates); err != nil {
			t.Fatal(err)
		}
	}
	return &User{Store: st, ID: id, Client: c}
}
