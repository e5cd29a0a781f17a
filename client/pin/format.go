package pin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
)

// Namespace is the set namespace of pins, alerts and confirmations.
const Namespace = "pin"

// Limits of the formats. Decoders check them before anything else.
const (
	// MaxNoteChars and MaxNoteBytes bound a pin's note.
	MaxNoteChars = 140
	MaxNoteBytes = 280
	// MaxTextChars and MaxTextBytes bound an alert's text: 280
	// characters, and at most 560 bytes of UTF-8 so that an item fits the
	// namespace's 1024 bytes (two bytes a character: Latin, Greek,
	// Cyrillic, Arabic, Hebrew; CJK text is cut at about 186 characters).
	MaxTextChars = 280
	MaxTextBytes = 560
	// MaxPinTTL is the longest display lifetime a pin may ask for, and the
	// longest any confirmation can keep it: the namespace's lifetime.
	MaxPinTTL = 24 * time.Hour
	// MaxAlertTTL is the longest lifetime of an alert.
	MaxAlertTTL = 6 * time.Hour
	// DefaultAlertTTL is an alert's lifetime when the user gives none.
	DefaultAlertTTL = time.Hour
	// MinTTL is the shortest lifetime of a pin or an alert.
	MinTTL = time.Minute
	// MaxAlertRadiusM is the widest alert (social.MaxAreaRadiusM).
	MaxAlertRadiusM = 25_000
	// SaltSize is the size of the random bytes of a pin or an alert.
	SaltSize = 16
	// IDSize is the size of an id: the SHA-256 of a body.
	IDSize = sha256.Size
	// maxBody is the largest body a decoder reads.
	maxBody = 1024
)

// Type is the first byte of a body: what the item is.
type Type uint8

// Item types.
const (
	TypePin     Type = 1
	TypeAlert   Type = 2
	TypeConfirm Type = 3
)

func (t Type) String() string {
	switch t {
	case TypePin:
		return "pin"
	case TypeAlert:
		return "alert"
	case TypeConfirm:
		return "confirm"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Kind is what a pin marks.
type Kind uint8

// Kinds of pins.
const (
	KindPolice Kind = 1
	KindDanger Kind = 2
	KindMedic  Kind = 3
	KindWater  Kind = 4
	KindOther  Kind = 5
)

var kindNames = map[Kind]string{KindPolice: "police", KindDanger: "danger", KindMedic: "medic", KindWater: "water", KindOther: "other"}

// kindTTL is the default display lifetime of each kind.
var kindTTL = map[Kind]time.Duration{
	KindPolice: time.Hour,
	KindDanger: 3 * time.Hour,
	KindMedic:  6 * time.Hour,
	KindWater:  12 * time.Hour,
	KindOther:  3 * time.Hour,
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DefaultTTL is the display lifetime of a pin of kind k when the user
// gives none: police an hour, danger and other 3 hours, medic 6, water 12.
func (k Kind) DefaultTTL() time.Duration { return kindTTL[k] }

// ParseKind reads police, danger, medic, water or other.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("pin kind %q: want police, danger, medic, water or other", s)
}

// Say is what a confirmation says.
type Say uint8

// Confirmations.
const (
	Still Say = 1 // the pin is still true
	Gone  Say = 2 // it is no more
)

func (s Say) String() string {
	switch s {
	case Still:
		return "still"
	case Gone:
		return "gone"
	}
	return fmt.Sprintf("say(%d)", uint8(s))
}

// ParseSay reads still or gone.
func ParseSay(s string) (Say, error) {
	switch s {
	case "still":
		return Still, nil
	case "gone":
		return Gone, nil
	}
	return 0, fmt.Errorf("confirmation %q: want still or gone", s)
}

// ID names a pin or an alert: the SHA-256 of its body.
type ID [IDSize]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 12 hex digits, what lists show.
func (id ID) Short() string { return hex.EncodeToString(id[:6]) }

// IDOf returns the id of a body.
func IDOf(body []byte) ID { return sha256.Sum256(body) }

// Pin is a pin's body.
type Pin struct {
	Kind    Kind   `cbor:"1,keyasint"`
	LatE6   int32  `cbor:"2,keyasint"`
	LonE6   int32  `cbor:"3,keyasint"`
	Note    string `cbor:"4,keyasint,omitempty"`
	Created int64  `cbor:"5,keyasint"` // Unix seconds, a whole minute
	TTL     uint32 `cbor:"6,keyasint"` // display lifetime, seconds
	Salt    []byte `cbor:"7,keyasint"` // SaltSize random bytes
}

// Alert is an alert's body.
type Alert struct {
	LatE6   int32  `cbor:"1,keyasint"`
	LonE6   int32  `cbor:"2,keyasint"`
	RadiusM uint32 `cbor:"3,keyasint"`
	Text    string `cbor:"4,keyasint"`
	Created int64  `cbor:"5,keyasint"` // Unix seconds, a whole minute
	TTL     uint32 `cbor:"6,keyasint"` // seconds
	Salt    []byte `cbor:"7,keyasint"`
}

// Confirm is a confirmation's body.
type Confirm struct {
	Pin     []byte `cbor:"1,keyasint"` // the pin's id
	Say     Say    `cbor:"2,keyasint"`
	Created int64  `cbor:"3,keyasint"` // Unix seconds, a whole minute
}

// ErrMalformed marks a body that breaks the format; it wraps
// wire.ErrInvalid, so readers count such items as skipped.
var ErrMalformed = fmt.Errorf("pin: malformed item: %w", wire.ErrInvalid)

var bodyDec = detcbor.NewDecoder(16, 4)

// Point returns the pin's position.
func (p *Pin) Point() geo.Point { return fromE6(p.LatE6, p.LonE6) }

// Point returns the alert's centre.
func (a *Alert) Point() geo.Point { return fromE6(a.LatE6, a.LonE6) }

func fromE6(lat, lon int32) geo.Point {
	return geo.Point{Lat: float64(lat) / 1e6, Lon: float64(lon) / 1e6}
}

func toE6(x float64) int32 { return int32(math.Round(x * 1e6)) }

func checkE6(lat, lon int32) error {
	if lat < -90e6 || lat > 90e6 || lon < -180e6 || lon > 180e6 {
		return fmt.Errorf("%w: position out of range", ErrMalformed)
	}
	return nil
}

func checkCreated(c int64) error {
	if c <= 0 || c%60 != 0 {
		return fmt.Errorf("%w: creation time not a whole minute", ErrMalformed)
	}
	return nil
}

func checkTTL(ttl uint32, most time.Duration) error {
	if d := time.Duration(ttl) * time.Second; d < MinTTL || d > most {
		return fmt.Errorf("%w: lifetime %v not within %v..%v", ErrMalformed, d, MinTTL, most)
	}
	return nil
}

// CheckText reports whether s is text a pin note (chars, bytes:
// MaxNoteChars, MaxNoteBytes) or an alert may carry: valid UTF-8, within
// the limits, without control characters but newlines.
func CheckText(s string, chars, bytes int) error {
	if len(s) > bytes || !utf8.ValidString(s) || utf8.RuneCountInString(s) > chars {
		return fmt.Errorf("%w: text over %d characters (%d bytes) or not UTF-8", ErrMalformed, chars, bytes)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: control characters in text", ErrMalformed)
	}
	return nil
}

func (p *Pin) check() error {
	if _, ok := kindNames[p.Kind]; !ok {
		return fmt.Errorf("%w: pin kind %d", ErrMalformed, p.Kind)
	}
	if len(p.Salt) != SaltSize {
		return fmt.Errorf("%w: pin salt", ErrMalformed)
	}
	return errors.Join(checkE6(p.LatE6, p.LonE6), checkCreated(p.Created), checkTTL(p.TTL, MaxPinTTL), CheckText(p.Note, MaxNoteChars, MaxNoteBytes))
}

func (a *Alert) check() error {
	if a.RadiusM == 0 || a.RadiusM > MaxAlertRadiusM {
		return fmt.Errorf("%w: alert radius %d m", ErrMalformed, a.RadiusM)
	}
	if a.Text == "" || len(a.Salt) != SaltSize {
		return fmt.Errorf("%w: alert without text or salt", ErrMalformed)
	}
	return errors.Join(checkE6(a.LatE6, a.LonE6), checkCreated(a.Created), checkTTL(a.TTL, MaxAlertTTL), CheckText(a.Text, MaxTextChars, MaxTextBytes))
}

func (c *Confirm) check() error {
	if len(c.Pin) != IDSize || (c.Say != Still && c.Say != Gone) {
		return fmt.Errorf("%w: confirmation", ErrMalformed)
	}
	return checkCreated(c.Created)
}

// checker is a body of one of the three types.
type checker interface{ check() error }

func encode(t Type, v checker) ([]byte, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	b, err := detcbor.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pin: encode %s: %w", t, err)
	}
	out := append([]byte{byte(t)}, b...)
	if len(out) > maxBody {
		return nil, fmt.Errorf("pin: %s body of %d bytes exceeds %d: %w", t, len(out), maxBody, wire.ErrTooLarge)
	}
	return out, nil
}

// EncodePin checks a pin and returns its body.
func EncodePin(p *Pin) ([]byte, error) { return encode(TypePin, p) }

// EncodeAlert checks an alert and returns its body.
func EncodeAlert(a *Alert) ([]byte, error) { return encode(TypeAlert, a) }

// EncodeConfirm checks a confirmation and returns its body.
func EncodeConfirm(c *Confirm) ([]byte, error) { return encode(TypeConfirm, c) }

// Body is a decoded body: exactly one of its fields is set.
type Body struct {
	Pin     *Pin
	Alert   *Alert
	Confirm *Confirm
}

// Type is the type of the body.
func (b *Body) Type() Type {
	switch {
	case b.Pin != nil:
		return TypePin
	case b.Alert != nil:
		return TypeAlert
	}
	return TypeConfirm
}

// DecodeBody decodes a body from the network strictly: size first, then
// the type byte, then deterministic CBOR of that type's fields (unknown
// fields, duplicates, other encodings refused), then the type's limits.
func DecodeBody(b []byte) (*Body, error) {
	if len(b) < 2 || len(b) > maxBody {
		return nil, fmt.Errorf("%w: body of %d bytes", ErrMalformed, len(b))
	}
	var (
		out Body
		v   checker
	)
	switch Type(b[0]) {
	case TypePin:
		out.Pin = &Pin{}
		v = out.Pin
	case TypeAlert:
		out.Alert = &Alert{}
		v = out.Alert
	case TypeConfirm:
		out.Confirm = &Confirm{}
		v = out.Confirm
	default:
		return nil, fmt.Errorf("%w: type %d", ErrMalformed, b[0])
	}
	if err := bodyDec.UnmarshalCanonical(b[1:], v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetKey is the key of a cell's pin set: geo.AreaKey of a level-4 cell.
func SetKey(c geo.Cell) []byte { return geo.AreaKey(c) }
