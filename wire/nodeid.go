package wire

import (
	"encoding/hex"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// NodeID is a node's Ed25519 identity public key. It is the Sphinx node id
// carried in NextNodeHop commands.
type NodeID [32]byte

// String is the hex encoding used in config allow-lists and logs.
func (id NodeID) String() string { return hex.EncodeToString(id[:]) }

// Short is a prefix fit for logs.
func (id NodeID) Short() string { return hex.EncodeToString(id[:4]) }

// PeerID is the libp2p peer id of the node.
func (id NodeID) PeerID() (peer.ID, error) {
	pk, err := crypto.UnmarshalEd25519PublicKey(id[:])
	if err != nil {
		return "", err
	}
	return peer.IDFromPublicKey(pk)
}
