package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestHistory: messages read through the inbox are kept in the history
// (sent and arrival times with them) for keep_read and then purged by the
// daemon's own loop, from the store and not only from the API; keep_read
// 0 keeps nothing and purges what was kept; removing a contact deletes its
// history. Real daemons, store and network: Bob writes to Alice through a
// testnet.
func TestHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("two daemons and a testnet")
	}
	daemon.SetPurgeEvery(t, 50*time.Millisecond)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	pass := []byte("a passphrase")
	homeA, homeB := t.TempDir(), t.TempDir()
	for _, h := range []string{homeA, homeB} {
		if _, err := client.Init(h, pass); err != nil {
			t.Fatal(err)
		}
	}
	withKeep := func(d time.Duration) config.Client {
		c := net.Client
		k := config.D(d)
		c.KeepRead = &k
		return c
	}
	start := func(home string, cfg config.Client) (*daemon.Daemon, func()) {
		t.Helper()
		d, err := daemon.Start(ctx, home, pass, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() {
			once.Do(func() {
				if err := d.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return d, stop
	}
	alice, stopAlice := start(homeA, withKeep(time.Hour))
	start(homeB, net.Client) // Bob's keep_read is the default
	apiA, apiB := daemon.Connect(homeA), daemon.Connect(homeB)
	code, err := apiA.Invite(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := apiB.Accept(ctx, code, "alice"); err != nil {
		t.Fatal(err)
	}

	send := func(text string) {
		t.Helper()
		o, err := apiB.Send(ctx, "alice", text, true)
		if err != nil || o.State != messenger.Acknowledged {
			t.Fatalf("send %q: %+v, %v", text, o, err)
		}
	}
	// read takes Alice's inbox until the texts want arrived.
	read := func(want ...string) {
		t.Helper()
		var got []string
		for len(got) < len(want) {
			msgs, err := apiA.Inbox(ctx, "bob")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				got = append(got, m.Text)
			}
			select {
			case <-ctx.Done():
				t.Fatalf("inbox: %q, want %q", got, want)
			case <-time.After(100 * time.Millisecond):
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("inbox: %q, want %q", got, want)
		}
	}
	history := func() *daemon.History {
		t.Helper()
		h, err := apiA.History(ctx, "bob", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	texts := func(h *daemon.History) []string {
		var s []string
		for _, m := range h.Messages {
			s = append(s, m.Text)
		}
		return s
	}
	// waitStored polls until the history bucket of Alice's store holds n
	// entries.
	waitStored := func(d *daemon.Daemon, n int) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			keys, err := d.HistoryKeys()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) == n {
				return
			}
			select {
			case <-deadline:
				t.Fatalf("history in the store: %q, want %d entries", keys, n)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	// Read messages are in the history, oldest first, with both times.
	before := time.Now().Add(-time.Second)
	send("one")
	send("two")
	read("one", "two")
	h := history()
	if got := texts(h); !slices.Equal(got, []string{"one", "two"}) || h.KeepRead.Duration != time.Hour {
		t.Fatalf("history: %q, keep_read %v", got, h.KeepRead)
	}
	for _, m := range h.Messages {
		if m.From != "bob" || m.Sent == nil || m.Sent.Before(before.Truncate(time.Second)) || m.At.Before(before.Truncate(time.Second)) || m.Read.Before(m.At) {
			t.Fatalf("history entry: %+v (sent %v)", m, m.Sent)
		}
	}
	if got := texts(history()); len(got) != 2 {
		t.Fatalf("listing the history consumed it: %q", got)
	}
	if h, err := apiA.History(ctx, "bob", time.Now().Add(time.Hour)); err != nil || len(h.Messages) != 0 {
		t.Fatalf("history since an hour ahead: %+v, %v", h, err)
	}
	if _, err := apiA.History(ctx, "carol", time.Time{}); err == nil || !strings.Contains(err.Error(), `no contact "carol"`) {
		t.Fatalf("history of an unknown contact: %v", err)
	}

	// Within keep_read they stay; past it the daemon's loop destroys them.
	alice.Advance(59 * time.Minute)
	if got := texts(history()); len(got) != 2 {
		t.Fatalf("history purged before keep_read ran out: %q", got)
	}
	alice.Advance(2 * time.Minute)
	waitStored(alice, 0)
	if got := texts(history()); len(got) != 0 {
		t.Fatalf("history after keep_read: %q", got)
	}

	// keep_read 0: what was kept goes at start, nothing new is kept.
	send("three")
	read("three")
	waitStored(alice, 1)
	stopAlice()
	alice, stopAlice = start(homeA, withKeep(0))
	waitStored(alice, 0)
	send("four")
	read("four")
	if keys, err := alice.HistoryKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("keep_read 0 kept %q (%v)", keys, err)
	}
	if h := history(); h.KeepRead.Duration != 0 || len(h.Messages) != 0 {
		t.Fatalf("history with keep_read 0: %+v", h)
	}

	// Removing a contact deletes its history.
	stopAlice()
	alice, _ = start(homeA, withKeep(time.Hour))
	send("five")
	read("five")
	waitStored(alice, 1)
	if _, err := apiA.RemoveContact(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if keys, err := alice.HistoryKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("history of a removed contact: %q (%v)", keys, err)
	}
}
