package social

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
)

// Visibility says who sees a profile's name, bio and photo.
type Visibility uint8

// Visibilities. The /kprof/ record exists in every case: it carries what
// friend requests need (the intro set's key and the X25519 key) and the
// ids of the recent signed world posts, which are public anyway.
const (
	// VisibleWorld: name, bio and photo are in the /kprof/ record, which
	// anyone who knows the address reads.
	VisibleWorld Visibility = 1
	// VisibleFriends: the /kprof/ record has no name, bio or photo; the
	// friends stream carries them to contacts.
	VisibleFriends Visibility = 2
	// VisibleLocal: as world, and the profile is also listed (a
	// ProfileRef) in the area set of the cell around a place.
	VisibleLocal Visibility = 3
)

func (v Visibility) String() string {
	switch v {
	case VisibleWorld, 0:
		return "world"
	case VisibleFriends:
		return "friends"
	case VisibleLocal:
		return "local"
	}
	return fmt.Sprintf("visibility(%d)", v)
}

// ParseVisibility reads "world", "friends" or "local".
func ParseVisibility(s string) (Visibility, error) {
	switch s {
	case "world":
		return VisibleWorld, nil
	case "friends":
		return VisibleFriends, nil
	case "local", "area":
		return VisibleLocal, nil
	}
	return 0, fmt.Errorf("visibility %q: want world, friends or local", s)
}

// Limits of a profile (messenger.ProfileBody holds them).
const (
	MaxNameLen = messenger.MaxNameLen // bytes of UTF-8
	MaxBioLen  = messenger.MaxBioLen  // bytes of UTF-8
	MaxRecent  = messenger.MaxRecent  // recent world posts a profile lists
)

// ProfileRef lists a profile in the area set of a cell ("local"
// visibility): the owner's address, their name, and the place (snapped to
// the centre of its cell of about 150 m, geo.Snap), signed by the owner.
// Area sets hold feed entries too: a ProfileRef's fields are numbered from
// 16, so neither decoder takes the other kind (DecodeAreaItem tells them
// apart).
type ProfileRef struct {
	Author  []byte `cbor:"16,keyasint"` // Ed25519 public key: the address
	Name    string `cbor:"17,keyasint"`
	LatE6   int32  `cbor:"18,keyasint"`
	LonE6   int32  `cbor:"19,keyasint"`
	Created int64  `cbor:"20,keyasint"` // unix seconds
	Thumb   []byte `cbor:"21,keyasint,omitempty"`
	Sig     []byte `cbor:"22,keyasint"`
}

// MaxProfileRef is the longest encoded ProfileRef.
const MaxProfileRef = 512

const profileRefContext = "komrade profile listing v1\x00"

func (r *ProfileRef) signed() ([]byte, error) {
	c := *r
	c.Sig = nil
	b, err := detcbor.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte(profileRefContext), b...), nil
}

func (r *ProfileRef) check() error {
	switch {
	case len(r.Author) != ed25519.PublicKeySize || len(r.Sig) != ed25519.SignatureSize:
		return fmt.Errorf("%w: listing author or signature length", ErrMalformed)
	case !validText(r.Name, MaxNameLen):
		return fmt.Errorf("%w: listing name", ErrMalformed)
	case len(r.Thumb) != 0 && len(r.Thumb) != 32:
		return fmt.Errorf("%w: listing thumbnail", ErrMalformed)
	}
	return (&Area{LatE6: r.LatE6, LonE6: r.LonE6}).check()
}

// SignProfileRef signs r as priv's owner and returns its encoding.
func SignProfileRef(r *ProfileRef, priv ed25519.PrivateKey) ([]byte, error) {
	r.Author = append([]byte(nil), priv.Public().(ed25519.PublicKey)...)
	r.Sig = make([]byte, ed25519.SignatureSize) // for check; replaced below
	if err := r.check(); err != nil {
		return nil, err
	}
	msg, err := r.signed()
	if err != nil {
		return nil, err
	}
	r.Sig = ed25519.Sign(priv, msg)
	return detcbor.Marshal(r)
}

// DecodeProfileRef decodes a listing from the network and checks its
// limits and signature.
func DecodeProfileRef(raw []byte) (*ProfileRef, error) {
	if len(raw) > MaxProfileRef {
		return nil, fmt.Errorf("%w: listing of %d bytes", ErrMalformed, len(raw))
	}
	var r ProfileRef
	if err := dec.UnmarshalCanonical(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: listing: %v", ErrMalformed, err)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	msg, err := r.signed()
	if err != nil || !ed25519.Verify(r.Author, msg, r.Sig) {
		return nil, fmt.Errorf("%w: listing signature", ErrMalformed)
	}
	return &r, nil
}

// DecodeAreaItem decodes the body of an item of an "area" set: a feed
// entry or a profile listing (exactly one of the two is returned).
func DecodeAreaItem(raw []byte) (*Entry, *ProfileRef, error) {
	if e, err := DecodeEntry(raw); err == nil {
		return e, nil, nil
	}
	r, err := DecodeProfileRef(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: area item is neither an entry nor a listing", ErrMalformed)
	}
	return nil, r, nil
}

// validText reports whether s is at most max bytes of UTF-8 without
// control characters.
func validText(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) < 0
}

// Profile is a profile as a reader sees it, checked.
type Profile struct {
	Address     string
	Fingerprint string
	Name        string
	Bio         string
	// Photo is the profile's photo (fetch it with Image), nil without one.
	Photo *ImageRef
	// Recent lists the owner's latest signed world posts, newest first.
	Recent     []PostID
	Visibility Visibility
	Updated    time.Time // when the owner published this version
	Expires    time.Time
}

// Profile reads the profile of the user at address through the mix
// network and checks it. A profile that does not check out wraps
// wire.ErrInvalid; none published, wire.ErrNotFound.
func (s *Social) Profile(ctx context.Context, address string) (*Profile, error) {
	pub, err := messenger.ParseAddress(address)
	if err != nil {
		return nil, err
	}
	raw, err := s.getRecord(ctx, record.ProfileKey(pub))
	if errors.Is(err, wire.ErrNotFound) {
		return nil, fmt.Errorf("social: no profile is published for this address (its owner publishes one with `komrade profile set`): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("social: profile: %w", err)
	}
	return decodeProfile(pub, raw)
}

// decodeProfile checks that raw is the profile record of pub and decodes
// it.
func decodeProfile(pub ed25519.PublicKey, raw []byte) (*Profile, error) {
	p, err := record.DecodeProfile(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: profile: %v", ErrMalformed, err)
	}
	if !bytes.Equal(p.Author, pub) {
		return nil, fmt.Errorf("%w: the profile is someone else's", ErrMalformed)
	}
	b, err := messenger.DecodeProfileBody(p.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: profile: %v", ErrMalformed, err)
	}
	out := &Profile{Address: messenger.Address(pub), Fingerprint: client.Fingerprint(pub), Name: b.Name, Bio: b.Bio,
		Visibility: Visibility(b.Visibility), Updated: time.Unix(int64(min(p.Seq, 1<<62)), 0).UTC(), Expires: time.Unix(p.Expires, 0).UTC()}
	if out.Visibility == 0 {
		out.Visibility = VisibleWorld
	}
	if len(b.Photo) != 0 {
		ref, err := DecodeImageRef(b.Photo)
		if err != nil {
			return nil, err
		}
		if len(ref.Key) != 0 {
			return nil, fmt.Errorf("%w: a public profile's photo is sealed", ErrMalformed)
		}
		out.Photo = ref
	}
	for _, id := range b.Recent {
		out.Recent = append(out.Recent, PostID(id))
	}
	return out, nil
}

// ProfileOptions change the user's profile; what is left nil or zero
// keeps its current value.
type ProfileOptions struct {
	Name *string // display name, at most MaxNameLen bytes
	Bio  *string // at most MaxBioLen bytes
	// Photo, if set, is read for the new photo: a JPEG, PNG or GIF of at
	// most 10 MiB, published upright and without metadata.
	Photo      io.Reader
	ClearPhoto bool // remove the photo
	Visibility Visibility
	// Near is the place a local profile is listed at (snapped to the
	// centre of its cell of about 150 m before it is published).
	Near *geo.Point
}

// ProfileSettings are the user's own profile settings, kept in the store
// (bucket "social", key "profile") so that SetProfile can change one
// field at a time and the friends stream can carry what a friends-only
// profile hides.
type ProfileSettings struct {
	Name       string     `cbor:"1,keyasint"`
	Bio        string     `cbor:"2,keyasint"`
	Photo      []byte     `cbor:"3,keyasint,omitempty"` // encoded ImageRef
	Visibility Visibility `cbor:"4,keyasint"`
	// Near is the snapped place of a local profile (radius 0).
	Near   *Area      `cbor:"5,keyasint,omitempty"`
	Recent [][32]byte `cbor:"6,keyasint,omitempty"`
	// Published is when the /kprof/ record was last stored (unix
	// seconds), zero when the settings changed since (it is due).
	Published int64 `cbor:"7,keyasint,omitempty"`
	// Listed is when the local listing was last stored (unix seconds).
	Listed int64 `cbor:"8,keyasint,omitempty"`
	// PhotoFull is the photo as published (the prepared full JPEG, no
	// metadata), kept so that it can go to the friends stream, or be
	// published again when the visibility changes, without the original
	// file. Photo is its public reference, nil while the profile is for
	// friends only (its records are then not stored in the clear).
	PhotoFull []byte `cbor:"9,keyasint,omitempty"`
	// PhotoStored is when the public photo's records were stored (unix
	// seconds): they expire with PostTTL, so they are stored again (as new
	// records) once two thirds of it have passed.
	PhotoStored int64 `cbor:"10,keyasint,omitempty"`
	// FriendsReach names who could read the friends-stream copy of a
	// friends-only profile when it was last written (see friendsReach): a
	// new contact, or the stream's move to fresh keys after a removal,
	// changes it, and the copy is written again for the new readers.
	FriendsReach []byte `cbor:"11,keyasint,omitempty"`
}

const (
	socialBucket = "social"
	profileKey   = "profile"
)

// Settings returns the user's own profile settings (zero before the first
// SetProfile or post).
func (s *Social) Settings() (*ProfileSettings, error) {
	var ps ProfileSettings
	b, err := s.st.Get(socialBucket, profileKey)
	if errors.Is(err, store.ErrNotFound) {
		return &ps, nil
	}
	if err != nil {
		return nil, err
	}
	if err := dec.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("social: profile settings: %w", err)
	}
	return &ps, nil
}

func (s *Social) saveSettings(ps *ProfileSettings) error {
	b, err := detcbor.Marshal(ps)
	if err != nil {
		return err
	}
	return s.st.Put(socialBucket, profileKey, b)
}

// SetProfile changes the user's profile and publishes it: the signed
// /kprof/ record (with name, bio and photo unless the visibility is
// friends), for a local profile its listing in the area set of the cell
// around Near, and for a friends-only profile name, bio and photo in the
// friends stream (SetFriendsProfile). A public photo's records are stored
// first (as a post's image is); a friends-only one's only sealed. It
// returns the user's address.
func (s *Social) SetProfile(ctx context.Context, o ProfileOptions) (string, error) {
	s.profileMu.Lock()
	defer s.profileMu.Unlock()
	ps, err := s.Settings()
	if err != nil {
		return "", err
	}
	if o.Name != nil {
		if !validText(*o.Name, MaxNameLen) {
			return "", fmt.Errorf("a name is at most %d bytes of UTF-8, without control characters", MaxNameLen)
		}
		ps.Name = *o.Name
	}
	if o.Bio != nil {
		if !validText(*o.Bio, MaxBioLen) {
			return "", fmt.Errorf("a bio is at most %d bytes of UTF-8, without control characters other than newlines", MaxBioLen)
		}
		ps.Bio = *o.Bio
	}
	switch o.Visibility {
	case 0:
	case VisibleWorld, VisibleFriends, VisibleLocal:
		ps.Visibility = o.Visibility
	default:
		return "", fmt.Errorf("visibility %d: want world, friends or local", o.Visibility)
	}
	if ps.Visibility == 0 {
		ps.Visibility = VisibleWorld
	}
	if o.Near != nil {
		c, _, err := geo.Snap(*o.Near, 0)
		if err != nil {
			return "", fmt.Errorf("the place of a local profile: %w", err)
		}
		a := NewArea(c, 0)
		ps.Near = &a
	}
	if ps.Visibility == VisibleLocal && ps.Near == nil {
		return "", errors.New("a local profile needs a place: --near LAT,LON")
	}
	if ps.Visibility == VisibleFriends {
		// The friends stream's own limits (friends_format.go).
		switch {
		case strings.TrimSpace(ps.Name) == "":
			return "", errors.New("a profile for friends needs a name (--name)")
		case utf8.RuneCountInString(ps.Name) > MaxFriendsName || utf8.RuneCountInString(strings.TrimSpace(ps.Bio)) > MaxFriendsBio:
			return "", fmt.Errorf("a profile for friends has a name of at most %d characters and a bio of at most %d", MaxFriendsName, MaxFriendsBio)
		}
	}
	var fresh *photo.Prepared
	switch {
	case o.Photo != nil:
		if fresh, err = prepareImage(o.Photo); err != nil {
			return "", err
		}
		ps.Photo, ps.PhotoFull = nil, fresh.Full
	case o.ClearPhoto:
		ps.Photo, ps.PhotoFull = nil, nil
	}
	if err := s.publicPhoto(ctx, ps, fresh); err != nil {
		return "", err
	}
	// Saved before the profile record is published: the settings are the
	// user's choice whether or not the publication goes through now, and a
	// later SetProfile or RefreshProfile publishes what is due.
	ps.Published = 0
	if err := s.saveSettings(ps); err != nil {
		return "", err
	}
	return s.publishProfile(ctx, ps, true)
}

// publicPhoto stores the records of the photo of a profile that is not
// for friends only, when they are not stored yet (a new photo, or one
// that was for friends only) or are old (see PhotoStored). fresh, if set,
// is the photo prepared already. The caller holds profileMu.
func (s *Social) publicPhoto(ctx context.Context, ps *ProfileSettings, fresh *photo.Prepared) error {
	now := time.Now()
	if ps.Visibility == VisibleFriends || ps.PhotoFull == nil ||
		(ps.Photo != nil && now.Unix() < ps.PhotoStored+int64(2*PostTTL/3/time.Second)) {
		return nil
	}
	if fresh == nil {
		var err error
		if fresh, err = prepareImage(bytes.NewReader(ps.PhotoFull)); err != nil {
			return err
		}
	}
	ref, recs, err := imageRecords(fresh, now.Unix(), now.Add(PostTTL).Unix())
	if err != nil {
		return err
	}
	enc, err := EncodeImageRef(ref)
	if err != nil {
		return err
	}
	// Stored before anything refers to them.
	if err := s.putRecords(ctx, recs); err != nil {
		return fmt.Errorf("social: profile photo: %w", err)
	}
	ps.Photo, ps.PhotoStored = enc, now.Unix()
	// Saved at once: should the profile record fail next, the next try
	// must not store the photo's records again.
	return s.saveSettings(ps)
}

// publishProfile publishes the /kprof/ record of ps (and the photo's
// records when due, see publicPhoto); with all set, also what its
// visibility publishes besides: a local profile's listing (which is also
// stored when due), a friends-only profile's copy in the friends stream.
// It records what it stored in the store. The caller holds profileMu.
func (s *Social) publishProfile(ctx context.Context, ps *ProfileSettings, all bool) (string, error) {
	if err := s.publicPhoto(ctx, ps, nil); err != nil {
		return "", err
	}
	if all && ps.Visibility == VisibleFriends {
		// For friends only: name, bio and photo go to the friends
		// stream, which only current contacts read.
		var pic io.Reader
		if ps.PhotoFull != nil {
			pic = bytes.NewReader(ps.PhotoFull)
		}
		reach, err := s.friendsReach()
		if err != nil {
			return "", err
		}
		if err := s.SetFriendsProfile(ctx, ps.Name, ps.Bio, pic); err != nil {
			return "", fmt.Errorf("social: the profile for friends: %w", err)
		}
		ps.FriendsReach = reach
	}
	body := &messenger.ProfileBody{Recent: ps.Recent, Visibility: uint8(ps.Visibility)}
	if ps.Visibility != VisibleFriends {
		body.Name, body.Bio, body.Photo = ps.Name, ps.Bio, ps.Photo
	}
	addr, err := s.m.PublishProfileBody(ctx, body)
	if err != nil {
		return "", err
	}
	now := time.Now()
	ps.Published = now.Unix()
	if ps.Visibility == VisibleLocal && (all || listingDue(ps, now, s.areaTTL())) {
		if err := s.listProfile(ctx, ps, now); err != nil {
			s.saveSettings(ps)
			return "", err
		}
		ps.Listed = now.Unix()
	}
	return addr, s.saveSettings(ps)
}

// areaTTL is the lifetime of area items on the network.
func (s *Social) areaTTL() time.Duration { return s.c.Params().SetRules()[nsArea].TTL }

func listingDue(ps *ProfileSettings, now time.Time, ttl time.Duration) bool {
	return ps.Listed == 0 || now.Unix() >= ps.Listed+int64(ttl/time.Second)/2
}

// listProfile appends the listing of a local profile to the area set of
// the cell of its place.
func (s *Social) listProfile(ctx context.Context, ps *ProfileSettings, now time.Time) error {
	center := ps.Near.Center()
	cell, err := geo.CellOf(center, AreaLevel)
	if err != nil {
		return err
	}
	ref := &ProfileRef{Name: ps.Name, LatE6: ps.Near.LatE6, LonE6: ps.Near.LonE6, Created: now.Unix()}
	if len(ps.Photo) != 0 {
		if img, err := DecodeImageRef(ps.Photo); err == nil {
			ref.Thumb = append([]byte(nil), img.Thumb[:]...)
		}
	}
	body, err := SignProfileRef(ref, s.id.Sign)
	if err != nil {
		return err
	}
	item, err := setItem(ctx, nsArea, geo.AreaKey(cell), body, now, s.c.Params().SetRules())
	if err != nil {
		return err
	}
	if err := s.retry(ctx, func(c context.Context) error {
		_, err := s.c.Append(c, item)
		return err
	}); err != nil {
		return fmt.Errorf("social: list the profile in its area: %w", err)
	}
	return nil
}

// addRecent puts id first in the profile's recent posts and publishes the
// profile.
func (s *Social) addRecent(ctx context.Context, id PostID) error {
	s.profileMu.Lock()
	defer s.profileMu.Unlock()
	ps, err := s.Settings()
	if err != nil {
		return err
	}
	if ps.Visibility == 0 {
		ps.Visibility = VisibleWorld
	}
	recent := [][32]byte{id}
	for _, r := range ps.Recent {
		if r != id && len(recent) < MaxRecent {
			recent = append(recent, r)
		}
	}
	ps.Recent, ps.Published = recent, 0
	if err := s.saveSettings(ps); err != nil {
		return err
	}
	_, err = s.publishProfile(ctx, ps, false)
	return err
}

// friendsReach is a digest of who can read the friends stream from its
// next box on: the stream's keys and the confirmed contacts.
func (s *Social) friendsReach() ([]byte, error) {
	fs, err := s.m.FriendsStream()
	if err != nil {
		return nil, err
	}
	contacts, err := s.m.Contacts()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("komrade friends reach v1\x00"))
	h.Write(fs.Write)
	for _, name := range slices.Sorted(maps.Keys(contacts)) {
		if fp := contacts[name]; fp != "" {
			fmt.Fprintf(h, "%s\x00%s\x00", name, fp)
		}
	}
	return h.Sum(nil), nil
}

// RefreshProfile publishes the profile again if it is due: its settings
// changed since it was last stored (a publication failed), its record is
// in the last third of its life (its photo's records are then stored
// again too), or its local listing in the last half of its own; a
// friends-only profile's copy in the friends stream is written again when
// the stream has new readers (a new contact, or fresh keys after a
// removal). It does nothing for a user who never set a profile or posted.
// The daemon's refresher calls it every round.
func (s *Social) RefreshProfile(ctx context.Context) error {
	s.profileMu.Lock()
	defer s.profileMu.Unlock()
	ps, err := s.Settings()
	if err != nil || ps.Visibility == 0 {
		return err
	}
	now := time.Now()
	due := ps.Published == 0 || now.Unix() >= ps.Published+int64(2*record.MaxTTL/3/time.Second) ||
		// The public photo's records expire with PostTTL, whenever the
		// profile record itself was last stored (a post renews that).
		ps.Visibility != VisibleFriends && ps.Photo != nil && now.Unix() >= ps.PhotoStored+int64(2*PostTTL/3/time.Second)
	if !due && ps.Visibility == VisibleFriends {
		// A reader's capability starts at the stream's next box: a new
		// contact, or all of them after the stream moved to fresh keys,
		// would never see the copy written before.
		reach, err := s.friendsReach()
		if err != nil {
			return err
		}
		if !bytes.Equal(reach, ps.FriendsReach) {
			_, err := s.publishProfile(ctx, ps, true)
			return err
		}
	}
	if !due && !(ps.Visibility == VisibleLocal && listingDue(ps, now, s.areaTTL())) {
		return nil
	}
	// A due record means the friends stream's copy is as old.
	_, err = s.publishProfile(ctx, ps, due)
	return err
}
