package social

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/katzenpost/hpqc/bacap"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/record"
)

// The friends stream's formats (docs/social.md, "Friends stream").
//
// A box of a friends stream is a /kbox/ record (record.SealBox) whose blob
// is BACAP's own encryption of one padded item, for the box's index and
// friendsContext: the blinded key's signature of the ciphertext (64
// bytes), then the AES-GCM-SIV ciphertext. Every blob has the size of a
// message box's (message.CiphertextSize), so storage nodes cannot tell a
// friends box from a mailbox box, nor a post from a profile, nor a short
// text from a long one.
//
//	plaintext (friendsPlainSize bytes): version 1 | length 2 | item | zero padding
//
// The item (friendsWire) is a post (a Body with To = Friends) or a friends
// profile, and Key, the XChaCha20-Poly1305 key of its sealed records:
// continuation text, thumbnail, image manifest and chunks, each a /kpost/
// record signed by a one-time key whose body is
//
//	nonce 24 | XChaCha20-Poly1305(Key, content, ad = friendsRecordAD ‖ role)

// Limits and sizes of the friends stream.
const (
	// FriendsTTL is how long friends boxes and their sealed records live.
	FriendsTTL = record.MaxTTL
	// friendsBlobSize is the size of every friends box's blob: that of a
	// message box.
	friendsBlobSize = message.CiphertextSize
	// friendsPlainSize is the padded plaintext of a box: the blob less the
	// BACAP signature and the AES-GCM-SIV tag.
	friendsPlainSize = friendsBlobSize - ed25519.SignatureSize - 16
	friendsVersion   = 1
	// maxFriendsItem is the largest encoded item a box carries.
	maxFriendsItem = friendsPlainSize - 3
	// MaxFriendsName and MaxFriendsBio bound a friends profile, in
	// characters (and 4 bytes a character).
	MaxFriendsName = 64
	MaxFriendsBio  = 200
)

// friendsContext separates the friends stream's box ids and keys from the
// mailboxes' (BACAP derives both from the index and a context).
var friendsContext = []byte("komrade friends v1")

const friendsRecordAD = "komrade friends record v1\x00"

// friendsRole is what a sealed record of a friends item holds; it is bound
// into the record's encryption, so a record cannot stand in for another
// of a different role.
type friendsRole byte

const (
	roleMore     friendsRole = 1 // a continuation of the text
	roleThumb    friendsRole = 2 // a thumbnail JPEG
	roleManifest friendsRole = 3 // a friendsManifest
	roleChunk    friendsRole = 4 // a chunk of the full image
)

// FriendsKind is what a friends item is.
type FriendsKind uint8

// Kinds of friends items.
const (
	FriendsPostKind    FriendsKind = 1
	FriendsProfileKind FriendsKind = 2
)

// friendsWire is an item of a friends stream.
type friendsWire struct {
	Kind    FriendsKind         `cbor:"1,keyasint"`
	Created int64               `cbor:"2,keyasint"` // unix seconds, the author's claim
	Post    *Body               `cbor:"3,keyasint,omitempty"`
	Profile *friendsProfileWire `cbor:"4,keyasint,omitempty"`
	// Key seals the item's records (continuations, image); present only
	// when there are some. ImageRef.Key stays empty in the item: the
	// reader sets it from Key.
	Key []byte `cbor:"5,keyasint,omitempty"`
}

// friendsProfileWire is a profile for friends.
type friendsProfileWire struct {
	Name  string    `cbor:"1,keyasint"`
	Bio   string    `cbor:"2,keyasint,omitempty"`
	Photo *ImageRef `cbor:"3,keyasint,omitempty"`
}

// friendsManifest names the sealed chunk records of a friends image. The
// record ids authenticate the sealed chunks; the assembled image must have
// the manifest's size and be a JPEG of its dimensions.
type friendsManifest struct {
	W      uint16 `cbor:"1,keyasint"`
	H      uint16 `cbor:"2,keyasint"`
	Size   uint32 `cbor:"3,keyasint"`
	Chunks []byte `cbor:"4,keyasint"` // 32 bytes a chunk: the records' ids, in order
}

var friendsDec = detcbor.NewDecoder(16, 5)

func checkFriendsText(s string, maxChars int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxChars || len(s) > 4*maxChars {
		return fmt.Errorf("%w: friends profile text", ErrMalformed)
	}
	return nil
}

func (p *friendsProfileWire) check() error {
	if strings.TrimSpace(p.Name) == "" {
		return fmt.Errorf("%w: friends profile without a name", ErrMalformed)
	}
	if err := checkFriendsText(p.Name, MaxFriendsName); err != nil {
		return err
	}
	if err := checkFriendsText(p.Bio, MaxFriendsBio); err != nil {
		return err
	}
	return p.Photo.check()
}

func (w *friendsWire) check() error {
	if w.Created <= 0 {
		return fmt.Errorf("%w: friends item time", ErrMalformed)
	}
	var sealed bool // the item refers to sealed records
	var img *ImageRef
	switch w.Kind {
	case FriendsPostKind:
		if w.Post == nil || w.Profile != nil {
			return fmt.Errorf("%w: friends post without its body", ErrMalformed)
		}
		if err := w.Post.check(); err != nil {
			return err
		}
		if w.Post.To != Friends || w.Post.Text == "" {
			return fmt.Errorf("%w: friends post audience or text", ErrMalformed)
		}
		img, sealed = w.Post.Image, len(w.Post.More) > 0 || w.Post.Image != nil
	case FriendsProfileKind:
		if w.Profile == nil || w.Post != nil {
			return fmt.Errorf("%w: friends profile without its body", ErrMalformed)
		}
		if err := w.Profile.check(); err != nil {
			return err
		}
		img, sealed = w.Profile.Photo, w.Profile.Photo != nil
	default:
		return fmt.Errorf("%w: friends item kind %d", ErrMalformed, w.Kind)
	}
	if img != nil && len(img.Key) != 0 {
		return fmt.Errorf("%w: image key inside a friends item", ErrMalformed)
	}
	if sealed != (len(w.Key) == chacha20poly1305.KeySize) || (!sealed && len(w.Key) != 0) {
		return fmt.Errorf("%w: friends item key", ErrMalformed)
	}
	return nil
}

// encodeFriendsPlain checks w and lays it out as a box's padded plaintext.
func encodeFriendsPlain(w *friendsWire) ([]byte, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	b, err := detcbor.Marshal(w)
	if err != nil {
		return nil, err
	}
	if len(b) > maxFriendsItem {
		return nil, fmt.Errorf("%w: friends item of %d bytes (at most %d)", ErrMalformed, len(b), maxFriendsItem)
	}
	out := make([]byte, friendsPlainSize)
	out[0] = friendsVersion
	binary.BigEndian.PutUint16(out[1:], uint16(len(b)))
	copy(out[3:], b)
	return out, nil
}

// decodeFriendsPlain decodes a box's plaintext: size, version, length and
// zero padding first, then the item, strictly.
func decodeFriendsPlain(b []byte) (*friendsWire, error) {
	if len(b) != friendsPlainSize {
		return nil, fmt.Errorf("%w: friends plaintext of %d bytes", ErrMalformed, len(b))
	}
	if b[0] != friendsVersion {
		return nil, fmt.Errorf("%w: friends item version %d", ErrMalformed, b[0])
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	if n > maxFriendsItem {
		return nil, fmt.Errorf("%w: friends item length %d", ErrMalformed, n)
	}
	for _, x := range b[3+n:] {
		if x != 0 {
			return nil, fmt.Errorf("%w: friends padding", ErrMalformed)
		}
	}
	var w friendsWire
	if err := friendsDec.UnmarshalCanonical(b[3:3+n], &w); err != nil {
		return nil, fmt.Errorf("%w: friends item: %v", ErrMalformed, err)
	}
	if err := w.check(); err != nil {
		return nil, err
	}
	return &w, nil
}

// friendsItemID names an item by its author (the contact whose stream
// held it) and its plaintext (a post's carries a random salt, so no two
// share an id). With the author in it, a contact who copies another's
// decrypted item into their own stream makes an item of their own: it
// cannot take the place of the original at a friend of both.
func friendsItemID(author ed25519.PublicKey, plain []byte) PostID {
	h := sha256.New()
	h.Write([]byte("komrade friends item v1\x00"))
	h.Write(author)
	h.Write(plain)
	return PostID(h.Sum(nil))
}

// friendsBoxIndex is box n (an absolute index) of the stream that cap
// (a read or write capability) reaches.
func friendsBoxIndex(cap interface {
	GetFirstMessageBoxIndex() *bacap.MessageBoxIndex
}, n uint64) (*bacap.MessageBoxIndex, error) {
	return cap.GetFirstMessageBoxIndex().AdvanceIndexTo(n)
}

// friendsBoxID is the id of box idx of the stream rc reads.
func friendsBoxID(rc *bacap.ReadCap, idx *bacap.MessageBoxIndex) [32]byte {
	return *(*[32]byte)(idx.BoxIDForContext(rc, friendsContext).Bytes())
}

// sealFriendsBox encrypts a padded plaintext for box idx of wc's stream
// and returns the box id and the /kbox/ value.
func sealFriendsBox(wc *bacap.WriteCap, idx *bacap.MessageBoxIndex, plain []byte) ([32]byte, []byte, error) {
	if len(plain) != friendsPlainSize {
		return [32]byte{}, nil, fmt.Errorf("social: friends plaintext of %d bytes", len(plain))
	}
	_, ct, sig := idx.EncryptForContext(wc, friendsContext, plain)
	blob := append(bytes.Clone(sig), ct...)
	if len(blob) != friendsBlobSize {
		return [32]byte{}, nil, fmt.Errorf("social: friends blob of %d bytes", len(blob))
	}
	return record.SealBox(wc, idx, friendsContext, blob, FriendsTTL)
}

// openFriendsBox decrypts the blob of box id, box idx of a stream, with
// the stream's read capability (which derived idx): sizes first, then
// BACAP's signature and decryption.
func openFriendsBox(idx *bacap.MessageBoxIndex, id [32]byte, blob []byte) ([]byte, error) {
	if len(blob) != friendsBlobSize {
		return nil, fmt.Errorf("%w: friends box of %d bytes", ErrMalformed, len(blob))
	}
	plain, err := idx.DecryptForContext(id, friendsContext, blob[ed25519.SignatureSize:], blob[:ed25519.SignatureSize])
	if err != nil {
		return nil, fmt.Errorf("%w: friends box does not open: %v", ErrMalformed, err)
	}
	if len(plain) != friendsPlainSize {
		return nil, fmt.Errorf("%w: friends plaintext of %d bytes", ErrMalformed, len(plain))
	}
	return plain, nil
}

// sealFriendsRecord seals content for role with key into a /kpost/ record
// signed by a fresh one-time key, and returns the record and its id.
func sealFriendsRecord(key []byte, role friendsRole, content []byte) ([]byte, PostID, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, PostID{}, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(content)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, PostID{}, err
	}
	body := aead.Seal(nonce, nonce, content, append([]byte(friendsRecordAD), byte(role)))
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, PostID{}, err
	}
	now := time.Now()
	rec, err := record.SignPost(&record.Post{Created: now.Unix(), Expires: now.Add(FriendsTTL).Unix(), Body: body}, priv)
	if err != nil {
		return nil, PostID{}, err
	}
	return rec, IDOf(rec), nil
}

// openFriendsRecord checks a sealed record of a friends item (its
// signature; the caller fetched it by its id) and returns its content.
func openFriendsRecord(key []byte, role friendsRole, rec []byte) ([]byte, error) {
	if len(rec) > record.MaxValue {
		return nil, fmt.Errorf("%w: friends record of %d bytes", ErrMalformed, len(rec))
	}
	p, err := record.DecodePost(rec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: friends record: %v", ErrMalformed, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("%w: friends key: %v", ErrMalformed, err)
	}
	if len(p.Body) < chacha20poly1305.NonceSizeX+aead.Overhead() {
		return nil, fmt.Errorf("%w: friends record body of %d bytes", ErrMalformed, len(p.Body))
	}
	nonce := p.Body[:chacha20poly1305.NonceSizeX]
	out, err := aead.Open(nil, nonce, p.Body[chacha20poly1305.NonceSizeX:], append([]byte(friendsRecordAD), byte(role)))
	if err != nil {
		return nil, fmt.Errorf("%w: friends record does not open", ErrMalformed)
	}
	return out, nil
}

// checkMore checks a decrypted continuation of a post's text.
func checkMore(b []byte) error {
	if len(b) == 0 || len(b) > MoreText || !utf8.Valid(b) {
		return fmt.Errorf("%w: continuation of %d bytes", ErrMalformed, len(b))
	}
	return nil
}

func (m *friendsManifest) check() error {
	n := len(m.Chunks) / sha256.Size
	switch {
	case len(m.Chunks)%sha256.Size != 0 || n < 1 || n > photo.MaxChunks:
		return fmt.Errorf("%w: friends manifest of %d chunk bytes", ErrMalformed, len(m.Chunks))
	case m.W < 1 || m.H < 1 || m.W > photo.FullSide || m.H > photo.FullSide:
		return fmt.Errorf("%w: friends image of %dx%d", ErrMalformed, m.W, m.H)
	case int(m.Size) <= (n-1)*photo.ChunkSize || int(m.Size) > n*photo.ChunkSize:
		return fmt.Errorf("%w: %d bytes in %d chunks", ErrMalformed, m.Size, n)
	}
	return nil
}

// chunkIDs returns the chunk records' ids.
func (m *friendsManifest) chunkIDs() []PostID {
	out := make([]PostID, len(m.Chunks)/sha256.Size)
	for i := range out {
		copy(out[i][:], m.Chunks[i*sha256.Size:])
	}
	return out
}

func encodeFriendsManifest(m *friendsManifest) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return detcbor.Marshal(m)
}

// decodeFriendsManifest decodes a decrypted manifest: size first, then
// strictly, then its limits.
func decodeFriendsManifest(b []byte) (*friendsManifest, error) {
	if len(b) > photo.MaxManifest {
		return nil, fmt.Errorf("%w: friends manifest of %d bytes", ErrMalformed, len(b))
	}
	var m friendsManifest
	if err := friendsDec.UnmarshalCanonical(b, &m); err != nil {
		return nil, fmt.Errorf("%w: friends manifest: %v", ErrMalformed, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}
