package social

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/record"
)

func key32() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// biggestPost is a friends post at every limit at once.
func biggestPost() *friendsWire {
	head, more := SplitText(strings.Repeat("語", MaxChars))
	body := &Body{To: Friends, Text: head, More: make([][32]byte, len(more)), Salt: make([]byte, 16),
		Reply: make([]byte, 32), Image: &ImageRef{W: 4096, H: 4096}}
	return &friendsWire{Kind: FriendsPostKind, Created: 1 << 40, Post: body, Key: key32()}
}

// TestFriendsPlain: the largest post and profile fit one box; items
// decode to themselves; what breaks a rule is refused.
func TestFriendsPlain(t *testing.T) {
	if friendsBlobSize != message.CiphertextSize || friendsBlobSize > record.MaxBoxBlob {
		t.Fatalf("friends blob of %d bytes", friendsBlobSize)
	}
	biggestProfile := &friendsWire{Kind: FriendsProfileKind, Created: 1 << 40, Key: key32(), Profile: &friendsProfileWire{
		Name: strings.Repeat("\U0001F600", MaxFriendsName), Bio: strings.Repeat("\U0001F600", MaxFriendsBio), Photo: &ImageRef{W: 4096, H: 4096}}}
	small := &friendsWire{Kind: FriendsPostKind, Created: 5, Post: &Body{To: Friends, Text: "hi", Salt: make([]byte, 16)}}
	for _, w := range []*friendsWire{biggestPost(), biggestProfile, small} {
		plain, err := encodeFriendsPlain(w)
		if err != nil {
			t.Fatalf("kind %d: %v", w.Kind, err)
		}
		got, err := decodeFriendsPlain(plain)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := detcbor.Marshal(w)
		b, _ := detcbor.Marshal(got)
		if !bytes.Equal(a, b) {
			t.Fatalf("kind %d decodes to another item", w.Kind)
		}
	}

	bad := []func(w *friendsWire){
		func(w *friendsWire) { w.Kind = 3 },
		func(w *friendsWire) { w.Created = 0 },
		func(w *friendsWire) { w.Key = nil },              // sealed records without a key
		func(w *friendsWire) { w.Key = w.Key[:16] },       // short key
		func(w *friendsWire) { w.Post.Image.Key = w.Key }, // the key belongs to the item
		func(w *friendsWire) { w.Post.To = World },
		func(w *friendsWire) { w.Post.Text = "" },
		func(w *friendsWire) { w.Profile = &friendsProfileWire{Name: "x"} },
		func(w *friendsWire) { w.Post = nil },
		func(w *friendsWire) { w.Post.More, w.Post.Image = nil, nil }, // nothing sealed, yet a key
	}
	for i, f := range bad {
		w := biggestPost()
		f(w)
		if _, err := encodeFriendsPlain(w); err == nil {
			t.Errorf("bad item %d encoded", i)
		}
		raw, err := detcbor.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeFriendsPlain(pad(raw)); err == nil {
			t.Errorf("bad item %d decoded", i)
		}
	}
	for i, p := range []*friendsProfileWire{{Name: " "}, {Name: strings.Repeat("a", MaxFriendsName+1)}, {Name: "a", Bio: strings.Repeat("b", MaxFriendsBio+1)}, {Name: "\xff"}} {
		if _, err := encodeFriendsPlain(&friendsWire{Kind: FriendsProfileKind, Created: 1, Profile: p}); err == nil {
			t.Errorf("bad profile %d encoded", i)
		}
	}

	good, _ := encodeFriendsPlain(small)
	for i, f := range []func(b []byte){
		func(b []byte) { b[0] = 2 },
		func(b []byte) { b[len(b)-1] = 1 },         // padding
		func(b []byte) { b[1], b[2] = 0xff, 0xff }, // length
		func(b []byte) { b[2]-- },                  // length cuts the item
	} {
		b := bytes.Clone(good)
		f(b)
		if _, err := decodeFriendsPlain(b); err == nil {
			t.Errorf("damaged plaintext %d decoded", i)
		}
	}
	if _, err := decodeFriendsPlain(good[:len(good)-1]); err == nil {
		t.Error("short plaintext decoded")
	}
}

// pad lays out an encoded item as encodeFriendsPlain does, unchecked.
func pad(item []byte) []byte {
	out := make([]byte, friendsPlainSize)
	out[0], out[1], out[2] = friendsVersion, byte(len(item)>>8), byte(len(item))
	copy(out[3:], item)
	return out
}

// TestFriendsBox: a box opens with the stream's read capability at its
// index and with nothing else; its blob has the size of a message box and
// does not contain the plaintext.
func TestFriendsBox(t *testing.T) {
	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := bacap.NewWriteCap(rand.Reader)
	first := wc.GetFirstMessageBoxIndex().Idx64
	plain, err := encodeFriendsPlain(&friendsWire{Kind: FriendsPostKind, Created: 9, Post: &Body{To: Friends, Text: "only for friends", Salt: make([]byte, 16)}})
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := friendsBoxIndex(wc, first+3)
	id, val, err := sealFriendsBox(wc, idx, plain)
	if err != nil {
		t.Fatal(err)
	}
	box, err := record.DecodeBox(id, val)
	if err != nil {
		t.Fatal(err)
	}
	if len(box.Blob) != message.CiphertextSize || bytes.Contains(val, []byte("only for friends")) {
		t.Fatalf("blob of %d bytes, or holding the text", len(box.Blob))
	}
	rc := wc.ReadCap()
	ridx, _ := friendsBoxIndex(rc, first+3)
	if friendsBoxID(rc, ridx) != id {
		t.Fatal("the reader derives another box id")
	}
	got, err := openFriendsBox(ridx, id, box.Blob)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v", err)
	}
	wrongIdx, _ := friendsBoxIndex(rc, first+4)
	otherIdx, _ := friendsBoxIndex(other.ReadCap(), other.GetFirstMessageBoxIndex().Idx64+3)
	for _, x := range []*bacap.MessageBoxIndex{wrongIdx, otherIdx} {
		if _, err := openFriendsBox(x, id, box.Blob); err == nil {
			t.Fatal("a box opened with another index or stream")
		}
	}
	flipped := bytes.Clone(box.Blob)
	flipped[100] ^= 1
	if _, err := openFriendsBox(ridx, id, flipped); err == nil {
		t.Fatal("a damaged box opened")
	}
}

// TestFriendsRecords: sealed records open with their key and role only,
// and the largest chunk and manifest fit a record.
func TestFriendsRecords(t *testing.T) {
	k := key32()
	chunk := bytes.Repeat([]byte{0xab}, photo.ChunkSize)
	rec, id, err := sealFriendsRecord(k, roleChunk, chunk)
	if err != nil {
		t.Fatal(err)
	}
	if id != IDOf(rec) || len(rec) > record.MaxValue || bytes.Contains(rec, chunk[:64]) {
		t.Fatalf("chunk record of %d bytes", len(rec))
	}
	if err := (record.PostValidator{}).Validate(id.Key(), rec); err != nil {
		t.Fatalf("storage nodes refuse the record: %v", err)
	}
	if got, err := openFriendsRecord(k, roleChunk, rec); err != nil || !bytes.Equal(got, chunk) {
		t.Fatalf("open: %v", err)
	}
	if _, err := openFriendsRecord(k, roleThumb, rec); err == nil {
		t.Fatal("a chunk opened as a thumbnail")
	}
	if _, err := openFriendsRecord(key32(), roleChunk, rec); err == nil {
		t.Fatal("opened with another key")
	}

	m := &friendsManifest{W: photo.FullSide, H: 1, Size: photo.MaxChunks * photo.ChunkSize, Chunks: make([]byte, photo.MaxChunks*sha256.Size)}
	mb, err := encodeFriendsManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	if rec, _, err = sealFriendsRecord(k, roleManifest, mb); err != nil || len(rec) > record.MaxValue {
		t.Fatalf("manifest record of %d bytes: %v", len(rec), err)
	}
	got, err := decodeFriendsManifest(mb)
	if err != nil || len(got.chunkIDs()) != photo.MaxChunks {
		t.Fatalf("manifest: %v", err)
	}
	for i, bad := range []friendsManifest{
		{W: 1, H: 1, Size: 1},
		{W: 0, H: 1, Size: 1, Chunks: make([]byte, 32)},
		{W: 1, H: photo.FullSide + 1, Size: 1, Chunks: make([]byte, 32)},
		{W: 1, H: 1, Size: photo.ChunkSize + 1, Chunks: make([]byte, 32)},
		{W: 1, H: 1, Size: photo.ChunkSize, Chunks: make([]byte, 64)},
		{W: 1, H: 1, Size: 1, Chunks: make([]byte, 33)},
		{W: 1, H: 1, Size: 1, Chunks: make([]byte, 32*(photo.MaxChunks+1))},
	} {
		if _, err := encodeFriendsManifest(&bad); err == nil {
			t.Errorf("bad manifest %d encoded", i)
		}
		raw, _ := detcbor.Marshal(&bad)
		if _, err := decodeFriendsManifest(raw); err == nil {
			t.Errorf("bad manifest %d decoded", i)
		}
	}
}

// FuzzDecodeFriendsPlain: the plaintext of a box comes from a contact. No
// panic, and what decodes encodes back to the same bytes.
func FuzzDecodeFriendsPlain(f *testing.F) {
	for _, w := range []*friendsWire{biggestPost(), {Kind: FriendsProfileKind, Created: 1, Profile: &friendsProfileWire{Name: "n"}}} {
		b, _ := encodeFriendsPlain(w)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := decodeFriendsPlain(b)
		if err != nil {
			return
		}
		again, err := encodeFriendsPlain(w)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted plaintext does not encode to itself: %v", err)
		}
	})
}

// FuzzOpenFriendsBox: a box's blob comes from the network. A fresh stream
// per input; no panic, and nothing but the stream's own box opens.
func FuzzOpenFriendsBox(f *testing.F) {
	f.Add(make([]byte, friendsBlobSize), uint8(0))
	f.Add([]byte{1, 2, 3}, uint8(1))
	f.Fuzz(func(t *testing.T, blob []byte, at uint8) {
		wc, err := bacap.NewWriteCap(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		rc := wc.ReadCap()
		idx, err := friendsBoxIndex(rc, rc.GetFirstMessageBoxIndex().Idx64+uint64(at))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openFriendsBox(idx, friendsBoxID(rc, idx), blob); err == nil {
			t.Fatal("a blob made without the write capability opened")
		}
	})
}

// FuzzOpenFriendsRecord: sealed records come from the network. No panic;
// a fresh key per input, so nothing opens.
func FuzzOpenFriendsRecord(f *testing.F) {
	rec, _, _ := sealFriendsRecord(key32(), roleMore, []byte("more"))
	f.Add(rec)
	f.Fuzz(func(t *testing.T, rec []byte) {
		if _, err := openFriendsRecord(key32(), roleMore, rec); err == nil {
			t.Fatal("a record opened with a fresh key")
		}
	})
}

// FuzzDecodeFriendsManifest: a decrypted manifest comes from a contact.
// No panic; what decodes re-encodes to itself and names its chunks.
func FuzzDecodeFriendsManifest(f *testing.F) {
	good, _ := encodeFriendsManifest(&friendsManifest{W: 10, H: 10, Size: 2000, Chunks: make([]byte, 64)})
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeFriendsManifest(b)
		if err != nil {
			return
		}
		again, err := encodeFriendsManifest(m)
		if err != nil || !bytes.Equal(again, b) || len(m.chunkIDs()) < 1 {
			t.Fatalf("accepted manifest does not encode to itself: %v", err)
		}
	})
}

// TestFriendsItemIDNamesAuthor: the same plaintext from two streams is two
// items, so a copy cannot replace the original.
func TestFriendsItemIDNamesAuthor(t *testing.T) {
	a, _, _ := ed25519.GenerateKey(nil)
	b, _, _ := ed25519.GenerateKey(nil)
	plain := []byte("the same item")
	if friendsItemID(a, plain) == friendsItemID(b, plain) {
		t.Fatal("two authors' copies of one item share an id")
	}
	if friendsItemID(a, plain) != friendsItemID(a, plain) {
		t.Fatal("an item's id is not stable")
	}
}
