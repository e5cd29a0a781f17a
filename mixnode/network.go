package mixnode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/komrade-net/komrade/pki"
)

// NetworkProtocol exchanges network parameters between two nodes: each side
// writes a 4-byte big-endian length and its encoded pki.Params (the
// requester first). A node checks its bootstrap peers with it before it
// joins, and asks a node of another network why.
const NetworkProtocol protocol.ID = "/komrade/network/1.0.0"

const networkTimeout = 10 * time.Second

func writeParams(w io.Writer, enc []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(enc)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(enc)
	return err
}

func readParams(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 || size > pki.MaxParamsSize {
		return nil, fmt.Errorf("network parameters of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// handleNetwork answers a peer's parameters with the node's own, and warns
// (once an epoch) when they differ.
func (n *Node) handleNetwork(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(networkTimeout))
	theirs, err := readParams(s)
	if err != nil {
		s.Reset()
		return
	}
	if err := writeParams(s, n.netEnc); err != nil {
		s.Reset()
		return
	}
	if !bytes.Equal(theirs, n.netEnc) && n.firstWarning() {
		n.log.Error("a node of another network contacted this one; it is left out of the directory",
			"peer", s.Conn().RemotePeer().String(), "err", n.mismatch(theirs, "node "+s.Conn().RemotePeer().String()))
	}
}

// exchangeParams sends the node's parameters to p and returns p's.
func (n *Node) exchangeParams(ctx context.Context, p peer.ID) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, networkTimeout)
	defer cancel()
	s, err := n.dht.Host.NewStream(ctx, p, NetworkProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	s.SetDeadline(time.Now().Add(networkTimeout))
	if err := writeParams(s, n.netEnc); err != nil {
		s.Reset()
		return nil, err
	}
	return readParams(s)
}

// mismatch describes how the encoded parameters theirs differ from the
// node's: every differing parameter with both values, or both ids when
// theirs do not decode.
func (n *Node) mismatch(theirs []byte, there string) *pki.MismatchError {
	here := "this node (network_file " + n.cfg.NetworkFile + ")"
	tp, err := pki.DecodeParams(theirs)
	if err != nil {
		var id pki.NetworkID
		if len(theirs) > 0 {
			id = sha256.Sum256(theirs)
		}
		return pki.Mismatch(n.netID, nil, here, id, nil, there)
	}
	return pki.Mismatch(n.netID, &n.cfg.Network, here, tp.ID(), &tp, there)
}

// checkNetwork asks the bootstrap peers for their parameters. A peer of
// another network is an error naming every differing parameter and both
// values: joining it would leave the node "running" but outside every
// directory. Peers that do not answer are skipped (Bootstrap already
// required one to be reachable).
func (n *Node) checkNetwork(ctx context.Context, peers []peer.AddrInfo) error {
	var errs []error
	for _, p := range peers {
		theirs, err := n.exchangeParams(ctx, p.ID)
		if err != nil {
			n.log.Debug("network parameters of a bootstrap peer", "peer", p.ID.String(), "err", err)
			continue
		}
		if !bytes.Equal(theirs, n.netEnc) {
			errs = append(errs, n.mismatch(theirs, "bootstrap node "+p.ID.String()))
		}
	}
	return errors.Join(errs...)
}

// firstWarning reports whether no warning about another network was logged
// in the current epoch (and records one).
func (n *Node) firstWarning() bool {
	e := n.clock.Current() + 1 // 0 means never
	return n.foreignWarned.Swap(e) != e
}

// warnForeign logs, once an epoch, that descriptors of another network
// were left out of the directory, and asks the first such node for its
// parameters to name the ones that differ.
func (n *Node) warnForeign(epoch uint64, foreign []pki.Foreign) {
	if len(foreign) == 0 || !n.firstWarning() {
		return
	}
	f := foreign[0]
	n.log.Error("nodes of another network are left out of the directory: their network file differs from this node's",
		"count", len(foreign), "node", f.Node.Short(), "their_network", f.Network.String(), "our_network", n.netID.String(), "epoch", epoch)
	pid, err := f.Node.PeerID()
	if err != nil || n.ctx == nil {
		return
	}
	n.goRun(func(ctx context.Context) {
		theirs, err := n.exchangeParams(ctx, pid)
		if err == nil && !bytes.Equal(theirs, n.netEnc) {
			n.log.Error("network parameters differ", "err", n.mismatch(theirs, "node "+f.Node.Short()))
		}
	})
}
