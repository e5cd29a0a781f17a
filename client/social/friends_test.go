package social

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire/record"
)

func friendsQuiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// friendsUser is one user of the friends tests: a client on the test
// network, an identity, a store, a messenger and the social layer.
type friendsUser struct {
	c  *client.Client
	id *client.Identity
	st *store.Store
	m  *messenger.Messenger
	s  *Social
}

func newFriendsUser(t *testing.T, ctx context.Context, net *testnet.Network) *friendsUser {
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
	c, err := client.Dial(ctx, net.Client, friendsQuiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := messenger.New(c, id, st, friendsQuiet())
	return &friendsUser{c: c, id: id, st: st, m: m, s: New(c, id, st, m, friendsQuiet())}
}

// friendsPair makes a and b contacts (a invites; a calls b bName, b calls
// a aName) and lets their friends capabilities cross.
func friendsPair(t *testing.T, ctx context.Context, a, b *friendsUser, bName, aName string) {
	t.Helper()
	code, err := a.m.Invite(bName)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Accept(ctx, code, aName); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil { // the hello and b's capability
		t.Fatal(err)
	}
	if err := a.m.Deliver(ctx); err != nil { // a's capability
		t.Fatal(err)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
}

// refresh runs RefreshFriends and returns how many items it saved.
func (u *friendsUser) refresh(t *testing.T, ctx context.Context) int {
	t.Helper()
	n, err := u.s.RefreshFriends(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (u *friendsUser) itemsFrom(t *testing.T, author string) []FriendsItem {
	t.Helper()
	all, err := u.s.FriendsItems()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(it FriendsItem) bool { return it.Author != author })
}

// testPNG is a small picture with some detail.
func testPNG(t *testing.T) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 120, 90))
	for y := range 90 {
		for x := range 120 {
			m.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ownBoxes returns the ids of the last n boxes u wrote to its friends
// stream, oldest first, and their plaintexts: what only u (and its
// friends) can compute; a storage node sees the ids as keys.
func (u *friendsUser) ownBoxes(t *testing.T, ctx context.Context, n int) ([][32]byte, [][]byte) {
	t.Helper()
	fs, err := u.m.FriendsStream()
	if err != nil {
		t.Fatal(err)
	}
	wc, err := bacap.NewWriteCapFromBytes(fs.Write)
	if err != nil {
		t.Fatal(err)
	}
	rc := wc.ReadCap()
	var ids [][32]byte
	var plains [][]byte
	for i := fs.Next - uint64(n); i < fs.Next; i++ {
		idx, err := friendsBoxIndex(rc, i)
		if err != nil {
			t.Fatal(err)
		}
		id := friendsBoxID(rc, idx)
		box, err := u.c.GetBox(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := openFriendsBox(idx, id, box.Blob)
		if err != nil {
			t.Fatal(err)
		}
		ids, plains = append(ids, id), append(plains, plain)
	}
	return ids, plains
}

// cannotOpen fails the test if any capability u holds opens box id (read
// by u itself through the network) at any of the first 64 indexes the
// capability reaches, and if the stored bytes hold any of secrets.
func (u *friendsUser) cannotOpen(t *testing.T, ctx context.Context, id [32]byte, secrets ...[]byte) {
	t.Helper()
	box, err := u.c.GetBox(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	all, err := u.m.FriendsCaps()
	if err != nil {
		t.Fatal(err)
	}
	var tried int
	for _, fc := range all {
		for _, capb := range fc.Caps {
			rc, err := bacap.ReadCapFromBytes(capb)
			if err != nil {
				t.Fatal(err)
			}
			first := rc.GetFirstMessageBoxIndex().Idx64
			for i := first; i < first+64; i++ {
				idx, err := friendsBoxIndex(rc, i)
				if err != nil {
					t.Fatal(err)
				}
				if friendsBoxID(rc, idx) == id {
					t.Fatalf("a capability held by %s reaches the box (from %s)", u.id.Fingerprint(), fc.Contact)
				}
				if _, err := openFriendsBox(idx, id, box.Blob); err == nil {
					t.Fatalf("a capability from %s opens the box", fc.Contact)
				}
				tried++
			}
		}
	}
	raw, err := u.c.GetRecord(ctx, record.BoxKey(id))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(raw, s) || bytes.Contains(box.Blob, s) {
			t.Fatalf("the stored box holds %q", s)
		}
	}
	t.Logf("%d capability positions tried, none opens", tried)
}

// TestFriendsStream: a friends post by Alice (text spanning records, and
// an image) and her friends profile are read by her friends Bob and Dave,
// not by Carol, who is Bob's contact but not hers: Carol's capabilities
// open none of Alice's boxes and the stored bytes hold no plaintext. A
// damaged item is skipped and counted. After Alice removes Bob, her next
// post is read by Dave and not by Bob.
func TestFriendsStream(t *testing.T) {
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: friendsQuiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	alice, bob := newFriendsUser(t, ctx, net), newFriendsUser(t, ctx, net)
	carol, dave := newFriendsUser(t, ctx, net), newFriendsUser(t, ctx, net)
	friendsPair(t, ctx, alice, bob, "bob", "alice")
	friendsPair(t, ctx, alice, dave, "dave", "alice")
	friendsPair(t, ctx, bob, carol, "carol", "bob")

	if err := alice.s.SetFriendsProfile(ctx, "Alice Liddell", "down the rabbit hole", nil); err != nil {
		t.Fatal(err)
	}
	text := "friends only: " + strings.Repeat("秘密のお茶会 ", 200) // 1414 characters of 4214 bytes: head and continuations
	text = string([]rune(text)[:MaxChars])
	pic := testPNG(t)
	id, err := alice.s.PostFriends(ctx, text, bytes.NewReader(pic))
	if err != nil {
		t.Fatal(err)
	}
	if own := alice.itemsFrom(t, ""); len(own) != 1 || own[0].ID != id || own[0].Text != text {
		t.Fatalf("alice's own copy: %+v", own)
	}

	// Bob and Dave read the post, its image and the profile.
	for _, u := range []*friendsUser{bob, dave} {
		if n := u.refresh(t, ctx); n != 2 {
			t.Fatalf("a friend read %d items, want the profile and the post", n)
		}
		got := u.itemsFrom(t, "alice")
		if len(got) != 1 || got[0].ID != id || got[0].Text != text || !bytes.Equal(got[0].Identity, alice.id.Sign.Public().(ed25519.PublicKey)) {
			t.Fatalf("a friend's copy of alice's post: %d items", len(got))
		}
		if _, err := photo.DecodeThumb(got[0].Thumb); err != nil {
			t.Fatalf("thumbnail: %v", err)
		}
		full, err := u.s.FriendsImage(ctx, got[0].Image)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(full))
		if err != nil || cfg.Width != 120 || cfg.Height != 90 {
			t.Fatalf("full image: %+v, %v", cfg, err)
		}
		profiles, err := u.s.FriendsProfiles()
		if err != nil || len(profiles) != 1 || profiles[0].Contact != "alice" || profiles[0].Name != "Alice Liddell" || profiles[0].Bio != "down the rabbit hole" {
			t.Fatalf("profiles: %+v, %v", profiles, err)
		}
	}

	// Carol holds Bob's capability, not Alice's: she reads nothing of
	// Alice's, cannot open her boxes, and their bytes, like the sealed
	// records' bytes, hold nothing of the plaintext.
	if n := carol.refresh(t, ctx); n != 0 {
		t.Fatalf("carol read %d friends items", n)
	}
	ids, plains := alice.ownBoxes(t, ctx, 2)
	secrets := [][]byte{[]byte("friends only"), []byte("秘密のお茶会"), []byte("Alice Liddell"), []byte("rabbit")}
	for _, boxID := range ids {
		carol.cannotOpen(t, ctx, boxID, secrets...)
	}
	w, err := decodeFriendsPlain(plains[1])
	if err != nil || w.Kind != FriendsPostKind || len(w.Post.More) == 0 || w.Post.Image == nil {
		t.Fatalf("alice's post box: %+v, %v", w, err)
	}
	thumb := bob.itemsFrom(t, "alice")[0].Thumb
	for _, rid := range append(slices.Clone(w.Post.More), w.Post.Image.Thumb, w.Post.Image.Manifest) {
		rec, err := carol.c.GetRecord(ctx, PostID(rid).Key())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(secrets, thumb[len(thumb)-64:]) {
			if bytes.Contains(rec, s) {
				t.Fatal("a sealed record holds plaintext")
			}
		}
	}

	// A damaged item in Alice's stream is skipped and counted; the next
	// one is read.
	writeDamaged(t, ctx, alice)
	if _, err := alice.s.PostFriends(ctx, "after the damaged one", nil); err != nil {
		t.Fatal(err)
	}
	if n := dave.refresh(t, ctx); n != 1 {
		t.Fatalf("dave read %d items after the damaged one", n)
	}
	if skipped, err := dave.s.FriendsSkipped(); err != nil || skipped["alice"] != 1 {
		t.Fatalf("skipped: %v, %v", skipped, err)
	}

	// Alice removes Bob: her stream moves to fresh keys, which Dave gets.
	if _, err := alice.m.RemoveContact("bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dave.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	const after = "after bob left"
	if _, err := alice.s.PostFriends(ctx, after, nil); err != nil {
		t.Fatal(err)
	}
	if n := bob.refresh(t, ctx); n != 1 { // the damaged one, then the one after it
		t.Fatalf("bob read %d items before his removal took effect, want 1", n)
	}
	if n := bob.refresh(t, ctx); n != 0 {
		t.Fatalf("bob read %d items after his removal", n)
	}
	for _, it := range bob.itemsFrom(t, "alice") {
		if it.Text == after {
			t.Fatal("bob read alice's post after his removal")
		}
	}
	newIDs, _ := alice.ownBoxes(t, ctx, 1)
	bob.cannotOpen(t, ctx, newIDs[0], []byte(after))
	if n := dave.refresh(t, ctx); n != 1 {
		t.Fatalf("dave read %d items after bob's removal, want 1", n)
	}
	if got := dave.itemsFrom(t, "alice"); len(got) != 3 || got[0].Text != after {
		t.Fatalf("dave's copy of alice's posts: %d, newest %q", len(got), got[0].Text)
	}

	// Dave was away longer than boxes live: he asks Alice for her stream
	// from its next box, reads on from there, and reads nothing twice.
	awayFor(t, dave, "alice", FriendsTTL)
	if n := dave.refresh(t, ctx); n != 0 {
		t.Fatalf("dave read %d items with nothing new", n)
	}
	if err := dave.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := alice.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dave.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	caps, err := dave.m.FriendsCaps()
	if err != nil || len(caps) != 1 || len(caps[0].Caps) != 3 {
		t.Fatalf("dave's capabilities after asking: %+v, %v", caps, err)
	}
	if got := caps[0].Caps; !bytes.Equal(got[2][:32], got[1][:32]) || bytes.Equal(got[2], got[1]) {
		t.Fatal("alice's answer is not her current stream from a later box")
	}
	if _, err := alice.s.PostFriends(ctx, "after dave came back", nil); err != nil {
		t.Fatal(err)
	}
	if n := dave.refresh(t, ctx); n != 1 {
		t.Fatalf("dave read %d items after he asked again, want 1", n)
	}
	if got := dave.itemsFrom(t, "alice"); len(got) != 4 || got[0].Text != "after dave came back" {
		t.Fatalf("dave's copy of alice's posts: %d, newest %q", len(got), got[0].Text)
	}
}

// awayFor makes u's reading state of contact's streams as if u last
// looked d ago.
func awayFor(t *testing.T, u *friendsUser, contact string, d time.Duration) {
	t.Helper()
	err := u.st.Update(func(tx *store.Tx) error {
		var keys []string
		if err := tx.List("friends-read", func(k string, _ []byte) error {
			if strings.HasPrefix(k, contact+"/") {
				keys = append(keys, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			b, err := tx.Get("friends-read", k)
			if err != nil {
				return err
			}
			var r friendsRead
			if err := storeDec.Unmarshal(b, &r); err != nil {
				return err
			}
			r.Checked = time.Now().Add(-d).Unix()
			if b, err = detcbor.Marshal(&r); err != nil {
				return err
			}
			if err := tx.Put("friends-read", k, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeDamaged writes into u's friends stream a box that opens but whose
// item does not decode, as a broken or hostile client could.
func writeDamaged(t *testing.T, ctx context.Context, u *friendsUser) {
	t.Helper()
	fs, err := u.m.FriendsStream()
	if err != nil {
		t.Fatal(err)
	}
	wc, err := bacap.NewWriteCapFromBytes(fs.Write)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := friendsBoxIndex(wc, fs.Next)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, friendsPlainSize)
	plain[0] = friendsVersion + 1
	id, val, err := sealFriendsBox(wc, idx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.c.PutBox(ctx, id, val); err != nil {
		t.Fatal(err)
	}
	if err := u.m.FriendsWritten(fs.Write, fs.Next); err != nil {
		t.Fatal(err)
	}
}

// TestFriendsPrune: posts read longer than FriendsTTL ago leave the local
// copy; newer ones and profiles stay; FriendsItems lists newest first.
func TestFriendsPrune(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(nil, nil, st, nil, friendsQuiet())
	now := time.Now()
	for i, it := range []storedFriends{
		{Kind: FriendsPostKind, ID: []byte{1}, Author: "a", Created: now.Unix() - 10, Read: now.Add(-FriendsTTL - time.Hour).UnixNano(), Text: "old"},
		{Kind: FriendsPostKind, ID: []byte{2}, Author: "a", Created: now.Unix() - 5, Read: now.UnixNano(), Text: "new"},
		{Kind: FriendsPostKind, ID: []byte{3}, Author: "a", Created: now.Unix(), Read: now.UnixNano(), Text: "newest"},
		{Kind: FriendsProfileKind, ID: []byte{4}, Author: "a", Created: 1, Read: 1, Text: "A"},
	} {
		if err := s.saveFriends(&it); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	if err := s.pruneFriends(now.Add(-FriendsTTL)); err != nil {
		t.Fatal(err)
	}
	items, err := s.FriendsItems()
	if err != nil || len(items) != 2 || items[0].Text != "newest" || items[1].Text != "new" {
		t.Fatalf("items after pruning: %+v, %v", items, err)
	}
	if ps, err := s.FriendsProfiles(); err != nil || len(ps) != 1 || ps[0].Name != "A" {
		t.Fatalf("profiles after pruning: %+v, %v", ps, err)
	}
}

// TestFriendsProfileForNewContacts: a friends-only profile reaches a
// contact made after it was written (whose capability starts at the
// stream's next box) once the profile is refreshed, and is not written
// again while nobody new can read it.
func TestFriendsProfileForNewContacts(t *testing.T) {
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: friendsQuiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	alice, bob := newFriendsUser(t, ctx, net), newFriendsUser(t, ctx, net)
	name, bio := "Alice", "gardens"
	if _, err := alice.s.SetProfile(ctx, ProfileOptions{Name: &name, Bio: &bio, Visibility: VisibleFriends}); err != nil {
		t.Fatal(err)
	}
	friendsPair(t, ctx, alice, bob, "bob", "alice")
	if n := bob.refresh(t, ctx); n != 0 {
		t.Fatalf("bob read %d items before alice's refresh, want 0 (his capability starts after her profile)", n)
	}
	if err := alice.s.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bob.refresh(t, ctx); n != 1 {
		t.Fatalf("bob read %d items after alice's refresh, want her profile", n)
	}
	profiles, err := bob.s.FriendsProfiles()
	if err != nil || len(profiles) != 1 || profiles[0].Name != name || profiles[0].Bio != bio {
		t.Fatalf("bob's copy of alice's profile: %+v, %v", profiles, err)
	}
	// Nobody new: nothing written again.
	if err := alice.s.RefreshProfile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bob.refresh(t, ctx); n != 0 {
		t.Fatalf("a refresh with no new reader wrote %d items", n)
	}
}

// TestFriendsPostStaysAmongFriends: a friends post's id is refused as the
// target of a public reply or a vote, which would publish it.
func TestFriendsPostStaysAmongFriends(t *testing.T) {
	st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(nil, nil, st, nil, friendsQuiet())
	var id PostID
	id[0] = 7
	if err := s.saveFriends(&storedFriends{Kind: FriendsPostKind, ID: id[:], Author: "a", Created: 1, Read: 1, Text: "dinner"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Vote(t.Context(), id, VoteUp); !errors.Is(err, ErrFriendsOnly) {
		t.Fatalf("vote on a friends post: %v", err)
	}
	if _, err := s.Post(t.Context(), PostOptions{To: World, Text: "re", Reply: &id}); !errors.Is(err, ErrFriendsOnly) {
		t.Fatalf("public reply to a friends post: %v", err)
	}
}
