package social

import (
	"log/slog"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
)

// Social is one user's social layer: what they publish and the local copy
// of what they read. It shares the user's client (the mix-network link),
// identity, store and messenger (contacts: names for authors, friends).
type Social struct {
	c   *client.Client
	id  *client.Identity
	st  *store.Store
	m   *messenger.Messenger
	log *slog.Logger
}

// New returns the social layer of a user.
func New(c *client.Client, id *client.Identity, st *store.Store, m *messenger.Messenger, log *slog.Logger) *Social {
	if log == nil {
		log = slog.Default()
	}
	return &Social{c: c, id: id, st: st, m: m, log: log}
}
