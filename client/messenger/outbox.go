package messenger

// The outbox: every message (and every hello) is saved before anything is
// sent, then delivered box by box in order. Before a box first leaves, its
// exact bytes are saved with the message, so a retry (after a lost ACK or a
// crash) stores the same box again: a message is never lost once queued, and
// never appears twice to its reader. Once acknowledged, a box's bytes are
// kept a while longer (gaps.go), to be written again if the network loses
// it; a message whose box was lost for good is marked lost.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// State is the delivery state of an outgoing message.
type State string

// Delivery states. Queued and Sent move on by themselves; Acknowledged and
// Failed are final (Retry moves a failed message back).
const (
	Queued       State = "queued"       // saved; no box of it has left yet
	Sent         State = "sent"         // boxes in flight, not all acknowledged
	Acknowledged State = "acknowledged" // every box is stored on the replication quorum
	Failed       State = "failed"       // refused for good, or no acknowledgement within maxPending
)

// keepAcknowledged is how many acknowledged messages the outbox keeps for
// the user to look at; older ones are deleted.
const keepAcknowledged = 100

// Outgoing is a message in the outbox.
type Outgoing struct {
	ID    uint64 `json:"id"`
	To    string `json:"to"`
	Text  string `json:"text"`
	State State  `json:"state"`
	Parts int    `json:"parts"`
	Done  int    `json:"done"` // boxes acknowledged
	Error string `json:"error,omitempty"`
	// BlockedBy is the failed message to the same contact that this one
	// waits behind (its reader reads in order), 0 if none.
	BlockedBy uint64 `json:"blocked_by,omitempty"`
	// Awaiting is set while the contact has not answered our invite or
	// request: nothing is sent to them before.
	Awaiting bool `json:"awaiting,omitempty"`
	// Offline is set while the message, or one before it to the same
	// contact, got no acknowledgement in its last round: it waits for the
	// network and goes out by itself when the network answers again (Error
	// says what the last round met).
	Offline bool `json:"offline,omitempty"`
	// Lost is set when the reader never got the message: the network lost
	// a box of it after it was acknowledged, and it could not be written
	// again (no copy left, or the reader gave up waiting).
	Lost    bool      `json:"lost,omitempty"`
	Queued  time.Time `json:"queued"`
	Updated time.Time `json:"updated"`
}

// outEntry is an outbox entry as saved.
type outEntry struct {
	ID      uint64       `cbor:"1,keyasint"`
	To      string       `cbor:"2,keyasint"`
	Kind    message.Kind `cbor:"3,keyasint"`
	Body    []byte       `cbor:"4,keyasint"`
	MsgID   [16]byte     `cbor:"5,keyasint"`
	State   State        `cbor:"6,keyasint"`
	Done    int          `cbor:"7,keyasint"`
	Error   string       `cbor:"8,keyasint,omitempty"`
	Queued  int64        `cbor:"9,keyasint"`
	Updated int64        `cbor:"10,keyasint"`
	// The box being delivered (index Done), sealed once and re-sent as is.
	PendingID  []byte `cbor:"11,keyasint,omitempty"`
	PendingVal []byte `cbor:"12,keyasint,omitempty"`
	// First is the stream index of the message's first box, once sealed.
	First *uint64 `cbor:"13,keyasint,omitempty"`
	Lost  bool    `cbor:"14,keyasint,omitempty"` // the reader never got it
}

func (e *outEntry) frames() ([]message.Frame, error) {
	fs, err := message.Split(e.Kind, e.Body)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		fs[i].ID = e.MsgID
	}
	return fs, nil
}

func (e *outEntry) public() Outgoing {
	o := Outgoing{ID: e.ID, To: e.To, State: e.State, Done: e.Done, Error: e.Error, Lost: e.Lost,
		Queued: time.Unix(e.Queued, 0), Updated: time.Unix(e.Updated, 0)}
	switch {
	case e.Kind == message.KindText:
		o.Text = string(e.Body)
	case e.Kind == message.KindTextAt && len(e.Body) >= 8:
		o.Text = string(e.Body[8:])
	case e.Kind == message.KindReport:
		o.Text = "(report about lost messages)"
	case e.Kind == message.KindFriendsCap:
		o.Text = "(friends key)"
	case e.Kind == message.KindEvent:
		o.Text = "(event invitation)"
	default:
		o.Text = "(contact confirmation)"
	}
	o.Parts = message.PartsFor(len(e.Body))
	return o
}

func outKey(id uint64) string { return fmt.Sprintf("%020d", id) }

func getEntry(tx *store.Tx, id uint64) (*outEntry, error) {
	return getTx[outEntry](tx, "outbox", outKey(id), fmt.Sprintf("message %d in the outbox", id))
}

// listEntries reads the whole outbox, oldest first.
func listEntries(tx *store.Tx) ([]*outEntry, error) {
	var out []*outEntry
	err := tx.List("outbox", func(_ string, v []byte) error {
		var e outEntry
		if err := dec.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("messenger: outbox entry damaged: %w", err)
		}
		out = append(out, &e)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// putEntry saves e. Lost is only ever set (by a report, while Deliver may
// hold the entry): a copy read before keeps it.
func putEntry(tx *store.Tx, e *outEntry) error {
	if !e.Lost {
		if cur, err := getEntry(tx, e.ID); err == nil && cur.Lost {
			e.Lost = true
		}
	}
	e.Updated = time.Now().Unix()
	b, err := detcbor.Marshal(e)
	if err != nil {
		return err
	}
	return tx.Put("outbox", outKey(e.ID), b)
}

// queue saves a message for contact name in tx and returns its entry.
func queue(tx *store.Tx, name string, kind message.Kind, body []byte) (*outEntry, error) {
	if _, err := tx.Get("contacts", name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("messenger: no contact %q", name)
		}
		return nil, err
	}
	if _, err := message.Split(kind, body); err != nil {
		return nil, err // too long
	}
	var next uint64 = 1
	if b, err := tx.Get("self", "outbox-next"); err == nil {
		fmt.Sscan(string(b), &next)
	}
	if err := tx.Put("self", "outbox-next", []byte(fmt.Sprint(next+1))); err != nil {
		return nil, err
	}
	e := &outEntry{ID: next, To: name, Kind: kind, Body: body, State: Queued, Queued: time.Now().Unix()}
	rand.Read(e.MsgID[:])
	return e, putEntry(tx, e)
}

// RemoveContact deletes contact name: the conversation's keys and the
// messages to them still in the outbox (queued, sent or failed). It also
// cancels an invite or friend request not yet answered: its answer will
// not be read. Messages already received stay in the inbox until read.
// If the contact was confirmed, the friends stream moves to fresh keys in
// the same transaction (friendscap.go): the remaining contacts get the new
// read capability, the removed one keeps only the old. It returns how many
// outgoing messages were dropped.
func (m *Messenger) RemoveContact(name string) (dropped int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	err = m.st.Update(func(tx *store.Tx) error {
		c, err := loadTx(tx, name)
		if err != nil {
			return fmt.Errorf("messenger: no contact %q", name)
		}
		if err := forgetKept(tx, name, c.OutChain.Index); err != nil {
			return err
		}
		if len(c.Identity) == ed25519.PublicKeySize {
			// They may hold our friends stream's capability: it moves to
			// fresh keys, which the remaining contacts get (friendscap.go).
			if err := rotateFriends(tx, name); err != nil {
				return err
			}
		}
		es, err := listEntries(tx)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.To == name {
				if err := tx.Delete("outbox", outKey(e.ID)); err != nil {
					return err
				}
				dropped++
			}
		}
		return tx.Delete("contacts", name)
	})
	if err == nil {
		m.probeMu.Lock()
		delete(m.probed, name)
		m.probeMu.Unlock()
		m.changed()
	}
	return dropped, err
}

// Queue saves text for contact name in the outbox and returns its id; Deliver
// (the daemon runs it) sends it.
func (m *Messenger) Queue(name, text string) (uint64, error) {
	if strings.TrimSpace(text) == "" {
		return 0, errors.New("messenger: the message is empty")
	}
	var id uint64
	err := m.st.Update(func(tx *store.Tx) error {
		body := binary.BigEndian.AppendUint64(nil, uint64(time.Now().Unix()))
		e, err := queue(tx, name, message.KindTextAt, append(body, text...))
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

// Send queues text for contact name and delivers it: it returns once every
// box is acknowledged, or an error when the message failed.
func (m *Messenger) Send(ctx context.Context, name, text string) error {
	id, err := m.Queue(name, text)
	if err != nil {
		return err
	}
	return m.deliverAndWait(ctx, id)
}

func (m *Messenger) deliverAndWait(ctx context.Context, id uint64) error {
	if err := m.Deliver(ctx); err != nil {
		return err
	}
	o, err := m.Wait(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case o.State == Failed:
		return fmt.Errorf("messenger: message to %s failed: %s", o.To, o.Error)
	case o.BlockedBy != 0:
		return fmt.Errorf("messenger: message to %s waits behind failed message %d (retry that one)", o.To, o.BlockedBy)
	case o.Awaiting:
		return fmt.Errorf("messenger: message to %s is queued until they answer the invite or request", o.To)
	case o.Offline:
		return fmt.Errorf("messenger: message to %s waits for the network and goes out by itself when it answers again", o.To)
	}
	return nil
}

// Wait blocks until message id is acknowledged or failed, or waits behind
// a failed message (BlockedBy) or for the contact to answer our invite
// (Awaiting), or ctx ends, and returns it.
func (m *Messenger) Wait(ctx context.Context, id uint64) (*Outgoing, error) {
	for {
		ch := m.changes()
		os, err := m.Outbox()
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(os, func(o Outgoing) bool { return o.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("messenger: no message %d in the outbox", id)
		}
		if o := os[i]; o.State == Acknowledged || o.State == Failed || o.BlockedBy != 0 || o.Awaiting || o.Offline {
			return &o, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// changes returns a channel that is closed at the next outbox change.
func (m *Messenger) changes() <-chan struct{} {
	m.chMu.Lock()
	defer m.chMu.Unlock()
	if m.ch == nil {
		m.ch = make(chan struct{})
	}
	return m.ch
}

func (m *Messenger) changed() {
	m.chMu.Lock()
	defer m.chMu.Unlock()
	if m.ch != nil {
		close(m.ch)
		m.ch = nil
	}
}

// Outbox lists the messages in the outbox, oldest first: those not yet
// delivered, the failed ones and the last acknowledged ones. A message not
// yet delivered is BlockedBy the first failed message to the same contact
// before it, and Awaiting while that contact has not answered our invite.
func (m *Messenger) Outbox() ([]Outgoing, error) {
	es, err := m.view()
	out := make([]Outgoing, len(es))
	for i, v := range es {
		out[i] = v.public()
		out[i].BlockedBy, out[i].Awaiting, out[i].Offline = v.blockedBy, v.awaiting, v.offline
	}
	return out, err
}

// viewed is an outbox entry with what holds it back.
type viewed struct {
	*outEntry
	blockedBy uint64 // the first failed message to the same contact before it
	awaiting  bool   // its contact has not answered our invite
	offline   bool   // it, or one before it to the same contact, waits for the network
}

// view reads the outbox in one transaction, oldest first, loading each
// contact with pending messages once.
func (m *Messenger) view() ([]viewed, error) {
	var out []viewed
	err := m.st.View(func(tx *store.Tx) error {
		es, err := listEntries(tx)
		if err != nil {
			return err
		}
		failed := map[string]uint64{} // contact -> first failed message
		awaiting := map[string]bool{}
		offline := map[string]bool{} // contact -> a pending message waits for the network
		for _, e := range es {
			v := viewed{outEntry: e}
			switch e.State {
			case Failed:
				if failed[e.To] == 0 {
					failed[e.To] = e.ID
				}
			case Acknowledged:
			default:
				if e.Error != "" {
					offline[e.To] = true
				}
				v.offline = offline[e.To]
				v.blockedBy = failed[e.To]
				aw, ok := awaiting[e.To]
				if !ok {
					c, err := loadTx(tx, e.To)
					aw = err == nil && c.awaiting()
					awaiting[e.To] = aw
				}
				v.awaiting = aw
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Retry moves failed message id back into the queue.
func (m *Messenger) Retry(id uint64) error {
	err := m.st.Update(func(tx *store.Tx) error {
		e, err := getEntry(tx, id)
		if err != nil {
			return err
		}
		if e.State != Failed {
			return fmt.Errorf("messenger: message %d is %s, not failed", id, e.State)
		}
		e.State, e.Error = Queued, ""
		if e.PendingVal != nil || e.Done > 0 {
			e.State = Sent
		}
		return putEntry(tx, e)
	})
	if err == nil {
		m.changed()
	}
	return err
}

// deliverers bounds how many contacts Deliver serves at once.
const deliverers = 8

// Deliver sends the outbox's messages until none is left that can go. Each
// contact's messages go in order, and contacts are served side by side, so
// that one contact whose messages wait (their reader reads boxes in order)
// holds back no one else: a failed or postponed message holds back only
// the later ones to the same contact. It returns early only when ctx ends
// or the store fails; delivery failures are recorded in the messages.
func (m *Messenger) Deliver(ctx context.Context) error {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	es, err := m.view()
	if err != nil {
		return err
	}
	byContact := map[string][]viewed{}
	var order []string
	for _, v := range es {
		if _, ok := byContact[v.To]; !ok {
			order = append(order, v.To)
		}
		byContact[v.To] = append(byContact[v.To], v)
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, deliverers)
		mu    sync.Mutex
		acked bool
		first error
	)
	// Boxes that contacts reported lost are written again beside the
	// contacts' messages.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := m.rewriteBoxes(ctx); err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	}()
	for _, to := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(vs []viewed) {
			defer wg.Done()
			defer func() { <-sem }()
			a, err := m.deliverContact(ctx, vs)
			mu.Lock()
			acked = acked || a
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}(byContact[to])
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if !acked {
		return nil
	}
	return m.prune()
}

// deliverContact sends one contact's messages in order until one of them
// fails or waits; it reports whether any was acknowledged.
func (m *Messenger) deliverContact(ctx context.Context, vs []viewed) (acked bool, err error) {
	for _, v := range vs {
		if ctx.Err() != nil {
			return acked, ctx.Err()
		}
		// Only Deliver sends, and it holds outMu: an entry read above can
		// have changed since only by Retry, which the next pass sees.
		if v.State == Acknowledged || v.State == Failed || v.blockedBy != 0 || v.awaiting {
			continue
		}
		err := m.deliver(ctx, v.outEntry)
		if errors.Is(err, errPostponed) {
			return acked, nil // the later ones wait behind it
		}
		if err != nil {
			return acked, err
		}
		switch v.State {
		case Failed:
			return acked, nil
		case Acknowledged:
			acked = true
		}
	}
	return acked, nil
}

// errPostponed is deliver's answer for a message that got no acknowledgement
// this round but may still go: it waits for the next round.
var errPostponed = errors.New("messenger: no acknowledgement this round")

// deliver sends e's remaining boxes; e's state records the outcome. A final
// refusal, or no acknowledgement within maxPending of queueing, marks it
// failed; no acknowledgement this round (the network may be away) leaves it
// to the next round and returns errPostponed. Otherwise deliver returns an
// error only when ctx ends or the store fails.
func (m *Messenger) deliver(ctx context.Context, e *outEntry) error {
	frames, err := e.frames()
	if err != nil {
		return m.fail(e, err)
	}
	for e.Done < len(frames) {
		if e.PendingVal == nil || m.expiring(e) {
			// Sealed afresh at the same index (a message retried or left
			// for days keeps its place in the stream, with a new expiry).
			if err := m.sealNext(e, frames[e.Done]); err != nil {
				return m.fail(e, err)
			}
		}
		id := *(*[32]byte)(e.PendingID)
		if err := m.putWithRetry(ctx, id, e.PendingVal); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wire.IsFinal(err) || time.Since(time.Unix(e.Queued, 0)) > maxPending {
				return m.fail(e, err)
			}
			return m.postpone(e, err)
		}
		// Acknowledged: advance the contact's stream and the message in one
		// transaction.
		err := m.st.Update(func(tx *store.Tx) error {
			c, err := loadTx(tx, e.To)
			if err != nil {
				return err
			}
			if err := keepBox(tx, c, c.OutChain.Index, e.PendingID, e.PendingVal); err != nil {
				return err
			}
			if err := c.sent(); err != nil {
				return err
			}
			if err := m.save(tx, c); err != nil {
				return err
			}
			e.Done++
			e.PendingID, e.PendingVal, e.Error = nil, nil, ""
			if e.Done == len(frames) {
				e.State = Acknowledged
			}
			return putEntry(tx, e)
		})
		if err != nil {
			return m.fail(e, err)
		}
		m.changed()
	}
	return nil
}

// postpone records why e is still waiting and returns errPostponed.
func (m *Messenger) postpone(e *outEntry, cause error) error {
	e.Error = "waiting for the network: " + cause.Error()
	m.log.Info("message waits for the network", "contact", e.To, "id", e.ID, "err", cause)
	err := m.st.Update(func(tx *store.Tx) error { return putEntry(tx, e) })
	m.changed()
	if err != nil {
		return err
	}
	return errPostponed
}

// fail marks e failed because of cause.
func (m *Messenger) fail(e *outEntry, cause error) error {
	e.State, e.Error = Failed, cause.Error()
	m.log.Warn("message failed", "contact", e.To, "id", e.ID, "err", cause)
	err := m.st.Update(func(tx *store.Tx) error { return putEntry(tx, e) })
	m.changed()
	return err
}

// expiring reports whether e's saved box has less than half its lifetime
// left (or cannot be read back): storing it now would keep it too briefly.
func (m *Messenger) expiring(e *outEntry) bool {
	if len(e.PendingID) != 32 {
		return true
	}
	box, err := record.DecodeBox(*(*[32]byte)(e.PendingID), e.PendingVal)
	return err != nil || time.Until(time.Unix(box.Expires, 0)) < boxTTL/2
}

// sealNext seals frame f into the contact's next box and saves it in e
// (state Sent) before it leaves.
func (m *Messenger) sealNext(e *outEntry, f message.Frame) error {
	err := m.st.Update(func(tx *store.Tx) error {
		c, err := loadTx(tx, e.To)
		if err != nil {
			return err
		}
		wc, err := bacap.NewWriteCapFromBytes(c.OutWrite)
		if err != nil {
			return err
		}
		chain := c.OutChain
		i, key := chain.Next()
		idx, err := boxIndex(wc, i)
		if err != nil {
			return err
		}
		pt, err := message.Encode(f, i, m.id.Sign)
		if err != nil {
			return err
		}
		id := *(*[32]byte)(idx.BoxIDForContext(wc.ReadCap(), boxContext).Bytes())
		ct, err := message.Seal(key, id[:], pt)
		if err != nil {
			return err
		}
		boxID, val, err := record.SealBox(wc, idx, boxContext, ct, boxTTL)
		if err != nil {
			return err
		}
		first := i - uint64(e.Done)
		e.PendingID, e.PendingVal, e.State, e.First = boxID[:], val, Sent, &first
		return putEntry(tx, e)
	})
	if err == nil {
		m.changed()
	}
	return err
}

// prune deletes all but the last keepAcknowledged acknowledged messages.
func (m *Messenger) prune() error {
	return m.st.Update(func(tx *store.Tx) error {
		es, err := listEntries(tx)
		if err != nil {
			return err
		}
		var acked []uint64
		for _, e := range es {
			if e.State == Acknowledged {
				acked = append(acked, e.ID)
			}
		}
		for _, id := range acked[:max(len(acked)-keepAcknowledged, 0)] {
			if err := tx.Delete("outbox", outKey(id)); err != nil {
				return err
			}
		}
		return nil
	})
}
