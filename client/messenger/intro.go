package messenger

// Friend requests without an invite code.
//
// A user who wants to be found publishes a profile record (/kprof/, signed
// by their identity key) whose body names an "intro" set and their X25519
// key. Anyone who knows the user's address (the hex Ed25519 public key) reads
// the profile through the mix network, makes an invite exactly as `contact
// invite` does, signs it, seals it to the X25519 key with HPKE (RFC 9180,
// crypto/hpke: DHKEM(X25519), HKDF-SHA256, ChaCha20-Poly1305), pads it to a
// fixed size and appends it to the intro set with the namespace's
// proof-of-work. The recipient's daemon scans the set, opens what it can,
// verifies the signature and keeps the request until the user accepts it
// (which sends the hello, as for an invite) or ignores it.

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Limits of the texts in profiles and requests.
const (
	MaxNameLen = 64  // a display name, bytes of UTF-8
	MaxNoteLen = 280 // a request's note, bytes of UTF-8
)

const (
	introNamespace = "intro"
	introInfo      = "komrade intro v1"
	introSigCtx    = "komrade intro request v1\x00"
	// introPadded is the size every sealed request plaintext is padded to,
	// so that all requests look alike on storage nodes.
	introPadded = 960
	// introTTL is how long a request waits in the set: the namespace's
	// lifetime less an hour of clock skew.
	introTTL = 14*24*time.Hour - time.Hour
	// introPage is the scan page size asked for (the exit returns what fits
	// one reply).
	introPage = 8
)

// Limits of a profile body's social fields (package social fills them).
const (
	MaxBioLen = 280 // a profile's bio, bytes of UTF-8
	// MaxPhotoRef is the longest encoded photo reference (a social.ImageRef).
	MaxPhotoRef = 160
	// MaxRecent is how many recent post ids a profile lists.
	MaxRecent = 8
	// MaxVisibility is the highest visibility value (social.Visibility:
	// 1 world, 2 friends, 3 local; 0 for a profile made before there was
	// a choice, which is a world profile).
	MaxVisibility = 3
	// MaxProfileBody is the largest encoded profile body: the fields at
	// their limits take about 800 bytes, and a signed profile record must
	// stay within record.MaxValue.
	MaxProfileBody = 1200
)

// ProfileBody is the application part of a public profile record. Intro
// and DH let others send friend requests; the other fields are the social
// profile (package social), empty where the owner's visibility hides them.
type ProfileBody struct {
	Name  string `cbor:"1,keyasint"` // display name the user chose
	Intro []byte `cbor:"2,keyasint"` // key of the user's "intro" set
	DH    []byte `cbor:"3,keyasint"` // X25519 key requests are sealed to
	Bio   string `cbor:"4,keyasint,omitempty"`
	// Photo is an encoded social.ImageRef (this package does not read it).
	Photo []byte `cbor:"5,keyasint,omitempty"`
	// Recent lists the ids of the owner's latest signed world posts, newest
	// first, so that followers find them without the world index.
	Recent     [][32]byte `cbor:"6,keyasint,omitempty"`
	Visibility uint8      `cbor:"7,keyasint,omitempty"`
}

// DecodeProfileBody decodes and checks a profile body.
func DecodeProfileBody(b []byte) (*ProfileBody, error) {
	if len(b) > MaxProfileBody {
		return nil, errors.New("messenger: profile body too large")
	}
	var p ProfileBody
	if err := dec.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("messenger: profile body: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *ProfileBody) check() error {
	if len(p.Intro) != 32 || len(p.DH) != 32 || !validText(p.Name, MaxNameLen) || !validText(p.Bio, MaxBioLen) ||
		len(p.Photo) > MaxPhotoRef || len(p.Recent) > MaxRecent || p.Visibility > MaxVisibility {
		return errors.New("messenger: profile body malformed")
	}
	return nil
}

func validText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s)
}

// Address is the text form of a user's address: the hex Ed25519 public key.
// It is public: it lets others find the user's profile and ask to be a
// contact, nothing else.
func Address(pub ed25519.PublicKey) string { return hex.EncodeToString(pub) }

// ParseAddress parses an address.
func ParseAddress(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("messenger: an address is 64 hex digits (see `komrade profile publish`)")
	}
	return ed25519.PublicKey(b), nil
}

// Address is the user's own address.
func (m *Messenger) Address() string { return Address(m.id.Sign.Public().(ed25519.PublicKey)) }

// introKey returns the key of the user's intro set, making it on first use.
func (m *Messenger) introKey(create bool) ([]byte, error) {
	k, err := m.st.Get("self", "intro-key")
	if err == nil && len(k) == 32 {
		return k, nil
	}
	if !create {
		return nil, nil
	}
	k = make([]byte, 32)
	rand.Read(k)
	if err := m.st.Put("self", "intro-key", k); err != nil {
		return nil, err
	}
	return k, nil
}

// PublishProfile signs and stores the user's profile record with display
// name name (and no social fields), so that others can send friend
// requests to the user's address. It returns the address.
func (m *Messenger) PublishProfile(ctx context.Context, name string) (string, error) {
	return m.PublishProfileBody(ctx, &ProfileBody{Name: name})
}

// PublishProfileBody signs and stores the user's profile record with the
// fields of body; Intro and DH are filled in (the intro set's key is made
// on first use). It returns the address. Calls must not overlap (package
// social serializes its own): two at once could sign the same sequence
// number.
func (m *Messenger) PublishProfileBody(ctx context.Context, body *ProfileBody) (string, error) {
	if !validText(body.Name, MaxNameLen) {
		return "", fmt.Errorf("messenger: a name is at most %d bytes of UTF-8", MaxNameLen)
	}
	key, err := m.introKey(true)
	if err != nil {
		return "", err
	}
	b := *body
	b.Intro, b.DH = key, m.id.DH.PublicKey().Bytes()
	if err := b.check(); err != nil {
		return "", err
	}
	enc, err := detcbor.Marshal(&b)
	if err != nil {
		return "", err
	}
	if len(enc) > MaxProfileBody {
		return "", fmt.Errorf("messenger: profile body of %d bytes exceeds %d", len(enc), MaxProfileBody)
	}
	// Sequence numbers follow the clock (and never go back), so that a
	// profile published from a restored backup still replaces older ones.
	var last uint64
	if b, err := m.st.Get("self", "profile-seq"); err == nil {
		fmt.Sscan(string(b), &last)
	}
	seq := max(uint64(time.Now().Unix()), last+1)
	val, err := record.SignProfile(record.NewProfile(seq, record.MaxTTL, enc), m.id.Sign)
	if err != nil {
		return "", err
	}
	pub := m.id.Sign.Public().(ed25519.PublicKey)
	if err := m.retry(ctx, func(c context.Context) error {
		_, err := m.c.PutRecord(c, record.ProfileKey(pub), val)
		return err
	}); err != nil {
		return "", fmt.Errorf("messenger: publish profile: %w", err)
	}
	if err := m.st.Put("self", "profile-seq", []byte(fmt.Sprint(seq))); err != nil {
		return "", err
	}
	return Address(pub), nil
}

// ContactIdentity returns the identity key (address) of contact name, or
// an error if there is no such contact or it has not confirmed yet.
func (m *Messenger) ContactIdentity(name string) (ed25519.PublicKey, error) {
	c, err := m.load(name)
	if err != nil {
		return nil, err
	}
	if len(c.Identity) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("messenger: contact %q has not answered yet; its address is not known", name)
	}
	return ed25519.PublicKey(bytes.Clone(c.Identity)), nil
}

// retry runs f (one request through the mix network) as client.Retry
// does, up to m.tries times.
func (m *Messenger) retry(ctx context.Context, f func(context.Context) error) error {
	return m.c.Retry(ctx, m.tries, f)
}

// lookupProfile fetches and checks the profile of pub.
func (m *Messenger) lookupProfile(ctx context.Context, pub ed25519.PublicKey) (*ProfileBody, error) {
	var raw []byte
	err := m.retry(ctx, func(c context.Context) error {
		var err error
		raw, err = m.c.GetRecord(c, record.ProfileKey(pub))
		return err
	})
	if errors.Is(err, wire.ErrNotFound) {
		return nil, errors.New("messenger: no profile is published for this address (its owner can run `komrade profile publish`)")
	}
	if err != nil {
		return nil, fmt.Errorf("messenger: fetch profile: %w", err)
	}
	p, err := record.DecodeProfile(raw) // the client verified it already; decode again for the body
	if err != nil || !bytes.Equal(p.Author, pub) {
		return nil, errors.New("messenger: the profile for this address is not valid")
	}
	return DecodeProfileBody(p.Body)
}

// introRequest is the sealed content of an intro item.
type introRequest struct {
	To     []byte `cbor:"1,keyasint"` // recipient's Ed25519 key: a request cannot be re-addressed
	Invite []byte `cbor:"2,keyasint"` // encoded Invite (carries the sender's identity)
	From   string `cbor:"3,keyasint"` // the name the sender gives themself
	Note   string `cbor:"4,keyasint"`
	Sig    []byte `cbor:"5,keyasint,omitempty"`
	// Expires (Unix seconds) bounds how long the request may be acted on,
	// so a copy cannot be revived later.
	Expires int64 `cbor:"6,keyasint"`
}

func (r *introRequest) signed() ([]byte, error) {
	c := *r
	c.Sig = nil
	b, err := detcbor.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return append([]byte(introSigCtx), b...), nil
}

// Request asks the user at address to become contact name, through their
// public intro set; from is the name to show them, note a short message.
// The contact exists once the request is stored (messages sent to it wait
// in the mailbox) and is confirmed when the recipient accepts.
func (m *Messenger) Request(ctx context.Context, address, name, from, note string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	to, err := ParseAddress(address)
	if err != nil {
		return err
	}
	if bytes.Equal(to, m.id.Sign.Public().(ed25519.PublicKey)) {
		return errors.New("messenger: that is your own address")
	}
	if !validText(from, MaxNameLen) || !validText(note, MaxNoteLen) {
		return fmt.Errorf("messenger: name at most %d and note at most %d bytes of UTF-8", MaxNameLen, MaxNoteLen)
	}
	if _, err := m.st.Get("contacts", name); err == nil {
		return fmt.Errorf("messenger: contact %q exists", name)
	}
	if pending, err := m.pendingRequestTo(to); err != nil || pending != "" {
		if err == nil {
			err = fmt.Errorf("messenger: a request to this address is already waiting for an answer (contact %q; remove it to ask again)", pending)
		}
		return err
	}
	prof, err := m.lookupProfile(ctx, to)
	if err != nil {
		return err
	}
	dh, err := ecdh.X25519().NewPublicKey(prof.DH)
	if err != nil {
		return errors.New("messenger: the profile's key is not valid")
	}
	hpk, err := hpke.NewDHKEMPublicKey(dh)
	if err != nil {
		return err
	}

	// The contact is saved only once the request is stored: until then
	// nothing can arrive for it, and a failure leaves nothing behind.
	c, inv, err := m.newInviterContact(name)
	if err != nil {
		return err
	}
	c.Expect = bytes.Clone(to)
	expires := time.Now().Add(introTTL).Unix()
	sealed, err := m.sealRequest(hpk, to, inv, from, note, expires)
	if err != nil {
		return err
	}
	it := setitem.Item{Namespace: introNamespace, Key: prof.Intro, Body: sealed, Expires: expires}
	// The network's work, not a default: nodes refuse less, finally.
	if err := it.Solve(ctx, m.c.Params().Sets[introNamespace].PoWBits); err != nil {
		return err
	}
	enc, err := setitem.Encode(&it)
	if err != nil {
		return err
	}
	if err := m.retry(ctx, func(c context.Context) error {
		_, err := m.c.Append(c, enc)
		return err
	}); err != nil {
		return fmt.Errorf("messenger: send request: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Update(func(tx *store.Tx) error {
		if _, err := tx.Get("contacts", name); err == nil {
			return fmt.Errorf("messenger: contact %q was made meanwhile; the request is sent but its answer will be ignored", name)
		}
		return m.save(tx, c)
	})
}

// pendingRequestTo returns the name of the contact that waits for an
// answer to our request to identity to, or "".
func (m *Messenger) pendingRequestTo(to ed25519.PublicKey) (string, error) {
	var name string
	err := m.st.View(func(tx *store.Tx) error {
		return tx.List("contacts", func(n string, v []byte) error {
			var c contact
			if err := dec.Unmarshal(v, &c); err != nil {
				return err
			}
			if c.Identity == nil && bytes.Equal(c.Expect, to) {
				name = n
			}
			return nil
		})
	})
	return name, err
}

// sealRequest signs a request carrying inv to the user with key to, pads it
// and seals it to their HPKE key.
func (m *Messenger) sealRequest(hpk hpke.PublicKey, to ed25519.PublicKey, inv *Invite, from, note string, expires int64) ([]byte, error) {
	invBytes, err := detcbor.Marshal(inv)
	if err != nil {
		return nil, err
	}
	req := introRequest{To: to, Invite: invBytes, From: from, Note: note, Expires: expires}
	msg, err := req.signed()
	if err != nil {
		return nil, err
	}
	req.Sig = ed25519.Sign(m.id.Sign, msg)
	pt, err := detcbor.Marshal(&req)
	if err != nil {
		return nil, err
	}
	if len(pt)+2 > introPadded {
		return nil, fmt.Errorf("messenger: request too large (%d bytes)", len(pt))
	}
	padded := make([]byte, introPadded) // 2-byte length, content, zeros
	padded[0], padded[1] = byte(len(pt)>>8), byte(len(pt))
	copy(padded[2:], pt)
	return hpke.Seal(hpk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(introInfo), padded)
}

// FriendRequest is a request waiting for the user's answer.
type FriendRequest struct {
	ID          string    `json:"id" cbor:"1,keyasint"`
	From        string    `json:"from" cbor:"2,keyasint"` // the name they gave themself (unverified)
	Note        string    `json:"note" cbor:"3,keyasint"`
	Fingerprint string    `json:"fingerprint" cbor:"4,keyasint"`
	At          time.Time `json:"at" cbor:"5,keyasint"`
	Code        string    `json:"-" cbor:"6,keyasint"` // the invite it carries
}

// CheckRequests scans the user's intro set for new requests and keeps the
// valid ones for Requests. It returns how many new ones it found. Nothing
// happens before the user has published a profile.
func (m *Messenger) CheckRequests(ctx context.Context) (int, error) {
	key, err := m.introKey(false)
	if err != nil || key == nil {
		return 0, err
	}
	priv, err := hpke.NewDHKEMPrivateKey(m.id.DH)
	if err != nil {
		return 0, err
	}
	found := 0
	var cursor []byte
	for pages := 0; pages < 1000; pages++ {
		var res *wire.ScanResult
		err := m.retry(ctx, func(c context.Context) error {
			var err error
			res, err = m.c.Scan(c, wire.ScanRequest{Namespace: introNamespace, Key: key, Cursor: cursor, Limit: introPage})
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			return found, nil
		}
		if err != nil {
			return found, fmt.Errorf("messenger: scan intro set: %w", err)
		}
		for _, raw := range res.Items {
			ok, err := m.takeRequest(priv, key, raw)
			if err != nil {
				return found, err
			}
			if ok {
				found++
			}
		}
		if len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			return found, nil
		}
		cursor = res.Next
	}
	return found, nil
}

// takeRequest opens one intro item; ok reports a new valid request. Items
// that fail are remembered as seen and never opened again.
func (m *Messenger) takeRequest(priv hpke.PrivateKey, key, raw []byte) (ok bool, err error) {
	id := requestID(raw)
	if _, err := m.st.Get("intro-seen", id); err == nil {
		return false, nil
	}
	fr, why := m.openRequest(priv, key, raw)
	if fr != nil {
		fr.ID = id
		inv, _ := ParseInvite(fr.Code)
		var known bool
		err := m.st.View(func(tx *store.Tx) error {
			var err error
			known, err = identityKnown(tx, inv.Identity)
			return err
		})
		if err != nil {
			return false, err
		}
		if known {
			fr, why = nil, "from a contact already known"
		}
	}
	err = m.st.Update(func(tx *store.Tx) error {
		if fr != nil {
			b, err := detcbor.Marshal(fr)
			if err != nil {
				return err
			}
			if err := tx.Put("requests", id, b); err != nil {
				return err
			}
		}
		return tx.Put("intro-seen", id, []byte{1})
	})
	if fr == nil {
		m.log.Info("intro item skipped", "reason", why) // never its content
	}
	return fr != nil && err == nil, err
}

// requestID names an intro item by its HPKE encapsulated key (the first 32
// bytes of the body), which nobody can change without the request failing
// to open: copies of one request under new expiries or proof-of-work have
// the same id, so an ignored request stays ignored. Other items are named
// by their hash.
func requestID(raw []byte) string {
	h := sha256.New()
	if it, err := setitem.Decode(raw); err == nil && len(it.Body) >= 32 {
		h.Write([]byte("enc\x00"))
		h.Write(it.Body[:32])
	} else {
		h.Write([]byte("item\x00"))
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// openRequest decodes, decrypts and verifies an intro item; on failure it
// returns a reason that is safe to log.
func (m *Messenger) openRequest(priv hpke.PrivateKey, key, raw []byte) (*FriendRequest, string) {
	it, err := setitem.Decode(raw)
	if err != nil || it.Namespace != introNamespace || !bytes.Equal(it.Key, key) {
		return nil, "malformed item"
	}
	padded, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(introInfo), it.Body)
	if err != nil || len(padded) != introPadded {
		return nil, "not sealed to us"
	}
	n := int(padded[0])<<8 | int(padded[1])
	if n > introPadded-2 {
		return nil, "bad padding"
	}
	var req introRequest
	if err := dec.Unmarshal(padded[2:2+n], &req); err != nil {
		return nil, "malformed request"
	}
	inv, err := parseInviteBytes(req.Invite)
	if err != nil {
		return nil, "malformed invite"
	}
	code := invitePrefix + base64.RawURLEncoding.EncodeToString(req.Invite)
	if !bytes.Equal(req.To, m.id.Sign.Public().(ed25519.PublicKey)) {
		return nil, "addressed to someone else"
	}
	if !validText(req.From, MaxNameLen) || !validText(req.Note, MaxNoteLen) {
		return nil, "bad text"
	}
	if now := time.Now(); req.Expires <= now.Unix() || req.Expires > now.Add(introTTL+2*time.Hour).Unix() {
		return nil, "expired"
	}
	msg, err := req.signed()
	if err != nil || len(req.Sig) != ed25519.SignatureSize || !ed25519.Verify(inv.Identity, msg, req.Sig) {
		return nil, "bad signature"
	}
	return &FriendRequest{From: req.From, Note: req.Note, Fingerprint: client.Fingerprint(inv.Identity),
		At: time.Now().UTC().Truncate(time.Second), Code: code}, ""
}

// identityKnown reports whether pub is the identity of a confirmed contact.
// A request of ours still waiting for pub's answer does not count: their
// request may have crossed ours.
func identityKnown(tx *store.Tx, pub []byte) (bool, error) {
	found := false
	err := tx.List("contacts", func(_ string, v []byte) error {
		var c contact
		if err := dec.Unmarshal(v, &c); err != nil {
			return err
		}
		if bytes.Equal(c.Identity, pub) {
			found = true
		}
		return nil
	})
	return found, err
}

// Requests lists the friend requests waiting for an answer, oldest first.
func (m *Messenger) Requests() ([]FriendRequest, error) {
	var out []FriendRequest
	err := m.st.View(func(tx *store.Tx) error {
		return tx.List("requests", func(_ string, v []byte) error {
			var fr FriendRequest
			if err := dec.Unmarshal(v, &fr); err != nil {
				return err
			}
			out = append(out, fr)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}

func (m *Messenger) request(id string) (*FriendRequest, error) {
	var fr *FriendRequest
	err := m.st.View(func(tx *store.Tx) error {
		var err error
		fr, err = getTx[FriendRequest](tx, "requests", id, fmt.Sprintf("friend request %q (see `komrade contact requests`)", id))
		return err
	})
	return fr, err
}

// AcceptRequest makes the sender of request id contact name and sends the
// hello that confirms it to them. The request is gone once the contact
// exists, even if the hello then fails (it stays in the outbox).
func (m *Messenger) AcceptRequest(ctx context.Context, id, name string) error {
	fr, err := m.request(id)
	if err != nil {
		return err
	}
	inv, err := ParseInvite(fr.Code)
	if err != nil {
		return err
	}
	hello, err := m.accept(inv, name, id)
	if err != nil {
		return err
	}
	return m.deliverAndWait(ctx, hello)
}

// IgnoreRequest drops request id; the sender is not told.
func (m *Messenger) IgnoreRequest(id string) error {
	if _, err := m.request(id); err != nil {
		return err
	}
	return m.st.Update(func(tx *store.Tx) error { return tx.Delete("requests", id) })
}
