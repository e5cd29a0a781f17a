package messenger

// Gaps: boxes the network lost, and how a conversation gets them back.
//
// A reader reads a contact's boxes in order, so a box that the network lost
// (every replica gone after it was acknowledged) would stop the
// conversation forever. When the next box is missing, a reader now and then
// (probeEvery) looks up to gapWindow boxes ahead; a later box that is there
// means the ones before it were written and lost (a sender writes box i+1
// only after box i was acknowledged). Probes are rare: each is a read
// through the mix network that the poll waits for, and with one every 30 s
// the p95 of delivery grew from 4.4 s to 10 s (a message that arrived during
// a probe waited for it); a lost box is rarer still.
//
// The reader then moves its stream past the missing boxes, so the
// conversation goes on, but keeps their keys ("held", at most maxHeld per
// contact, for at most holdFor) and asks the sender, with a report in its
// own stream (message.KindReport), to write them again. The sender keeps
// the exact bytes of its last maxKept acknowledged boxes per contact (until
// they expire): it writes the same box again (same id, same bytes), once,
// or answers that it cannot. At each probe the reader reads its held boxes
// again; one that is back is read and delivered late, and its key
// destroyed. When the sender answers that it cannot, when holdFor passes or
// when more than maxHeld boxes are held, the keys are destroyed and the
// boxes are lost for good: the reader counts them (contact.Lost) and, when
// it gave up by itself, tells the sender, whose outbox marks the message
// lost.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

const (
	// gapWindow is how far ahead of a missing box a reader looks.
	gapWindow = 4
	// probeEvery is how often a reader probes a contact's stream for a
	// gap, and reads its held boxes again.
	probeEvery = 5 * time.Minute
	// maxHeld bounds the keys of missing boxes a reader keeps per contact;
	// beyond it the oldest are given up.
	maxHeld = message.MaxReport
	// holdFor is how long a reader keeps a missing box's key. A box lives
	// boxTTL after it was sealed, and the missing box was sealed before it
	// was found missing: after holdFor no copy of it can be stored anywhere.
	holdFor = boxTTL
	// maxKept bounds the acknowledged boxes a sender keeps per contact to
	// write again (about 1.7 kB each).
	maxKept = 256
	// maxStash bounds the parts of messages kept for a late box to
	// complete.
	maxStash = message.MaxParts
	// rewriteMargin is the least lifetime a kept box must have left to be
	// written again: enough for the reader's next probe to find it.
	rewriteMargin = 2 * probeEvery
)

// gapState is what a conversation keeps about lost boxes.
type gapState struct {
	// Held are the keys of the incoming stream's boxes found missing, in
	// index order: secrets, destroyed when the box is read or given up.
	Held []heldBox `cbor:"1,keyasint,omitempty"`
	// Stash holds parts of messages that a held box may complete; emptied
	// when no box is held any more.
	Stash []stashedPart `cbor:"2,keyasint,omitempty"`
	// LostSent counts our boxes that the contact never got: lost by the
	// network and not written again.
	LostSent uint64 `cbor:"3,keyasint,omitempty"`
	// Marked are the last maxMarked boxes of ours counted lost: a report
	// that names one again (repeated, or from a hostile contact) is not
	// counted, and not answered, twice.
	Marked []uint64 `cbor:"4,keyasint,omitempty"`
}

// maxMarked bounds gapState.Marked.
const maxMarked = 256

func (g *gapState) empty() bool {
	return len(g.Held) == 0 && len(g.Stash) == 0 && g.LostSent == 0 && len(g.Marked) == 0
}

// newlyLost returns the boxes of idx not counted lost yet, and counts them.
func (g *gapState) newlyLost(idx []uint64) []uint64 {
	var out []uint64
	for _, i := range idx {
		if !slices.Contains(g.Marked, i) && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	g.Marked = append(g.Marked, out...)
	if over := len(g.Marked) - maxMarked; over > 0 {
		g.Marked = slices.Clone(g.Marked[over:])
	}
	return out
}

// heldBox is the key of a missing box of the incoming stream.
type heldBox struct {
	Index uint64 `cbor:"1,keyasint"`
	Key   []byte `cbor:"2,keyasint"`
	Since int64  `cbor:"3,keyasint"` // when it was found missing
}

// stashedPart is a part of a message that waits for a late box.
type stashedPart struct {
	ID    []byte `cbor:"1,keyasint"`
	Part  int    `cbor:"2,keyasint"`
	Parts int    `cbor:"3,keyasint"`
	Body  []byte `cbor:"4,keyasint"`
}

// txEffect is work a box asks for, done in the transaction that saves the
// contact; now is the contact as it will be saved.
type txEffect func(tx *store.Tx, now *contact) error

func (c *contact) gaps() *gapState {
	if c.Gaps == nil {
		c.Gaps = &gapState{}
	}
	return c.Gaps
}

func (c *contact) heldCopy() []heldBox {
	if c.Gaps == nil {
		return nil
	}
	return slices.Clone(c.Gaps.Held)
}

// keepReading takes the reading side of c's gap state (held keys, stash,
// lost count) into now, which the receive path is about to save; the
// sending side (LostSent) is now's own.
func (now *contact) keepReading(c *contact) {
	now.Lost = c.Lost
	if c.Gaps == nil && now.Gaps == nil {
		return
	}
	g := now.gaps()
	g.Held, g.Stash = nil, nil
	if c.Gaps != nil {
		g.Held, g.Stash = c.Gaps.Held, c.Gaps.Stash
	}
}

// dropHeld destroys the held keys of the boxes idx names and returns the
// indexes it dropped; with no box held any more, the stash goes too.
func (c *contact) dropHeld(idx []uint64) []uint64 {
	if c.Gaps == nil {
		return nil
	}
	var dropped []uint64
	c.Gaps.Held = slices.DeleteFunc(c.Gaps.Held, func(h heldBox) bool {
		if slices.Contains(idx, h.Index) {
			clear(h.Key)
			dropped = append(dropped, h.Index)
			return true
		}
		return false
	})
	if len(c.Gaps.Held) == 0 {
		c.Gaps.Held, c.Gaps.Stash = nil, nil
	}
	return dropped
}

func (c *contact) holds(i uint64) bool {
	return c.Gaps != nil && slices.ContainsFunc(c.Gaps.Held, func(h heldBox) bool { return h.Index == i })
}

func (c *contact) stashed(id [16]byte) bool {
	return c.Gaps != nil && slices.ContainsFunc(c.Gaps.Stash, func(p stashedPart) bool { return bytes.Equal(p.ID, id[:]) })
}

// stash keeps the parts of message id (partial) for a late box.
func (c *contact) stash(id []byte, partial [][]byte) {
	g := c.gaps()
	for k, p := range partial {
		if p != nil {
			g.Stash = append(g.Stash, stashedPart{ID: id, Part: k, Parts: len(partial), Body: p})
		}
	}
	if over := len(g.Stash) - maxStash; over > 0 {
		g.Stash = slices.Clone(g.Stash[over:])
	}
}

// stashPart adds f to the stash and returns its message's text once every
// part is there.
func (c *contact) stashPart(f *message.Frame) ([]byte, bool, error) {
	g := c.gaps()
	parts := make([][]byte, f.Parts)
	for _, p := range g.Stash {
		if !bytes.Equal(p.ID, f.ID[:]) {
			continue
		}
		if p.Parts != f.Parts || p.Part < 0 || p.Part >= f.Parts {
			return nil, false, errors.New("part count changed")
		}
		parts[p.Part] = p.Body
	}
	if parts[f.Part] != nil {
		return nil, false, nil // a part read twice: nothing new
	}
	parts[f.Part] = f.Body
	if slices.ContainsFunc(parts, func(p []byte) bool { return p == nil }) {
		g.Stash = append(g.Stash, stashedPart{ID: f.ID[:], Part: f.Part, Parts: f.Parts, Body: f.Body})
		if over := len(g.Stash) - maxStash; over > 0 {
			g.Stash = slices.Clone(g.Stash[over:])
		}
		return nil, false, nil
	}
	g.Stash = slices.DeleteFunc(g.Stash, func(p stashedPart) bool { return bytes.Equal(p.ID, f.ID[:]) })
	return bytes.Join(parts, nil), true, nil
}

// probeDue reports whether name's stream is due for a probe, and notes
// the probe.
func (m *Messenger) probeDue(name string) bool {
	m.probeMu.Lock()
	defer m.probeMu.Unlock()
	last, seen := m.probed[name]
	due := seen && time.Since(last) >= m.probeEvery || !seen && m.probeEvery == 0
	if due || !seen {
		m.probed[name] = time.Now() // the first probe of a contact comes probeEvery after its first miss
	}
	return due
}

// probeGap runs, at most once per probeEvery for each contact, when the box
// at index next (id) is missing: it reads the held boxes again (late holds
// the messages that came back) and looks for a box up to gapWindow ahead.
// skip is how many boxes are missing before the first later one found (0:
// none found, so nothing is known to be lost).
func (m *Messenger) probeGap(ctx context.Context, name string, rc *bacap.ReadCap, next uint64, id [32]byte) (late []Message, skip int, err error) {
	if !m.probeDue(name) {
		return nil, 0, nil
	}
	late, err = m.recoverHeld(ctx, name, rc)
	if err != nil {
		return late, 0, err
	}
	for k := uint64(1); k <= gapWindow; k++ {
		later, err := boxIDAt(rc, next+k)
		if err != nil {
			return late, 0, err
		}
		err = m.retry(ctx, func(c context.Context) error {
			_, err := m.c.GetBox(c, later)
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			continue
		}
		if err != nil {
			return late, 0, err
		}
		// A later box is there: look once more at the missing one (it may
		// have arrived meanwhile) before calling it lost.
		err = m.retry(ctx, func(c context.Context) error {
			_, err := m.c.GetBox(c, id)
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			return late, int(k), nil
		}
		return late, 0, err
	}
	return late, 0, nil
}

// boxIDAt is the id of box n of the stream rc reads.
func boxIDAt(rc *bacap.ReadCap, n uint64) ([32]byte, error) {
	idx, err := boxIndex(rc, n)
	if err != nil {
		return [32]byte{}, err
	}
	return *(*[32]byte)(idx.BoxIDForContext(rc, boxContext).Bytes()), nil
}

// skipLost moves c's incoming stream past n missing boxes, holds their keys
// and asks the sender to write them again, in one transaction, if nobody
// read meanwhile. Beyond maxHeld the oldest held boxes are given up.
func (m *Messenger) skipLost(name string, c *contact, n int) error {
	from := c.InChain.Index
	var gaveUp int
	err := m.st.Update(func(tx *store.Tx) error {
		now, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		if now.InChain.Index != from || !bytes.Equal(now.InRead, c.InRead) {
			return errRaced
		}
		g := now.gaps()
		var asked []uint64
		for range n {
			i, key := now.InChain.Next()
			g.Held = append(g.Held, heldBox{Index: i, Key: key[:], Since: time.Now().Unix()})
			asked = append(asked, i)
		}
		if err := queueReports(tx, name, message.ReportMissing, asked); err != nil {
			return err
		}
		if over := len(g.Held) - maxHeld; over > 0 {
			var old []uint64
			for _, h := range g.Held[:over] {
				old = append(old, h.Index)
			}
			gaveUp = len(now.dropHeld(old))
			now.Lost += uint64(gaveUp)
			if err := queueReports(tx, name, message.ReportLost, old); err != nil {
				return err
			}
		}
		return m.save(tx, now)
	})
	if err != nil {
		return err
	}
	m.tasks.Add(1)
	m.changed()
	m.log.Warn("boxes missing; asked the sender to write them again", "contact", name, "count", n)
	if gaveUp > 0 {
		m.log.Warn("boxes lost by the network given up", "contact", name, "count", gaveUp)
	}
	return nil
}

// recoverHeld reads name's held boxes again: one that is back is read and
// its message returned (saved in the inbox at its place in the stream);
// those held longer than holdFor are given up and the sender told.
func (m *Messenger) recoverHeld(ctx context.Context, name string, rc *bacap.ReadCap) ([]Message, error) {
	c, err := m.load(name)
	if err != nil || c.Gaps == nil || len(c.Gaps.Held) == 0 {
		return nil, err
	}
	var expired []uint64
	for _, h := range c.Gaps.Held {
		if time.Since(time.Unix(h.Since, 0)) >= m.holdFor {
			expired = append(expired, h.Index)
		}
	}
	if len(expired) > 0 {
		if err := m.giveUpHeld(name, c.InRead, expired); err != nil {
			return nil, err
		}
	}
	var out []Message
	for _, h := range c.Gaps.Held {
		if slices.Contains(expired, h.Index) || len(h.Key) != 32 {
			continue
		}
		id, err := boxIDAt(rc, h.Index)
		if err != nil {
			return out, err
		}
		var box *record.Box
		err = m.retry(ctx, func(c context.Context) error {
			var err error
			box, err = m.c.GetBox(c, id)
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		got, err := m.readLate(name, c.InRead, h, id, box)
		if errors.Is(err, errRaced) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if got != nil {
			out = append(out, *got)
		}
	}
	return out, nil
}

// giveUpHeld destroys the held keys of name's boxes idx (lost for good) and
// tells the sender.
func (m *Messenger) giveUpHeld(name string, inRead []byte, idx []uint64) error {
	var n int
	err := m.st.Update(func(tx *store.Tx) error {
		now, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		if !bytes.Equal(now.InRead, inRead) {
			return errRaced
		}
		dropped := now.dropHeld(idx)
		if n = len(dropped); n == 0 {
			return nil
		}
		now.Lost += uint64(n)
		if err := queueReports(tx, name, message.ReportLost, dropped); err != nil {
			return err
		}
		return m.save(tx, now)
	})
	if errors.Is(err, errRaced) {
		return nil
	}
	if err == nil && n > 0 {
		m.tasks.Add(1)
		m.changed()
		m.log.Warn("boxes lost by the network given up", "contact", name, "count", n)
	}
	return err
}

// readLate reads held box h, found again, and saves what it holds: its
// message in the inbox under its own index (so that it sorts at its place
// in the conversation), the contact without its key.
func (m *Messenger) readLate(name string, inRead []byte, h heldBox, id [32]byte, box *record.Box) (*Message, error) {
	c, err := m.load(name)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(c.InRead, inRead) || !c.holds(h.Index) {
		return nil, errRaced
	}
	got, _, fx, rerr := m.readBox(c, name, h.Index, [32]byte(h.Key), id, box, true)
	if rerr != nil {
		c.Skipped++
		m.log.Warn("unreadable box skipped", "contact", name, "err", rerr)
	}
	err = m.st.Update(func(tx *store.Tx) error {
		now, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		if !bytes.Equal(now.InRead, inRead) || !now.holds(h.Index) || now.InChain.Index != c.InChain.Index {
			return errRaced
		}
		now.Partial, now.PartialID, now.Skipped = c.Partial, c.PartialID, c.Skipped
		now.keepReading(c)
		now.dropHeld([]uint64{h.Index})
		if got != nil {
			if err := putInbox(tx, name, h.Index+1, got); err != nil {
				return err
			}
		}
		if fx != nil {
			if err := fx(tx, now); err != nil {
				return err
			}
		}
		return m.save(tx, now)
	})
	if err != nil {
		return nil, err
	}
	m.log.Info("a missing box arrived late", "contact", name)
	return got, nil
}

// putInbox saves got in the inbox; pos (the index after its last box)
// orders a contact's messages.
func putInbox(tx *store.Tx, name string, pos uint64, got *Message) error {
	var sent int64
	if !got.Sent.IsZero() {
		sent = got.Sent.Unix()
	}
	b, err := detcbor.Marshal([]any{got.From, got.Text, got.At.Unix(), sent})
	if err != nil {
		return err
	}
	return tx.Put("inbox", fmt.Sprintf("%s/%020d", name, pos), b)
}

// onReport interprets a report from contact c. Gone is about boxes we hold
// (c's held keys change here); Missing and Lost are about our boxes, and
// return the work they ask for.
func (m *Messenger) onReport(c *contact, name string, r *message.Report) txEffect {
	switch r.Op {
	case message.ReportGone:
		if n := len(c.dropHeld(r.Indexes)); n > 0 {
			c.Lost += uint64(n)
			m.log.Warn("boxes lost by the network: the sender has no copy left", "contact", name, "count", n)
		}
		return nil
	case message.ReportMissing:
		return func(tx *store.Tx, now *contact) error { return m.onMissing(tx, now, r.Indexes) }
	default: // message.ReportLost
		return func(tx *store.Tx, now *contact) error {
			var ours []uint64
			for _, i := range r.Indexes {
				if i < now.OutChain.Index {
					ours = append(ours, i)
				}
			}
			if ours = now.gaps().newlyLost(ours); len(ours) == 0 {
				return nil
			}
			m.log.Warn("the contact reports boxes of ours lost", "contact", name, "count", len(ours))
			return markLost(tx, now, ours)
		}
	}
}

// onMissing answers a contact's request to write boxes idx of our stream
// again: a box we keep is queued to be written (Deliver does it), one we
// do not is lost, and the contact is told.
func (m *Messenger) onMissing(tx *store.Tx, now *contact, idx []uint64) error {
	var gone []uint64
	for _, i := range idx {
		if i >= now.OutChain.Index {
			continue // not written yet: nothing to do
		}
		kb, err := getKept(tx, now, i)
		if err != nil {
			return err
		}
		if kb != nil && keptUsable(kb) {
			if err := tx.Put("rewrite", boxKey(now.Name, i), []byte{1}); err != nil {
				return err
			}
			continue
		}
		gone = append(gone, i)
	}
	m.tasks.Add(1)
	if len(gone) == 0 {
		return nil
	}
	if gone = now.gaps().newlyLost(gone); len(gone) == 0 {
		return nil // answered before
	}
	m.log.Warn("the contact misses boxes of ours that we no longer have", "contact", now.Name, "count", len(gone))
	if err := markLost(tx, now, gone); err != nil {
		return err
	}
	return queueReports(tx, now.Name, message.ReportGone, gone)
}

// markLost records that boxes idx of our stream to c never reached it: the
// count, and the outbox entries they belong to. Their kept copies go.
func markLost(tx *store.Tx, c *contact, idx []uint64) error {
	c.gaps().LostSent += uint64(len(idx))
	for _, i := range idx {
		if err := tx.Delete("kept", boxKey(c.Name, i)); err != nil {
			return err
		}
		if err := tx.Delete("rewrite", boxKey(c.Name, i)); err != nil {
			return err
		}
	}
	es, err := listEntries(tx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.To != c.Name || e.First == nil || e.Lost {
			continue
		}
		parts := uint64(message.PartsFor(len(e.Body)))
		if slices.ContainsFunc(idx, func(i uint64) bool { return i >= *e.First && i < *e.First+parts }) {
			e.Lost = true
			if err := putEntry(tx, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueReports queues reports op about boxes idx (increasing) to name, at
// most message.MaxReport boxes each.
func queueReports(tx *store.Tx, name string, op message.ReportOp, idx []uint64) error {
	for len(idx) > 0 {
		n := min(len(idx), message.MaxReport)
		body, err := message.EncodeReport(message.Report{Op: op, Indexes: idx[:n]})
		if err != nil {
			return err
		}
		if _, err := queue(tx, name, message.KindReport, body); err != nil {
			return err
		}
		idx = idx[n:]
	}
	return nil
}

// keptBox is the exact bytes of one of our acknowledged boxes.
type keptBox struct {
	ID  []byte `cbor:"1,keyasint"`
	Val []byte `cbor:"2,keyasint"`
}

// boxKey names box i of the stream to or from name in the "kept" and
// "rewrite" buckets.
func boxKey(name string, i uint64) string { return fmt.Sprintf("%s/%020d", name, i) }

// keepBox saves box i of our stream to c (acknowledged just now) and
// forgets the one maxKept before it.
func keepBox(tx *store.Tx, c *contact, i uint64, id, val []byte) error {
	b, err := detcbor.Marshal(&keptBox{ID: id, Val: val})
	if err != nil {
		return err
	}
	if err := tx.Put("kept", boxKey(c.Name, i), b); err != nil {
		return err
	}
	if i >= maxKept {
		return tx.Delete("kept", boxKey(c.Name, i-maxKept))
	}
	return nil
}

// getKept returns our kept box i to c, nil if there is none (or it is not
// that box of c's stream).
func getKept(tx *store.Tx, c *contact, i uint64) (*keptBox, error) {
	b, err := tx.Get("kept", boxKey(c.Name, i))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var kb keptBox
	if err := dec.Unmarshal(b, &kb); err != nil || len(kb.ID) != 32 {
		return nil, nil // damaged: as good as none
	}
	wc, err := bacap.NewWriteCapFromBytes(c.OutWrite)
	if err != nil {
		return nil, err
	}
	idx, err := boxIndex(wc, i)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(idx.BoxIDForContext(wc.ReadCap(), boxContext).Bytes(), kb.ID) {
		return nil, nil
	}
	return &kb, nil
}

// keptUsable reports whether kb can be stored again and live long enough
// for its reader to find it.
func keptUsable(kb *keptBox) bool {
	box, err := record.DecodeBox([32]byte(kb.ID), kb.Val)
	return err == nil && time.Until(time.Unix(box.Expires, 0)) > rewriteMargin
}

// forgetKept deletes what we keep to write again to name (next is the
// index of our next box to them): kept boxes and pending re-writes.
func forgetKept(tx *store.Tx, name string, next uint64) error {
	for i := next - min(next, maxKept); i < next; i++ {
		if err := tx.Delete("kept", boxKey(name, i)); err != nil {
			return err
		}
	}
	var jobs []string
	if err := tx.List("rewrite", func(k string, _ []byte) error {
		if strings.HasPrefix(k, name+"/") {
			jobs = append(jobs, k)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range jobs {
		if err := tx.Delete("rewrite", k); err != nil {
			return err
		}
	}
	return nil
}

// rewriteBoxes writes again the boxes contacts reported missing, from their
// kept bytes. A box that cannot be (no copy, expiring, refused for good) is
// lost, and the contact told; one that got no acknowledgement waits for the
// next pass.
func (m *Messenger) rewriteBoxes(ctx context.Context) error {
	var jobs []string
	if err := m.st.View(func(tx *store.Tx) error {
		return tx.List("rewrite", func(k string, _ []byte) error { jobs = append(jobs, k); return nil })
	}); err != nil {
		return err
	}
	sort.Strings(jobs)
	for _, k := range jobs {
		cut := strings.LastIndexByte(k, '/')
		var i uint64
		if cut < 0 || len(k)-cut-1 != 20 {
			i = ^uint64(0) // damaged: dropped below
		} else if _, err := fmt.Sscan(k[cut+1:], &i); err != nil {
			i = ^uint64(0)
		}
		name := k[:max(cut, 0)]
		var kb *keptBox
		if err := m.st.View(func(tx *store.Tx) error {
			c, err := loadTx(tx, name)
			if err != nil {
				return nil // the contact went: dropped below
			}
			kb, err = getKept(tx, c, i)
			return err
		}); err != nil {
			return err
		}
		if kb != nil && keptUsable(kb) {
			err := m.putWithRetry(ctx, [32]byte(kb.ID), kb.Val)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err == nil:
				// Each box is written again once: its reader asks once,
				// and a contact asking again and again gets no more.
				m.log.Info("a box the network lost was written again", "contact", name)
				if err := m.st.Update(func(tx *store.Tx) error {
					if err := tx.Delete("kept", k); err != nil {
						return err
					}
					return tx.Delete("rewrite", k)
				}); err != nil {
					return err
				}
				continue
			case !wire.IsFinal(err):
				m.log.Info("writing a lost box again waits for the network", "contact", name, "err", err)
				continue
			}
			m.log.Warn("writing a lost box again was refused", "contact", name, "err", err)
		}
		err := m.st.Update(func(tx *store.Tx) error {
			if _, err := tx.Get("rewrite", k); err != nil {
				return nil // done meanwhile
			}
			if err := tx.Delete("rewrite", k); err != nil {
				return err
			}
			c, err := loadTx(tx, name)
			if err != nil || i >= c.OutChain.Index {
				return nil
			}
			if err := markLost(tx, c, []uint64{i}); err != nil {
				return err
			}
			if err := queueReports(tx, name, message.ReportGone, []uint64{i}); err != nil {
				return err
			}
			return m.save(tx, c)
		})
		if err != nil {
			return err
		}
		m.changed()
	}
	return nil
}

// Gaps returns, by contact, how many of their boxes are missing and asked
// for again (missing), and how many of ours they never got (lostSent).
func (m *Messenger) Gaps() (missing, lostSent map[string]uint64, err error) {
	missing, lostSent = map[string]uint64{}, map[string]uint64{}
	err = m.st.View(func(tx *store.Tx) error {
		return tx.List("contacts", func(name string, v []byte) error {
			var c contact
			if err := dec.Unmarshal(v, &c); err != nil {
				return err
			}
			if c.Gaps == nil {
				return nil
			}
			if n := len(c.Gaps.Held); n > 0 {
				missing[name] = uint64(n)
			}
			if c.Gaps.LostSent > 0 {
				lostSent[name] = c.Gaps.LostSent
			}
			return nil
		})
	})
	return missing, lostSent, err
}
