package social

// The friends stream: posts and a profile only the user's contacts read
// (docs/social.md, "Friends stream"; the formats are in friends_format.go).
//
// The messenger keeps the stream's write capability and hands the read
// capability to every confirmed contact (client/messenger/friendscap.go);
// removing a contact moves the stream to fresh keys that only the
// remaining contacts get. This file writes items into the stream and
// reads the streams of the user's contacts into the local copy (store
// bucket "friends"; reading progress in bucket "friends-read").

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

const (
	// maxFriendsRead bounds the boxes one RefreshFriends reads from one
	// stream; the next refresh goes on.
	maxFriendsRead = 32
	// friendsParallel is how many contacts' streams are read at once.
	friendsParallel = 2
	// friendsWriteTries bounds how often a post moves to the next box
	// because the one it was sealed for is taken (a write of the same
	// user that crashed before it was recorded, or ran beside it).
	friendsWriteTries = 4
	// friendsAskEvery is how often a reader that lost its place in a
	// contact's stream asks the contact for its current capability.
	friendsAskEvery = 24 * time.Hour
	// friendsPutParallel is how many sealed records are written at once.
	friendsPutParallel = 8
)

// FriendsItem is a friends post: read from a contact's friends stream, or
// written by the user (Author "").
type FriendsItem struct {
	ID       PostID            // the SHA-256 of the item's plaintext
	Author   string            // the contact's name when it was read; "" for the user's own
	Identity ed25519.PublicKey // the author's identity key
	Created  time.Time         // when the author says they wrote it
	Read     time.Time         // when it was read (or written)
	Text     string            // the whole text
	Reply    []byte            // the parent's PostID, if a reply
	// Image, when set, carries in Key the key its records are sealed
	// with: FriendsImage fetches the full image.
	Image *ImageRef
	Thumb []byte // the thumbnail, a checked JPEG; nil without image
}

// FriendsProfile is a profile for friends: the latest one a contact
// wrote in their friends stream, or the user's own (Contact "").
type FriendsProfile struct {
	Contact  string
	Identity ed25519.PublicKey
	Created  time.Time
	Name     string
	Bio      string
	Photo    *ImageRef // Key set, like FriendsItem.Image
	Thumb    []byte
}

// storedFriends is a friends item as the local copy keeps it.
type storedFriends struct {
	Kind     FriendsKind `cbor:"1,keyasint"`
	ID       []byte      `cbor:"2,keyasint"`
	Author   string      `cbor:"3,keyasint"`
	Identity []byte      `cbor:"4,keyasint"`
	Created  int64       `cbor:"5,keyasint"`
	Read     int64       `cbor:"6,keyasint"`           // unix nanoseconds: orders items of the same second
	Text     string      `cbor:"7,keyasint,omitempty"` // post: the whole text; profile: the name
	Bio      string      `cbor:"8,keyasint,omitempty"`
	Reply    []byte      `cbor:"9,keyasint,omitempty"`
	Image    *ImageRef   `cbor:"10,keyasint,omitempty"`
	Thumb    []byte      `cbor:"11,keyasint,omitempty"`
}

// friendsRead is the reading progress of one capability of one contact
// (bucket "friends-read", key contact/capability hash).
type friendsRead struct {
	Next    uint64 `cbor:"1,keyasint"` // absolute index of the next box
	Done    bool   `cbor:"2,keyasint,omitempty"`
	Checked int64  `cbor:"3,keyasint"` // when box Next was last looked at
	Asked   int64  `cbor:"4,keyasint,omitempty"`
	Skipped uint64 `cbor:"5,keyasint,omitempty"` // items that failed validation
}

var storeDec = detcbor.NewDecoder(64, 5)

// friendsLocks holds, by store, the lock that lets one RefreshFriends of a
// user run at a time (two would read the same boxes).
var friendsLocks sync.Map // *store.Store -> *sync.Mutex

func (s *Social) refreshLock() *sync.Mutex {
	v, _ := friendsLocks.LoadOrStore(s.st, new(sync.Mutex))
	return v.(*sync.Mutex)
}

// errFriendsInvalid marks an item that fails validation: it is skipped
// and counted, never retried.
type errFriendsInvalid struct{ err error }

func (e errFriendsInvalid) Error() string { return "invalid friends item: " + e.err.Error() }
func (e errFriendsInvalid) Unwrap() error { return e.err }

// invalid wraps err as a validation failure when it is one: malformed
// content, or a record the network does not have (a writer stores an
// item's records before the item). Anything else (no answer, an exit
// whose answer does not verify) is the network's, tried again later.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrMalformed) || errors.Is(err, photo.ErrMalformed) || errors.Is(err, wire.ErrNotFound) {
		return errFriendsInvalid{err}
	}
	return err
}

// putSealed stores sealed records, a few at once.
func (s *Social) putSealed(ctx context.Context, recs [][]byte) error {
	errs := make([]error, len(recs))
	sem := make(chan struct{}, friendsPutParallel)
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			key := record.PostKey(rec)
			errs[i] = s.retry(ctx, func(c context.Context) error {
				_, err := s.c.PutRecord(c, key, rec)
				return err
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("social: store a friends record: %w", err)
	}
	return nil
}

// sealImage prepares an image (client/photo) and seals its thumbnail,
// manifest and chunks with key; it returns the reference (without the key)
// and the records to store.
func sealImage(key []byte, r io.Reader) (*ImageRef, []byte, [][]byte, error) {
	p, err := photo.Prepare(r)
	if err != nil {
		return nil, nil, nil, err
	}
	_, chunks, err := p.Split()
	if err != nil {
		return nil, nil, nil, err
	}
	var recs [][]byte
	m := &friendsManifest{W: uint16(p.FullWidth), H: uint16(p.FullHeight), Size: uint32(len(p.Full))}
	for _, c := range chunks {
		rec, id, err := sealFriendsRecord(key, roleChunk, c)
		if err != nil {
			return nil, nil, nil, err
		}
		recs = append(recs, rec)
		m.Chunks = append(m.Chunks, id[:]...)
	}
	mb, err := encodeFriendsManifest(m)
	if err != nil {
		return nil, nil, nil, err
	}
	mrec, mid, err := sealFriendsRecord(key, roleManifest, mb)
	if err != nil {
		return nil, nil, nil, err
	}
	trec, tid, err := sealFriendsRecord(key, roleThumb, p.Thumb)
	if err != nil {
		return nil, nil, nil, err
	}
	recs = append(recs, mrec, trec)
	ref := &ImageRef{Thumb: tid, Manifest: mid, W: uint16(p.FullWidth), H: uint16(p.FullHeight)}
	return ref, p.Thumb, recs, nil
}

// writeFriends writes item w (its sealed records stored) into the next box
// of the user's friends stream and returns its plaintext. A box already
// taken (a write that crashed before it was recorded, or one beside it)
// moves it to the next.
func (s *Social) writeFriends(ctx context.Context, w *friendsWire) ([]byte, error) {
	plain, err := encodeFriendsPlain(w)
	if err != nil {
		return nil, err
	}
	for try := 0; try < friendsWriteTries; try++ {
		fs, err := s.m.FriendsStream()
		if err != nil {
			return nil, err
		}
		wc, err := bacap.NewWriteCapFromBytes(fs.Write)
		if err != nil {
			return nil, fmt.Errorf("social: friends stream damaged: %w", err)
		}
		idx, err := friendsBoxIndex(wc, fs.Next)
		if err != nil {
			return nil, err
		}
		id, val, err := sealFriendsBox(wc, idx, plain)
		if err != nil {
			return nil, err
		}
		err = s.retry(ctx, func(c context.Context) error {
			_, err := s.c.PutBox(c, id, val)
			return err
		})
		if err != nil && !errors.Is(err, wire.ErrStale) {
			return nil, fmt.Errorf("social: write the friends stream: %w", err)
		}
		werr := s.m.FriendsWritten(fs.Write, fs.Next)
		if werr != nil && !errors.Is(werr, messenger.ErrFriendsRotated) {
			return nil, werr
		}
		if err == nil {
			if werr != nil {
				// Written as a contact was being removed: it went to the
				// stream before, which the remaining friends read to its end.
				s.log.Info("friends item written to the stream before a removal")
			}
			return plain, nil
		}
	}
	return nil, fmt.Errorf("social: write the friends stream: %d boxes in a row were taken", friendsWriteTries)
}

// PostFriends posts text (and an image, if image is not nil) to the user's
// friends: the next box of the friends stream, which only the current
// contacts can read. It returns the post's id once the box is stored.
func (s *Social) PostFriends(ctx context.Context, text string, image io.Reader) (PostID, error) {
	if err := CheckText(text); err != nil {
		return PostID{}, err
	}
	head, more := SplitText(text)
	body := &Body{To: Friends, Text: head, Salt: make([]byte, 16)}
	rand.Read(body.Salt)
	w := &friendsWire{Kind: FriendsPostKind, Created: time.Now().Unix(), Post: body}
	var recs [][]byte
	var thumb []byte
	if len(more) > 0 || image != nil {
		w.Key = make([]byte, 32)
		rand.Read(w.Key)
	}
	for _, part := range more {
		rec, id, err := sealFriendsRecord(w.Key, roleMore, []byte(part))
		if err != nil {
			return PostID{}, err
		}
		recs = append(recs, rec)
		body.More = append(body.More, id)
	}
	if image != nil {
		ref, th, irecs, err := sealImage(w.Key, image)
		if err != nil {
			return PostID{}, err
		}
		body.Image, thumb = ref, th
		recs = append(recs, irecs...)
	}
	if err := s.putSealed(ctx, recs); err != nil {
		return PostID{}, err
	}
	plain, err := s.writeFriends(ctx, w)
	if err != nil {
		return PostID{}, err
	}
	id := friendsItemID(s.id.Sign.Public().(ed25519.PublicKey), plain)
	own := &storedFriends{Kind: FriendsPostKind, ID: id[:], Identity: s.id.Sign.Public().(ed25519.PublicKey),
		Created: w.Created, Read: time.Now().UnixNano(), Text: text, Thumb: thumb}
	if body.Image != nil {
		ref := *body.Image
		ref.Key = w.Key
		own.Image = &ref
	}
	if err := s.saveFriends(own); err != nil {
		return id, err
	}
	return id, nil
}

// SetFriendsProfile writes a profile for friends (a name, a bio and, if
// photoFile is not nil, a photo) into the friends stream.
func (s *Social) SetFriendsProfile(ctx context.Context, name, bio string, photoFile io.Reader) error {
	p := &friendsProfileWire{Name: strings.TrimSpace(name), Bio: strings.TrimSpace(bio)}
	if p.Name == "" {
		return errors.New("social: a profile needs a name")
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("social: a friends profile has a name of at most %d characters and a bio of at most %d: %w", MaxFriendsName, MaxFriendsBio, err)
	}
	w := &friendsWire{Kind: FriendsProfileKind, Created: time.Now().Unix(), Profile: p}
	var recs [][]byte
	var thumb []byte
	if photoFile != nil {
		w.Key = make([]byte, 32)
		rand.Read(w.Key)
		ref, th, irecs, err := sealImage(w.Key, photoFile)
		if err != nil {
			return err
		}
		p.Photo, thumb, recs = ref, th, irecs
	}
	if err := s.putSealed(ctx, recs); err != nil {
		return err
	}
	plain, err := s.writeFriends(ctx, w)
	if err != nil {
		return err
	}
	id := friendsItemID(s.id.Sign.Public().(ed25519.PublicKey), plain)
	own := &storedFriends{Kind: FriendsProfileKind, ID: id[:], Identity: s.id.Sign.Public().(ed25519.PublicKey),
		Created: w.Created, Read: time.Now().UnixNano(), Text: p.Name, Bio: p.Bio, Thumb: thumb}
	if p.Photo != nil {
		ref := *p.Photo
		ref.Key = w.Key
		own.Image = &ref
	}
	return s.saveFriends(own)
}

// friendsKey is where the local copy keeps item it.
func friendsKey(it *storedFriends) string {
	if it.Kind == FriendsProfileKind {
		return "profile/" + it.Author // one per author ("" is the user)
	}
	return "post/" + hex.EncodeToString(it.ID)
}

// ErrFriendsOnly refuses to name a friends post in public: a public reply
// to it, or a vote on it, would publish its id, and the public replies and
// votes on one id would mark its readers as one group of friends.
var ErrFriendsOnly = errors.New("social: that is a friends post: its id stays among friends (no public reply or vote)")

// isFriendsPost reports whether id is a friends post the local copy holds.
func (s *Social) isFriendsPost(id PostID) (bool, error) {
	found := false
	err := s.st.View(func(tx *store.Tx) error {
		_, err := tx.Get("friends", "post/"+id.String())
		found = err == nil
		return nil
	})
	return found, err
}

// saveFriends keeps it in the local copy; an older profile does not
// replace a newer one.
func (s *Social) saveFriends(it *storedFriends) error {
	b, err := detcbor.Marshal(it)
	if err != nil {
		return err
	}
	return s.st.Update(func(tx *store.Tx) error {
		key := friendsKey(it)
		if it.Kind == FriendsProfileKind {
			if old, err := tx.Get("friends", key); err == nil {
				var o storedFriends
				if storeDec.Unmarshal(old, &o) == nil && o.Created > it.Created && bytes.Equal(o.Identity, it.Identity) {
					return nil
				}
			}
		}
		return tx.Put("friends", key, b)
	})
}

func (s *Social) listFriends(kind FriendsKind) ([]storedFriends, error) {
	var out []storedFriends
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List("friends", func(_ string, v []byte) error {
			var it storedFriends
			if err := storeDec.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("social: friends item damaged: %w", err)
			}
			if it.Kind == kind {
				out = append(out, it)
			}
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Created != out[j].Created {
			return out[i].Created > out[j].Created
		}
		return out[i].Read > out[j].Read
	})
	return out, err
}

// FriendsItems returns the friends posts of the local copy, newest first:
// those read from contacts' friends streams and the user's own.
func (s *Social) FriendsItems() ([]FriendsItem, error) {
	all, err := s.listFriends(FriendsPostKind)
	out := make([]FriendsItem, 0, len(all))
	for _, it := range all {
		fi := FriendsItem{Author: it.Author, Identity: ed25519.PublicKey(it.Identity), Created: time.Unix(it.Created, 0),
			Read: time.Unix(0, it.Read), Text: it.Text, Reply: it.Reply, Image: it.Image, Thumb: it.Thumb}
		copy(fi.ID[:], it.ID)
		out = append(out, fi)
	}
	return out, err
}

// FriendsProfiles returns the latest friends profile of each contact that
// wrote one, and the user's own (Contact ""), by name.
func (s *Social) FriendsProfiles() ([]FriendsProfile, error) {
	all, err := s.listFriends(FriendsProfileKind)
	out := make([]FriendsProfile, 0, len(all))
	for _, it := range all {
		out = append(out, FriendsProfile{Contact: it.Author, Identity: ed25519.PublicKey(it.Identity), Created: time.Unix(it.Created, 0),
			Name: it.Text, Bio: it.Bio, Photo: it.Image, Thumb: it.Thumb})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contact < out[j].Contact })
	return out, err
}

// FriendsSkipped returns, by contact, how many items of their friends
// streams failed validation and were skipped.
func (s *Social) FriendsSkipped() (map[string]uint64, error) {
	out := map[string]uint64{}
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List("friends-read", func(k string, v []byte) error {
			var r friendsRead
			if err := storeDec.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("social: friends reading state damaged: %w", err)
			}
			if name, _, ok := strings.Cut(k, "/"); ok && r.Skipped > 0 {
				out[name] += r.Skipped
			}
			return nil
		})
	})
	return out, err
}

// getSealed fetches the sealed record id and opens it.
func (s *Social) getSealed(ctx context.Context, key []byte, role friendsRole, id PostID) ([]byte, error) {
	var rec []byte
	err := s.retry(ctx, func(c context.Context) error {
		var err error
		rec, err = s.c.GetRecord(c, id.Key())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("social: fetch a friends record: %w", err)
	}
	if IDOf(rec) != id {
		return nil, fmt.Errorf("%w: friends record with another hash", ErrMalformed)
	}
	return openFriendsRecord(key, role, rec)
}

// FriendsImage fetches the full image of a friends post or profile photo
// (ref as FriendsItems or FriendsProfiles give it, Key set), and returns
// it once every chunk opened and the whole is a JPEG of the manifest's
// size and dimensions.
func (s *Social) FriendsImage(ctx context.Context, ref *ImageRef) ([]byte, error) {
	if ref == nil || len(ref.Key) != 32 {
		return nil, errors.New("social: not a friends image")
	}
	mb, err := s.getSealed(ctx, ref.Key, roleManifest, ref.Manifest)
	if err != nil {
		return nil, err
	}
	m, err := decodeFriendsManifest(mb)
	if err != nil {
		return nil, err
	}
	if m.W != ref.W || m.H != ref.H {
		return nil, fmt.Errorf("%w: the manifest's dimensions differ from the post's", ErrMalformed)
	}
	ids := m.chunkIDs()
	chunks := make([][]byte, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, friendsPutParallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			chunks[i], errs[i] = s.getSealed(ctx, ref.Key, roleChunk, id)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return assembleFriendsImage(m, chunks)
}

// assembleFriendsImage joins decrypted chunks and checks them against the
// manifest: each chunk's size, the total, and a JPEG of its dimensions.
func assembleFriendsImage(m *friendsManifest, chunks [][]byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	n := len(m.Chunks) / sha256.Size
	if len(chunks) != n {
		return nil, fmt.Errorf("%w: %d chunks, the manifest lists %d", ErrMalformed, len(chunks), n)
	}
	img, err := photo.Join(chunks, int(m.Size), photo.ChunkSize, int(m.W), int(m.H))
	if err != nil {
		return nil, fmt.Errorf("%w: friends image: %v", ErrMalformed, err)
	}
	return img, nil
}

// readKey names the reading state of capability rc of contact name.
func readKey(name string, rc []byte) string {
	h := sha256.Sum256(rc)
	return name + "/" + hex.EncodeToString(h[:16])
}

func (s *Social) loadRead(key string) (*friendsRead, error) {
	b, err := s.st.Get("friends-read", key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r friendsRead
	if err := storeDec.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("social: friends reading state damaged: %w", err)
	}
	return &r, nil
}

func (s *Social) saveRead(key string, r *friendsRead) error {
	b, err := detcbor.Marshal(r)
	if err != nil {
		return err
	}
	return s.st.Put("friends-read", key, b)
}

// forgetReads deletes the reading state of capabilities no contact gives
// any more (a contact removed, or a capability pushed out by newer ones).
func (s *Social) forgetReads(all []messenger.FriendsCaps) error {
	keep := map[string]bool{}
	for _, fc := range all {
		for _, rc := range fc.Caps {
			keep[readKey(fc.Contact, rc)] = true
		}
	}
	return s.st.Update(func(tx *store.Tx) error {
		var gone []string
		if err := tx.List("friends-read", func(k string, _ []byte) error {
			if !keep[k] {
				gone = append(gone, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			if err := tx.Delete("friends-read", k); err != nil {
				return err
			}
		}
		return nil
	})
}

// pruneFriends deletes the posts of the local copy read (or written)
// before cutoff: their boxes are gone from the network too. The latest
// profile of each contact stays.
func (s *Social) pruneFriends(cutoff time.Time) error {
	return s.st.Update(func(tx *store.Tx) error {
		var old []string
		if err := tx.List("friends", func(k string, v []byte) error {
			var it storedFriends
			if err := storeDec.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("social: friends item damaged: %w", err)
			}
			if it.Kind == FriendsPostKind && time.Unix(0, it.Read).Before(cutoff) {
				old = append(old, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.Delete("friends", k); err != nil {
				return err
			}
		}
		return nil
	})
}

// RefreshFriends reads what is new in the friends streams of the user's
// contacts (at most maxFriendsRead boxes of each stream per call) into the
// local copy, as background requests, and returns how many items it
// saved; posts read more than FriendsTTL ago leave the local copy. An item that fails validation is skipped and counted
// (FriendsSkipped); an error of one contact's stream does not stop the
// others.
func (s *Social) RefreshFriends(ctx context.Context) (int, error) {
	mu := s.refreshLock()
	mu.Lock()
	defer mu.Unlock()
	all, err := s.m.FriendsCaps()
	if err != nil {
		return 0, err
	}
	if err := s.forgetReads(all); err != nil {
		return 0, err
	}
	if err := s.pruneFriends(time.Now().Add(-FriendsTTL)); err != nil {
		return 0, err
	}
	ctx = client.Background(ctx)
	counts := make([]int, len(all))
	errs := make([]error, len(all))
	sem := make(chan struct{}, friendsParallel)
	var wg sync.WaitGroup
	for i, fc := range all {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			counts[i], errs[i] = s.refreshContact(ctx, fc)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("social: friends of %s: %w", fc.Contact, errs[i])
			}
		}()
	}
	wg.Wait()
	var n int
	for _, c := range counts {
		n += c
	}
	return n, errors.Join(errs...)
}

// refreshContact reads a contact's friends streams, oldest capability
// first: an older one is read to its end (or to where a newer capability
// of the same stream starts), then forgotten; the last is the stream the
// contact writes now.
func (s *Social) refreshContact(ctx context.Context, fc messenger.FriendsCaps) (int, error) {
	var n int
	for j, capb := range fc.Caps {
		current := j == len(fc.Caps)-1
		rc, err := bacap.ReadCapFromBytes(capb)
		if err != nil {
			continue // the messenger checked it; nothing to read here
		}
		// A newer capability of the same stream (the contact answered a
		// request) starts where this one must stop.
		stop := ^uint64(0)
		for _, later := range fc.Caps[j+1:] {
			if bytes.Equal(later[:ed25519.PublicKeySize], capb[:ed25519.PublicKeySize]) {
				if lc, err := bacap.ReadCapFromBytes(later); err == nil {
					stop = min(stop, lc.GetFirstMessageBoxIndex().Idx64)
				}
			}
		}
		got, err := s.readStream(ctx, fc, rc, readKey(fc.Contact, capb), current, stop)
		n += got
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readStream reads boxes of one stream from where it stopped.
func (s *Social) readStream(ctx context.Context, fc messenger.FriendsCaps, rc *bacap.ReadCap, key string, current bool, stop uint64) (int, error) {
	r, err := s.loadRead(key)
	if err != nil {
		return 0, err
	}
	if r == nil {
		r = &friendsRead{Next: rc.GetFirstMessageBoxIndex().Idx64, Checked: time.Now().Unix()}
	}
	var n int
	var idx *bacap.MessageBoxIndex // box r.Next: derived once, then stepped (each step is one HKDF)
	for k := 0; k < maxFriendsRead && !r.Done; k++ {
		if r.Next >= stop {
			r.Done = true
			break
		}
		var err error
		if idx == nil {
			idx, err = friendsBoxIndex(rc, r.Next)
		} else {
			idx, err = idx.NextIndex()
		}
		if err != nil {
			return n, err
		}
		id := friendsBoxID(rc, idx)
		var box *record.Box
		err = s.retry(ctx, func(c context.Context) error {
			var err error
			box, err = s.c.GetBox(c, id)
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			s.nothingNew(fc.Contact, r, current)
			break
		}
		if err != nil {
			return n, errors.Join(err, s.saveRead(key, r))
		}
		r.Checked = time.Now().Unix()
		it, err := s.readFriendsBox(ctx, fc, idx, id, box.Blob)
		if err != nil {
			var bad errFriendsInvalid
			if !errors.As(err, &bad) {
				return n, errors.Join(err, s.saveRead(key, r)) // the network: the same box next time
			}
			r.Skipped++
			s.log.Warn("friends item skipped", "contact", fc.Contact, "err", err)
		} else {
			if err := s.saveFriends(it); err != nil {
				return n, err
			}
			n++
		}
		r.Next++
		if err := s.saveRead(key, r); err != nil {
			return n, err
		}
	}
	return n, s.saveRead(key, r)
}

// nothingNew handles a stream whose next box is not there. An older
// stream has ended. For the current one: a box written since the last
// look lives FriendsTTL, so unless that look is older than that (the
// reader was away), nothing can have expired unread; if it is, the
// reader may have lost its place, and asks the contact (once a day at
// most) for a capability from the box they write next.
func (s *Social) nothingNew(name string, r *friendsRead, current bool) {
	now := time.Now()
	if !current {
		r.Done = true
		return
	}
	stale := now.Sub(time.Unix(r.Checked, 0)) > FriendsTTL-friendsAskEvery
	if stale && now.Sub(time.Unix(r.Asked, 0)) > friendsAskEvery {
		if err := s.m.AskFriendsCap(name); err != nil {
			s.log.Warn("cannot ask for a friends capability", "contact", name, "err", err)
		} else {
			// Asked (the outbox delivers it): an idle contact answers with
			// the capability we hold, which changes nothing, so count the
			// stream as looked at, or we would ask again every day.
			r.Asked, r.Checked = now.Unix(), now.Unix()
			s.log.Info("lost the place in a friends stream; asked the contact", "contact", name)
		}
	}
	if !stale {
		r.Checked = now.Unix()
	}
}

// readFriendsBox opens and checks one box of fc's stream and fetches what
// its item refers to (continuations, thumbnail). Failures of validation
// are errFriendsInvalid; others are the network's.
func (s *Social) readFriendsBox(ctx context.Context, fc messenger.FriendsCaps, idx *bacap.MessageBoxIndex, id [32]byte, blob []byte) (it *storedFriends, err error) {
	defer func() {
		if r := recover(); r != nil {
			it, err = nil, errFriendsInvalid{fmt.Errorf("reading the item failed: %v", r)}
		}
	}()
	plain, err := openFriendsBox(idx, id, blob)
	if err != nil {
		return nil, invalid(err)
	}
	w, err := decodeFriendsPlain(plain)
	if err != nil {
		return nil, invalid(err)
	}
	itemID := friendsItemID(fc.Identity, plain)
	it = &storedFriends{Kind: w.Kind, ID: itemID[:], Author: fc.Contact, Identity: bytes.Clone(fc.Identity),
		Created: w.Created, Read: time.Now().UnixNano()}
	var img *ImageRef
	switch w.Kind {
	case FriendsPostKind:
		text := w.Post.Text
		for _, h := range w.Post.More {
			part, err := s.getSealed(ctx, w.Key, roleMore, h)
			if err != nil {
				return nil, invalid(err)
			}
			if err := checkMore(part); err != nil {
				return nil, invalid(err)
			}
			text += string(part)
		}
		if err := CheckText(text); err != nil {
			return nil, errFriendsInvalid{err}
		}
		it.Text, it.Reply, img = text, w.Post.Reply, w.Post.Image
	case FriendsProfileKind:
		it.Text, it.Bio, img = w.Profile.Name, w.Profile.Bio, w.Profile.Photo
	}
	if img != nil {
		thumb, err := s.getSealed(ctx, w.Key, roleThumb, img.Thumb)
		if err != nil {
			return nil, invalid(err)
		}
		if _, err := photo.DecodeThumb(thumb); err != nil {
			return nil, invalid(err)
		}
		ref := *img
		ref.Key = slices.Clone(w.Key)
		it.Image, it.Thumb = &ref, thumb
	}
	return it, nil
}
