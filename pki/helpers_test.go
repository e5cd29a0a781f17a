package pki

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/multiformats/go-multiaddr"

	"github.com/komrade-net/komrade/internal/detcbor"
)

// testNode is a node identity for tests, derived from a seed so that tests
// are reproducible.
type testNode struct {
	priv ed25519.PrivateKey
	id   NodeID
}

func newTestNode(seed uint64) testNode {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed)
	s = sha256.Sum256(s[:])
	priv := ed25519.NewKeyFromSeed(s[:])
	var id NodeID
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return testNode{priv: priv, id: id}
}

// sphinxKey returns a deterministic 32-byte stand-in for a Sphinx key.
func sphinxKey(id NodeID, epoch uint64, issued int64) []byte {
	h := sha256.New()
	h.Write(id[:])
	binary.Write(h, binary.BigEndian, epoch)
	binary.Write(h, binary.BigEndian, issued)
	return h.Sum(nil)
}

func testAddr(t testing.TB) []byte {
	t.Helper()
	return multiaddr.StringCast("/ip4/127.0.0.1/tcp/1").Bytes()
}

// descriptor returns a well-formed descriptor of n for epoch.
func (n testNode) descriptor(t testing.TB, epoch uint64, issued int64) *Descriptor {
	return &Descriptor{
		Version: descriptorVersion,
		NodeID:  n.id,
		Epoch:   epoch,
		Issued:  issued,
		Addrs:   [][]byte{testAddr(t), multiaddr.StringCast("/ip6/::1/udp/7700/quic-v1").Bytes()},
		Keys: []EpochKey{
			{Epoch: epoch, Key: sphinxKey(n.id, epoch, issued)},
			{Epoch: epoch + 1, Key: sphinxKey(n.id, epoch+1, issued)},
		},
		Network: testNet,
	}
}

// testNet is the network id of the test descriptors.
var testNet = DefaultParams().ID()

// signed returns n's signed descriptor for epoch.
func (n testNode) signed(t testing.TB, epoch uint64, issued int64) []byte {
	t.Helper()
	raw, err := Sign(n.descriptor(t, epoch, issued), n.priv)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return raw
}

// signBody signs arbitrary body bytes with priv, bypassing every check Sign
// makes, so tests can build descriptors Verify must reject for reasons other
// than the signature.
func signBody(t testing.TB, body []byte, priv ed25519.PrivateKey) []byte {
	t.Helper()
	sig := ed25519.Sign(priv, append([]byte(signContext), body...))
	out, err := detcbor.Marshal(&Signed{Body: body, Sig: sig})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signUnchecked encodes d and signs it with priv without validating it.
func signUnchecked(t testing.TB, d *Descriptor, priv ed25519.PrivateKey) []byte {
	t.Helper()
	body, err := detcbor.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return signBody(t, body, priv)
}

func decodeSigned(t testing.TB, raw []byte) Signed {
	t.Helper()
	var s Signed
	if err := dec.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func encodeSigned(t testing.TB, s Signed) []byte {
	t.Helper()
	out, err := detcbor.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
