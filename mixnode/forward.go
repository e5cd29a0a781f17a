package mixnode

import "github.com/komrade-net/komrade/dht/directory"

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
