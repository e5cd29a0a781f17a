package social

// Follows: the authors whose public posts the refresher fetches from their
// profiles (bucket "follow", keyed by address). Local only: nobody learns
// whom a user follows, since profiles are read through the mix network
// like any other record.

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// MaxFollows is the most authors a user follows: each costs one profile
// read per refresh round.
const MaxFollows = 200

// followRec is a follow in the store.
type followRec struct {
	Added int64 `cbor:"1,keyasint"`
	// Seq is the profile sequence number whose listed posts were all
	// read: a profile read again with the same Seq needs nothing more.
	Seq     uint64 `cbor:"2,keyasint,omitempty"`
	Checked int64  `cbor:"3,keyasint,omitempty"` // last profile read (unix s)
}

// Followed is an author the user follows.
type Followed struct {
	Address string    `json:"address"`
	Name    string    `json:"name"` // your name for them if a contact, else a short fingerprint
	Since   time.Time `json:"since"`
	// Checked is when their profile was last read.
	Checked *time.Time `json:"checked,omitempty"`
}

// Follow makes the refresher read the profile of the author at address and
// keep their posts (the "following" feed).
func (s *Social) Follow(address string) error {
	pub, err := messenger.ParseAddress(address)
	if err != nil {
		return err
	}
	if bytes.Equal(pub, s.id.Sign.Public().(ed25519.PublicKey)) {
		return errors.New("social: that is your own address")
	}
	b, err := detcbor.Marshal(&followRec{Added: time.Now().Unix()})
	if err != nil {
		return err
	}
	key := messenger.Address(pub)
	err = s.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketFollow, key); err == nil {
			return nil // followed already
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n := 0
		if err := tx.List(bucketFollow, func(string, []byte) error { n++; return nil }); err != nil {
			return err
		}
		if n >= MaxFollows {
			return fmt.Errorf("social: you follow %d authors, the most there can be", MaxFollows)
		}
		return tx.Put(bucketFollow, key, b)
	})
	if err == nil {
		s.fs.wake()
	}
	return err
}

// Unfollow stops following the author at address; their posts leave the
// following feed at once.
func (s *Social) Unfollow(address string) error {
	pub, err := messenger.ParseAddress(address)
	if err != nil {
		return err
	}
	key := messenger.Address(pub)
	return s.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get(bucketFollow, key); errors.Is(err, store.ErrNotFound) {
			return errors.New("social: you do not follow this address (see `komrade following`)")
		} else if err != nil {
			return err
		}
		return tx.Delete(bucketFollow, key)
	})
}

// Following lists the authors the user follows, oldest follow first.
func (s *Social) Following() ([]Followed, error) {
	names, err := s.contactNames()
	if err != nil {
		return nil, err
	}
	self := s.id.Sign.Public().(ed25519.PublicKey)
	out := []Followed{}
	err = s.st.View(func(tx *store.Tx) error {
		return tx.List(bucketFollow, func(addr string, v []byte) error {
			var f followRec
			if err := localDec.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("social: follow: %w", err)
			}
			pub, err := messenger.ParseAddress(addr)
			if err != nil {
				return fmt.Errorf("social: follow: %w", err)
			}
			fd := Followed{Address: addr, Since: time.Unix(f.Added, 0).UTC()}
			fd.Name, _ = authorName(pub, self, names)
			if f.Checked != 0 {
				t := time.Unix(f.Checked, 0).UTC()
				fd.Checked = &t
			}
			out = append(out, fd)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, err
}

// followSet is the set of followed keys (as strings of their bytes).
func (s *Social) followSet() (map[string]bool, error) {
	out := map[string]bool{}
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucketFollow, func(addr string, _ []byte) error {
			if pub, err := messenger.ParseAddress(addr); err == nil {
				out[string(pub)] = true
			}
			return nil
		})
	})
	return out, err
}

// follow returns the follow of pub, or nil.
func (s *Social) follow(pub ed25519.PublicKey) (*followRec, error) {
	v, err := s.st.Get(bucketFollow, messenger.Address(pub))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f followRec
	if err := localDec.Unmarshal(v, &f); err != nil {
		return nil, fmt.Errorf("social: follow: %w", err)
	}
	return &f, nil
}

// followChecked records a complete read of pub's profile of sequence seq.
func (s *Social) followChecked(pub ed25519.PublicKey, seq uint64, at time.Time) error {
	key := messenger.Address(pub)
	return s.st.Update(func(tx *store.Tx) error {
		v, err := tx.Get(bucketFollow, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil // unfollowed meanwhile
		}
		if err != nil {
			return err
		}
		var f followRec
		if err := localDec.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("social: follow: %w", err)
		}
		f.Seq, f.Checked = seq, at.Unix()
		b, err := detcbor.Marshal(&f)
		if err != nil {
			return err
		}
		return tx.Put(bucketFollow, key, b)
	})
}
