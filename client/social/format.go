package social

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Limits of posts. A post's text is counted in characters (Unicode code
// points), not bytes: 1000 CJK characters are 3000 bytes of UTF-8, so a
// text spans the head record and up to MaxMore continuation records.
const (
	MaxChars     = 1000 // characters of a post's text
	MaxTextBytes = 4000 // bytes of UTF-8 (1000 characters of at most 4 bytes)
	// HeadText is the most text bytes the head record carries; the rest
	// goes in continuation records of at most MoreText bytes.
	HeadText = 1200
	MoreText = 1600
	MaxMore  = 2
	// PreviewBytes is the most text bytes a feed entry carries.
	PreviewBytes = 560
	// MaxRadiusM is the largest radius of an area post or read (metres).
	MaxRadiusM = MaxAreaRadiusM
)

// ErrMalformed is returned for a post, entry or reference that does not
// decode or breaks a limit. It unwraps to wire.ErrInvalid.
var ErrMalformed = fmt.Errorf("social: malformed: %w", wire.ErrInvalid)

// PostID names a post: the SHA-256 of its head record, so that its
// /kpost/ key is "/kpost/" + hex(id).
type PostID [32]byte

// String is the id's hex form: what `vote`, `--reply` and `mute` take.
func (id PostID) String() string { return hex.EncodeToString(id[:]) }

// Key is the id's /kpost/ record key.
func (id PostID) Key() string { return "/" + record.NSPost + "/" + id.String() }

// ParsePostID reads a post id in hex (64 characters).
func ParsePostID(s string) (PostID, error) {
	var id PostID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("post id %q: want 64 hex characters", s)
	}
	copy(id[:], b)
	return id, nil
}

// IDOf returns the id of an encoded head record.
func IDOf(rec []byte) PostID { return sha256.Sum256(rec) }

// Audience says who a post is for.
type Audience uint8

// Audiences.
const (
	World   Audience = 1 // everyone: the world feed
	Friends Audience = 2 // the author's contacts: the friends stream
	Local   Audience = 3 // everyone near a place: the area sets
)

func (a Audience) String() string {
	switch a {
	case World:
		return "world"
	case Friends:
		return "friends"
	case Local:
		return "area"
	}
	return fmt.Sprintf("audience(%d)", a)
}

// ParseAudience reads "world", "friends" or "area".
func ParseAudience(s string) (Audience, error) {
	switch s {
	case "world":
		return World, nil
	case "friends":
		return Friends, nil
	case "area", "local":
		return Local, nil
	}
	return 0, fmt.Errorf("audience %q: want world, friends or area", s)
}

// Area is a place and a radius, in fixed point: micro-degrees (about
// 0.1 m) and metres.
type Area struct {
	LatE6   int32  `cbor:"1,keyasint"`
	LonE6   int32  `cbor:"2,keyasint"`
	RadiusM uint32 `cbor:"3,keyasint"`
}

func (a *Area) check() error {
	if a == nil {
		return nil
	}
	if a.LatE6 < -90_000_000 || a.LatE6 > 90_000_000 || a.LonE6 < -180_000_000 || a.LonE6 > 180_000_000 || a.RadiusM > MaxRadiusM {
		return fmt.Errorf("%w: area out of range", ErrMalformed)
	}
	return nil
}

// ImageRef refers to an image: its thumbnail record (one record, shown in
// feeds) and its manifest record (the chunks of the full image). Key, for
// a friends post, is the XChaCha20-Poly1305 key the thumbnail, manifest and
// chunks are sealed with; empty for public images.
type ImageRef struct {
	Thumb    [32]byte `cbor:"1,keyasint"` // hash of the thumbnail record
	Manifest [32]byte `cbor:"2,keyasint"` // hash of the manifest record
	W        uint16   `cbor:"3,keyasint"`
	H        uint16   `cbor:"4,keyasint"`
	Key      []byte   `cbor:"5,keyasint,omitempty"`
}

func (r *ImageRef) check() error {
	if r == nil {
		return nil
	}
	if r.W == 0 || r.H == 0 || r.W > 4096 || r.H > 4096 || (len(r.Key) != 0 && len(r.Key) != 32) {
		return fmt.Errorf("%w: image reference", ErrMalformed)
	}
	return nil
}

// Body is the body of a post's head record (record.Post.Body), and the
// plaintext of a post in a friends stream.
type Body struct {
	To    Audience   `cbor:"1,keyasint"`
	Text  string     `cbor:"2,keyasint"`           // the text, or its first HeadText bytes
	More  [][32]byte `cbor:"3,keyasint,omitempty"` // hashes of continuation records, in order
	Image *ImageRef  `cbor:"4,keyasint,omitempty"`
	Reply []byte     `cbor:"5,keyasint,omitempty"` // the parent's PostID
	Area  *Area      `cbor:"6,keyasint,omitempty"` // for area posts
	// Salt is 16 random bytes: two posts with the same text, time and
	// author (or two anonymous ones) never share an id.
	Salt []byte `cbor:"7,keyasint"`
}

var dec = detcbor.NewDecoder(16, 4)

// EncodeBody checks b's limits and returns its encoding.
func EncodeBody(b *Body) ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return detcbor.Marshal(b)
}

// DecodeBody decodes and checks a post body from the network.
func DecodeBody(raw []byte) (*Body, error) {
	if len(raw) > record.MaxValue {
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

func (b *Body) check() error {
	switch {
	case b.To != World && b.To != Friends && b.To != Local:
		return fmt.Errorf("%w: audience %d", ErrMalformed, b.To)
	case len(b.Text) > HeadText || !utf8.ValidString(b.Text):
		return fmt.Errorf("%w: head text", ErrMalformed)
	case len(b.More) > MaxMore:
		return fmt.Errorf("%w: %d continuation records", ErrMalformed, len(b.More))
	case len(b.Reply) != 0 && len(b.Reply) != 32:
		return fmt.Errorf("%w: reply id", ErrMalformed)
	case len(b.Salt) != 16:
		return fmt.Errorf("%w: salt", ErrMalformed)
	case (b.To == Local) != (b.Area != nil):
		return fmt.Errorf("%w: an area post needs an area, others none", ErrMalformed)
	}
	if err := b.Area.check(); err != nil {
		return err
	}
	return b.Image.check()
}

// CheckText checks a post's whole text: not blank, at most MaxChars
// characters and MaxTextBytes bytes of valid UTF-8.
func CheckText(s string) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("the text is not valid UTF-8")
	case strings.TrimSpace(s) == "":
		return errors.New("the text is empty")
	case utf8.RuneCountInString(s) > MaxChars:
		return fmt.Errorf("the text has %d characters; a post has at most %d", utf8.RuneCountInString(s), MaxChars)
	case len(s) > MaxTextBytes:
		return fmt.Errorf("the text has %d bytes; a post has at most %d", len(s), MaxTextBytes)
	}
	return nil
}

// Entry is one line of a feed: the body of an item in a "world", "area"
// or "reply" set. It carries what a feed line shows, so that a page of a
// set is most of a feed. A signed entry names its author and is signed
// by the author's identity key; an anonymous one has neither (the set
// item's proof-of-work stands in).
type Entry struct {
	Post    PostID   `cbor:"1,keyasint"`
	To      Audience `cbor:"2,keyasint"`
	Created int64    `cbor:"3,keyasint"`           // unix seconds, the author's claim
	Preview string   `cbor:"4,keyasint"`           // the text's start, at most PreviewBytes
	Thumb   []byte   `cbor:"5,keyasint,omitempty"` // hash of the thumbnail record
	Reply   []byte   `cbor:"6,keyasint,omitempty"` // the parent's PostID
	Area    *Area    `cbor:"7,keyasint,omitempty"`
	Author  []byte   `cbor:"8,keyasint,omitempty"` // Ed25519 public key
	Sig     []byte   `cbor:"9,keyasint,omitempty"`
}

const entrySigContext = "komrade feed entry v1\x00"

func (e *Entry) signed() ([]byte, error) {
	c := *e
	c.Sig = nil
	b, err := detcbor.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte(entrySigContext), b...), nil
}

// SignEntry signs e as priv's owner and returns its encoding; a nil priv
// leaves it anonymous.
func SignEntry(e *Entry, priv ed25519.PrivateKey) ([]byte, error) {
	e.Author, e.Sig = nil, nil
	if priv != nil {
		e.Author = append([]byte(nil), priv.Public().(ed25519.PublicKey)...)
		msg, err := e.signed()
		if err != nil {
			return nil, err
		}
		e.Sig = ed25519.Sign(priv, msg)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return detcbor.Marshal(e)
}

// DecodeEntry decodes an entry from the network and checks its limits and
// signature.
func DecodeEntry(raw []byte) (*Entry, error) {
	if len(raw) > 2048 {
		return nil, fmt.Errorf("%w: entry of %d bytes", ErrMalformed, len(raw))
	}
	var e Entry
	if err := dec.UnmarshalCanonical(raw, &e); err != nil {
		return nil, fmt.Errorf("%w: entry: %v", ErrMalformed, err)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	if len(e.Author) != 0 {
		msg, err := e.signed()
		if err != nil {
			return nil, fmt.Errorf("%w: entry: %v", ErrMalformed, err)
		}
		if !ed25519.Verify(e.Author, msg, e.Sig) {
			return nil, fmt.Errorf("%w: entry signature", ErrMalformed)
		}
	}
	return &e, nil
}

func (e *Entry) check() error {
	switch {
	case e.To != World && e.To != Local:
		return fmt.Errorf("%w: entry audience %d", ErrMalformed, e.To)
	case len(e.Preview) > PreviewBytes || !utf8.ValidString(e.Preview):
		return fmt.Errorf("%w: entry preview", ErrMalformed)
	case len(e.Thumb) != 0 && len(e.Thumb) != 32, len(e.Reply) != 0 && len(e.Reply) != 32:
		return fmt.Errorf("%w: entry reference", ErrMalformed)
	case (e.To == Local) != (e.Area != nil):
		return fmt.Errorf("%w: an area entry needs an area, others none", ErrMalformed)
	case len(e.Author) == 0 && len(e.Sig) == 0:
	case len(e.Author) == ed25519.PublicKeySize && len(e.Sig) == ed25519.SignatureSize:
	default:
		return fmt.Errorf("%w: entry author or signature length", ErrMalformed)
	}
	return e.Area.check()
}

// Preview cuts text to at most PreviewBytes bytes on a character boundary.
func Preview(text string) string {
	if len(text) <= PreviewBytes {
		return text
	}
	cut := PreviewBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// SplitText splits a checked text into the head part and the
// continuation parts, on character boundaries.
func SplitText(text string) (head string, more []string) {
	cut := func(s string, n int) (string, string) {
		if len(s) <= n {
			return s, ""
		}
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return s[:n], s[n:]
	}
	head, rest := cut(text, HeadText)
	for rest != "" {
		var part string
		part, rest = cut(rest, MoreText)
		more = append(more, part)
	}
	return head, more
}
