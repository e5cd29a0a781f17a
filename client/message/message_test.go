package message

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/komrade-net/komrade/wire/record"
)

func TestRoundTrip(t *testing.T) {
	if CiphertextSize > record.MaxBoxBlob {
		t.Fatalf("a sealed frame (%d) does not fit a box (%d)", CiphertextSize, record.MaxBoxBlob)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	send, _ := NewRatchet([]byte("shared secret"), "alice->bob")
	recv, _ := NewRatchet([]byte("shared secret"), "alice->bob")
	text := bytes.Repeat([]byte("solidarity "), 400) // several parts
	frames, err := Split(KindText, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 3 {
		t.Fatalf("%d parts", len(frames))
	}
	var boxes [][]byte
	for _, f := range frames {
		i, key := send.Next()
		pt, err := Encode(f, i, priv)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := Seal(key, []byte{byte(i)}, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != CiphertextSize {
			t.Fatal("ciphertext size varies")
		}
		boxes = append(boxes, ct)
	}
	var got []byte
	for _, ct := range boxes {
		i, key := recv.Next()
		pt, err := Open(key, []byte{byte(i)}, ct)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(pt, i, pub)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Body...)
	}
	if !bytes.Equal(got, text) {
		t.Fatal("text differs")
	}
	// Decoding with the wrong index (a frame moved to another box) or the
	// wrong sender fails.
	_, key := send.Next()
	pt, _ := Encode(frames[0], 99, priv)
	if _, err := Decode(pt, 98, pub); !errors.Is(err, ErrFrame) {
		t.Fatal("frame accepted at another index")
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Decode(pt, 99, other); !errors.Is(err, ErrFrame) {
		t.Fatal("frame accepted from another sender")
	}
	ct, _ := Seal(key, []byte("box"), pt)
	ct[40] ^= 1
	if _, err := Open(key, []byte("box"), ct); !errors.Is(err, ErrFrame) {
		t.Fatal("tampered ciphertext opened")
	}
}

func TestRatchetForward(t *testing.T) {
	r, _ := NewRatchet([]byte("s"), "x")
	seen := map[[32]byte]bool{}
	for i := 0; i < 100; i++ {
		idx, k := r.Next()
		if idx != uint64(i) || seen[k] || k == r.Chain {
			t.Fatal("ratchet repeats or exposes keys")
		}
		seen[k] = true
	}
	other, _ := NewRatchet([]byte("s"), "y")
	if _, k := other.Next(); seen[k] {
		t.Fatal("directions share keys")
	}
}

func TestSplitLimits(t *testing.T) {
	for _, n := range []int{0, 1, MaxBody, MaxBody + 1, 3*MaxBody + 5} {
		frames, err := Split(KindText, make([]byte, n))
		if err != nil || len(frames) != PartsFor(n) {
			t.Fatalf("%d bytes: %d frames, PartsFor %d, %v", n, len(frames), PartsFor(n), err)
		}
	}
	if _, err := Split(KindText, make([]byte, MaxParts*MaxBody+1)); err == nil {
		t.Fatal("oversize text accepted")
	}
}

// FuzzDecode feeds arbitrary decrypted frames to Decode: no panic, and
// nothing unsigned is accepted.
func FuzzDecode(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	frames, _ := Split(KindText, []byte("hello"))
	good, _ := Encode(frames[0], 7, priv)
	f.Add(good)
	f.Add(make([]byte, FrameSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Decode(b, 7, pub); err == nil && !bytes.Equal(b, good) {
			t.Fatalf("an input other than the signed frame decoded")
		}
	})
}

// TestShortHelloRefused: a hello signed by a known contact but shorter than
// the identity key it must carry is refused by Decode (it used to pass and
// crash the reader that sliced its key).
func TestShortHelloRefused(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub := priv.Public().(ed25519.PublicKey)
	for _, body := range [][]byte{nil, []byte("short"), make([]byte, ed25519.PublicKeySize-1)} {
		b, err := Encode(Frame{Kind: KindHello, Parts: 1, Body: body}, 3, priv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b, 3, pub); err == nil {
			t.Fatalf("hello of %d bytes from a known sender decoded", len(body))
		}
		if _, err := Decode(b, 3, nil); err == nil {
			t.Fatalf("hello of %d bytes decoded", len(body))
		}
	}
	b, _ := Encode(Frame{Kind: KindHello, Part: 0, Parts: 2, Body: append(pub, make([]byte, 32)...)}, 3, priv)
	if _, err := Decode(b, 3, pub); err == nil {
		t.Fatal("a hello in two parts decoded")
	}
}
