package message

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/katzenpost/hpqc/bacap"
)

func testReadCap(t testing.TB) []byte {
	t.Helper()
	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wc.ReadCap().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFriendsCapRoundTrip: a capability and a request encode, travel in a
// signed one-part frame and decode to themselves; malformed bodies are
// refused both ways, and a capability whose key is no curve point is
// refused before anything derives a box id from it.
func TestFriendsCapRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	rc := testReadCap(t)
	for _, c := range []FriendsCap{{Op: FriendsCapGive, ReadCap: rc}, {Op: FriendsCapAsk}} {
		body, err := EncodeFriendsCap(c)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Split(KindFriendsCap, body)
		if err != nil || len(fs) != 1 {
			t.Fatalf("split: %d frames, %v", len(fs), err)
		}
		b, err := Encode(fs[0], 4, priv)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(b, 4, pub)
		if err != nil || f.Kind != KindFriendsCap {
			t.Fatalf("decode: %+v, %v", f, err)
		}
		got, err := DecodeFriendsCap(f.Body)
		if err != nil || got.Op != c.Op || !bytes.Equal(got.ReadCap, c.ReadCap) {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, c)
		}
		// Two parts: malformed.
		two := Frame{Kind: KindFriendsCap, Part: 0, Parts: 2, Body: body}
		if b, err = Encode(two, 4, priv); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b, 4, pub); err == nil {
			t.Fatal("a friends capability in two parts decoded")
		}
	}

	// About half of all y coordinates have no point: find one.
	var notPoint []byte
	for y := byte(2); y < 64 && notPoint == nil; y++ {
		c := bytes.Clone(rc)
		copy(c, append([]byte{y}, make([]byte, 31)...))
		if CheckReadCap(c) != nil {
			notPoint = c
		}
	}
	if notPoint == nil {
		t.Fatal("no y below 64 without a point: CheckReadCap checks nothing")
	}
	for _, bad := range []FriendsCap{
		{Op: 0},
		{Op: 3},
		{Op: FriendsCapAsk, ReadCap: rc},
		{Op: FriendsCapGive},
		{Op: FriendsCapGive, ReadCap: rc[1:]},
		{Op: FriendsCapGive, ReadCap: notPoint},
	} {
		if _, err := EncodeFriendsCap(bad); err == nil {
			t.Errorf("encoded %+v", bad)
		}
	}
	for _, bad := range [][]byte{
		nil, {0}, {3}, {2, 0},
		append([]byte{1}, rc[1:]...),
		append(append([]byte{1}, rc...), 0),
		append([]byte{1}, notPoint...),
		append([]byte{2}, rc...),
	} {
		if _, err := DecodeFriendsCap(bad); err == nil {
			t.Errorf("decoded % x", bad)
		}
	}
}

// FuzzDecodeFriendsCap: capability bodies come from a contact (signed, but
// a contact may be hostile or broken). No panic, what decodes encodes back
// to the same bytes, and a decoded capability derives box ids.
func FuzzDecodeFriendsCap(f *testing.F) {
	good, _ := EncodeFriendsCap(FriendsCap{Op: FriendsCapGive, ReadCap: testReadCap(f)})
	f.Add(good)
	f.Add([]byte{2})
	f.Add(append([]byte{1}, make([]byte, bacap.ReadCapSize)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeFriendsCap(b)
		if err != nil {
			return
		}
		again, err := EncodeFriendsCap(*c)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v from % x, encodes to % x, %v", c, b, again, err)
		}
		if c.Op == FriendsCapGive {
			rc, err := bacap.ReadCapFromBytes(c.ReadCap)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := rc.GetFirstMessageBoxIndex().NextIndex()
			if err != nil {
				t.Fatal(err)
			}
			idx.BoxIDForContext(rc, []byte("fuzz"))
		}
	})
}
