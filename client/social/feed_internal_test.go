package social

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

// offline is a Social with a store and an identity and no network: what
// Feed, keep, follows and mutes need.
func offline(t testing.TB) *Social {
	t.Helper()
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return New(nil, id, st, nil, nil)
}

func signedEntry(t testing.TB, priv ed25519.PrivateKey, id PostID, text string, created int64) ([]byte, *line) {
	t.Helper()
	raw, err := SignEntry(&Entry{Post: id, To: World, Created: created, Preview: text}, priv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lineOfEntry(id, raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, l
}

// TestFeedSkipsTampered: a kept item whose line does not match its proof
// is skipped and counted; the others are shown, newest first.
func TestFeedSkipsTampered(t *testing.T) {
	s := offline(t)
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	var ids []PostID
	for i, text := range []string{"older", "newer", "tampered"} {
		id := PostID{byte(i + 1)}
		raw, l := signedEntry(t, priv, id, text, now.Unix()-int64(100*(3-i)))
		if err := s.keep(id, srcWorld, proofEntry, raw, l, exp); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Change the kept line of the third behind the proof's back.
	err := s.st.Update(func(tx *store.Tx) error {
		v, err := tx.Get(bucketFeed, ids[2].String())
		if err != nil {
			return err
		}
		var k kept
		if err := localDec.Unmarshal(v, &k); err != nil {
			return err
		}
		k.Line.Preview = "something else"
		b, err := detcbor.Marshal(&k)
		if err != nil {
			return err
		}
		return tx.Put(bucketFeed, ids[2].String(), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Feed(KindWorld, FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Skipped != 1 || len(page.Items) != 2 || page.Items[0].Text != "newer" || page.Items[1].Text != "older" {
		t.Fatalf("page: %+v", page)
	}
	// Since: only the last few seconds.
	page, err = s.Feed(KindWorld, FeedQuery{Since: 250 * time.Second})
	if err != nil || len(page.Items) != 1 || page.Items[0].Text != "newer" {
		t.Fatalf("since: %+v %v", page, err)
	}
	// Other feeds do not show world items.
	for _, k := range []Kind{KindFriends, KindFollowing, KindArea} {
		if page, err := s.Feed(k, FeedQuery{}); err != nil || len(page.Items) != 0 {
			t.Fatalf("%s feed: %+v %v", k, page, err)
		}
	}
}

// TestKeepClaims: the first entry for a post id stays against a claim by
// another author; the post's head record settles it.
func TestKeepClaims(t *testing.T) {
	s := offline(t)
	_, author, _ := ed25519.GenerateKey(nil)
	_, impostor, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	body, err := EncodeBody(&Body{To: World, Text: "mine", Salt: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	head, err := record.SignPost(&record.Post{Created: now.Unix(), Expires: now.Add(time.Hour).Unix(), Body: body}, author)
	if err != nil {
		t.Fatal(err)
	}
	id := IDOf(head)
	fake, fl := signedEntry(t, impostor, id, "not theirs", now.Unix())
	if err := s.keep(id, srcWorld, proofEntry, fake, fl, now.Add(time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	real, rl := signedEntry(t, author, id, "mine", now.Unix())
	if err := s.keep(id, srcWorld, proofEntry, real, rl, now.Add(time.Hour).Unix()); !errors.Is(err, errConflict) {
		t.Fatalf("a second claim: %v", err)
	}
	hl, hexp, err := lineOfHead(id, head)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.keep(id, srcFollowing, proofHead, head, hl, hexp); err != nil {
		t.Fatal(err)
	}
	page, err := s.Feed(KindWorld, FeedQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("the world source of a lying entry survived its head: %+v", page.Items)
	}
	if err := s.Follow(hexKey(author)); err != nil {
		t.Fatal(err)
	}
	page, err = s.Feed(KindFollowing, FeedQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Text != "mine" || page.Items[0].Address != hexKey(author) {
		t.Fatalf("following feed: %+v %v", page, err)
	}
}

func hexKey(priv ed25519.PrivateKey) string {
	return hex.EncodeToString(priv.Public().(ed25519.PublicKey))
}

// TestTallyKeepsLatest: a tally counts each nullifier's latest vote, as
// storage nodes keep it, whatever the order the votes are read in.
func TestTallyKeepsLatest(t *testing.T) {
	s := offline(t)
	post := PostID{7}
	exp := time.Now().Add(time.Hour).Unix()
	up, err := s.VoteItem(post, VoteUp, exp)
	if err != nil {
		t.Fatal(err)
	}
	down, err := s.VoteItem(post, VoteDown, exp+1)
	if err != nil {
		t.Fatal(err)
	}
	acceptVote := func(post PostID, it *setitem.Item) error {
		v, err := voteOf(it)
		if err != nil {
			return err
		}
		return s.holdVote(post, v)
	}
	for _, it := range []*setitem.Item{down, up} { // the later one first
		if err := acceptVote(post, it); err != nil {
			t.Fatal(err)
		}
	}
	other := offline(t)
	ov, err := other.VoteItem(post, VoteUp, exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := acceptVote(post, ov); err != nil {
		t.Fatal(err)
	}
	tl, err := s.readTally(post)
	if err != nil || tl.Up != 1 || tl.Down != 1 {
		t.Fatalf("tally %+v %v, want 1 up (other) and 1 down (latest)", tl, err)
	}
	bad := *ov
	bad.Body = []byte{3}
	if err := acceptVote(post, &bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("vote body 3: %v", err)
	}
	// In one batch (one transaction), as a refresh holds a page's votes:
	// the same outcome.
	var batch []heldVote
	for _, it := range []*setitem.Item{up, down, ov} {
		v, err := voteOf(it)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, v)
	}
	post2 := PostID{8}
	if err := s.holdVotes(post2, batch); err != nil {
		t.Fatal(err)
	}
	if tl, err := s.readTally(post2); err != nil || tl.Up != 1 || tl.Down != 1 {
		t.Fatalf("batched tally %+v %v, want 1 up and 1 down", tl, err)
	}
}

// TestVoteSecret: the vote secret is derived from the identity, stable and
// not the seed.
func TestVoteSecret(t *testing.T) {
	s := offline(t)
	a, err := s.voteSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.voteSecret()
	if string(a) != string(b) || len(a) != 32 || string(a) == string(s.id.Sign.Seed()) {
		t.Fatalf("vote secret %x, %x", a, b)
	}
}

func FuzzDecodeVote(f *testing.F) {
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeVote(b)
		if err == nil && (len(b) != 1 || d > VoteDown || EncodeVote(d)[0] != b[0]) {
			t.Fatalf("%x decoded as %v", b, d)
		}
	})
}

// FuzzLineOfHead: any bytes as a fetched head record are refused or give
// a line that matches them again.
func FuzzLineOfHead(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	body, _ := EncodeBody(&Body{To: World, Text: "x", Salt: make([]byte, 16)})
	head, _ := record.SignPost(&record.Post{Created: 1, Expires: 2, Body: body}, priv)
	f.Add(head)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		id := IDOf(raw)
		l, _, err := lineOfHead(id, raw)
		if err != nil {
			return
		}
		k := kept{Proof: proofHead, Raw: raw, Line: *l}
		if err := k.verify(id); err != nil {
			t.Fatalf("accepted head fails its own check: %v", err)
		}
	})
}

// FuzzCheckScanned: any bytes as an item of a scan reply are refused or
// are an item of the set asked for that meets the namespace's rules.
func FuzzCheckScanned(f *testing.F) {
	rules := pki.DefaultParams().SetRules()["vote"]
	rules.PoWBits = 0
	now := time.Unix(1_800_000_000, 0)
	key := []byte("0123456789abcdef0123456789abcdef")
	s := &Social{}
	s.id = &client.Identity{Sign: ed25519.NewKeyFromSeed(make([]byte, 32))}
	it, _ := s.VoteItem(PostID(key), VoteUp, now.Add(time.Hour).Unix())
	good, _ := setitem.Encode(it)
	f.Add(good)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := checkScanned(raw, "vote", key, rules, now)
		if err != nil {
			return
		}
		if it.Namespace != "vote" || string(it.Key) != string(key) || it.Expires <= now.Unix() {
			t.Fatalf("accepted %+v", it)
		}
		if rules.Verify(it, len(raw), now) != nil {
			t.Fatal("accepted an item the rules refuse")
		}
	})
}

// FuzzThumbOf: any bytes as a fetched thumbnail record are refused or are
// the record asked for, carrying a JPEG thumbnail.
func FuzzThumbOf(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	rec, _ := record.SignPost(&record.Post{Created: 1, Expires: 2, Body: []byte("\xff\xd8 not quite")}, priv)
	f.Add(rec)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		jpg, err := thumbOf(IDOf(raw), raw)
		if err != nil {
			return
		}
		if len(jpg) == 0 || len(jpg) > len(raw) {
			t.Fatalf("a thumbnail of %d bytes from a record of %d", len(jpg), len(raw))
		}
	})
}
