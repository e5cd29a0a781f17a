package social

// Votes: a set item in "vote" keyed by the post id, signed by a nullifier
// key derived from the voter's vote secret and the post id, body one byte
// (the direction), with the network's proof-of-work. Storage nodes keep
// one item per nullifier (the latest expiry), so a new vote replaces the
// old; a tally counts each nullifier's latest item.
//
// The vote secret is HKDF-SHA256(the identity's Ed25519 seed, info
// "komrade vote secret v1"), never the seed itself: the nullifier keys
// derived from it (setitem.NullifierKey(secret, "vote", post id)) are the
// same for the same identity and post, and without the secret cannot be
// linked to each other or to the identity.

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/setitem"
)

// VoteDir is a vote's direction; its byte is the vote item's body.
type VoteDir uint8

// Directions.
const (
	VoteClear VoteDir = 0 // takes a vote back: counts neither way
	VoteUp    VoteDir = 1
	VoteDown  VoteDir = 2
)

func (d VoteDir) String() string {
	switch d {
	case VoteClear:
		return "clear"
	case VoteUp:
		return "up"
	case VoteDown:
		return "down"
	}
	return fmt.Sprintf("vote(%d)", uint8(d))
}

// ParseVoteDir reads "up", "down" or "clear".
func ParseVoteDir(s string) (VoteDir, error) {
	switch s {
	case "up":
		return VoteUp, nil
	case "down":
		return VoteDown, nil
	case "clear":
		return VoteClear, nil
	}
	return 0, fmt.Errorf("vote %q: want up, down or clear", s)
}

const (
	voteNamespace  = "vote"
	replyNamespace = "reply"
	voteSecretInfo = "komrade vote secret v1"
	// maxTallyPages bounds Tally's reading of one set.
	maxTallyPages = 200
	// maxHeld is the most votes or replies a tally holds for one post (a
	// set's cap is 10 000 by default).
	maxHeld = 20_000
)

// EncodeVote is a vote item's body: one byte.
func EncodeVote(d VoteDir) []byte { return []byte{byte(d)} }

// DecodeVote reads a vote item's body from the network: exactly one byte,
// 0, 1 or 2.
func DecodeVote(b []byte) (VoteDir, error) {
	if len(b) != 1 || b[0] > byte(VoteDown) {
		return 0, fmt.Errorf("%w: vote body", ErrMalformed)
	}
	return VoteDir(b[0]), nil
}

// voteSecret is the secret the user's nullifier keys derive from.
func (s *Social) voteSecret() ([]byte, error) { return VoteSecret(s.id) }

// VoteSecret is the secret an identity's nullifier keys derive from
// (setitem.NullifierKey(secret, namespace, key): votes here, RSVPs in
// client/event, pin confirmations in client/pin): HKDF-SHA256 of the
// identity's Ed25519 seed. The caller clears it after use.
func VoteSecret(id *client.Identity) ([]byte, error) {
	return hkdf.Key(sha256.New, id.Sign.Seed(), nil, voteSecretInfo, 32)
}

// VoteItem builds the user's signed vote item for a post, without its
// proof-of-work; expires must exceed that of the user's previous vote on
// the post for the new one to replace it.
func (s *Social) VoteItem(post PostID, d VoteDir, expires int64) (*setitem.Item, error) {
	secret, err := s.voteSecret()
	if err != nil {
		return nil, err
	}
	nk, err := setitem.NullifierKey(secret, voteNamespace, post[:])
	clear(secret)
	if err != nil {
		return nil, err
	}
	it := &setitem.Item{Namespace: voteNamespace, Key: bytes.Clone(post[:]), Body: EncodeVote(d), Expires: expires}
	if err := it.Sign(nk); err != nil {
		return nil, err
	}
	return it, nil
}

// myVote is the user's last vote on a post (bucket "myvote").
type myVote struct {
	Dir VoteDir `cbor:"1,keyasint"`
	Exp int64   `cbor:"2,keyasint"`
}

// Vote votes on a post now (a normal request, not a background one: the
// user asked): up, down, or clear to take the vote back. A vote replaces
// the user's earlier one on the post.
func (s *Social) Vote(ctx context.Context, post PostID, d VoteDir) error {
	if d > VoteDown {
		return fmt.Errorf("social: vote direction %d", d)
	}
	friends, err := s.isFriendsPost(post)
	if err != nil {
		return err
	}
	if friends {
		return ErrFriendsOnly
	}
	rules, ok := s.c.Params().SetRules()[voteNamespace]
	if !ok {
		return errors.New("social: the network has no vote namespace")
	}
	var last myVote
	if v, err := s.st.Get(bucketMyVote, post.String()); err == nil {
		if err := localDec.Unmarshal(v, &last); err != nil {
			return fmt.Errorf("social: my vote: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The namespace's lifetime less an hour (clocks), and always later
	// than the vote it replaces.
	exp := max(time.Now().Add(rules.TTL-time.Hour).Unix(), last.Exp+1)
	it, err := s.VoteItem(post, d, exp)
	if err != nil {
		return err
	}
	if err := it.Solve(ctx, rules.PoWBits); err != nil {
		return err
	}
	enc, err := setitem.Encode(it)
	if err != nil {
		return err
	}
	if err := s.retry(ctx, func(c context.Context) error {
		_, err := s.c.Append(c, enc)
		return err
	}); err != nil {
		return fmt.Errorf("social: vote: %w", err)
	}
	b, err := detcbor.Marshal(&myVote{Dir: d, Exp: exp})
	if err != nil {
		return err
	}
	if err := s.st.Put(bucketMyVote, post.String(), b); err != nil {
		return err
	}
	// The tally counts the vote at once; the refresher reads the others.
	return s.holdVote(post, heldVote{N: it.Nullifier, Exp: it.Expires, Sig: it.Sig, Dir: uint8(d)})
}

// heldVote is one nullifier's latest vote read.
type heldVote struct {
	N   []byte `cbor:"1,keyasint"`
	Exp int64  `cbor:"2,keyasint"`
	Sig []byte `cbor:"3,keyasint"`
	Dir uint8  `cbor:"4,keyasint"`
}

// heldReply is one reply read.
type heldReply struct {
	ID  []byte `cbor:"1,keyasint"` // the reply's post id
	Exp int64  `cbor:"2,keyasint"`
}

// tallyRec is what the local copy knows of a post's votes and replies
// (bucket "tally").
type tallyRec struct {
	Votes   []heldVote  `cbor:"1,keyasint,omitempty"`
	Replies []heldReply `cbor:"2,keyasint,omitempty"`
}

var tallyDec = detcbor.NewDecoder(maxHeld, 4)

// updateTally applies f to post's tally in one transaction.
func (s *Social) updateTally(post PostID, f func(*tallyRec)) error {
	return s.st.Update(func(tx *store.Tx) error {
		var t tallyRec
		v, err := tx.Get(bucketTally, post.String())
		if err == nil {
			err = tallyDec.Unmarshal(v, &t)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("social: tally: %w", err)
		}
		f(&t)
		now := time.Now().Unix()
		live := t.Votes[:0]
		for _, v := range t.Votes {
			if v.Exp > now {
				live = append(live, v)
			}
		}
		t.Votes = live
		lr := t.Replies[:0]
		for _, r := range t.Replies {
			if r.Exp > now {
				lr = append(lr, r)
			}
		}
		t.Replies = lr
		b, err := detcbor.Marshal(&t)
		if err != nil {
			return err
		}
		return tx.Put(bucketTally, post.String(), b)
	})
}

// holdVote counts v unless a later vote of its nullifier is held
// (setitem.Supersedes decides, as storage nodes do).
func (s *Social) holdVote(post PostID, v heldVote) error {
	return s.holdVotes(post, []heldVote{v})
}

// holdVotes is holdVote for many votes in one transaction: the tally is
// rewritten once, not once a vote (anyone can add votes to a set).
func (s *Social) holdVotes(post PostID, vs []heldVote) error {
	if len(vs) == 0 {
		return nil
	}
	return s.updateTally(post, func(t *tallyRec) {
		at := make(map[string]int, len(t.Votes))
		for i, h := range t.Votes {
			at[string(h.N)] = i
		}
		for _, v := range vs {
			if i, ok := at[string(v.N)]; ok {
				h := t.Votes[i]
				if setitem.Supersedes(setitem.ExpiryBytes(v.Exp), v.Sig, setitem.ExpiryBytes(h.Exp), h.Sig) {
					t.Votes[i] = v
				}
				continue
			}
			if len(t.Votes) < maxHeld {
				at[string(v.N)] = len(t.Votes)
				t.Votes = append(t.Votes, v)
			}
		}
	})
}

func (s *Social) holdReply(post PostID, r heldReply) error {
	return s.updateTally(post, func(t *tallyRec) {
		for i, h := range t.Replies {
			if bytes.Equal(h.ID, r.ID) {
				t.Replies[i].Exp = max(h.Exp, r.Exp)
				return
			}
		}
		if len(t.Replies) < maxHeld {
			t.Replies = append(t.Replies, r)
		}
	})
}

// Tally is a post's votes and replies as the local copy counts them.
type Tally struct {
	Up      int    `json:"up"`
	Down    int    `json:"down"`
	Replies int    `json:"replies"`
	Mine    string `json:"mine,omitempty"` // your vote: up or down
}

// LocalTally is post's tally as the local copy counts it (no request).
func (s *Social) LocalTally(post PostID) (Tally, error) { return s.readTally(post) }

// readTally counts post's tally from the local copy.
func (s *Social) readTally(post PostID) (Tally, error) {
	var out Tally
	now := time.Now().Unix()
	err := s.st.View(func(tx *store.Tx) error {
		if v, err := tx.Get(bucketTally, post.String()); err == nil {
			var t tallyRec
			if err := tallyDec.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("social: tally: %w", err)
			}
			for _, v := range t.Votes {
				if v.Exp <= now {
					continue
				}
				switch VoteDir(v.Dir) {
				case VoteUp:
					out.Up++
				case VoteDown:
					out.Down++
				}
			}
			for _, r := range t.Replies {
				if r.Exp > now {
					out.Replies++
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if v, err := tx.Get(bucketMyVote, post.String()); err == nil {
			var m myVote
			if err := localDec.Unmarshal(v, &m); err == nil && m.Exp > now && m.Dir != VoteClear {
				out.Mine = m.Dir.String()
			}
		}
		return nil
	})
	return out, err
}

// readTallies reads the new votes and replies of post (MaxPagesPerSet
// pages of each set at most).
func (s *Social) readTallies(ctx context.Context, r *round, what string, post PostID) error {
	forget := time.Now().Add(s.c.Params().Sets[voteNamespace].TTL + time.Hour).Unix()
	if err := s.scanVotes(ctx, r, what, post, forget); err != nil {
		return err
	}
	forget = time.Now().Add(s.c.Params().Sets[replyNamespace].TTL + time.Hour).Unix()
	err := s.scanSet(ctx, r, what, replyNamespace, post[:], forget, func(it *setitem.Item) error {
		return s.acceptReply(post, it)
	})
	if err == nil {
		s.fs.checkedNow(post, time.Now())
	}
	return err
}

// voteOf checks a vote item (signed by its nullifier: the set rules
// checked that) and returns what a tally holds of it.
func voteOf(it *setitem.Item) (heldVote, error) {
	if len(it.Nullifier) != setitem.NullifierSize {
		return heldVote{}, fmt.Errorf("%w: a vote without a nullifier", ErrMalformed)
	}
	d, err := DecodeVote(it.Body)
	if err != nil {
		return heldVote{}, err
	}
	return heldVote{N: bytes.Clone(it.Nullifier), Exp: it.Expires, Sig: bytes.Clone(it.Sig), Dir: uint8(d)}, nil
}

// scanVotes reads post's vote set from where the last read stopped and
// holds its votes, in one tally transaction per read.
func (s *Social) scanVotes(ctx context.Context, r *round, what string, post PostID, forget int64) error {
	var batch []heldVote
	return s.scanSetFlush(ctx, r, what, voteNamespace, post[:], forget, func(it *setitem.Item) error {
		v, err := voteOf(it)
		if err == nil {
			batch = append(batch, v)
		}
		return err
	}, func() error {
		err := s.holdVotes(post, batch)
		batch = nil
		return err
	})
}

// acceptReply holds a checked reply entry to post.
func (s *Social) acceptReply(post PostID, it *setitem.Item) error {
	e, err := DecodeEntry(it.Body)
	if err != nil {
		return err
	}
	if !bytes.Equal(e.Reply, post[:]) {
		return fmt.Errorf("%w: a reply to another post", ErrMalformed)
	}
	return s.holdReply(post, heldReply{ID: bytes.Clone(e.Post[:]), Exp: it.Expires})
}

// Tally reads post's votes and replies now (normal requests: the user
// asked), to their ends or maxTallyPages pages of each set, and returns
// the count.
func (s *Social) Tally(ctx context.Context, post PostID) (Tally, error) {
	r := &round{stats: RoundStats{Requests: map[string]int{}}, skip: map[string]int{}}
	for _, ns := range []string{voteNamespace, replyNamespace} {
		forget := time.Now().Add(s.c.Params().Sets[ns].TTL + time.Hour).Unix()
		scan := func() error { return s.scanVotes(ctx, r, "tallies", post, forget) }
		if ns == replyNamespace {
			scan = func() error {
				return s.scanSet(ctx, r, "tallies", ns, post[:], forget, func(it *setitem.Item) error { return s.acceptReply(post, it) })
			}
		}
		for pages := 0; pages < maxTallyPages; pages += MaxPagesPerSet {
			if err := scan(); err != nil {
				return Tally{}, err
			}
			caught, err := s.caughtUp(ns, post[:])
			if err != nil {
				return Tally{}, err
			}
			if caught {
				break
			}
		}
	}
	s.fs.init()
	s.fs.checkedNow(post, time.Now())
	return s.readTally(post)
}

// caughtUp reports whether the last scan of a set reached its end.
func (s *Social) caughtUp(ns string, key []byte) (bool, error) {
	var st state
	err := s.st.View(func(tx *store.Tx) error {
		var err error
		st, err = getState(tx, cursorKey(ns, key))
		return err
	})
	return st.Caught != 0, err
}
