package pki

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/multiformats/go-multiaddr"

	"github.com/komrade-net/komrade/internal/golden"
)

func TestVectorsDescriptor(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
	var id NodeID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	addr := multiaddr.StringCast("/ip4/127.0.0.1/tcp/4001")
	// X25519 public keys of the scalars 1 and 2 times the base point are not
	// low-order, so they pass the descriptor's key check.
	k1 := mustHex(t, "0900000000000000000000000000000000000000000000000000000000000000")
	k2 := mustHex(t, "fb4e68dd9c46ae5c5c0b351eed5c3f8f1471157d680c75d9b7f17318d542d320")
	d := &Descriptor{NodeID: id, Epoch: 100, Issued: 1700000000000000000, Addrs: [][]byte{addr.Bytes()},
		Keys: []EpochKey{{Epoch: 100, Key: k1}, {Epoch: 101, Key: k2}}, Network: NetworkID(bytes.Repeat([]byte{0x17}, 32))}
	enc, err := Sign(d, priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(golden.Check(t, "descriptor", enc))
	if err != nil || got.NodeID != id || got.Epoch != 100 || len(got.Keys) != 2 {
		t.Fatalf("descriptor verifies to %+v, %v", got, err)
	}
	params, err := DefaultParams().Encode()
	if err != nil {
		t.Fatal(err)
	}
	// The default network's parameters, so a change to a default (and so to
	// the default network id) is a deliberate one.
	p, err := DecodeParams(golden.Check(t, "params-default", params))
	if err != nil || p.ID() != DefaultParams().ID() {
		t.Fatalf("default params decode to %+v, %v", p, err)
	}
	resp, err := EncodeResponse(&Response{Epoch: 100, Descriptors: [][]byte{enc}, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeResponse(golden.Check(t, "directory-response", resp))
	if err != nil || r.Epoch != 100 || len(r.Descriptors) != 1 || !bytes.Equal(r.Descriptors[0], enc) {
		t.Fatalf("directory response decodes to %+v, %v", r, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
