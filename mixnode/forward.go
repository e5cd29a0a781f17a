package mixnode

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/pki"
)

// knownNode is a node this one forwards to and takes mix links from.
type knownNode struct {
	ai   peer.AddrInfo
	seen time.Time // when it was last in a directory view (or learnt)
}

// knownPeer reports whether p is a known node: in a recent directory view
// (see knownRetention) or learnt by learnPeer.
func (n *Node) knownPeer(p peer.ID) bool {
	id, err := pki.NodeIDFromPeer(p)
	if err != nil {
		return false
	}
	n.dirMu.RLock()
	_, ok := n.known[id]
	n.dirMu.RUnlock()
	return ok
}

// learnPeer looks up the descriptor of a peer that opened a mix link but is
// not in this node's view yet (it joined, or our last lookup missed it): if
// it has a valid, fresh descriptor (and passes the allow-list) it becomes
// known. Clients have no descriptor and stay refused. Lookups are rate
// limited so that unknown peers cannot make the node flood the DHT.
func (n *Node) learnPeer(p peer.ID) bool {
	id, err := pki.NodeIDFromPeer(p)
	if err != nil || !n.learnLimiter.Allow() {
		return false
	}
	if len(n.allow) > 0 && !n.allow[id] {
		return false
	}
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	raw, err := n.dht.Descriptor(ctx, id)
	if err != nil {
		return false
	}
	d, err := pki.Verify(raw)
	if err != nil || d.NodeID != id || !n.clock.Fresh(d.Epoch) {
		return false
	}
	ai, err := d.AddrInfo()
	if err != nil {
		return false
	}
	n.dirMu.Lock()
	n.known[id] = knownNode{ai, time.Now()}
	n.dirMu.Unlock()
	return true
}

// forward sends pkt to the node with id next: to itself through the unwrap
// workers, to any other node known from the directory over its mix link.
// Packets for nodes the directory does not know are dropped and counted.
func (n *Node) forward(next pki.NodeID, pkt []byte) {
	if next == n.id {
		n.metrics.Forwarded.Add(1)
		n.submit(pkt)
		return
	}
	n.dirMu.RLock()
	k, ok := n.known[next]
	n.dirMu.RUnlock()
	if !ok {
		n.metrics.drop(DropUnknownHop)
		return
	}
	if testseam.Betraying() { // anonymity tests only: a corrupt node's report
		testseam.Forward(n.PeerID(), k.ai.ID, pkt)
	}
	n.links.send(k.ai, pkt)
}
