package social

// Mutes hide an author or a thread in the local feeds; nothing is sent
// (bucket "mute", keyed by the 64-hex value). An address and a post id are
// both 32 bytes in hex: a muted value hides every post whose author it is,
// and the post it names with its replies, so one list serves both.

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// MaxMutes is the most muted authors and threads.
const MaxMutes = 10_000

type muteRec struct {
	At   int64  `cbor:"1,keyasint"`
	What string `cbor:"2,keyasint"` // "thread" or "author": what it named when muted
}

// Muted is a muted author or thread.
type Muted struct {
	ID   string    `json:"id"`   // the address or post id
	What string    `json:"what"` // "author" or "thread"
	At   time.Time `json:"at"`
}

// Mute hides the author at an address, or a post and its replies, from
// every feed. It says which: a post the local copy holds is a thread,
// anything else an author.
func (s *Social) Mute(target string) (*Muted, error) {
	id, err := ParsePostID(target)
	if err != nil {
		return nil, errors.New("social: mute takes an address or a post id (64 hex digits; see `komrade feed --json`)")
	}
	key := id.String()
	m := &Muted{ID: key, What: "author", At: time.Now().UTC().Truncate(time.Second)}
	err = s.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketFeed, key); err == nil {
			m.What = "thread"
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n := 0
		if err := tx.List(bucketMute, func(string, []byte) error { n++; return nil }); err != nil {
			return err
		}
		if n >= MaxMutes {
			return fmt.Errorf("social: %d mutes already, the most there can be", MaxMutes)
		}
		b, err := detcbor.Marshal(&muteRec{At: m.At.Unix(), What: m.What})
		if err != nil {
			return err
		}
		return tx.Put(bucketMute, key, b)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Unmute shows a muted author or thread again.
func (s *Social) Unmute(target string) error {
	id, err := ParsePostID(target)
	if err != nil {
		return errors.New("social: unmute takes an address or a post id (64 hex digits)")
	}
	return s.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketMute, id.String()); errors.Is(err, store.ErrNotFound) {
			return errors.New("social: that is not muted (see `komrade mute --list`)")
		} else if err != nil {
			return err
		}
		return tx.Delete(bucketMute, id.String())
	})
}

// Mutes lists what is muted, oldest first.
func (s *Social) Mutes() ([]Muted, error) {
	out := []Muted{}
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucketMute, func(k string, v []byte) error {
			var r muteRec
			if err := localDec.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("social: mute: %w", err)
			}
			out = append(out, Muted{ID: k, What: r.What, At: time.Unix(r.At, 0).UTC()})
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}

// muteSet is the set of muted values (as strings of their 32 bytes).
func (s *Social) muteSet() (map[string]bool, error) {
	out := map[string]bool{}
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucketMute, func(k string, _ []byte) error {
			if id, err := ParsePostID(k); err == nil {
				out[string(id[:])] = true
			}
			return nil
		})
	})
	return out, err
}
