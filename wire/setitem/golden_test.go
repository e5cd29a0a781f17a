package setitem

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/komrade-net/komrade/internal/golden"
)

func TestVectorsItem(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
	it := Item{Namespace: "vote", Key: []byte("post id"), Body: []byte{1}, Expires: 4102444800}
	if err := it.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := it.Solve(t.Context(), 12); err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(&it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(golden.Check(t, "item-vote-signed-12-bits", enc))
	if err != nil {
		t.Fatal(err)
	}
	if !got.checkSig() || !got.CheckPoW(12) || got.Namespace != "vote" || !bytes.Equal(got.Body, []byte{1}) {
		t.Fatalf("item decodes to %+v", got)
	}
	id, err := got.ID()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "item-vote-signed-12-bits-id", id[:])
	nk, err := NullifierKey([]byte("writer secret"), "vote", []byte("post id"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "nullifier-key-public", nk.Public().(ed25519.PublicKey))
}
