package message

import (
	"crypto/ed25519"
	"testing"
)

// TestEventFrame: an event invitation travels in one frame of kind 6; one
// spread over two frames is malformed.
func TestEventFrame(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	body := []byte("an invitation's bytes")
	fs, err := Split(KindEvent, body)
	if err != nil || len(fs) != 1 {
		t.Fatalf("split: %d frames, %v", len(fs), err)
	}
	b, err := Encode(fs[0], 3, priv)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b, 3, pub)
	if err != nil || f.Kind != KindEvent || string(f.Body) != string(body) {
		t.Fatalf("decoded %+v, %v", f, err)
	}
	two := Frame{Kind: KindEvent, Part: 0, Parts: 2, Body: body}
	if b, err = Encode(two, 3, priv); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b, 3, pub); err == nil {
		t.Fatal("an invitation in two parts decoded")
	}
}
