package messenger

// Friends streams: what the messenger does for the friends half of the
// social layer (client/social, docs/social.md "Friends stream").
//
// Each user writes one friends stream, a BACAP stream of boxes only their
// contacts can read. The messenger keeps its write capability (bucket
// "self", key "friends-out", in the encrypted store) and hands the read
// capability to every confirmed contact through their conversation, in a
// KindFriendsCap frame that goes through the outbox like a report and is
// never shown as a text:
//
//   - the invitee queues it right after its hello, the inviter when the
//     hello arrives (the contact is confirmed then);
//   - when a confirmed contact is removed, the stream moves to fresh keys
//     in the same transaction: a new write capability, whose read
//     capability is queued to every remaining confirmed contact; the
//     removed contact's queued frames are dropped with the rest of its
//     outbox, so it keeps only the old capability, of a stream nobody
//     writes any more;
//   - a contact that lost its place (away longer than boxes live) asks
//     again (FriendsCapAsk) and gets the current capability.
//
// A capability handed over starts at the stream's next box: BACAP's index
// chain runs forward only, so a new friend cannot read what was written
// before it became one. The read capabilities contacts gave us are kept
// with each contact (contact.Friends, the last few, ordered by the box of
// the conversation that carried them); the social layer reads the streams.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// maxFriendsCaps bounds the read capabilities kept per contact: the
// current one and a few before it that the social layer may still be
// reading to their end.
const maxFriendsCaps = 4

// ErrFriendsRotated is FriendsWritten's answer when the friends stream
// moved to fresh keys since the box was sealed.
var ErrFriendsRotated = errors.New("messenger: the friends stream moved to fresh keys")

// friendsOut is our friends stream (bucket "self", key "friends-out").
type friendsOut struct {
	Write []byte `cbor:"1,keyasint"` // BACAP write capability
	Next  uint64 `cbor:"2,keyasint"` // absolute index of the next box
}

// friendsIn is a read capability a contact gave us.
type friendsIn struct {
	Cap []byte `cbor:"1,keyasint"`
	At  uint64 `cbor:"2,keyasint"` // the box of their stream to us that carried it
}

// FriendsStream is the user's own friends stream, for the social layer to
// write: the write capability (a secret) and the absolute BACAP index of
// the next box.
type FriendsStream struct {
	Write []byte
	Next  uint64
}

// FriendsCaps are the friends streams a confirmed contact gave us: read
// capabilities, oldest first; the last is the stream the contact writes
// now, the ones before are read to their end.
type FriendsCaps struct {
	Contact  string
	Identity ed25519.PublicKey
	Caps     [][]byte
}

func loadFriendsOut(tx *store.Tx) (*friendsOut, error) {
	b, err := tx.Get("self", "friends-out")
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var o friendsOut
	if err := dec.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("messenger: friends stream damaged: %w", err)
	}
	return &o, nil
}

func saveFriendsOut(tx *store.Tx, o *friendsOut) error {
	b, err := detcbor.Marshal(o)
	if err != nil {
		return err
	}
	return tx.Put("self", "friends-out", b)
}

// newFriendsOut makes a fresh friends stream.
func newFriendsOut() (*friendsOut, error) {
	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		return nil, err
	}
	w, err := wc.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &friendsOut{Write: w, Next: wc.GetFirstMessageBoxIndex().Idx64}, nil
}

// readCap is the read capability of o from its next box on.
func (o *friendsOut) readCap() ([]byte, error) {
	wc, err := bacap.NewWriteCapFromBytes(o.Write)
	if err != nil {
		return nil, err
	}
	rc, err := wc.ReadCap().MarshalBinary()
	if err != nil {
		return nil, err
	}
	idx, err := wc.GetFirstMessageBoxIndex().AdvanceIndexTo(o.Next)
	if err != nil {
		return nil, err
	}
	ib, err := idx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// A read capability is the root public key and the first index it
	// reads: this one's is the next box.
	copy(rc[len(rc)-len(ib):], ib)
	return rc, nil
}

// queueFriendsCap queues o's read capability to contact name.
func queueFriendsCap(tx *store.Tx, name string, o *friendsOut) error {
	rc, err := o.readCap()
	if err != nil {
		return err
	}
	body, err := message.EncodeFriendsCap(message.FriendsCap{Op: message.FriendsCapGive, ReadCap: rc})
	if err != nil {
		return err
	}
	_, err = queue(tx, name, message.KindFriendsCap, body)
	return err
}

// confirmedTx lists the confirmed contacts (their hello arrived, or we
// answered their invite), but skip.
func confirmedTx(tx *store.Tx, skip string) ([]string, error) {
	var names []string
	err := tx.List("contacts", func(name string, v []byte) error {
		var c contact
		if err := dec.Unmarshal(v, &c); err != nil {
			return err
		}
		if name != skip && len(c.Identity) == ed25519.PublicKeySize {
			names = append(names, name)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// ensureFriendsOut returns our friends stream, making it if there is none
// yet: then its capability is queued to every confirmed contact but skip.
func ensureFriendsOut(tx *store.Tx, skip string) (*friendsOut, error) {
	o, err := loadFriendsOut(tx)
	if err != nil || o != nil {
		return o, err
	}
	if o, err = newFriendsOut(); err != nil {
		return nil, err
	}
	if err := saveFriendsOut(tx, o); err != nil {
		return nil, err
	}
	names, err := confirmedTx(tx, skip)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := queueFriendsCap(tx, n, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// giveFriendsCap queues our friends stream's capability to name, a contact
// confirmed just now.
func giveFriendsCap(tx *store.Tx, name string) error {
	o, err := ensureFriendsOut(tx, name)
	if err != nil {
		return err
	}
	return queueFriendsCap(tx, name, o)
}

// rotateFriends moves our friends stream to fresh keys because contact
// removed goes, and queues the new capability to every other confirmed
// contact. Nothing is done if there is no stream yet.
func rotateFriends(tx *store.Tx, removed string) error {
	o, err := loadFriendsOut(tx)
	if err != nil || o == nil {
		return err
	}
	if o, err = newFriendsOut(); err != nil {
		return err
	}
	if err := saveFriendsOut(tx, o); err != nil {
		return err
	}
	names, err := confirmedTx(tx, removed)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := queueFriendsCap(tx, n, o); err != nil {
			return err
		}
	}
	return nil
}

// askAnswerEvery is how often a contact's request for our friends
// capability is answered at most (readers ask once a day, see
// client/social).
const askAnswerEvery = 23 * time.Hour

// onFriendsCap interprets a friends-capability frame from contact name,
// carried by box i of their stream: a capability is kept with the contact,
// a request answered with ours.
func (m *Messenger) onFriendsCap(name string, i uint64, fc *message.FriendsCap) txEffect {
	if fc.Op == message.FriendsCapAsk {
		return func(tx *store.Tx, now *contact) error {
			// Each answer is a box we write: a contact that asks again
			// and again (hostile or broken) gets one a day.
			if time.Since(time.Unix(now.AskAnswered, 0)) < askAnswerEvery {
				return nil
			}
			o, err := loadFriendsOut(tx)
			if err != nil || o == nil {
				return err // no stream: the next one made is given to them
			}
			now.AskAnswered = time.Now().Unix()
			m.tasks.Add(1)
			return queueFriendsCap(tx, name, o)
		}
	}
	return func(tx *store.Tx, now *contact) error {
		if slices.ContainsFunc(now.Friends, func(f friendsIn) bool { return bytes.Equal(f.Cap, fc.ReadCap) }) {
			return nil
		}
		now.Friends = append(now.Friends, friendsIn{Cap: fc.ReadCap, At: i})
		sort.SliceStable(now.Friends, func(a, b int) bool { return now.Friends[a].At < now.Friends[b].At })
		if over := len(now.Friends) - maxFriendsCaps; over > 0 {
			now.Friends = slices.Clone(now.Friends[over:])
		}
		return nil
	}
}

// FriendsStream returns the user's friends stream, making it on first use
// (its capability then goes to every confirmed contact).
func (m *Messenger) FriendsStream() (*FriendsStream, error) {
	var out *FriendsStream
	err := m.st.Update(func(tx *store.Tx) error {
		o, err := ensureFriendsOut(tx, "")
		if err == nil {
			out = &FriendsStream{Write: bytes.Clone(o.Write), Next: o.Next}
		}
		return err
	})
	if err == nil {
		m.changed()
	}
	return out, err
}

// FriendsWritten records that box index of the friends stream written with
// capability write is stored: the stream's next box is after it. It
// returns ErrFriendsRotated if the stream moved to fresh keys meanwhile.
func (m *Messenger) FriendsWritten(write []byte, index uint64) error {
	return m.st.Update(func(tx *store.Tx) error {
		o, err := loadFriendsOut(tx)
		if err != nil {
			return err
		}
		if o == nil || !bytes.Equal(o.Write, write) {
			return ErrFriendsRotated
		}
		if index < o.Next {
			return nil
		}
		o.Next = index + 1
		return saveFriendsOut(tx, o)
	})
}

// FriendsCaps lists, by contact name, the friends streams confirmed
// contacts gave us.
func (m *Messenger) FriendsCaps() ([]FriendsCaps, error) {
	var out []FriendsCaps
	err := m.st.View(func(tx *store.Tx) error {
		return tx.List("contacts", func(name string, v []byte) error {
			var c contact
			if err := dec.Unmarshal(v, &c); err != nil {
				return err
			}
			if len(c.Identity) != ed25519.PublicKeySize || len(c.Friends) == 0 {
				return nil
			}
			fc := FriendsCaps{Contact: name, Identity: ed25519.PublicKey(bytes.Clone(c.Identity))}
			for _, f := range c.Friends {
				fc.Caps = append(fc.Caps, bytes.Clone(f.Cap))
			}
			out = append(out, fc)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Contact < out[j].Contact })
	return out, err
}

// AskFriendsCap queues a request to contact name for their current
// friends-stream capability: the reader lost its place in their stream
// (it was away longer than boxes live).
func (m *Messenger) AskFriendsCap(name string) error {
	body, err := message.EncodeFriendsCap(message.FriendsCap{Op: message.FriendsCapAsk})
	if err != nil {
		return err
	}
	err = m.st.Update(func(tx *store.Tx) error {
		c, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		if len(c.Identity) != ed25519.PublicKeySize {
			return fmt.Errorf("messenger: %s has not answered yet", name)
		}
		_, err = queue(tx, name, message.KindFriendsCap, body)
		return err
	})
	if err == nil {
		m.changed()
	}
	return err
}
