package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/config"
)

// Read messages. The forward secrecy at rest wants a message gone
// once read; people also want to see again what they read. A read message
// is therefore kept in the "history" bucket for the client config's
// keep_read and then deleted, which destroys its key (client/store): a
// seized device shows the messages read within keep_read, never older ones.
// The ratchet keys that opened them are replaced as before, at once.
//
// A history value is the read time (Unix seconds, 8 bytes big-endian)
// followed by the inbox entry as the messenger saved it; its key is the
// inbox key, contact/index.

// historyBucket holds the read messages still kept.
const historyBucket = "history"

// purgeEvery is how often the daemon destroys the read messages whose
// keep_read has run out (and once at start). `komrade history` purges
// before it lists, so it never shows an older one.
var purgeEvery = time.Minute

// history is the daemon's keeping of read messages.
type history struct {
	keep time.Duration // keep_read; 0: nothing is kept
	// skew moves the daemon's clock for history (tests only: see
	// export_test.go).
	skew atomic.Int64
}

func (h *history) now() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) }

// HistoryMessage is a read message in the API.
type HistoryMessage struct {
	InboxMessage
	Read time.Time `json:"read"` // when `komrade inbox` (or chat) handed it out
}

// History is the reply to a history request.
type History struct {
	// KeepRead is how long read messages are kept (keep_read in the client
	// config); zero means history is off.
	KeepRead config.Duration `json:"keep_read"`
	// Messages are the read messages still kept, oldest first per contact.
	Messages []HistoryMessage `json:"messages"`
}

// keepRead moves the inbox entries just taken (keys and their raw values)
// into history, in the transaction that deletes them from the inbox. A
// message of a contact that no longer exists is not kept: removing a
// contact deletes its history, and a later contact of the same name must
// not inherit it.
func (d *Daemon) keepRead(tx *store.Tx, keys []string, raws [][]byte) error {
	if d.hist.keep == 0 {
		return nil
	}
	read := binary.BigEndian.AppendUint64(nil, uint64(d.hist.now().Unix()))
	known := map[string]bool{}
	for i, k := range keys {
		name, _, _ := strings.Cut(k, "/")
		ok, seen := known[name]
		if !seen {
			// The messenger's contacts bucket, read in this transaction so
			// that a removal cannot slip between the check and the write.
			_, err := tx.Get("contacts", name)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("daemon: history: %w", err)
			}
			ok = err == nil
			known[name] = ok
		}
		if !ok {
			continue
		}
		if err := tx.Put(historyBucket, k, append(read[:8:8], raws[i]...)); err != nil {
			return fmt.Errorf("daemon: history: %w", err)
		}
	}
	return nil
}

// purgeLoop destroys expired read messages at start and every purgeEvery
// until ctx ends.
func (d *Daemon) purgeLoop(ctx context.Context) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		if n, err := d.purgeHistory(); err != nil && ctx.Err() == nil {
			d.log.Error("history purge", "err", err)
		} else if n > 0 {
			d.log.Debug("history purged", "messages", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeHistory deletes (and so destroys the keys of) the read messages
// kept longer than keep_read: all of them when keep_read is 0. It returns
// how many it deleted.
func (d *Daemon) purgeHistory() (int, error) {
	now := d.hist.now()
	var old []string
	err := d.st.Update(func(tx *store.Tx) error {
		if err := tx.List(historyBucket, func(k string, v []byte) error {
			if len(v) < 8 || d.hist.keep == 0 {
				old = append(old, k)
				return nil
			}
			// Read "in the future" by more than keep_read: the clock was
			// far ahead then; the message must not outlive keep_read by
			// the clock's error.
			age := now.Sub(time.Unix(int64(binary.BigEndian.Uint64(v)), 0))
			if age >= d.hist.keep || age < -d.hist.keep {
				old = append(old, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.Delete(historyBucket, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("daemon: purge history: %w", err)
	}
	return len(old), nil
}

// dropHistory deletes the history of contact name (it was removed).
func (d *Daemon) dropHistory(name string) error {
	err := d.st.Update(func(tx *store.Tx) error {
		var keys []string
		if err := tx.List(historyBucket, func(k string, _ []byte) error {
			if c, _, _ := strings.Cut(k, "/"); c == name {
				keys = append(keys, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(historyBucket, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("daemon: delete the history of %q: %w", name, err)
	}
	return nil
}

// readHistory returns the kept read messages of contact from (everyone's
// when empty) that arrived at or after since, oldest first per contact,
// after purging the expired ones.
func (d *Daemon) readHistory(from string, since time.Time) (*History, error) {
	h := &History{KeepRead: config.D(d.hist.keep), Messages: []HistoryMessage{}}
	if from != "" {
		cs, err := d.m.Contacts()
		if err != nil {
			return nil, err
		}
		if _, ok := cs[from]; !ok {
			return nil, fmt.Errorf("no contact %q (see `komrade contact show`)", from)
		}
	}
	if _, err := d.purgeHistory(); err != nil {
		return nil, err
	}
	var keys []string
	err := d.st.View(func(tx *store.Tx) error {
		return tx.List(historyBucket, func(k string, v []byte) error {
			if c, _, _ := strings.Cut(k, "/"); from != "" && c != from {
				return nil
			}
			if len(v) < 8 {
				return fmt.Errorf("daemon: history entry %q damaged", k)
			}
			m, err := messenger.DecodeInboxEntry(v[8:])
			if err != nil {
				return err
			}
			if m.At.Before(since) {
				return nil
			}
			hm := HistoryMessage{InboxMessage: InboxMessage{From: m.From, Text: m.Text, At: m.At},
				Read: time.Unix(int64(binary.BigEndian.Uint64(v)), 0)}
			if !m.Sent.IsZero() {
				hm.Sent = &m.Sent
			}
			keys = append(keys, k)
			h.Messages = append(h.Messages, hm)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: history: %w", err)
	}
	// Keys are contact/index with a fixed-width index: in key order each
	// conversation is in the order it arrived.
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]HistoryMessage, len(idx))
	for i, j := range idx {
		sorted[i] = h.Messages[j]
	}
	h.Messages = sorted
	return h, nil
}

// historyRoutes adds the history API to mux.
func (d *Daemon) historyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /history", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			From  string
			Since time.Time
		}
		if r.ContentLength > 0 && !decode(w, r, &req) {
			return
		}
		h, err := d.readHistory(req.From, req.Since)
		reply(w, h, err)
	})
}

// History returns the read messages still kept (of contact from, or of
// everyone when from is empty) that arrived at or after since (the zero
// time: all), oldest first per contact, and how long they are kept.
func (a *API) History(ctx context.Context, from string, since time.Time) (*History, error) {
	req := map[string]any{"from": from}
	if !since.IsZero() {
		req["since"] = since
	}
	var h History
	if err := a.call(ctx, "POST", "/history", req, &h); err != nil {
		return nil, err
	}
	return &h, nil
}
