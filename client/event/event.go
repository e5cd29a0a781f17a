// Package event is Komrade's events: what a host publishes (a signed
// record of the event's own key), how invitees learn of an invite-only
// event (a message to each), RSVPs that only the host can read, updates
// and cancellation that only the event's key can sign, and the feed post
// that announces a public event. docs/events.md describes the formats and
// who learns what.
//
// An event is the record /kprof/<event key>: a profile record (highest
// Seq wins) signed by an Ed25519 key made for this event alone, whose body
// is an Envelope holding the Body (public) or the Body sealed with
// XChaCha20-Poly1305 under a random read key (invite-only). The host keeps
// the event's keys in the encrypted store; an update or a cancellation is
// a new Seq of the record. Readers refuse any record not signed by the
// event's key, and any Seq lower than one they have read.
//
// RSVPs are items of the set ("rsvp", event id), each under a nullifier
// (a client derives its own from the user's vote secret and the event id,
// so a new answer replaces the last), with the network's proof-of-work;
// the body is sealed to the event's X25519 RSVP key, so only the host
// reads the answers. A nullifier is its sender's choice: the host counts
// an invite-only event's answers once per named attendee, and a public
// event's once per nullifier, which only the work bounds.
package event

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Buckets of the local store.
const (
	bucketHost   = "event-host"   // events we host: their keys (hostRec)
	bucketKnown  = "event-known"  // events we were invited to or read (knownRec)
	bucketMyRSVP = "event-myrsvp" // our last RSVP to an event (myRSVP)
)

// rsvpNamespace is the set namespace of RSVPs.
const rsvpNamespace = "rsvp"

// DefaultRadiusM is the radius of a public event's area announcement when
// none is given.
const DefaultRadiusM = 5000

// maxRSVPPages bounds the host's reading of one event's RSVP set: its cap
// (2000 items by default) in pages of scanLimit, and some more.
const (
	scanLimit    = 16
	maxRSVPPages = 160
)

// Events is one user's events: those they host and those they were
// invited to or read.
type Events struct {
	c   *client.Client
	id  *client.Identity
	st  *store.Store
	m   *messenger.Messenger
	s   *social.Social
	log *slog.Logger

	mu sync.Mutex // one change to a hosted event's record at a time
}

// New returns the events of a user.
func New(c *client.Client, id *client.Identity, st *store.Store, m *messenger.Messenger, s *social.Social, log *slog.Logger) *Events {
	if log == nil {
		log = slog.Default()
	}
	return &Events{c: c, id: id, st: st, m: m, s: s, log: log}
}

func (e *Events) retry(ctx context.Context, f func(context.Context) error) error {
	return e.c.Retry(ctx, messenger.MaxTries, f)
}

// hostRec is an event we host (bucket event-host, key the id in hex).
type hostRec struct {
	Seed     []byte   `cbor:"1,keyasint"`           // the event key's Ed25519 seed
	ReadKey  []byte   `cbor:"2,keyasint,omitempty"` // invite-only
	RSVPPriv []byte   `cbor:"3,keyasint"`           // X25519 private key
	Seq      uint64   `cbor:"4,keyasint"`
	Body     []byte   `cbor:"5,keyasint"` // the current Body's encoding
	Invited  []string `cbor:"6,keyasint,omitempty"`
	Post     []byte   `cbor:"7,keyasint,omitempty"` // the announcement's post id
}

// knownRec is an event we were invited to or read (bucket event-known).
type knownRec struct {
	ReadKey   []byte `cbor:"1,keyasint,omitempty"`
	InvitedBy string `cbor:"2,keyasint,omitempty"` // the contact who invited us
	Seq       uint64 `cbor:"3,keyasint,omitempty"` // the highest Seq read
	Body      []byte `cbor:"4,keyasint,omitempty"` // its Body's encoding
	Sealed    bool   `cbor:"5,keyasint,omitempty"`
	// Expires (the record's expiry) was written by earlier versions and
	// is never read; the field stays so that their records still decode
	// (localDec refuses unknown fields).
	Expires int64 `cbor:"6,keyasint,omitempty"`
	Invited int64 `cbor:"7,keyasint,omitempty"` // when the invitation came
	// Others are the keys of other senders' invitations, while the record
	// is not read yet (Seq 0): Read keeps the key that opens it (offer).
	Others []candidate `cbor:"8,keyasint,omitempty"`
}

// maxReadKeys bounds the read keys kept for an event not read yet.
const maxReadKeys = 4

// candidate is an invitation's read key: who sent it and when it came.
type candidate struct {
	ReadKey []byte `cbor:"1,keyasint"`
	From    string `cbor:"2,keyasint"`
	At      int64  `cbor:"3,keyasint"`
}

// offer takes an invitation's read key for k's event. A key that opened
// the record stays: an event's read key never changes, and any contact who
// knows the id could send another one, which would make every update
// unreadable. Until the record is read, each sender's latest key is kept
// (at most maxReadKeys, first come; the first in ReadKey and InvitedBy):
// a wrong key sent by a contact who knows the id neither replaces the
// host's nor is taken for it, since Read keeps the key that opens the
// record, and its sender as InvitedBy.
func (k *knownRec) offer(key []byte, from string, at int64) {
	switch {
	case k.ReadKey == nil: // the first invitation, or a public event read
		k.ReadKey, k.InvitedBy, k.Invited = key, from, at
		return
	case k.Seq > 0:
		return
	case k.InvitedBy == from:
		k.ReadKey, k.Invited = key, at
		return
	case bytes.Equal(k.ReadKey, key):
		return
	}
	for i, c := range k.Others {
		switch {
		case c.From == from:
			k.Others[i] = candidate{ReadKey: key, From: from, At: at}
			return
		case bytes.Equal(c.ReadKey, key):
			return
		}
	}
	if 1+len(k.Others) < maxReadKeys {
		k.Others = append(k.Others, candidate{ReadKey: key, From: from, At: at})
	}
}

// candidates are the read keys to try on k's event's record: the one that
// opened it, or every invitation's while it is not read yet.
func (k *knownRec) candidates() []candidate {
	if k.ReadKey == nil {
		return nil
	}
	out := []candidate{{ReadKey: k.ReadKey, From: k.InvitedBy, At: k.Invited}}
	if k.Seq == 0 {
		out = append(out, k.Others...)
	}
	return out
}

// openWith opens raw as event id's record with the first of keys that
// opens it (without a key if there are none), and returns that key.
func openWith(id ID, raw []byte, keys []candidate, powBits int) (*Record, candidate, error) {
	if len(keys) == 0 {
		keys = []candidate{{}}
	}
	var first error
	for _, c := range keys {
		rec, err := Open(id, raw, c.ReadKey, powBits)
		if err == nil {
			return rec, c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, candidate{}, first
}

// myRSVP is our last RSVP to an event (bucket event-myrsvp).
type myRSVP struct {
	Answer Answer `cbor:"1,keyasint"`
	Exp    int64  `cbor:"2,keyasint"`
}

var localDec = detcbor.NewDecoder(4096, 4)

func getLocal[T any](tx *store.Tx, bucket string, id ID) (*T, error) {
	b, err := tx.Get(bucket, id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := localDec.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("event: local %s damaged: %w", bucket, err)
	}
	return &v, nil
}

func putLocal(tx *store.Tx, bucket string, id ID, v any) error {
	b, err := detcbor.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(bucket, id.String(), b)
}

// CreateOptions are what an event says and who may read it.
type CreateOptions struct {
	Title string
	When  time.Time
	Where string
	// Near, if set, is published snapped to the centre of its cell of
	// about 150 m (geo.Snap); a public event with a place is announced in
	// the area feed (RadiusM around it, DefaultRadiusM if 0), one without
	// in the world feed.
	Near    *geo.Point
	RadiusM float64
	// Anonymous events name no host: proof-of-work replaces the host's
	// signature, and the announcement is an anonymous post.
	Anonymous bool
	// Public events are readable by anyone who has the id, and announced
	// in a feed; others are invite-only: Invite names the contacts who
	// get the invitation.
	Public bool
	Invite []string
}

// Created is what Create did.
type Created struct {
	ID ID
	// Announcement is the public event's feed post.
	Announcement *social.PostID
	// Invited are the contacts whose invitation is queued (it goes out
	// with their next messages).
	Invited []string
}

// expiry is when an event's record expires: a public event's a day after
// the event (at most record.MaxTTL from now, less an hour for clocks); an
// invite-only event's always that longest lifetime from now, so that its
// record does not tell a non-invitee when the event is.
func expiry(when, now time.Time, sealed bool) time.Time {
	lim := now.Add(record.MaxTTL - time.Hour)
	exp := when.Add(After)
	if sealed || exp.After(lim) {
		return lim
	}
	if !exp.After(now) { // an update after the event
		return now.Add(After)
	}
	return exp
}

func checkWhen(when, now time.Time) error {
	switch {
	case when.Before(now.Add(-time.Hour)):
		return errors.New("the event's time is in the past")
	case when.After(now.Add(MaxAhead)):
		return fmt.Errorf("the event's time is more than %d days ahead; publish it later", int(MaxAhead/(24*time.Hour)))
	}
	return nil
}

func snapPoint(p *geo.Point) (*Point, error) {
	if p == nil {
		return nil, nil
	}
	c, _, err := geo.Snap(*p, 0)
	if err != nil {
		return nil, fmt.Errorf("the event's place: %w", err)
	}
	return &Point{LatE6: int32(math.Round(c.Lat * 1e6)), LonE6: int32(math.Round(c.Lon * 1e6))}, nil
}

// checkInput checks what the user gave, with reasons a user reads.
func checkInput(b *Body) error {
	if err := CheckText("title", b.Title, MaxTitleChars, MaxTitleBytes); err != nil {
		return err
	}
	if err := CheckText("place (--where)", b.Where, MaxWhereChars, MaxWhereBytes); err != nil {
		return err
	}
	return b.check()
}

// Create makes an event and publishes it: its record, the invitations
// (queued to each invitee) or, for a public event, its announcement in
// the world or area feed. The event's keys are kept in the encrypted store
// before anything is published.
func (e *Events) Create(ctx context.Context, o CreateOptions) (*Created, error) {
	now := time.Now()
	if o.Public && len(o.Invite) > 0 {
		return nil, errors.New("an event is public or invite-only: not both --public and --invite")
	}
	if !o.Public && len(o.Invite) == 0 {
		return nil, errors.New("an invite-only event needs at least one contact to invite (--invite NAME), or --public")
	}
	if o.Near == nil && o.RadiusM != 0 {
		return nil, errors.New("a radius is for an event with a place (--near)")
	}
	if o.RadiusM < 0 || o.RadiusM > social.MaxAreaRadiusM {
		return nil, fmt.Errorf("the announcement's radius is at most %d km", social.MaxAreaRadiusM/1000)
	}
	if err := checkWhen(o.When, now); err != nil {
		return nil, err
	}
	for _, n := range o.Invite {
		if _, err := e.m.ContactIdentity(n); err != nil {
			return nil, fmt.Errorf("--invite %s: %w", n, err)
		}
	}
	near, err := snapPoint(o.Near)
	if err != nil {
		return nil, err
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var id ID
	copy(id[:], pub)
	rk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	body := &Body{Title: o.Title, When: o.When.Unix(), Where: o.Where, Near: near, RSVPKey: rk.PublicKey().Bytes()}
	if err := checkInput(body); err != nil {
		return nil, err
	}
	if o.Anonymous {
		// Offline since start, the client has no parameters yet: work
		// at 0 bits would be stored and then refused by every reader.
		if _, ok := e.c.Params().SetRules()["rsvp"]; !ok {
			return nil, errors.New("event: the network's parameters are not known yet (no gateway has answered); try again when the daemon is online")
		}
		nonce, err := wire.SolvePoW(ctx, powPrefix(id), e.c.Params().PoWBits)
		if err != nil {
			return nil, fmt.Errorf("event: proof-of-work: %w", err)
		}
		body.Nonce = nonce
	} else {
		body.hostSign(id, e.id.Sign)
	}
	bb, err := EncodeBody(body)
	if err != nil {
		return nil, err
	}
	h := &hostRec{Seed: key.Seed(), RSVPPriv: rk.Bytes(), Seq: 1, Body: bb, Invited: o.Invite}
	if !o.Public {
		h.ReadKey = make([]byte, 32)
		if _, err := rand.Read(h.ReadKey); err != nil {
			return nil, err
		}
	}
	rec, err := build(key, h.Seq, expiry(o.When, now, h.ReadKey != nil), body, h.ReadKey)
	if err != nil {
		return nil, err
	}
	if err := e.st.Update(func(tx *store.Tx) error { return putLocal(tx, bucketHost, id, h) }); err != nil {
		return nil, err
	}
	if err := e.put(ctx, id, rec); err != nil {
		// Nothing published: the keys go too.
		if derr := e.st.Update(func(tx *store.Tx) error { return tx.Delete(bucketHost, id.String()) }); derr != nil {
			e.log.Warn("event: forgetting an unpublished event", "err", derr)
		}
		return nil, err
	}
	out := &Created{ID: id}
	for _, n := range o.Invite {
		inv, err := EncodeInvitation(&Invitation{Event: id[:], ReadKey: h.ReadKey})
		if err != nil {
			return out, err
		}
		if _, err := e.m.QueueEvent(n, inv); err != nil {
			return out, fmt.Errorf("event %s published; the invitation to %s: %w", id, n, err)
		}
		out.Invited = append(out.Invited, n)
	}
	if o.Public {
		pid, err := e.announce(ctx, id, body, o)
		if err != nil {
			return out, fmt.Errorf("event %s published; its announcement in the feed failed (the event stands; share its id): %w", id, err)
		}
		out.Announcement = &pid
		if err := e.st.Update(func(tx *store.Tx) error {
			h.Post = pid[:]
			return putLocal(tx, bucketHost, id, h)
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Invite invites more contacts to an invite-only event the user hosts:
// each gets the same invitation as at creation (the event's id and read
// key), in their conversation. It returns the names invited now; a name
// invited before is invited again (the invitation may have been lost with
// a device). A public event needs no invitation: anyone with its id reads
// it.
func (e *Events) Invite(id ID, names []string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var h *hostRec
	if err := e.st.View(func(tx *store.Tx) error {
		var err error
		h, err = getLocal[hostRec](tx, bucketHost, id)
		return err
	}); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, ErrNotHost
	}
	if h.ReadKey == nil {
		return nil, fmt.Errorf("event %s is public: give its id instead of an invitation", id)
	}
	if len(names) == 0 {
		return nil, errors.New("event: invite whom? name one or more contacts")
	}
	inv, err := EncodeInvitation(&Invitation{Event: id[:], ReadKey: h.ReadKey})
	if err != nil {
		return nil, err
	}
	var done []string
	for _, n := range names {
		if _, err := e.m.QueueEvent(n, inv); err != nil {
			return done, fmt.Errorf("event %s: the invitation to %s: %w", id, n, err)
		}
		done = append(done, n)
		if !slices.Contains(h.Invited, n) {
			h.Invited = append(h.Invited, n)
		}
	}
	err = e.st.Update(func(tx *store.Tx) error { return putLocal(tx, bucketHost, id, h) })
	return done, err
}

// AnnouncementText is the text of a public event's feed post: its title,
// time, place and how to read it.
func AnnouncementText(id ID, b *Body) string {
	return fmt.Sprintf("Event: %s\nWhen: %s\nWhere: %s\nDetails and RSVP: komrade event show %s",
		b.Title, time.Unix(b.When, 0).UTC().Format("Mon 2 Jan 2006 15:04 MST"), b.Where, id)
}

// announce posts a public event in the world feed, or the area feed
// around its place.
func (e *Events) announce(ctx context.Context, id ID, b *Body, o CreateOptions) (social.PostID, error) {
	po := social.PostOptions{Text: AnnouncementText(id, b), To: social.World, Anonymous: o.Anonymous}
	if b.Near != nil {
		c := geo.Point{Lat: float64(b.Near.LatE6) / 1e6, Lon: float64(b.Near.LonE6) / 1e6}
		po.To, po.Near, po.RadiusM = social.Local, &c, o.RadiusM
		if po.RadiusM == 0 {
			po.RadiusM = DefaultRadiusM
		}
	}
	return e.s.Post(ctx, po)
}

// put publishes an event's record.
func (e *Events) put(ctx context.Context, id ID, rec []byte) error {
	if err := e.retry(ctx, func(c context.Context) error {
		_, err := e.c.PutRecord(c, id.Key(), rec)
		return err
	}); err != nil {
		return fmt.Errorf("event %s: publishing its record: %w", id, err)
	}
	return nil
}

// UpdateOptions change a hosted event; nil fields keep their value.
type UpdateOptions struct {
	Title     *string
	When      *time.Time
	Where     *string
	Near      *geo.Point
	ClearNear bool
	Cancel    bool
}

// ErrNotHost is returned when a change is asked of an event the user does
// not host.
var ErrNotHost = errors.New("event: you do not host this event (only its host, who holds its key, can change it)")

// Update publishes a new version of a hosted event (its record's next
// Seq, signed by the event's key); Cancel marks it cancelled. Invitees
// and readers see it when they read the event next.
func (e *Events) Update(ctx context.Context, id ID, o UpdateOptions) (*View, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var h *hostRec
	if err := e.st.View(func(tx *store.Tx) error {
		var err error
		h, err = getLocal[hostRec](tx, bucketHost, id)
		return err
	}); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, ErrNotHost
	}
	b, err := DecodeBody(h.Body)
	if err != nil {
		return nil, fmt.Errorf("event: the kept event: %w", err)
	}
	if b.Cancelled {
		return nil, errors.New("event: the event is cancelled; it cannot change any more")
	}
	now := time.Now()
	if o.Title != nil {
		b.Title = *o.Title
	}
	if o.Where != nil {
		b.Where = *o.Where
	}
	if o.When != nil {
		if err := checkWhen(*o.When, now); err != nil {
			return nil, err
		}
		b.When = o.When.Unix()
	}
	if o.ClearNear {
		b.Near = nil
	}
	if o.Near != nil {
		if b.Near, err = snapPoint(o.Near); err != nil {
			return nil, err
		}
	}
	b.Cancelled = o.Cancel
	if err := checkInput(b); err != nil {
		return nil, err
	}
	bb, err := EncodeBody(b)
	if err != nil {
		return nil, err
	}
	key := ed25519.NewKeyFromSeed(h.Seed)
	rec, err := build(key, h.Seq+1, expiry(time.Unix(b.When, 0), now, h.ReadKey != nil), b, h.ReadKey)
	if err != nil {
		return nil, err
	}
	// The Seq is kept before it is published, as Create keeps the keys: a
	// publication that failed may still have reached storage nodes, and
	// the next update must not publish other contents under its Seq.
	h.Seq++
	if err := e.st.Update(func(tx *store.Tx) error { return putLocal(tx, bucketHost, id, h) }); err != nil {
		return nil, fmt.Errorf("event %s: keeping the update's number: %w", id, err)
	}
	if err := e.put(ctx, id, rec); err != nil {
		return nil, err
	}
	h.Body = bb
	if err := e.st.Update(func(tx *store.Tx) error { return putLocal(tx, bucketHost, id, h) }); err != nil {
		return nil, fmt.Errorf("event %s published; keeping it: %w", id, err)
	}
	return e.view(id, h, nil, b, h.Seq, h.ReadKey != nil, nil)
}

// Sync takes the event invitations the messenger received: each becomes
// an event we may read. Invitations that do not decode are dropped.
func (e *Events) Sync() (int, error) {
	invs, err := e.m.EventInvitations()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range invs {
		inv, err := DecodeInvitation(in.Body)
		if err == nil {
			var id ID
			copy(id[:], inv.Event)
			err = e.st.Update(func(tx *store.Tx) error {
				k, err := getLocal[knownRec](tx, bucketKnown, id)
				if err != nil {
					return err
				}
				if k == nil {
					k = &knownRec{}
				}
				k.offer(inv.ReadKey, in.From, in.At.Unix())
				return putLocal(tx, bucketKnown, id, k)
			})
			if err != nil {
				return n, err
			}
			n++
		} else {
			e.log.Info("event: an invitation that does not decode, dropped", "from", in.From)
		}
		if err := e.m.ForgetEventInvitation(in.Key); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Place is a place as a View shows it.
type Place struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// View is an event as the API shows it.
type View struct {
	ID    string    `json:"id"`
	Title string    `json:"title"`
	When  time.Time `json:"when"`
	Where string    `json:"where"`
	Near  *Place    `json:"near,omitempty"`
	// Public events are readable by anyone with the id; the others by
	// invitees only.
	Public    bool `json:"public"`
	Cancelled bool `json:"cancelled"`
	// Host is "you", your name for the host if a contact, the host's
	// fingerprint, or "anonymous".
	Host string `json:"host"`
	// HostAddress is a named host's address.
	HostAddress string `json:"host_address,omitempty"`
	// InvitedBy is the contact whose invitation you got.
	InvitedBy string `json:"invited_by,omitempty"`
	Seq       uint64 `json:"seq"`
	// Read is false for an invitation whose event was not read yet.
	Read   bool   `json:"read"`
	MyRSVP string `json:"my_rsvp,omitempty"`
	// Announcement is a public event's feed post (host only).
	Announcement string `json:"announcement,omitempty"`
	// Invited are the contacts invited (host only).
	Invited []string `json:"invited,omitempty"`
	// RSVPs are the answers read (host only, by Show).
	RSVPs *Count `json:"rsvps,omitempty"`
}

// Count is the host's count of an event's RSVPs.
type Count struct {
	Yes   int `json:"yes"`
	No    int `json:"no"`
	Maybe int `json:"maybe"`
	// Named are the RSVPs that name their attendee (invite-only events):
	// who (a contact's name or a fingerprint) and the answer.
	Named []Attendee `json:"named,omitempty"`
	// Skipped counts items of the set that failed validation and, for an
	// invite-only event, RSVPs that name nobody.
	Skipped int `json:"skipped"`
}

// Attendee is one named RSVP.
type Attendee struct {
	Who     string `json:"who"`
	Address string `json:"address"`
	Answer  string `json:"answer"`
}

// names maps the fingerprint of each confirmed contact's identity to the
// user's name for them: one read of the contacts, for a whole List.
func (e *Events) names() map[string]string {
	out := map[string]string{}
	cs, err := e.m.Contacts()
	if err != nil {
		return out
	}
	for n, fp := range cs {
		if fp != "" {
			out[fp] = n
		}
	}
	return out
}

func (e *Events) who(pub []byte, names map[string]string) string {
	if bytes.Equal(pub, e.id.Sign.Public().(ed25519.PublicKey)) {
		return "you"
	}
	fp := client.Fingerprint(pub)
	if n, ok := names[fp]; ok {
		return n
	}
	return fp
}

// view makes the View of an event from what is kept of it; names are the
// contacts' names (names).
func (e *Events) view(id ID, h *hostRec, k *knownRec, b *Body, seq uint64, sealed bool, names map[string]string) (*View, error) {
	v := &View{ID: id.String(), Seq: seq, Public: !sealed}
	if k != nil {
		v.InvitedBy = k.InvitedBy
	}
	if h != nil {
		v.Invited = h.Invited
		if len(h.Post) == 32 {
			v.Announcement = social.PostID(h.Post).String()
		}
	}
	if b == nil {
		v.Host = "unknown until read"
		return v, nil
	}
	v.Read = true
	v.Title, v.When, v.Where, v.Cancelled = b.Title, time.Unix(b.When, 0).UTC(), b.Where, b.Cancelled
	if b.Near != nil {
		v.Near = &Place{Lat: float64(b.Near.LatE6) / 1e6, Lon: float64(b.Near.LonE6) / 1e6}
	}
	switch {
	case h != nil:
		v.Host = "you"
	case b.Anonymous():
		v.Host = "anonymous"
	default:
		v.Host = e.who(b.HostKey, names)
		v.HostAddress = messenger.Address(b.HostKey)
	}
	if r, err := e.myRSVP(id); err == nil && r != nil {
		v.MyRSVP = r.Answer.String()
	} else if err != nil {
		return nil, err
	}
	return v, nil
}

func (e *Events) myRSVP(id ID) (*myRSVP, error) {
	var r *myRSVP
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		r, err = getLocal[myRSVP](tx, bucketMyRSVP, id)
		return err
	})
	return r, err
}

// List returns the events kept (hosted, invited to, or read), soonest
// first, after taking new invitations; it makes no request. Events over
// for a day are forgotten (forget).
func (e *Events) List() ([]View, error) {
	if _, err := e.Sync(); err != nil {
		return nil, err
	}
	type kept struct {
		id ID
		h  *hostRec
		k  *knownRec
	}
	var all []kept
	err := e.st.View(func(tx *store.Tx) error {
		if err := tx.List(bucketHost, func(key string, v []byte) error {
			id, err := ParseID(key)
			if err != nil {
				return err
			}
			var h hostRec
			if err := localDec.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("event: kept event damaged: %w", err)
			}
			all = append(all, kept{id: id, h: &h})
			return nil
		}); err != nil {
			return err
		}
		return tx.List(bucketKnown, func(key string, v []byte) error {
			id, err := ParseID(key)
			if err != nil {
				return err
			}
			var k knownRec
			if err := localDec.Unmarshal(v, &k); err != nil {
				return fmt.Errorf("event: kept event damaged: %w", err)
			}
			all = append(all, kept{id: id, k: &k})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	hosted := map[ID]bool{}
	names := e.names()
	out := []View{}
	now := time.Now()
	var gone []ID
	for _, x := range all {
		var (
			raw    []byte
			seq    uint64
			sealed bool
		)
		switch {
		case x.h != nil:
			hosted[x.id] = true
			raw, seq, sealed = x.h.Body, x.h.Seq, x.h.ReadKey != nil
		case hosted[x.id]:
			continue
		default:
			if x.k.Body == nil && time.Unix(x.k.Invited, 0).Add(record.MaxTTL).Before(now) {
				gone = append(gone, x.id) // an invitation to an event that expired unread
				continue
			}
			raw, seq, sealed = x.k.Body, x.k.Seq, x.k.Sealed
			if raw == nil {
				sealed = x.k.ReadKey != nil // an invitation not read yet
			}
		}
		var b *Body
		if raw != nil {
			if b, err = DecodeBody(raw); err != nil {
				return nil, fmt.Errorf("event: kept event damaged: %w", err)
			}
			if time.Unix(b.When, 0).Add(After).Before(now) {
				gone = append(gone, x.id) // over: its keys are not kept
				continue
			}
		}
		v, err := e.view(x.id, x.h, x.k, b, seq, sealed, names)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	if err := e.forget(gone); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Read != out[j].Read {
			return !out[i].Read
		}
		return out[i].When.Before(out[j].When)
	})
	return out, nil
}

// forget deletes what is kept of events that are over: a hosted event's
// keys, a read event's read key and body, our RSVP. A confiscated device
// holds nothing of an event a day after it.
func (e *Events) forget(ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	return e.st.Update(func(tx *store.Tx) error {
		for _, id := range ids {
			for _, b := range []string{bucketHost, bucketKnown, bucketMyRSVP} {
				if err := tx.Delete(b, id.String()); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Resolve finds the event an id or a unique prefix of one (at least 8 hex
// characters) names among the events kept; a full id is taken as it is.
func (e *Events) Resolve(s string) (ID, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if id, err := ParseID(s); err == nil {
		return id, nil
	}
	if len(s) < 8 {
		return ID{}, fmt.Errorf("event id %q: give the id, or at least its first 8 characters", s)
	}
	var found []ID
	err := e.st.View(func(tx *store.Tx) error {
		for _, b := range []string{bucketHost, bucketKnown} {
			if err := tx.List(b, func(key string, _ []byte) error {
				if strings.HasPrefix(key, s) {
					if id, err := ParseID(key); err == nil && !slices.Contains(found, id) {
						found = append(found, id)
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return ID{}, err
	case len(found) == 0:
		return ID{}, fmt.Errorf("no event of yours starts with %q (see `komrade event list`; another's event needs its whole id)", s)
	case len(found) > 1:
		return ID{}, fmt.Errorf("more than one event starts with %q: give more of the id", s)
	}
	return found[0], nil
}

// ErrStale is returned when the network served an event's record older
// than one already read (a replica that missed an update, or a replay).
var ErrStale = fmt.Errorf("event: the network returned an older version than one already read: %w", wire.ErrStale)

// Read fetches an event's record through the mix network, checks it (the
// event's own key signed it; it opens with the invitation's read key; it
// is not older than what was read before) and keeps it.
func (e *Events) Read(ctx context.Context, id ID) (*Record, error) {
	if _, err := e.Sync(); err != nil {
		return nil, err
	}
	var (
		h *hostRec
		k *knownRec
	)
	if err := e.st.View(func(tx *store.Tx) error {
		var err error
		if h, err = getLocal[hostRec](tx, bucketHost, id); err != nil {
			return err
		}
		k, err = getLocal[knownRec](tx, bucketKnown, id)
		return err
	}); err != nil {
		return nil, err
	}
	var keys []candidate
	switch {
	case h != nil:
		keys = []candidate{{ReadKey: h.ReadKey}}
	case k != nil:
		keys = k.candidates()
	}
	var raw []byte
	if err := e.retry(ctx, func(c context.Context) error {
		var err error
		raw, err = e.c.GetRecord(c, id.Key())
		return err
	}); err != nil {
		if errors.Is(err, wire.ErrNotFound) {
			return nil, fmt.Errorf("event %s: not found (a wrong id, or it is over and expired): %w", id, err)
		}
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	rec, key, err := openWith(id, raw, keys, e.c.Params().PoWBits)
	if err != nil {
		return nil, err
	}
	if h != nil {
		if rec.Seq < h.Seq {
			return nil, ErrStale
		}
		return rec, nil
	}
	if k != nil && rec.Seq < k.Seq {
		return nil, ErrStale
	}
	bb, err := EncodeBody(rec.Body)
	if err != nil {
		return nil, err
	}
	err = e.st.Update(func(tx *store.Tx) error {
		now, err := getLocal[knownRec](tx, bucketKnown, id)
		if err != nil {
			return err
		}
		if now == nil {
			now = &knownRec{}
		}
		if rec.Seq < now.Seq {
			return ErrStale
		}
		if key.ReadKey != nil { // the invitation whose key opened it
			now.ReadKey, now.InvitedBy, now.Invited = key.ReadKey, key.From, key.At
		}
		now.Others = nil
		now.Seq, now.Body, now.Sealed = rec.Seq, bb, rec.Sealed
		return putLocal(tx, bucketKnown, id, now)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// Show reads an event (Read) and returns its view; for its host, with the
// RSVPs read from the network and counted.
func (e *Events) Show(ctx context.Context, id ID) (*View, error) {
	rec, err := e.Read(ctx, id)
	if err != nil {
		return nil, err
	}
	var (
		h *hostRec
		k *knownRec
	)
	if err := e.st.View(func(tx *store.Tx) error {
		if h, err = getLocal[hostRec](tx, bucketHost, id); err != nil {
			return err
		}
		k, err = getLocal[knownRec](tx, bucketKnown, id)
		return err
	}); err != nil {
		return nil, err
	}
	v, err := e.view(id, h, k, rec.Body, rec.Seq, rec.Sealed, e.names())
	if err != nil {
		return nil, err
	}
	if h != nil {
		if v.RSVPs, err = e.countRSVPs(ctx, id, h); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// nullifierKey is the user's nullifier key of an event's RSVP set.
func (e *Events) nullifierKey(id ID) (ed25519.PrivateKey, error) {
	secret, err := social.VoteSecret(e.id)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return setitem.NullifierKey(secret, rsvpNamespace, id[:])
}

// RSVP reads the event and answers it under the user's nullifier of the
// event (so a new answer replaces the last), sealed to the event's RSVP key so that
// only the host reads it. An invite-only event's RSVP names the attendee
// to the host (who invited them); a public event's is anonymous: the host
// counts it, and learns nothing of who sent it.
func (e *Events) RSVP(ctx context.Context, id ID, a Answer) error {
	if a < Yes || a > Maybe {
		return fmt.Errorf("event: answer %d", a)
	}
	rec, err := e.Read(ctx, id)
	if err != nil {
		return err
	}
	if rec.Body.Cancelled {
		return errors.New("event: the event is cancelled")
	}
	rules, ok := e.c.Params().SetRules()[rsvpNamespace]
	if !ok {
		return errors.New("event: the network has no rsvp namespace")
	}
	now := time.Now()
	end := time.Unix(rec.Body.When, 0).Add(After)
	if !end.After(now.Add(time.Minute)) {
		return errors.New("event: the event is over")
	}
	last, err := e.myRSVP(id)
	if err != nil {
		return err
	}
	// The namespace's lifetime less an hour (clocks), whatever the
	// event's time: an item's expiry does not tell when the event is.
	exp := now.Add(rules.TTL - time.Hour).Unix()
	if last != nil {
		exp = max(exp, last.Exp+1) // later than the RSVP it replaces
	}
	nk, err := e.nullifierKey(id)
	if err != nil {
		return err
	}
	var attendee ed25519.PrivateKey
	if rec.Sealed {
		attendee = e.id.Sign
	}
	nullifier := nk.Public().(ed25519.PublicKey)
	body, err := SealRSVP(id, rec.Body.RSVPKey, nullifier, a, attendee)
	if err != nil {
		return err
	}
	it := &setitem.Item{Namespace: rsvpNamespace, Key: bytes.Clone(id[:]), Body: body, Expires: exp}
	if err := it.Sign(nk); err != nil {
		return err
	}
	if err := it.Solve(ctx, rules.PoWBits); err != nil {
		return err
	}
	enc, err := setitem.Encode(it)
	if err != nil {
		return err
	}
	if err := e.retry(ctx, func(c context.Context) error {
		_, err := e.c.Append(c, enc)
		return err
	}); err != nil {
		return fmt.Errorf("event %s: RSVP: %w", id, err)
	}
	return e.st.Update(func(tx *store.Tx) error { return putLocal(tx, bucketMyRSVP, id, &myRSVP{Answer: a, Exp: exp}) })
}

// heldRSVP is one nullifier's latest RSVP.
type heldRSVP struct {
	exp, sig []byte
	r        *RSVP
}

// countRSVPs reads an event's whole RSVP set (maxRSVPPages pages at most)
// and counts each nullifier's latest answer; for an invite-only event,
// each named attendee's latest (byAttendee).
func (e *Events) countRSVPs(ctx context.Context, id ID, h *hostRec) (*Count, error) {
	rules, ok := e.c.Params().SetRules()[rsvpNamespace]
	if !ok {
		return nil, errors.New("event: the network has no rsvp namespace")
	}
	priv, err := ecdh.X25519().NewPrivateKey(h.RSVPPriv)
	if err != nil {
		return nil, fmt.Errorf("event: the kept RSVP key: %w", err)
	}
	var pk, sk [32]byte
	copy(pk[:], priv.PublicKey().Bytes())
	copy(sk[:], h.RSVPPriv)
	defer clear(sk[:])
	held := map[string]heldRSVP{}
	count := &Count{}
	var cursor []byte
	for page := 0; page < maxRSVPPages; page++ {
		var res *wire.ScanResult
		err := e.retry(ctx, func(c context.Context) error {
			var err error
			res, err = e.c.Scan(c, wire.ScanRequest{Namespace: rsvpNamespace, Key: id[:], Cursor: cursor, Limit: scanLimit})
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("event %s: reading the RSVPs: %w", id, err)
		}
		now := time.Now()
		for _, raw := range res.Items {
			it, r, err := CheckRSVPItem(id, raw, rules, &pk, &sk, now)
			if err != nil {
				count.Skipped++
				continue
			}
			exp := setitem.ExpiryBytes(it.Expires)
			if old, ok := held[string(it.Nullifier)]; ok && !setitem.Supersedes(exp, it.Sig, old.exp, old.sig) {
				continue
			}
			held[string(it.Nullifier)] = heldRSVP{exp: exp, sig: it.Sig, r: r}
		}
		if len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			break
		}
		cursor = res.Next
	}
	if h.ReadKey != nil {
		var skipped int
		held, skipped = byAttendee(held)
		count.Skipped += skipped
	}
	names := e.names()
	for _, x := range held {
		switch x.r.Answer {
		case Yes:
			count.Yes++
		case No:
			count.No++
		case Maybe:
			count.Maybe++
		}
		if len(x.r.Attendee) != 0 {
			count.Named = append(count.Named, Attendee{Who: e.who(x.r.Attendee, names), Address: messenger.Address(x.r.Attendee), Answer: x.r.Answer.String()})
		}
	}
	sort.Slice(count.Named, func(i, j int) bool { return count.Named[i].Who < count.Named[j].Who })
	return count, nil
}

// byAttendee keeps the latest RSVP of each named attendee of an
// invite-only event (its nullifiers are the sender's choice: an invitee
// could answer under many) and returns how many RSVPs it dropped that name
// nobody (an invite-only event's RSVP names its attendee).
func byAttendee(held map[string]heldRSVP) (map[string]heldRSVP, int) {
	out := make(map[string]heldRSVP, len(held))
	skipped := 0
	for _, x := range held {
		if len(x.r.Attendee) == 0 {
			skipped++
			continue
		}
		a := string(x.r.Attendee)
		if old, ok := out[a]; ok && !setitem.Supersedes(x.exp, x.sig, old.exp, old.sig) {
			continue
		}
		out[a] = x
	}
	return out, skipped
}

// CheckRSVPItem checks an encoded item of event id's RSVP set as the
// network's rules ask (size, expiry, work, the nullifier's signature) and
// opens its body with the event's RSVP key pair.
func CheckRSVPItem(id ID, raw []byte, rules setitem.Rules, pub, priv *[32]byte, now time.Time) (*setitem.Item, *RSVP, error) {
	it, err := setitem.Decode(raw)
	if err != nil {
		return nil, nil, err
	}
	if it.Namespace != rsvpNamespace || !bytes.Equal(it.Key, id[:]) || len(it.Nullifier) != setitem.NullifierSize {
		return nil, nil, fmt.Errorf("%w: not an RSVP of this event", ErrMalformed)
	}
	if err := rules.Verify(it, len(raw), now); err != nil {
		return nil, nil, err
	}
	r, err := OpenRSVP(id, pub, priv, it.Nullifier, it.Body)
	if err != nil {
		return nil, nil, err
	}
	return it, r, nil
}
