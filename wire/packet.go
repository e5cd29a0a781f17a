// Package wire is what Komrade clients and mix nodes say to each other, and
// nothing else: the one Sphinx geometry every packet uses, the fixed-size
// frames of mix and client links, the exit request envelope and the bodies
// of storage requests, the frame in which a gateway hands a reply to its
// client, the one vocabulary of result codes (Status and its errors), node
// ids and the proof-of-work stamp. Signed records and set items, which both
// sides build or check, live in the subpackages record and setitem.
//
// Everything that crosses a link is exactly PacketLength bytes: a Sphinx
// packet on the way in, a delivery frame on the way back to a client.
//
// wire sits below everything else: pki, transport, dht, mixnode and client
// import it; it imports none of them. Its fast X25519 NIKE is internal.
package wire

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/katzenpost/hpqc/nike"
	"github.com/katzenpost/hpqc/nike/x25519"
	hpqcrand "github.com/katzenpost/hpqc/rand"
	"github.com/katzenpost/katzenpost/core/sphinx"
	"github.com/katzenpost/katzenpost/core/sphinx/commands"
	"github.com/katzenpost/katzenpost/core/sphinx/geo"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/komrade-net/komrade/wire/internal/x25519nike"
)

// Link protocols. Every frame on the mix and client links is exactly
// PacketLength bytes.
const (
	// MixProtocol carries packets from one mix node to the next.
	MixProtocol protocol.ID = "/komrade/mix/1.0.0"
	// ClientProtocol carries packets from a client to its gateway and
	// delivery frames back.
	ClientProtocol protocol.ID = "/komrade/client/1.0.0"
	// DirectoryProtocol serves the assembled directory to clients: a 4-byte
	// big-endian length (0: no directory yet) and a pki.Response.
	DirectoryProtocol protocol.ID = "/komrade/directory/1.0.0"
)

// Geometry constants. One geometry for every packet: X25519 NIKE, up to five
// hops, a 2048-byte user payload plus an attached SURB.
const (
	MaxHops           = 5
	UserPayloadLength = 2048
)

var (
	// Geometry is the Sphinx geometry of every Komrade packet.
	Geometry = geo.GeometryFromUserForwardPayloadLength(x25519.Scheme(hpqcrand.Reader), UserPayloadLength, true, MaxHops)
	// PacketLength is the size of every frame on every link (3130 bytes).
	PacketLength = Geometry.PacketLength
)

// NIKE is the X25519 scheme Komrade's Sphinx uses: wire-identical to hpqc's,
// but with no redundant scalar multiplications (see internal/x25519nike).
var NIKE nike.Scheme = x25519nike.Scheme{}

// NewSphinx returns a Sphinx instance for Geometry using NIKE.
func NewSphinx() *sphinx.Sphinx {
	return sphinx.NewNIKESphinx(NIKE, Geometry)
}

// NewEpochKey generates a mix node's Sphinx key for one epoch, prepared so
// that each unwrap costs one scalar multiplication for the shared secret. It
// returns the private key and the public key bytes to publish.
func NewEpochKey() (nike.PrivateKey, []byte, error) {
	pub, priv, err := NIKE.GenerateKeyPairFromEntropy(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := priv.(*x25519nike.PrivateKey); ok {
		if err := p.Prepare(); err != nil {
			return nil, nil, err
		}
	}
	return priv, pub.Bytes(), nil
}

// ErrTruncatedFrame is returned by ReadFrame when a link ends part-way
// through a frame.
var ErrTruncatedFrame = errors.New("packet: truncated frame")

// ReadFrame reads exactly one frame of PacketLength bytes into buf, which must
// have that length. A link that ends between frames returns its error (io.EOF
// for a clean close); one that ends part-way through a frame returns an error
// wrapping ErrTruncatedFrame: a link never passes on a partial packet.
func ReadFrame(r io.Reader, buf []byte) error {
	if len(buf) != PacketLength {
		return fmt.Errorf("packet: frame buffer of %d bytes, want %d", len(buf), PacketLength)
	}
	n, err := io.ReadFull(r, buf)
	if err != nil {
		if n > 0 {
			return fmt.Errorf("%w after %d bytes: %w", ErrTruncatedFrame, n, err)
		}
		return err
	}
	return nil
}

// WriteFrame writes one frame; pkt must be exactly PacketLength bytes.
func WriteFrame(w io.Writer, pkt []byte) error {
	if len(pkt) != PacketLength {
		return fmt.Errorf("packet: frame of %d bytes, want %d", len(pkt), PacketLength)
	}
	n, err := w.Write(pkt)
	if err == nil && n != len(pkt) {
		// A Writer must not do this, but a link must never pass on a
		// partial packet as if it had been sent.
		err = fmt.Errorf("packet: frame write of %d of %d bytes: %w", n, len(pkt), io.ErrShortWrite)
	}
	return err
}

// QueueID is the recipient id a gateway uses to find a client's link: a hash
// of the client's (per-session, ephemeral) libp2p peer id.
func QueueID(p peer.ID) [32]byte {
	h := sha256.New()
	h.Write([]byte("komrade queue v1\x00"))
	h.Write([]byte(p))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Hop is one node of a path with the delay it must hold the packet.
type Hop struct {
	ID    NodeID
	Key   []byte // Sphinx X25519 public key for the packet's epoch
	Delay time.Duration
}

// delayCommand converts a delay to whole milliseconds, rounding to nearest.
func delayCommand(d time.Duration) *commands.NodeDelay {
	// Round without adding first: d + 0.5ms overflows for huge d and would
	// turn the longest delays into 0.
	ms := d / time.Millisecond
	if d%time.Millisecond >= time.Millisecond/2 {
		ms++
	}
	if ms < 0 {
		ms = 0
	}
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	return &commands.NodeDelay{Delay: uint32(ms)}
}

func pathHops(hops []Hop) ([]*sphinx.PathHop, error) {
	if len(hops) == 0 || len(hops) > MaxHops {
		return nil, fmt.Errorf("packet: path of %d hops, want 1..%d", len(hops), MaxHops)
	}
	out := make([]*sphinx.PathHop, len(hops))
	for i, h := range hops {
		pk, err := NIKE.UnmarshalBinaryPublicKey(h.Key)
		if err != nil {
			return nil, fmt.Errorf("packet: hop %d key: %w", i, err)
		}
		out[i] = &sphinx.PathHop{ID: h.ID, NIKEPublicKey: pk, Commands: []commands.RoutingCommand{delayCommand(h.Delay)}}
	}
	return out, nil
}

// NewForward builds a forward packet along hops carrying payload, which must
// be Geometry.ForwardPayloadLength bytes (see EncodeForwardPayload).
func NewForward(s *sphinx.Sphinx, hops []Hop, payload []byte) ([]byte, error) {
	path, err := pathHops(hops)
	if err != nil {
		return nil, err
	}
	pkt, err := s.NewPacket(rand.Reader, path, payload)
	if err != nil {
		return nil, fmt.Errorf("packet: build: %w", err)
	}
	return pkt, nil
}

// SURB is a single-use reply block with the keys to decrypt its reply.
type SURB struct {
	ID    [16]byte
	Block []byte // Geometry.SURBLength bytes, travels in the forward payload
	Keys  []byte // stays with the creator
	// FirstHop is the node the reply packet is sent to first.
	FirstHop NodeID
}

// NewSURB builds a SURB along hops; the last hop is a gateway that delivers
// the reply to the link whose QueueID is queue.
func NewSURB(s *sphinx.Sphinx, hops []Hop, queue [32]byte) (*SURB, error) {
	path, err := pathHops(hops)
	if err != nil {
		return nil, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	last.Commands = append(last.Commands, &commands.Recipient{ID: queue}, &commands.SURBReply{ID: id})
	block, keys, err := s.NewSURB(rand.Reader, path)
	if err != nil {
		return nil, fmt.Errorf("packet: build SURB: %w", err)
	}
	return &SURB{ID: id, Block: block, Keys: keys, FirstHop: hops[0].ID}, nil
}

// OpenReply decrypts the payload a gateway delivered for a SURB and returns
// the reply envelope bytes (ForwardPayloadLength bytes).
func OpenReply(s *sphinx.Sphinx, surb *SURB, payload []byte) ([]byte, error) {
	if len(payload) != Geometry.PayloadTagLength+Geometry.ForwardPayloadLength {
		return nil, fmt.Errorf("packet: reply payload of %d bytes", len(payload))
	}
	buf := append([]byte(nil), payload...)
	keys := append([]byte(nil), surb.Keys...)
	pt, err := s.DecryptSURBPayload(buf, keys)
	if err != nil {
		return nil, fmt.Errorf("packet: open reply: %w", err)
	}
	if len(pt) != Geometry.ForwardPayloadLength {
		return nil, errors.New("packet: reply payload has the wrong length")
	}
	return pt, nil
}

// ErrBadHeader is CheckHeader's answer for a packet no key can open.
var ErrBadHeader = errors.New("packet: bad Sphinx header")

// CheckHeader checks what a node can check of a packet before it spends a
// key exchange on it: its length, Sphinx's version bytes (zero) and that
// its group element is not a low-order point (on which the key exchange
// would fail, in the Sphinx library by a panic).
func CheckHeader(pkt []byte) error {
	// Sentinels, not formatted errors: this runs on every junk packet.
	if len(pkt) != PacketLength || pkt[0] != 0 || pkt[1] != 0 || x25519nike.IsLowOrder(pkt[2:2+x25519nike.Size]) {
		return ErrBadHeader
	}
	return nil
}
