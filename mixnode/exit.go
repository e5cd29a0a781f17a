package mixnode

import (
	"github.com/komrade-net/komrade/dht/directory"
	"github.com/komrade-net/komrade/mixnode/packet"
)

// exit serves a request that ended its forward path at this node. The
// payload is validated before anything is done with it; replies travel back
// through the SURB attached to the request, so the exit never learns where
// they go. Request contents are never logged.
func (n *Node) exit(payload []byte) {
	surb, req, err := packet.DecodeForwardPayload(payload)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	switch req.Op {
	case packet.OpDrop:
		n.metrics.ExitDrop.Add(1)
	case packet.OpLoop:
		if !n.loops.returned(req.Body, &n.metrics) {
			n.metrics.ExitDrop.Add(1) // someone else's loop or a stale one: cover
		}
	case packet.OpEcho:
		if surb == nil {
			n.metrics.drop(DropBadEnvelope)
			return
		}
		n.metrics.ExitEcho.Add(1)
		n.reply(surb, packet.StatusOK, req.Body)
	case packet.OpPutRecord, packet.OpGetRecord, packet.OpPutBox, packet.OpGetBox, packet.OpAppend, packet.OpScan:
		if surb == nil {
			n.metrics.drop(DropBadEnvelope) // a storage request needs a reply path
			return
		}
		n.submitStorage(storageJob{op: req.Op, body: append([]byte(nil), req.Body...), surb: append([]byte(nil), surb...)})
	default:
		if surb != nil {
			n.reply(surb, packet.StatusBadOp, nil)
		} else {
			n.metrics.drop(DropBadEnvelope)
		}
	}
}

// reply sends body back through surb.
func (n *Node) reply(surb []byte, status packet.Status, body []byte) {
	payload, err := packet.EncodeReply(status, body)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	pkt, first, err := n.sphinx.NewPacketFromSURB(surb, payload)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	n.forward(directory.NodeID(*first), pkt)
}
