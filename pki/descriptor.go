// Package pki is the network's public-key infrastructure: how clients and
// nodes learn the mix nodes. It defines the signed node descriptor, its DHT
// record validator (/kmix/), epochs, the deterministic layer assignment, the
// verified Directory and path selection over it (RandomRoute, HopsFor).
// Client and node both use it; it depends only on wire.
//
// A descriptor is signed by the node's Ed25519 identity key, which is also its
// libp2p identity and its 32-byte Sphinx node id, so a descriptor, a peer id and
// a NextNodeHop command all name a node the same way.
package pki

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
)

// Limits on a descriptor's contents; anything larger is rejected before the
// signature is checked.
const (
	MaxDescriptorSize = 4096
	MaxAddrs          = 8
	MaxAddrLen        = 256
	MaxOnionLen       = 128
	SphinxKeySize     = 32 // X25519
	// descriptorVersion is the only version this code understands.
	descriptorVersion = 1
	signContext       = "komrade descriptor v1\x00"
)

// NodeID is a node's Ed25519 identity public key (see [wire.NodeID]).
type NodeID = wire.NodeID

// ParseNodeID reads a hex node id.
func ParseNodeID(s string) (NodeID, error) {
	var id NodeID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("node id %q: want 64 hex characters", s)
	}
	copy(id[:], b)
	return id, nil
}

// NodeIDFromPeer returns the node id of an Ed25519 libp2p peer id.
func NodeIDFromPeer(p peer.ID) (NodeID, error) {
	var id NodeID
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return id, fmt.Errorf("peer %s: %w", p, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return id, fmt.Errorf("peer %s: not an Ed25519 key", p)
	}
	raw, err := pk.Raw()
	if err != nil || len(raw) != len(id) {
		return id, fmt.Errorf("peer %s: bad key", p)
	}
	copy(id[:], raw)
	return id, nil
}

// EpochKey is a node's Sphinx public key for one epoch.
type EpochKey struct {
	Epoch uint64 `cbor:"1,keyasint"`
	Key   []byte `cbor:"2,keyasint"`
}

// Descriptor is what a node publishes about itself for an epoch.
type Descriptor struct {
	Version uint8  `cbor:"1,keyasint"`
	NodeID  NodeID `cbor:"2,keyasint"`
	// Epoch is the epoch in which the descriptor was issued.
	Epoch uint64 `cbor:"3,keyasint"`
	// Issued orders descriptors within an epoch (unix nanoseconds): a node
	// that restarts publishes fresh keys that replace the old ones.
	Issued int64 `cbor:"4,keyasint"`
	// Addrs are libp2p multiaddrs (binary) without /p2p/.
	Addrs [][]byte `cbor:"5,keyasint"`
	// Keys holds the Sphinx keys for Epoch and Epoch+1.
	Keys []EpochKey `cbor:"6,keyasint"`
	// Onion is an optional v3 onion address (without ".onion").
	Onion string `cbor:"7,keyasint,omitempty"`
	// Network is the id of the network the node belongs to (Params.ID):
	// a directory takes only descriptors of its own network.
	Network NetworkID `cbor:"8,keyasint"`
}

// Signed is a descriptor with its signature, as stored in the DHT.
type Signed struct {
	Body []byte `cbor:"1,keyasint"` // deterministic CBOR of Descriptor
	Sig  []byte `cbor:"2,keyasint"`
}

var dec = detcbor.NewDecoder(64, 6)

// Sign encodes d deterministically and signs it with priv.
func Sign(d *Descriptor, priv ed25519.PrivateKey) ([]byte, error) {
	d.Version = descriptorVersion
	pub := priv.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, d.NodeID[:]) {
		return nil, errors.New("descriptor: node id does not match signing key")
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	body, err := detcbor.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("descriptor: encode: %w", err)
	}
	sig := ed25519.Sign(priv, append([]byte(signContext), body...))
	out, err := detcbor.Marshal(&Signed{Body: body, Sig: sig})
	if err != nil {
		return nil, fmt.Errorf("descriptor: encode: %w", err)
	}
	if len(out) > MaxDescriptorSize {
		return nil, fmt.Errorf("descriptor: %d bytes exceeds %d", len(out), MaxDescriptorSize)
	}
	return out, nil
}

// peek decodes a signed descriptor's body without checking its contents or
// signature: what it says is a claim, good only for choosing which
// descriptors are worth verifying.
func peek(raw []byte) (*Descriptor, error) {
	if len(raw) > MaxDescriptorSize {
		return nil, fmt.Errorf("descriptor: %d bytes exceeds %d", len(raw), MaxDescriptorSize)
	}
	var s Signed
	if err := dec.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("descriptor: decode: %w", err)
	}
	var d Descriptor
	if err := dec.UnmarshalCanonical(s.Body, &d); err != nil {
		return nil, fmt.Errorf("descriptor: decode body: %w", err)
	}
	return &d, nil
}

// Verify decodes a signed descriptor, checks sizes, structure and the
// signature, and returns the descriptor. It does not check the epoch.
func Verify(raw []byte) (*Descriptor, error) {
	if len(raw) > MaxDescriptorSize {
		return nil, fmt.Errorf("descriptor: %d bytes exceeds %d", len(raw), MaxDescriptorSize)
	}
	var s Signed
	if err := dec.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("descriptor: decode: %w", err)
	}
	if len(s.Sig) != ed25519.SignatureSize {
		return nil, errors.New("descriptor: bad signature length")
	}
	var d Descriptor
	// The signed body has one encoding: a re-encoded one is refused.
	if err := dec.UnmarshalCanonical(s.Body, &d); err != nil {
		return nil, fmt.Errorf("descriptor: decode body: %w", err)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if !ed25519.Verify(ed25519.PublicKey(d.NodeID[:]), append([]byte(signContext), s.Body...), s.Sig) {
		return nil, errors.New("descriptor: bad signature")
	}
	return &d, nil
}

func (d *Descriptor) check() error {
	if d.Version != descriptorVersion {
		return fmt.Errorf("descriptor: unsupported version %d", d.Version)
	}
	if len(d.Addrs) == 0 || len(d.Addrs) > MaxAddrs {
		return fmt.Errorf("descriptor: %d addresses, want 1..%d", len(d.Addrs), MaxAddrs)
	}
	for _, a := range d.Addrs {
		if len(a) > MaxAddrLen {
			return errors.New("descriptor: address too long")
		}
		if _, err := multiaddr.NewMultiaddrBytes(a); err != nil {
			return fmt.Errorf("descriptor: bad address: %w", err)
		}
	}
	if len(d.Keys) != 2 {
		return fmt.Errorf("descriptor: %d epoch keys, want 2", len(d.Keys))
	}
	for i, k := range d.Keys {
		if k.Epoch != d.Epoch+uint64(i) {
			return errors.New("descriptor: keys must be for epoch and epoch+1, in order")
		}
		if len(k.Key) != SphinxKeySize {
			return errors.New("descriptor: bad Sphinx key size")
		}
		if !validSphinxKey(k.Key) {
			return errors.New("descriptor: Sphinx key is a low-order point")
		}
	}
	if d.Network == (NetworkID{}) {
		return errors.New("descriptor: no network id")
	}
	if len(d.Onion) > MaxOnionLen {
		return errors.New("descriptor: onion address too long")
	}
	return nil
}

// probeKey is a fixed X25519 scalar used to test published keys: X25519 of
// any scalar with a low-order point is all zeros, which crypto/ecdh reports as
// an error. Such a key would make every packet through the node fail (or
// crash a client library that panics on it), so descriptors carrying one are
// invalid.
var probeKey = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5a}, 32))
	if err != nil {
		panic(err)
	}
	return k
}()

func validSphinxKey(b []byte) bool {
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return false
	}
	_, err = probeKey.ECDH(pub)
	return err == nil
}

// KeyFor returns the node's Sphinx public key for epoch, if the descriptor
// carries one.
func (d *Descriptor) KeyFor(epoch uint64) ([]byte, bool) {
	for _, k := range d.Keys {
		if k.Epoch == epoch {
			return k.Key, true
		}
	}
	return nil, false
}

// AddrInfo returns the node's libp2p peer id and addresses.
func (d *Descriptor) AddrInfo() (peer.AddrInfo, error) {
	pid, err := d.NodeID.PeerID()
	if err != nil {
		return peer.AddrInfo{}, err
	}
	ai := peer.AddrInfo{ID: pid}
	for _, a := range d.Addrs {
		m, err := multiaddr.NewMultiaddrBytes(a)
		if err != nil {
			return peer.AddrInfo{}, err
		}
		ai.Addrs = append(ai.Addrs, m)
	}
	return ai, nil
}

// Newer reports whether a supersedes b: a later epoch, or the same epoch
// issued later.
func Newer(a, b *Descriptor) bool {
	if a.Epoch != b.Epoch {
		return a.Epoch > b.Epoch
	}
	return a.Issued > b.Issued
}

// RecordKey is the DHT key under which a node's descriptor is stored.
func RecordKey(id NodeID) string { return "/kmix/" + id.String() }

// sortByID orders descriptors by node id.
func sortByID(ds []*Descriptor) {
	sort.Slice(ds, func(i, j int) bool { return bytes.Compare(ds[i].NodeID[:], ds[j].NodeID[:]) < 0 })
}
