// Package messenger is private messaging over the mix network: contacts made
// with invite codes or friend requests, texts written into the contact's
// BACAP mailbox stream and read from one's own, everything through exits on
// the client's behalf.
//
// A conversation is two BACAP streams, one per direction. The inviter makes
// both and hands the invitee, in the invite code, the read capability of
// its outgoing stream, the write capability of the return stream, a secret
// for the two hash ratchets and its identity key. The invitee's first box
// is a hello carrying its identity key, signed by it; from then on every
// frame is signed by its sender and sealed with a ratchet key
// (client/message). A friend request (intro.go) carries the same invite,
// sealed to the addressee's profile key, through their public intro set.
//
// Outgoing messages go through a persistent outbox (outbox.go) with
// delivery states queued, sent, acknowledged and failed. Writes are
// acknowledged by the exit once the box is on the replication quorum (the
// reply through the request's SURB is the ACK); a write with no ACK in time
// is sent again on a fresh path, up to MaxTries a round. A message whose
// round ends without an ACK waits for the next round (the network may be
// away); it fails only when it cannot be delivered: a final refusal, or no
// ACK within maxPending.
// Readers fetch boxes in index order, so messages arrive once and in order;
// a box the network lost is asked for again from its sender (gaps.go).
// Each confirmed contact also gets the read capability of the user's
// friends stream, which the social layer writes (friendscap.go).
// All state lives in the encrypted client store, so a restart neither loses
// nor repeats a message.
package messenger

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Tunables.
const (
	// MaxTries is how often one box is sent (or fetched) before the message
	// is reported failed. Each try waits client.ReplyTimeout for its ACK.
	MaxTries = 10
	boxTTL   = record.DefaultBoxTTL
	// maxPending is how long a message may wait for the network before it
	// is reported failed: its boxes would expire soon after.
	maxPending = boxTTL / 2
)

var boxContext = []byte("komrade messages v1")

const invitePrefix = "komrade-invite:"

// Invite is what an invite code carries. It is a secret: whoever holds it
// can become the contact.
type Invite struct {
	Identity []byte `cbor:"1,keyasint"` // inviter's Ed25519 public key
	ReadCap  []byte `cbor:"2,keyasint"` // inviter -> invitee stream
	WriteCap []byte `cbor:"3,keyasint"` // invitee -> inviter stream
	Secret   []byte `cbor:"4,keyasint"` // ratchet root
	// Eph is the inviter's ephemeral X25519 key: the hello answers with
	// another, and both chains are re-keyed with their shared secret, so
	// whoever later obtains the invite cannot read the conversation.
	Eph []byte `cbor:"5,keyasint"`
	// Sig is the inviter's signature of the rest (inviteContext ‖ the
	// encoding without Sig): a damaged code fails to verify before anything
	// is saved, and the capabilities are bound to the inviter's identity.
	Sig []byte `cbor:"6,keyasint,omitempty"`
}

var errOwnInvite = errors.New("messenger: this is your own invite: give it to the person you want to talk to")

// inviteContext separates invite signatures from every other signature.
const inviteContext = "komrade invite v1\x00"

// signedBytes is what an invite's signature covers.
func (inv *Invite) signedBytes() ([]byte, error) {
	c := *inv
	c.Sig = nil
	b, err := detcbor.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte(inviteContext), b...), nil
}

// ErrInviteUsed means someone already answered the invite: an invite
// opens one conversation, with one person.
var ErrInviteUsed = errors.New("messenger: this invite was already used by someone; ask for a new one")

// contact is the saved state of one conversation.
type contact struct {
	Name     string `cbor:"1,keyasint"`
	Identity []byte `cbor:"2,keyasint,omitempty"` // nil until the hello arrived
	OutWrite []byte `cbor:"3,keyasint"`           // our stream's write cap
	// Keys 4 and 7 held the streams' next indexes, which the ratchets'
	// Index fields already are. Stores written before 2026-11-25 have them:
	// they are read and ignored, and no longer written.
	RetiredOutNext uint64          `cbor:"4,keyasint,omitempty"`
	RetiredInNext  uint64          `cbor:"7,keyasint,omitempty"`
	OutChain       message.Ratchet `cbor:"5,keyasint"` // its Index is our next box's
	InRead         []byte          `cbor:"6,keyasint"` // their stream's read cap
	InChain        message.Ratchet `cbor:"8,keyasint"` // its Index is their next box's
	Inviter        bool            `cbor:"9,keyasint"` // we made the invite (we wait for a hello)
	Partial        [][]byte        `cbor:"10,keyasint,omitempty"`
	PartialID      []byte          `cbor:"11,keyasint,omitempty"`
	// Expect is the identity a friend request was sent to: its hello must
	// be signed by this key.
	Expect []byte `cbor:"12,keyasint,omitempty"`
	// EphPriv is the inviter's ephemeral X25519 key, until the hello.
	EphPriv []byte `cbor:"13,keyasint,omitempty"`
	// RekeyOut is the shared secret that re-keys the invitee's outgoing
	// chain once its hello (box 0) is acknowledged; then erased.
	RekeyOut []byte `cbor:"14,keyasint,omitempty"`
	// Skipped counts this contact's boxes that could not be read (they do
	// not open, do not decode, or make no sense): each is skipped once,
	// never retried, and shown to the user.
	Skipped uint64 `cbor:"15,keyasint,omitempty"`
	// Lost counts this contact's boxes that the network lost for good:
	// missing while a later one of the stream is stored, and not written
	// again by the sender (see gaps.go). The conversation goes on past
	// them; the user sees the count.
	Lost uint64 `cbor:"16,keyasint,omitempty"`
	// Gaps is what the conversation keeps about lost boxes, both ways
	// (gaps.go); nil when there is nothing.
	Gaps *gapState `cbor:"17,keyasint,omitempty"`
	// Friends are the read capabilities of the contact's friends stream
	// they gave us (friendscap.go), ordered by the box that carried them.
	Friends []friendsIn `cbor:"18,keyasint,omitempty"`
	// AskAnswered is when we last answered the contact's request for our
	// friends capability (unix seconds): one answer a day at most.
	AskAnswered int64 `cbor:"19,keyasint,omitempty"`
}

// Message is a received text.
type Message struct {
	From string
	Text string
	At   time.Time // when it arrived
	// Sent is when the sender says they wrote it (their clock: a claim),
	// zero when the message does not say.
	Sent time.Time
}

// Messenger sends and receives texts for one identity.
type Messenger struct {
	c   *client.Client
	id  *client.Identity
	st  *store.Store
	log *slog.Logger

	mu    sync.Mutex // serializes Invite, Accept and Request
	outMu sync.Mutex // one Deliver at a time

	chMu sync.Mutex
	ch   chan struct{} // closed at the next outbox change

	hellos atomic.Uint64 // hellos that confirmed a contact, since New
	tasks  atomic.Uint64 // reports and re-writes that receiving gave Deliver, since New
	tries  int           // tries per round of a request (MaxTries)
	puts   atomic.Uint64 // box writes sent (every try of putWithRetry), since New

	probeMu    sync.Mutex
	probed     map[string]time.Time // when each contact's stream was last probed for a gap
	probeEvery time.Duration
	holdFor    time.Duration // how long a skipped box's key is kept (holdFor in gaps.go)

	arrived atomic.Pointer[func(Message)] // see OnArrival
}

// OnArrival sets f to be called with each message as soon as it is saved in
// the inbox, before the Receive that read it returns (Receive goes on to
// fetch the contact's next box first). f runs on the receiving goroutine and
// must not block; nil removes it.
func (m *Messenger) OnArrival(f func(Message)) {
	if f == nil {
		m.arrived.Store(nil)
		return
	}
	m.arrived.Store(&f)
}

// announce hands saved messages to the OnArrival function.
func (m *Messenger) announce(msgs ...Message) {
	if f := m.arrived.Load(); f != nil {
		for _, g := range msgs {
			(*f)(g)
		}
	}
}

// receiveParallel is how many contacts' mailboxes are read at once. Each
// read waits for its own λP slot, so reading contacts one after another
// made a message from the last of n contacts wait n round trips.
const receiveParallel = 8

// Hellos counts the contacts a hello has confirmed since New: messages
// queued for them can leave now.
func (m *Messenger) Hellos() uint64 { return m.hellos.Load() }

// Tasks counts, since New, the times receiving gave Deliver something to
// do: a report to send about lost boxes, a lost box to write again, or our
// friends capability to send again to a contact who asked.
func (m *Messenger) Tasks() uint64 { return m.tasks.Load() }

// New returns a messenger using client c (connected to a gateway), the
// unlocked identity and the open store.
func New(c *client.Client, id *client.Identity, st *store.Store, log *slog.Logger) *Messenger {
	if log == nil {
		log = slog.Default()
	}
	return &Messenger{c: c, id: id, st: st, log: log, tries: MaxTries, probed: map[string]time.Time{}, probeEvery: probeEvery, holdFor: holdFor}
}

var dec = detcbor.NewDecoder(message.MaxParts+4, 4)

func (m *Messenger) load(name string) (*contact, error) {
	var c *contact
	err := m.st.View(func(tx *store.Tx) error {
		var err error
		c, err = loadTx(tx, name)
		return err
	})
	return c, err
}

// loadTx reads contact name inside a transaction.
func loadTx(tx *store.Tx, name string) (*contact, error) {
	return getTx[contact](tx, "contacts", name, fmt.Sprintf("contact %q", name))
}

// getTx reads and decodes the value at bucket/key; what names it in errors.
func getTx[T any](tx *store.Tx, bucket, key, what string) (*T, error) {
	b, err := tx.Get(bucket, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("messenger: no %s", what)
		}
		return nil, err
	}
	var v T
	if err := dec.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("messenger: %s damaged: %w", what, err)
	}
	return &v, nil
}

func (m *Messenger) save(tx *store.Tx, c *contact) error {
	c.RetiredOutNext, c.RetiredInNext = 0, 0
	if c.Gaps != nil && c.Gaps.empty() {
		c.Gaps = nil
	}
	b, err := detcbor.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Put("contacts", c.Name, b)
}

// Contacts lists contact names with their fingerprints ("" while the
// contact has not answered an invite yet).
func (m *Messenger) Contacts() (map[string]string, error) {
	out := map[string]string{}
	err := m.st.View(func(tx *store.Tx) error {
		return tx.List("contacts", func(name string, v []byte) error {
			var c contact
			if err := dec.Unmarshal(v, &c); err != nil {
				return err
			}
			if len(c.Identity) == ed25519.PublicKeySize {
				out[name] = client.Fingerprint(c.Identity)
			} else {
				out[name] = ""
			}
			return nil
		})
	})
	return out, err
}

// MaxNameLength bounds a contact's name, in characters.
const MaxNameLength = 64

// CheckName reports whether name can name a contact: 1 to MaxNameLength
// printable characters without "/" (which separates a contact's name from
// a message index in the store) and without spaces at either end.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("messenger: a contact needs a name")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Errorf("messenger: a contact's name is at most %d characters of UTF-8", MaxNameLength)
	case strings.Contains(name, "/"):
		return errors.New(`messenger: a contact's name cannot contain "/"`)
	case strings.TrimSpace(name) != name:
		return errors.New("messenger: a contact's name cannot start or end with a space")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) && r != ' ' {
			return fmt.Errorf("messenger: a contact's name cannot contain %U", r)
		}
	}
	return nil
}

// Invite creates a contact named name and returns the invite code to give
// them (in person, or over a channel you trust: it is a secret).
func (m *Messenger) Invite(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.st.Get("contacts", name); err == nil {
		return "", fmt.Errorf("messenger: contact %q exists", name)
	}
	c, inv, err := m.newInviterContact(name)
	if err != nil {
		return "", err
	}
	if err := m.st.Update(func(tx *store.Tx) error { return m.save(tx, c) }); err != nil {
		return "", err
	}
	b, err := detcbor.Marshal(inv)
	if err != nil {
		return "", err
	}
	return invitePrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// newInviterContact makes the two streams and ratchets of a new
// conversation started by us, and the invite that hands the other side its
// half. Nothing is saved.
func (m *Messenger) newInviterContact(name string) (*contact, *Invite, error) {
	out, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	back, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	outW, _ := out.MarshalBinary()
	outR, _ := out.ReadCap().MarshalBinary()
	backW, _ := back.MarshalBinary()
	backR, _ := back.ReadCap().MarshalBinary()
	oc, err := message.NewRatchet(secret, "inviter->invitee")
	if err != nil {
		return nil, nil, err
	}
	ic, _ := message.NewRatchet(secret, "invitee->inviter")
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	c := &contact{Name: name, OutWrite: outW, OutChain: *oc, InRead: backR, InChain: *ic, Inviter: true, EphPriv: eph.Bytes()}
	inv := &Invite{Identity: m.id.Sign.Public().(ed25519.PublicKey), ReadCap: outR, WriteCap: backW, Secret: secret,
		Eph: eph.PublicKey().Bytes()}
	msg, err := inv.signedBytes()
	if err != nil {
		return nil, nil, err
	}
	inv.Sig = ed25519.Sign(m.id.Sign, msg)
	return c, inv, nil
}

// sent records that c's next outgoing box is stored: the stream and the
// ratchet advance, and once the invitee's hello (box 0) is stored its
// outgoing chain is re-keyed.
func (c *contact) sent() error {
	c.OutChain.Next()
	if c.OutChain.Index == 1 && c.RekeyOut != nil {
		if err := c.OutChain.Rekey(c.RekeyOut); err != nil {
			return err
		}
		c.RekeyOut = nil
	}
	return nil
}

// awaiting reports whether c is our invite or request that has not been
// answered: nothing is sent to it before the hello re-keys the chains.
func (c *contact) awaiting() bool { return c.Inviter && c.Identity == nil }

// inviteeRekey prepares the invitee's side of the re-keying: a fresh
// ephemeral key, the shared secret with the inviter's, the incoming chain
// re-keyed at once (the inviter sends nothing before the hello) and the
// outgoing one after the hello. It returns the hello's body: identity key,
// then the ephemeral public key.
func inviteeRekey(identity ed25519.PublicKey, inv *Invite, c *contact) ([]byte, error) {
	peer, err := ecdh.X25519().NewPublicKey(inv.Eph)
	if err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	dh, err := eph.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	if err := c.InChain.Rekey(dh); err != nil {
		return nil, err
	}
	c.RekeyOut = dh
	return append(bytes.Clone(identity), eph.PublicKey().Bytes()...), nil
}

// helloRekey is the inviter's side, when the hello (box 0 of the incoming
// stream, already read) arrives: both chains are re-keyed and the ephemeral
// key erased.
func (c *contact) helloRekey(body []byte) error {
	if len(body) != 2*ed25519.PublicKeySize || len(c.EphPriv) == 0 {
		return errors.New("hello without an ephemeral key")
	}
	priv, err := ecdh.X25519().NewPrivateKey(c.EphPriv)
	if err != nil {
		return err
	}
	peer, err := ecdh.X25519().NewPublicKey(body[ed25519.PublicKeySize:])
	if err != nil {
		return err
	}
	dh, err := priv.ECDH(peer)
	if err != nil {
		return err
	}
	if err := c.InChain.Rekey(dh); err != nil {
		return err
	}
	if err := c.OutChain.Rekey(dh); err != nil {
		return err
	}
	c.EphPriv = nil
	return nil
}

// ParseInvite decodes an invite code.
func ParseInvite(code string) (*Invite, error) {
	code = strings.TrimSpace(code)
	if !strings.HasPrefix(code, invitePrefix) || len(code) > 4096 {
		return nil, errors.New("messenger: not a Komrade invite code")
	}
	b, err := base64.RawURLEncoding.DecodeString(code[len(invitePrefix):])
	if err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	return parseInviteBytes(b)
}

// parseInviteBytes decodes and checks an encoded Invite.
func parseInviteBytes(b []byte) (*Invite, error) {
	var inv Invite
	if err := dec.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	if len(inv.Identity) != ed25519.PublicKeySize || len(inv.Secret) != 32 || len(inv.Eph) != 32 {
		return nil, errors.New("messenger: invite code damaged")
	}
	msg, err := inv.signedBytes()
	if err != nil || len(inv.Sig) != ed25519.SignatureSize || !ed25519.Verify(inv.Identity, msg, inv.Sig) {
		return nil, errors.New("messenger: invite code damaged (its signature does not verify; check that it was copied whole)")
	}
	// A read capability whose key is no curve point would panic the
	// daemon at the first box id derived from it: the inviter may be
	// hostile, so check before anything is saved.
	if err := message.CheckReadCap(inv.ReadCap); err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	if _, err := bacap.NewWriteCapFromBytes(inv.WriteCap); err != nil {
		return nil, fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	return &inv, nil
}

// Accept adds the inviter as contact name and sends the hello that
// completes the exchange. It returns once the hello is acknowledged; if that
// fails, the contact exists and the hello stays in the outbox.
func (m *Messenger) Accept(ctx context.Context, code, name string) error {
	inv, err := ParseInvite(code)
	if err != nil {
		return err
	}
	if bytes.Equal(inv.Identity, m.id.Sign.Public().(ed25519.PublicKey)) {
		return errOwnInvite
	}
	if err := m.checkUnused(ctx, inv); err != nil {
		return err
	}
	id, err := m.accept(inv, name, "")
	if err != nil {
		return err
	}
	return m.deliverAndWait(ctx, id)
}

// checkUnused reads the first box of the invite's answer stream: if it is
// filled, someone answered the invite already, and writing there would
// only lose messages (boxes are first-writer-wins, see record.BoxValidator).
func (m *Messenger) checkUnused(ctx context.Context, inv *Invite) error {
	wc, err := bacap.NewWriteCapFromBytes(inv.WriteCap)
	if err != nil {
		return fmt.Errorf("messenger: invite code damaged: %w", err)
	}
	idx, err := boxIndex(wc, 0)
	if err != nil {
		return err
	}
	id := *(*[32]byte)(idx.BoxIDForContext(wc.ReadCap(), boxContext).Bytes())
	err = m.retry(ctx, func(c context.Context) error {
		_, err := m.c.GetBox(c, id)
		return err
	})
	switch {
	case err == nil:
		return ErrInviteUsed
	case errors.Is(err, wire.ErrNotFound):
		return nil
	}
	return fmt.Errorf("messenger: cannot check the invite: %w", err)
}

// accept saves the contact for inv and queues its hello, in one
// transaction; for a friend request (requestID set) the request is deleted
// in it too, and an unanswered request of ours to the same person under
// the same name (requests that crossed) is replaced.
func (m *Messenger) accept(inv *Invite, name, requestID string) (helloID uint64, err error) {
	if err := CheckName(name); err != nil {
		return 0, err
	}
	if bytes.Equal(inv.Identity, m.id.Sign.Public().(ed25519.PublicKey)) {
		return 0, errOwnInvite
	}
	oc, _ := message.NewRatchet(inv.Secret, "invitee->inviter")
	ic, _ := message.NewRatchet(inv.Secret, "inviter->invitee")
	c := &contact{Name: name, Identity: inv.Identity, OutWrite: inv.WriteCap, OutChain: *oc, InRead: inv.ReadCap, InChain: *ic}
	helloBody, err := inviteeRekey(m.id.Sign.Public().(ed25519.PublicKey), inv, c)
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	err = m.st.Update(func(tx *store.Tx) error {
		if known, err := identityKnown(tx, inv.Identity); err != nil || known {
			if err == nil {
				err = errors.New("messenger: this person is already a contact")
			}
			return err
		}
		if old, err := loadTx(tx, name); err == nil {
			crossed := requestID != "" && old.Identity == nil && bytes.Equal(old.Expect, inv.Identity)
			if !crossed {
				return fmt.Errorf("messenger: contact %q exists", name)
			}
		}
		if err := m.save(tx, c); err != nil {
			return err
		}
		if requestID != "" {
			if err := tx.Delete("requests", requestID); err != nil {
				return err
			}
		}
		hello, err := queue(tx, name, message.KindHello, helloBody)
		if err != nil {
			return err
		}
		helloID = hello.ID
		// The inviter is confirmed (the invite is signed): our friends
		// stream's capability follows the hello.
		return giveFriendsCap(tx, name)
	})
	if err == nil {
		m.changed()
	}
	return helloID, err
}

func boxIndex(cap interface {
	GetFirstMessageBoxIndex() *bacap.MessageBoxIndex
}, n uint64) (*bacap.MessageBoxIndex, error) {
	first := cap.GetFirstMessageBoxIndex()
	return first.AdvanceIndexTo(first.Idx64 + n)
}

// putWithRetry is the ARQ: each attempt goes on a fresh random path and
// waits for the exit's ACK; a lost request or reply is sent again.
func (m *Messenger) putWithRetry(ctx context.Context, id [32]byte, val []byte) error {
	return m.retry(ctx, func(c context.Context) error {
		m.puts.Add(1)
		_, err := m.c.PutBox(c, id, val)
		return err
	})
}

// Fingerprint is the user's own fingerprint.
func (m *Messenger) Fingerprint() string { return m.id.Fingerprint() }

// DecodeInboxEntry decodes a message saved in the store's "inbox" bucket.
func DecodeInboxEntry(b []byte) (*Message, error) {
	var e struct {
		_    struct{} `cbor:",toarray"`
		From string
		Text string
		At   int64
		Sent int64 // absent in entries saved before messages were dated
	}
	if err := dec.Unmarshal(b, &e); err != nil {
		var old struct {
			_    struct{} `cbor:",toarray"`
			From string
			Text string
			At   int64
		}
		if dec.Unmarshal(b, &old) != nil {
			return nil, fmt.Errorf("messenger: inbox entry damaged: %w", err)
		}
		e.From, e.Text, e.At = old.From, old.Text, old.At
	}
	m := &Message{From: e.From, Text: e.Text, At: time.Unix(e.At, 0)}
	if e.Sent != 0 {
		m.Sent = time.Unix(e.Sent, 0)
	}
	return m, nil
}

// Receive fetches every new box of every contact and returns the complete
// texts, oldest first per contact.
func (m *Messenger) Receive(ctx context.Context) ([]Message, error) {
	names, err := m.Contacts()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	// Contacts are read concurrently (receiveFrom saves each box only if
	// nobody else took it); results are returned in name order.
	results := make([][]Message, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, receiveParallel)
	var wg sync.WaitGroup
	for i, n := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = m.receiveFrom(ctx, n)
		}()
	}
	wg.Wait()
	var out []Message
	for _, r := range results {
		out = append(out, r...)
	}
	return out, errors.Join(errs...)
}

// errRaced ends a receive whose contact changed while its box was fetched.
var errRaced = errors.New("messenger: contact changed during receive")

// receiveFrom fetches name's boxes from the next index on. It holds no lock
// across the network: each box's result is saved only if the contact still
// waits for that box (another receive may have taken it, or accepting a
// crossed request replaced the contact); otherwise it stops.
func (m *Messenger) receiveFrom(ctx context.Context, name string) ([]Message, error) {
	var out []Message
	for ctx.Err() == nil {
		c, err := m.load(name)
		if err != nil {
			return out, err
		}
		rc, err := bacap.ReadCapFromBytes(c.InRead)
		if err != nil {
			return out, err
		}
		idx, err := boxIndex(rc, c.InChain.Index)
		if err != nil {
			return out, err
		}
		id := *(*[32]byte)(idx.BoxIDForContext(rc, boxContext).Bytes())
		var box *record.Box
		err = m.retry(ctx, func(c context.Context) error {
			var err error
			box, err = m.c.GetBox(c, id)
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			late, skip, err := m.probeGap(ctx, name, rc, c.InChain.Index, id)
			out = append(out, late...)
			m.announce(late...)
			if err != nil || skip == 0 {
				return out, err // nothing new
			}
			if err := m.skipLost(name, c, skip); err != nil {
				if errors.Is(err, errRaced) {
					return out, nil
				}
				return out, err
			}
			continue
		}
		if err != nil {
			return out, err
		}
		i, key := c.InChain.Next()
		got, rekeyed, fx, err := m.readBox(c, name, i, key, id, box, false)
		if err != nil {
			// A box we cannot read is skipped (and its index with it), never
			// retried; the user sees the count. Nothing of it is logged but
			// the fact.
			c.Skipped++
			m.log.Warn("unreadable box skipped", "contact", name, "err", err)
		}
		err = m.st.Update(func(tx *store.Tx) error {
			if got != nil {
				var sent int64
				if !got.Sent.IsZero() {
					sent = got.Sent.Unix()
				}
				b, _ := detcbor.Marshal([]any{got.From, got.Text, got.At.Unix(), sent})
				if err := tx.Put("inbox", fmt.Sprintf("%s/%020d", name, c.InChain.Index), b); err != nil {
					return err
				}
			}
			// Deliver advances the outgoing fields meanwhile: keep them.
			now, err := loadTx(tx, name)
			if err != nil {
				return err
			}
			if now.InChain.Index != i || !bytes.Equal(now.InRead, c.InRead) {
				return errRaced
			}
			now.Identity, now.InChain, now.Partial, now.PartialID, now.Skipped = c.Identity, c.InChain, c.Partial, c.PartialID, c.Skipped
			now.keepReading(c)
			if rekeyed { // nothing was sent while awaiting the hello
				now.OutChain, now.EphPriv = c.OutChain, nil
			}
			if fx != nil {
				if err := fx(tx, now); err != nil {
					return err
				}
			}
			return m.save(tx, now)
		})
		if errors.Is(err, errRaced) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if rekeyed {
			m.hellos.Add(1)
		}
		if got != nil {
			out = append(out, *got)
			m.announce(*got)
		}
	}
	return out, ctx.Err()
}

// readBox opens and interprets box i of c's incoming stream; late is set
// for a box read after later ones (a lost box written again, gaps.go).
// Whatever the box holds (it comes from another person), it returns an
// error rather than stop the daemon: a panic while reading it is an error
// too. fx, when set, is what a report in the box asks for, to be done in
// the transaction that saves the contact (now, as saved).
func (m *Messenger) readBox(c *contact, name string, i uint64, key [32]byte, id [32]byte, box *record.Box, late bool) (got *Message, rekeyed bool, fx txEffect, err error) {
	partial, partialID := c.Partial, c.PartialID
	var stash []stashedPart
	held, lost := c.heldCopy(), c.Lost
	if c.Gaps != nil {
		stash = slices.Clone(c.Gaps.Stash)
	}
	defer func() {
		if r := recover(); r != nil {
			got, rekeyed, fx, err = nil, false, nil, fmt.Errorf("reading the box failed: %v", r)
		}
		if err != nil {
			// A box skipped as unreadable must not cost the message in
			// progress its parts.
			c.Partial, c.PartialID, c.Lost = partial, partialID, lost
			if c.Gaps != nil {
				c.Gaps.Stash, c.Gaps.Held = stash, held
			}
		}
	}()
	pt, err := message.Open(key, id[:], box.Blob)
	if err != nil {
		return nil, false, nil, err
	}
	var sender ed25519.PublicKey
	switch {
	case len(c.Identity) == ed25519.PublicKeySize:
		sender = c.Identity
	case len(c.Expect) == ed25519.PublicKeySize:
		sender = c.Expect // only the addressee of our request may answer
	}
	f, err := message.Decode(pt, i, sender)
	if err != nil {
		return nil, false, nil, err
	}
	switch f.Kind {
	case message.KindHello:
		who := f.Body[:ed25519.PublicKeySize] // Decode checked the length
		if late || !c.awaiting() || (c.Expect != nil && !bytes.Equal(c.Expect, who)) {
			return nil, false, nil, nil // a hello we do not wait for: nothing to do
		}
		if err := c.helloRekey(f.Body); err != nil {
			return nil, false, nil, fmt.Errorf("bad hello: %w", err)
		}
		c.Identity = bytes.Clone(who)
		// Confirmed: our friends stream's capability goes to them.
		return nil, true, func(tx *store.Tx, _ *contact) error { return giveFriendsCap(tx, name) }, nil
	case message.KindReport:
		r, err := message.DecodeReport(f.Body)
		if err != nil {
			return nil, false, nil, fmt.Errorf("bad report: %w", err)
		}
		return nil, false, m.onReport(c, name, r), nil
	case message.KindFriendsCap:
		fc, err := message.DecodeFriendsCap(f.Body)
		if err != nil {
			return nil, false, nil, fmt.Errorf("bad friends capability: %w", err)
		}
		return nil, false, m.onFriendsCap(name, i, fc), nil
	case message.KindEvent:
		return nil, false, m.onEvent(name, f.Body), nil
	}
	text, done, err := m.reassemble(c, f, late)
	if err != nil {
		return nil, false, nil, fmt.Errorf("bad frame: %w", err)
	}
	if done {
		got = &Message{From: name, Text: string(text), At: time.Now()}
		if f.Kind == message.KindTextAt {
			if len(text) < 8 {
				return nil, false, nil, errors.New("bad frame: a dated text without its date")
			}
			got.Sent = time.Unix(int64(binary.BigEndian.Uint64(text)), 0)
			got.Text = string(text[8:])
		}
	}
	return got, false, nil, nil
}

// Skipped returns, by contact, how many of their boxes could not be read
// (skipped) and how many the network lost (lost).
func (m *Messenger) Skipped() (skipped, lost map[string]uint64, err error) {
	skipped, lost = map[string]uint64{}, map[string]uint64{}
	err = m.st.View(func(tx *store.Tx) error {
		return tx.List("contacts", func(name string, v []byte) error {
			var c contact
			if err := dec.Unmarshal(v, &c); err != nil {
				return err
			}
			if c.Skipped > 0 {
				skipped[name] = c.Skipped
			}
			if c.Lost > 0 {
				lost[name] = c.Lost
			}
			return nil
		})
	})
	return skipped, lost, err
}

// reassemble keeps the parts of the message in progress in the contact's
// state, so a restart in the middle of a long message loses nothing. While
// boxes are held (gaps.go), parts that a late box may complete go to the
// stash instead of being dropped: a late part, a part of a stashed message,
// or the message in progress when another one starts.
func (m *Messenger) reassemble(c *contact, f *message.Frame, late bool) ([]byte, bool, error) {
	switch {
	case bytes.Equal(c.PartialID, f.ID[:]):
	case late || c.stashed(f.ID):
		return c.stashPart(f)
	default:
		if c.Partial != nil && c.Gaps != nil && len(c.Gaps.Held) > 0 {
			c.stash(c.PartialID, c.Partial)
		}
		c.PartialID, c.Partial = f.ID[:], make([][]byte, f.Parts)
	}
	if len(c.Partial) != f.Parts {
		return nil, false, errors.New("part count changed")
	}
	c.Partial[f.Part] = f.Body
	var text []byte
	for _, p := range c.Partial {
		if p == nil {
			return nil, false, nil
		}
		text = append(text, p...)
	}
	c.Partial, c.PartialID = nil, nil
	return text, true, nil
}
