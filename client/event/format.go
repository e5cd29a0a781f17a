package event

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/box"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Limits of an event.
const (
	MaxTitleChars = 100 // characters of a title
	MaxTitleBytes = 200
	MaxWhereChars = 200 // characters of a place's description
	MaxWhereBytes = 400
	// MaxAhead is how far ahead an event may be: its record lives until a
	// day after it, at most record.MaxTTL from its publication.
	MaxAhead = record.MaxTTL - 2*24*time.Hour
	// After is how long an event's record and RSVPs are kept after its time.
	After = 24 * time.Hour
	// sealedPlain is the size every sealed body is padded to before
	// sealing: two bytes of length, the body, zeros.
	sealedPlain = 1024
	// SealedSize is the size of a sealed body: nonce, padded body, tag.
	SealedSize = chacha20poly1305.NonceSizeX + sealedPlain + chacha20poly1305.Overhead
	// rsvpPlain is the size an RSVP's plaintext is padded to, so named and
	// anonymous RSVPs and every answer look alike.
	rsvpPlain = 128
	// RSVPSealedSize is the size of an RSVP item's body (nacl/box sealed
	// anonymously: an ephemeral X25519 key, the padded RSVP, a tag).
	RSVPSealedSize = rsvpPlain + box.AnonymousOverhead
)

// Domain separation of everything signed, hashed or sealed here.
const (
	hostSigContext = "komrade event host v1\x00"
	powContext     = "komrade event pow v1\x00"
	sealContext    = "komrade event body v1\x00"
	rsvpSigContext = "komrade event rsvp v1\x00"
)

// ErrMalformed is wrapped by every decoding or checking error of an event
// format from the network or a message. It unwraps to wire.ErrInvalid.
var ErrMalformed = fmt.Errorf("event: malformed: %w", wire.ErrInvalid)

// ID names an event: its Ed25519 public key, whose /kprof/ record is the
// event.
type ID [ed25519.PublicKeySize]byte

// String is the id in hex: what `event show`, `rsvp`, `update` and
// `cancel` take.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Key is the DHT key of the event's record.
func (id ID) Key() string { return record.ProfileKey(id[:]) }

// ParseID reads an event id in hex (64 characters).
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("event id %q: want 64 hex characters", s)
	}
	copy(id[:], b)
	return id, nil
}

// Point is a place in micro-degrees (about 0.1 m), as published: snapped
// by the host's client to the centre of a cell of about 150 m.
type Point struct {
	LatE6 int32 `cbor:"1,keyasint"`
	LonE6 int32 `cbor:"2,keyasint"`
}

func (p *Point) check() error {
	if p == nil {
		return nil
	}
	if p.LatE6 < -90_000_000 || p.LatE6 > 90_000_000 || p.LonE6 < -180_000_000 || p.LonE6 > 180_000_000 {
		return fmt.Errorf("%w: place out of range", ErrMalformed)
	}
	return nil
}

// Body is what an event says: the body of its record, in clear for a
// public event, sealed for an invite-only one.
type Body struct {
	Title string `cbor:"1,keyasint"`
	When  int64  `cbor:"2,keyasint"` // unix seconds
	Where string `cbor:"3,keyasint"`
	Near  *Point `cbor:"4,keyasint,omitempty"`
	// Cancelled marks a cancelled event (a later Seq of its record).
	Cancelled bool `cbor:"5,keyasint,omitempty"`
	// RSVPKey is the X25519 public key RSVPs are sealed to; only the
	// host holds its private key.
	RSVPKey []byte `cbor:"6,keyasint"`
	// HostKey and HostSig name the host: its identity key, and its
	// signature of the event's key (hostSigContext ‖ id). Both absent for
	// an anonymous host.
	HostKey []byte `cbor:"7,keyasint,omitempty"`
	HostSig []byte `cbor:"8,keyasint,omitempty"`
	// Nonce is an anonymous event's proof-of-work: SHA-256(powContext ‖ id
	// ‖ Nonce) starts with the network's PoWBits zero bits.
	Nonce uint64 `cbor:"9,keyasint,omitempty"`
}

// Anonymous reports whether the body names no host.
func (b *Body) Anonymous() bool { return len(b.HostKey) == 0 }

// CheckText checks a title or a place's description: not blank, valid
// UTF-8, no control characters, within maxChars and maxBytes.
func CheckText(what, s string, maxChars, maxBytes int) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("the %s is not valid UTF-8", what)
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("the %s is empty", what)
	case utf8.RuneCountInString(s) > maxChars || len(s) > maxBytes:
		return fmt.Errorf("the %s has %d characters (%d bytes); at most %d (%d bytes)", what, utf8.RuneCountInString(s), len(s), maxChars, maxBytes)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("the %s has a control character", what)
		}
	}
	return nil
}

// check checks b's own limits (not its signature or work).
func (b *Body) check() error {
	if err := CheckText("title", b.Title, MaxTitleChars, MaxTitleBytes); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := CheckText("place", b.Where, MaxWhereChars, MaxWhereBytes); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case b.When <= 0:
		return fmt.Errorf("%w: time", ErrMalformed)
	case len(b.RSVPKey) != 32:
		return fmt.Errorf("%w: RSVP key", ErrMalformed)
	case len(b.HostKey) == 0 && len(b.HostSig) == 0:
	case len(b.HostKey) == ed25519.PublicKeySize && len(b.HostSig) == ed25519.SignatureSize:
		if b.Nonce != 0 {
			return fmt.Errorf("%w: a named host and proof-of-work", ErrMalformed)
		}
	default:
		return fmt.Errorf("%w: host key or signature length", ErrMalformed)
	}
	if err := checkX25519(b.RSVPKey); err != nil {
		return fmt.Errorf("%w: RSVP key: %v", ErrMalformed, err)
	}
	return b.Near.check()
}

// verify checks b as the body of event id: a named host's signature, or
// an anonymous event's powBits of work.
func (b *Body) verify(id ID, powBits int) error {
	if len(b.HostKey) != 0 {
		if !ed25519.Verify(b.HostKey, append([]byte(hostSigContext), id[:]...), b.HostSig) {
			return fmt.Errorf("%w: host signature", ErrMalformed)
		}
		return nil
	}
	if powBits > 0 && wire.PoWZeros(powPrefix(id), b.Nonce) < powBits {
		return fmt.Errorf("event: anonymous event without %d bits of proof-of-work: %w", powBits, wire.ErrPoW)
	}
	return nil
}

// probeKey is a fixed X25519 scalar: its shared secret with a low-order
// point is zero, which crypto/ecdh refuses.
var probeKey, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5a}, 32))

// checkX25519 refuses a key that is not an X25519 public key or is of low
// order (every RSVP sealed to it would be readable by all).
func checkX25519(k []byte) error {
	pub, err := ecdh.X25519().NewPublicKey(k)
	if err != nil {
		return err
	}
	if _, err := probeKey.ECDH(pub); err != nil {
		return fmt.Errorf("a low-order key")
	}
	return nil
}

func powPrefix(id ID) []byte { return append([]byte(powContext), id[:]...) }

// hostSign makes b name host as the host of event id.
func (b *Body) hostSign(id ID, host ed25519.PrivateKey) {
	b.HostKey = bytes.Clone(host.Public().(ed25519.PublicKey))
	b.HostSig = ed25519.Sign(host, append([]byte(hostSigContext), id[:]...))
}

var dec = detcbor.NewDecoder(16, 4)

// EncodeBody checks b's limits and returns its encoding.
func EncodeBody(b *Body) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return detcbor.Marshal(b)
}

// DecodeBody decodes and checks an event body (limits only: Open checks
// the host's signature or the work against the event's id).
func DecodeBody(raw []byte) (*Body, error) {
	if len(raw) > sealedPlain-2 {
		return nil, fmt.Errorf("%w: body of %d bytes", ErrMalformed, len(raw))
	}
	var b Body
	if err := dec.UnmarshalCanonical(raw, &b); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return &b, nil
}

// Modes of an envelope.
const (
	ModePublic = 1 // Data is the body's encoding
	ModeSealed = 2 // Data is the body sealed with the read key
)

// Envelope is the body of an event's record (record.Profile.Body).
type Envelope struct {
	Mode uint8  `cbor:"1,keyasint"`
	Data []byte `cbor:"2,keyasint"`
}

// DecodeEnvelope decodes an event record's body strictly: a mode and data
// of the mode's size limits.
func DecodeEnvelope(raw []byte) (*Envelope, error) {
	if len(raw) > record.MaxValue {
		return nil, fmt.Errorf("%w: envelope of %d bytes", ErrMalformed, len(raw))
	}
	var e Envelope
	if err := dec.UnmarshalCanonical(raw, &e); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	switch {
	case e.Mode == ModePublic && len(e.Data) <= sealedPlain-2:
	case e.Mode == ModeSealed && len(e.Data) == SealedSize:
	default:
		return nil, fmt.Errorf("%w: envelope mode %d with %d bytes", ErrMalformed, e.Mode, len(e.Data))
	}
	return &e, nil
}

// seal pads and seals body for event id with the read key.
func seal(id ID, readKey, body []byte) ([]byte, error) {
	if len(body) > sealedPlain-2 {
		return nil, fmt.Errorf("event: body of %d bytes", len(body))
	}
	aead, err := chacha20poly1305.NewX(readKey)
	if err != nil {
		return nil, fmt.Errorf("event: read key: %w", err)
	}
	plain := make([]byte, sealedPlain)
	binary.BigEndian.PutUint16(plain, uint16(len(body)))
	copy(plain[2:], body)
	out := make([]byte, chacha20poly1305.NonceSizeX, SealedSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, plain, append([]byte(sealContext), id[:]...)), nil
}

// unseal opens a sealed body of event id and checks its padding.
func unseal(id ID, readKey, data []byte) ([]byte, error) {
	if len(data) != SealedSize {
		return nil, fmt.Errorf("%w: sealed body of %d bytes", ErrMalformed, len(data))
	}
	aead, err := chacha20poly1305.NewX(readKey)
	if err != nil {
		return nil, fmt.Errorf("%w: read key: %v", ErrMalformed, err)
	}
	n := chacha20poly1305.NonceSizeX
	plain, err := aead.Open(nil, data[:n], data[n:], append([]byte(sealContext), id[:]...))
	if err != nil {
		return nil, fmt.Errorf("%w: the body does not open with this read key", ErrMalformed)
	}
	l := int(binary.BigEndian.Uint16(plain))
	if l > sealedPlain-2 {
		return nil, fmt.Errorf("%w: sealed body length", ErrMalformed)
	}
	for _, x := range plain[2+l:] {
		if x != 0 {
			return nil, fmt.Errorf("%w: non-zero padding", ErrMalformed)
		}
	}
	return plain[2 : 2+l], nil
}

// Record is an event as a reader checked it.
type Record struct {
	ID      ID
	Seq     uint64
	Expires time.Time
	Sealed  bool // invite-only
	Body    *Body
}

// Open checks raw as the record of event id: a /kprof/ record signed by
// the event's key itself (anything else is refused, whoever signed it),
// whose body is a public event (whatever readKey is: an invitation
// cannot hide a public event from its reader), or one sealed with
// readKey. A named host's signature or an anonymous event's
// powBits of proof-of-work is checked too. Expiry is not (the client
// checks records as storage nodes do).
func Open(id ID, raw []byte, readKey []byte, powBits int) (*Record, error) {
	p, err := record.DecodeProfile(raw)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	if !bytes.Equal(p.Author, id[:]) {
		return nil, fmt.Errorf("event %s: a record not signed by the event's key: %w", id, ErrMalformed)
	}
	env, err := DecodeEnvelope(p.Body)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	data := env.Data
	switch {
	case env.Mode == ModeSealed && readKey == nil:
		return nil, fmt.Errorf("event %s: invite-only, and you have no invitation: %w", id, ErrMalformed)
	case env.Mode == ModeSealed:
		if data, err = unseal(id, readKey, data); err != nil {
			return nil, fmt.Errorf("event %s: %w", id, err)
		}
	}
	b, err := DecodeBody(data)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	if err := b.verify(id, powBits); err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	return &Record{ID: id, Seq: p.Seq, Expires: time.Unix(p.Expires, 0).UTC(), Sealed: env.Mode == ModeSealed, Body: b}, nil
}

// build encodes body as event key's record number seq, sealed with readKey
// unless it is nil, expiring at expires.
func build(key ed25519.PrivateKey, seq uint64, expires time.Time, body *Body, readKey []byte) ([]byte, error) {
	var id ID
	copy(id[:], key.Public().(ed25519.PublicKey))
	bb, err := EncodeBody(body)
	if err != nil {
		return nil, err
	}
	env := Envelope{Mode: ModePublic, Data: bb}
	if readKey != nil {
		env.Mode = ModeSealed
		if env.Data, err = seal(id, readKey, bb); err != nil {
			return nil, err
		}
	}
	eb, err := detcbor.Marshal(&env)
	if err != nil {
		return nil, err
	}
	return record.SignProfile(&record.Profile{Seq: seq, Expires: expires.Unix(), Body: eb}, key)
}

// Invitation is the body of a KindEvent message frame: what an invitee
// needs to read an invite-only event. The frame is signed by the sender's
// identity key, so the invitee knows who invited them.
type Invitation struct {
	Event   []byte `cbor:"1,keyasint"` // the event's id
	ReadKey []byte `cbor:"2,keyasint"` // 32 bytes
}

// EncodeInvitation checks and encodes an invitation.
func EncodeInvitation(inv *Invitation) ([]byte, error) {
	if len(inv.Event) != len(ID{}) || len(inv.ReadKey) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("event: invitation field lengths")
	}
	return detcbor.Marshal(inv)
}

// DecodeInvitation decodes an invitation from a message strictly.
func DecodeInvitation(raw []byte) (*Invitation, error) {
	if len(raw) > 128 {
		return nil, fmt.Errorf("%w: invitation of %d bytes", ErrMalformed, len(raw))
	}
	var inv Invitation
	if err := dec.UnmarshalCanonical(raw, &inv); err != nil {
		return nil, fmt.Errorf("%w: invitation: %v", ErrMalformed, err)
	}
	if len(inv.Event) != len(ID{}) || len(inv.ReadKey) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("%w: invitation field lengths", ErrMalformed)
	}
	return &inv, nil
}

// Answer is an RSVP's answer.
type Answer uint8

// Answers.
const (
	Yes   Answer = 1
	No    Answer = 2
	Maybe Answer = 3
)

func (a Answer) String() string {
	switch a {
	case Yes:
		return "yes"
	case No:
		return "no"
	case Maybe:
		return "maybe"
	}
	return fmt.Sprintf("answer(%d)", uint8(a))
}

// ParseAnswer reads yes, no or maybe.
func ParseAnswer(s string) (Answer, error) {
	switch s {
	case "yes":
		return Yes, nil
	case "no":
		return No, nil
	case "maybe":
		return Maybe, nil
	}
	return 0, fmt.Errorf("answer %q: want yes, no or maybe", s)
}

// RSVP is the plaintext of an RSVP item's body. A named RSVP carries the
// attendee's identity key and its signature of (rsvpSigContext ‖ event
// id ‖ the item's nullifier ‖ answer), so that nobody else can answer in
// their name and the answer cannot be moved to another item; an
// anonymous one carries neither.
type RSVP struct {
	Answer   Answer `cbor:"1,keyasint"`
	Attendee []byte `cbor:"2,keyasint,omitempty"`
	Sig      []byte `cbor:"3,keyasint,omitempty"`
}

func rsvpSigned(id ID, nullifier []byte, a Answer) []byte {
	out := append([]byte(rsvpSigContext), id[:]...)
	out = append(out, nullifier...)
	return append(out, byte(a))
}

// SealRSVP makes an RSVP item's body: the answer, named by attendee
// unless it is nil, padded and sealed (nacl/box, anonymously) to the
// event's RSVP key.
func SealRSVP(id ID, rsvpKey []byte, nullifier []byte, a Answer, attendee ed25519.PrivateKey) ([]byte, error) {
	if a < Yes || a > Maybe {
		return nil, fmt.Errorf("event: answer %d", a)
	}
	if len(rsvpKey) != 32 {
		return nil, fmt.Errorf("event: RSVP key of %d bytes", len(rsvpKey))
	}
	r := RSVP{Answer: a}
	if attendee != nil {
		r.Attendee = bytes.Clone(attendee.Public().(ed25519.PublicKey))
		r.Sig = ed25519.Sign(attendee, rsvpSigned(id, nullifier, a))
	}
	b, err := detcbor.Marshal(&r)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, rsvpPlain)
	binary.BigEndian.PutUint16(plain, uint16(len(b)))
	copy(plain[2:], b)
	var pub [32]byte
	copy(pub[:], rsvpKey)
	return box.SealAnonymous(nil, plain, &pub, rand.Reader)
}

// OpenRSVP opens and checks an RSVP item's body for event id, read from
// the item with nullifier, with the event's RSVP key pair.
func OpenRSVP(id ID, pub, priv *[32]byte, nullifier []byte, sealed []byte) (*RSVP, error) {
	if len(sealed) != RSVPSealedSize {
		return nil, fmt.Errorf("%w: RSVP of %d bytes", ErrMalformed, len(sealed))
	}
	plain, ok := box.OpenAnonymous(nil, sealed, pub, priv)
	if !ok {
		return nil, fmt.Errorf("%w: the RSVP does not open", ErrMalformed)
	}
	l := int(binary.BigEndian.Uint16(plain))
	if l > rsvpPlain-2 {
		return nil, fmt.Errorf("%w: RSVP length", ErrMalformed)
	}
	for _, x := range plain[2+l:] {
		if x != 0 {
			return nil, fmt.Errorf("%w: non-zero padding", ErrMalformed)
		}
	}
	var r RSVP
	if err := dec.UnmarshalCanonical(plain[2:2+l], &r); err != nil {
		return nil, fmt.Errorf("%w: RSVP: %v", ErrMalformed, err)
	}
	switch {
	case r.Answer < Yes || r.Answer > Maybe:
		return nil, fmt.Errorf("%w: answer %d", ErrMalformed, r.Answer)
	case len(r.Attendee) == 0 && len(r.Sig) == 0:
	case len(r.Attendee) == ed25519.PublicKeySize && len(r.Sig) == ed25519.SignatureSize:
		if !ed25519.Verify(r.Attendee, rsvpSigned(id, nullifier, r.Answer), r.Sig) {
			return nil, fmt.Errorf("%w: RSVP signature", ErrMalformed)
		}
	default:
		return nil, fmt.Errorf("%w: attendee or signature length", ErrMalformed)
	}
	return &r, nil
}
