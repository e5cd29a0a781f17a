package messenger

// Event invitations: what the messenger does for client/event.
//
// An invitation is the one-part body of a KindEvent frame, whose format
// belongs to client/event (it decodes and checks it). The messenger only
// carries it: QueueEvent sends one through the outbox like any frame, and
// a KindEvent frame read from a contact's stream is kept, undecoded and
// never shown as a text, in the encrypted store (bucket "eventin") with
// the contact's name, until client/event takes it (EventInvitations,
// ForgetEventInvitation). The frame is signed by the contact's identity
// key, so the name it is kept under is who sent it.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// maxEventInvitations bounds the invitations kept from one contact until
// client/event takes them: a contact who sends more (hostile or broken)
// has the rest dropped.
const maxEventInvitations = 200

const eventBucket = "eventin"

// EventInvitation is the body of a KindEvent frame a contact sent.
type EventInvitation struct {
	// Key names it in the store (ForgetEventInvitation takes it).
	Key  string
	From string // the contact's name
	Body []byte // undecoded: client/event checks it
	At   time.Time
}

type storedInvitation struct {
	From string `cbor:"1,keyasint"`
	Body []byte `cbor:"2,keyasint"`
	At   int64  `cbor:"3,keyasint"`
}

// QueueEvent queues an event invitation (a KindEvent frame of one part)
// for contact name and returns its outbox id.
func (m *Messenger) QueueEvent(name string, body []byte) (uint64, error) {
	if len(body) == 0 || len(body) > message.MaxBody {
		return 0, fmt.Errorf("messenger: event invitation of %d bytes", len(body))
	}
	var id uint64
	err := m.st.Update(func(tx *store.Tx) error {
		e, err := queue(tx, name, message.KindEvent, body)
		if err == nil {
			id = e.ID
		}
		return err
	})
	if err == nil {
		m.changed()
	}
	return id, err
}

// onEvent keeps an event invitation from contact name.
func (m *Messenger) onEvent(name string, body []byte) txEffect {
	return func(tx *store.Tx, _ *contact) error {
		h := sha256.Sum256(append(append([]byte(name), 0), body...))
		key := hex.EncodeToString(h[:])
		if _, err := tx.Get(eventBucket, key); err == nil {
			return nil // the same invitation again
		}
		n := 0
		if err := tx.List(eventBucket, func(_ string, v []byte) error {
			var s storedInvitation
			if dec.Unmarshal(v, &s) == nil && s.From == name {
				n++
			}
			return nil
		}); err != nil {
			return err
		}
		if n >= maxEventInvitations {
			return nil
		}
		b, err := detcbor.Marshal(&storedInvitation{From: name, Body: bytes.Clone(body), At: time.Now().Unix()})
		if err != nil {
			return err
		}
		return tx.Put(eventBucket, key, b)
	}
}

// EventInvitations returns the event invitations received and not yet
// forgotten, oldest first.
func (m *Messenger) EventInvitations() ([]EventInvitation, error) {
	var out []EventInvitation
	err := m.st.View(func(tx *store.Tx) error {
		return tx.List(eventBucket, func(k string, v []byte) error {
			var s storedInvitation
			if err := dec.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("messenger: event invitation damaged: %w", err)
			}
			out = append(out, EventInvitation{Key: k, From: s.From, Body: s.Body, At: time.Unix(s.At, 0)})
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}

// ForgetEventInvitation deletes an invitation that client/event has taken
// (or refused).
func (m *Messenger) ForgetEventInvitation(key string) error {
	return m.st.Update(func(tx *store.Tx) error { return tx.Delete(eventBucket, key) })
}
