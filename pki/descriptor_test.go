package pki

import (
	"bytes"
	"crypto/ed25519"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/komrade-net/komrade/internal/detcbor"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	n := newTestNode(1)
	d := n.descriptor(t, 1000, 12345)
	d.Version = 0 // Sign sets it
	d.Onion = strings.Repeat("a", 56)
	raw, err := Sign(d, n.priv)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if d.Version != descriptorVersion {
		t.Fatalf("Sign left version %d", d.Version)
	}
	if len(raw) > MaxDescriptorSize {
		t.Fatalf("signed descriptor of %d bytes", len(raw))
	}
	got, err := Verify(raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("Verify:\n got %+v\nwant %+v", got, d)
	}

	// Signing is deterministic (Ed25519, deterministic CBOR).
	raw2, err := Sign(d, n.priv)
	if err != nil || !bytes.Equal(raw, raw2) {
		t.Fatalf("second Sign differs (err %v)", err)
	}

	// Without the optional onion address.
	d.Onion = ""
	raw, err = Sign(d, n.priv)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = Verify(raw); err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("Verify without onion: %+v, %v", got, err)
	}
}

func TestSignRejects(t *testing.T) {
	n, other := newTestNode(1), newTestNode(2)
	d := n.descriptor(t, 7, 1)
	if _, err := Sign(d, other.priv); err == nil || !strings.Contains(err.Error(), "node id") {
		t.Fatalf("Sign with a foreign key: %v", err)
	}
	d.Keys = d.Keys[:1]
	if _, err := Sign(d, n.priv); err == nil {
		t.Fatal("Sign accepted a descriptor with one key")
	}
	// Too many addresses of maximum size make the result exceed the limit
	// only if the per-field limits allow it; they must not.
	d = n.descriptor(t, 7, 1)
	d.Addrs = nil
	for range MaxAddrs {
		d.Addrs = append(d.Addrs, longAddr(t))
	}
	d.Onion = strings.Repeat("o", MaxOnionLen)
	if _, err := Sign(d, n.priv); err != nil {
		t.Fatalf("Sign of a descriptor at every field limit: %v", err)
	}
}

// longAddr returns a valid multiaddr close to MaxAddrLen bytes.
func longAddr(t testing.TB) []byte {
	t.Helper()
	m := multiaddr.StringCast("/dns4/" + strings.Repeat("a", 200) + ".example/tcp/1")
	b := m.Bytes()
	if len(b) > MaxAddrLen || len(b) < MaxAddrLen-60 {
		t.Fatalf("long address of %d bytes", len(b))
	}
	return b
}

func TestVerifyRejects(t *testing.T) {
	n, other := newTestNode(1), newTestNode(2)
	const epoch = 50
	valid := n.signed(t, epoch, 3)
	if _, err := Verify(valid); err != nil {
		t.Fatalf("valid descriptor: %v", err)
	}

	// mutate builds a descriptor with a change and signs it correctly, so
	// only the change can be the reason for a rejection.
	mutate := func(f func(d *Descriptor)) []byte {
		d := n.descriptor(t, epoch, 3)
		f(d)
		return signUnchecked(t, d, n.priv)
	}

	cases := []struct {
		name string
		raw  []byte
		want string // substring of the error
	}{
		{"empty", nil, "decode"},
		{"garbage", []byte("not cbor at all"), "decode"},
		{"oversize", append(bytes.Repeat([]byte{0}, MaxDescriptorSize), valid...)[:MaxDescriptorSize+1], "exceeds"},
		{"trailing bytes", append(append([]byte(nil), valid...), 0), "decode"},
		{"wrong signature", func() []byte {
			s := decodeSigned(t, valid)
			s.Sig = append([]byte(nil), s.Sig...)
			s.Sig[10] ^= 0x01
			return encodeSigned(t, s)
		}(), "bad signature"},
		{"signature by another key", func() []byte {
			s := decodeSigned(t, valid)
			s.Sig = ed25519.Sign(other.priv, append([]byte(signContext), s.Body...))
			return encodeSigned(t, s)
		}(), "bad signature"},
		{"signature without context", func() []byte {
			s := decodeSigned(t, valid)
			s.Sig = ed25519.Sign(n.priv, s.Body)
			return encodeSigned(t, s)
		}(), "bad signature"},
		{"short signature", func() []byte {
			s := decodeSigned(t, valid)
			s.Sig = s.Sig[:63]
			return encodeSigned(t, s)
		}(), "signature length"},
		{"body modified after signing", func() []byte {
			s := decodeSigned(t, valid)
			var d Descriptor
			if err := dec.Unmarshal(s.Body, &d); err != nil {
				t.Fatal(err)
			}
			d.Issued++
			body, err := detcbor.Marshal(&d)
			if err != nil {
				t.Fatal(err)
			}
			s.Body = body
			return encodeSigned(t, s)
		}(), "bad signature"},
		{"sphinx key swapped after signing", func() []byte {
			s := decodeSigned(t, valid)
			var d Descriptor
			if err := dec.Unmarshal(s.Body, &d); err != nil {
				t.Fatal(err)
			}
			d.Keys[0].Key = sphinxKey(other.id, epoch, 3)
			body, _ := detcbor.Marshal(&d)
			s.Body = body
			return encodeSigned(t, s)
		}(), "bad signature"},
		{"node id not matching the key", mutate(func(d *Descriptor) { d.NodeID = other.id }), "bad signature"},
		{"non-deterministic CBOR", func() []byte {
			// Same content as an indefinite-length map, properly signed.
			s := decodeSigned(t, valid)
			if s.Body[0]&0xe0 != 0xa0 || s.Body[0] == 0xbf {
				t.Fatalf("body does not start with a definite map: %#x", s.Body[0])
			}
			body := append([]byte{0xbf}, s.Body[1:]...)
			body = append(body, 0xff)
			return signBody(t, body, n.priv)
		}(), "indefinite-length"},
		{"non-minimal integer", func() []byte {
			// Version 1 encoded in two bytes (0x18 0x01) instead of one.
			s := decodeSigned(t, valid)
			i := bytes.Index(s.Body, []byte{0x01, 0x01, 0x02})
			if i != 1 {
				t.Fatalf("unexpected body layout % x", s.Body[:8])
			}
			body := append([]byte{s.Body[0], 0x01, 0x18, 0x01}, s.Body[3:]...)
			return signBody(t, body, n.priv)
		}(), "deterministic"},
		{"explicit empty onion", func() []byte {
			// omitempty: an empty onion present in the body is not canonical.
			s := decodeSigned(t, valid)
			body := append([]byte{s.Body[0] + 1}, s.Body[1:]...)
			body = append(body, 0x07, 0x60)
			return signBody(t, body, n.priv)
		}(), "deterministic"},
		{"unknown field", func() []byte {
			s := decodeSigned(t, valid)
			body := append([]byte{s.Body[0] + 1}, s.Body[1:]...)
			body = append(body, 0x08, 0x01)
			return signBody(t, body, n.priv)
		}(), "decode body"},
		{"unknown field in envelope", func() []byte {
			type ext struct {
				Body  []byte `cbor:"1,keyasint"`
				Sig   []byte `cbor:"2,keyasint"`
				Extra int    `cbor:"3,keyasint"`
			}
			s := decodeSigned(t, valid)
			out, err := detcbor.Marshal(&ext{Body: s.Body, Sig: s.Sig, Extra: 1})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}(), "decode"},
		{"unsupported version", mutate(func(d *Descriptor) { d.Version = 2 }), "version"},
		{"no keys", mutate(func(d *Descriptor) { d.Keys = nil }), "epoch keys"},
		{"one key", mutate(func(d *Descriptor) { d.Keys = d.Keys[:1] }), "epoch keys"},
		{"three keys", mutate(func(d *Descriptor) {
			d.Keys = append(d.Keys, EpochKey{Epoch: epoch + 2, Key: sphinxKey(n.id, epoch+2, 3)})
		}), "epoch keys"},
		{"keys out of order", mutate(func(d *Descriptor) { d.Keys[0], d.Keys[1] = d.Keys[1], d.Keys[0] }), "epoch+1"},
		{"keys for other epochs", mutate(func(d *Descriptor) { d.Keys[0].Epoch, d.Keys[1].Epoch = epoch+1, epoch+2 }), "epoch+1"},
		{"keys with a gap", mutate(func(d *Descriptor) { d.Keys[1].Epoch = epoch + 2 }), "epoch+1"},
		{"short sphinx key", mutate(func(d *Descriptor) { d.Keys[1].Key = d.Keys[1].Key[:31] }), "key size"},
		{"long sphinx key", mutate(func(d *Descriptor) { d.Keys[0].Key = append(d.Keys[0].Key, 0) }), "key size"},
		{"no addresses", mutate(func(d *Descriptor) { d.Addrs = nil }), "addresses"},
		{"too many addresses", mutate(func(d *Descriptor) {
			for len(d.Addrs) <= MaxAddrs {
				d.Addrs = append(d.Addrs, testAddr(t))
			}
		}), "addresses"},
		{"bad multiaddr bytes", mutate(func(d *Descriptor) { d.Addrs[1] = []byte{0xff, 0xff, 0xff} }), "bad address"},
		{"truncated multiaddr", mutate(func(d *Descriptor) { d.Addrs[0] = d.Addrs[0][:len(d.Addrs[0])-1] }), "bad address"},
		{"empty multiaddr", mutate(func(d *Descriptor) { d.Addrs[0] = []byte{} }), "bad address"},
		{"address too long", mutate(func(d *Descriptor) {
			d.Addrs[0] = multiaddr.StringCast("/dns4/" + strings.Repeat("a", MaxAddrLen) + ".example/tcp/1").Bytes()
		}), "too long"},
		{"onion too long", mutate(func(d *Descriptor) { d.Onion = strings.Repeat("o", MaxOnionLen+1) }), "onion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Verify(tc.raw)
			if err == nil {
				t.Fatalf("Verify accepted it: %+v", d)
			}
			if d != nil {
				t.Fatal("Verify returned a descriptor with an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestVerifyAtSizeLimit(t *testing.T) {
	// Exactly MaxDescriptorSize bytes passes the size check (and then fails
	// to decode); one more fails the size check.
	if _, err := Verify(make([]byte, MaxDescriptorSize)); err == nil || strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("MaxDescriptorSize bytes: %v", err)
	}
	if _, err := Verify(make([]byte, MaxDescriptorSize+1)); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("MaxDescriptorSize+1 bytes: %v", err)
	}
}

func TestKeyFor(t *testing.T) {
	n := newTestNode(3)
	d := n.descriptor(t, 9, 0)
	for _, e := range []uint64{9, 10} {
		k, ok := d.KeyFor(e)
		if !ok || !bytes.Equal(k, sphinxKey(n.id, e, 0)) {
			t.Fatalf("KeyFor(%d) = %x, %v", e, k, ok)
		}
	}
	for _, e := range []uint64{0, 8, 11} {
		if _, ok := d.KeyFor(e); ok {
			t.Fatalf("KeyFor(%d) found a key", e)
		}
	}
}

func TestNodeIDPeerIDRoundTrip(t *testing.T) {
	n := newTestNode(4)
	pid, err := n.id.PeerID()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.UnmarshalEd25519PublicKey(n.priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	want, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if pid != want {
		t.Fatalf("PeerID = %s, want %s", pid, want)
	}
	back, err := NodeIDFromPeer(pid)
	if err != nil || back != n.id {
		t.Fatalf("NodeIDFromPeer = %s, %v; want %s", back, err, n.id)
	}

	// A non-Ed25519 peer id is refused.
	_, spub, err := crypto.GenerateSecp256k1Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	spid, err := peer.IDFromPublicKey(spub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NodeIDFromPeer(spid); err == nil {
		t.Fatal("NodeIDFromPeer accepted a secp256k1 peer id")
	}
	if _, err := NodeIDFromPeer(peer.ID("garbage")); err == nil {
		t.Fatal("NodeIDFromPeer accepted garbage")
	}
}

func TestParseNodeID(t *testing.T) {
	n := newTestNode(5)
	s := n.id.String()
	if len(s) != 64 || n.id.Short() != s[:8] {
		t.Fatalf("String %q, Short %q", s, n.id.Short())
	}
	got, err := ParseNodeID(s)
	if err != nil || got != n.id {
		t.Fatalf("ParseNodeID(%q) = %s, %v", s, got, err)
	}
	if got, err := ParseNodeID(strings.ToUpper(s)); err != nil || got != n.id {
		t.Fatalf("ParseNodeID(upper) = %s, %v", got, err)
	}
	for _, bad := range []string{"", s[:62], s + "00", "zz" + s[2:], " " + s[1:]} {
		if _, err := ParseNodeID(bad); err == nil {
			t.Fatalf("ParseNodeID(%q) succeeded", bad)
		}
	}
	if got, want := RecordKey(n.id), "/kmix/"+s; got != want {
		t.Fatalf("RecordKey = %q, want %q", got, want)
	}
}

func TestAddrInfo(t *testing.T) {
	n := newTestNode(6)
	d, err := Verify(n.signed(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	ai, err := d.AddrInfo()
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := n.id.PeerID()
	if ai.ID != pid {
		t.Fatalf("AddrInfo id %s, want %s", ai.ID, pid)
	}
	want := []string{"/ip4/127.0.0.1/tcp/1", "/ip6/::1/udp/7700/quic-v1"}
	if len(ai.Addrs) != len(want) {
		t.Fatalf("AddrInfo addrs %v", ai.Addrs)
	}
	for i, a := range ai.Addrs {
		if a.String() != want[i] {
			t.Fatalf("addr %d = %s, want %s", i, a, want[i])
		}
	}
}

func TestNewer(t *testing.T) {
	a := &Descriptor{Epoch: 5, Issued: 100}
	for _, tc := range []struct {
		b    Descriptor
		want bool
	}{
		{Descriptor{Epoch: 4, Issued: 1000}, true},
		{Descriptor{Epoch: 5, Issued: 99}, true},
		{Descriptor{Epoch: 5, Issued: 100}, false},
		{Descriptor{Epoch: 5, Issued: 101}, false},
		{Descriptor{Epoch: 6, Issued: 0}, false},
	} {
		if got := Newer(a, &tc.b); got != tc.want {
			t.Fatalf("Newer(%+v, %+v) = %v", a, tc.b, got)
		}
	}
}
