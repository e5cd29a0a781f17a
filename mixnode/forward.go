package mixnode

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht/directory"
)

// knownPeer reports whether p is a node of the current or previous
// directory view.
func (n *Node) knownPeer(p peer.ID) bool {
	id, err := directory.NodeIDFromPeer(p)
	if err != nil {
		return false
	}
	n.dirMu.RLock()
	_, ok := n.known[id]
	n.dirMu.RUnlock()
	return ok
}

// forward sends pkt to the node with id next: to itself through the unwrap
// workers, to any other node known from the directory over its mix link.
// Packets for nodes the directory does not know are dropped and counted.
func (n *Node) forward(next directory.NodeID, pkt []byte) {
	if next == n.id {
		n.metrics.Forwarded.Add(1)
		n.submit(pkt)
		return
	}
	n.dirMu.RLock()
	ai, ok := n.known[next]
	n.dirMu.RUnlock()
	if !ok {
		n.metrics.drop(DropUnknownHop)
		return
	}
	n.links.send(ai, pkt)
}
