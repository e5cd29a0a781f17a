package mixnode

import (
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// exit serves a request that ended its forward path at this node. The
// payload is validated before anything is done with it; replies travel back
// through the SURB attached to the request, so the exit never learns where
// they go. Request contents are never logged.
func (n *Node) exit(payload []byte) {
	surb, req, err := wire.DecodeForwardPayload(payload)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	switch req.Op {
	case wire.OpDrop:
		n.metrics.ExitDrop.Add(1)
	case wire.OpLoop:
		if !n.loops.returned(req.Body, &n.metrics) {
			n.metrics.ExitDrop.Add(1) // someone else's loop or a stale one: cover
		}
	case wire.OpEcho:
		if surb == nil {
			n.metrics.drop(DropBadEnvelope)
			return
		}
		n.metrics.ExitEcho.Add(1)
		n.reply(surb, wire.StatusOK, req.Body)
	case wire.OpPutRecord, wire.OpGetRecord, wire.OpPutBox, wire.OpGetBox, wire.OpAppend, wire.OpScan:
		if surb == nil {
			n.metrics.drop(DropBadEnvelope) // a storage request needs a reply path
			return
		}
		n.submitStorage(storageJob{op: req.Op, body: append([]byte(nil), req.Body...), surb: append([]byte(nil), surb...)})
	default:
		if surb != nil {
			n.reply(surb, wire.StatusBadOp, nil)
		} else {
			n.metrics.drop(DropBadEnvelope)
		}
	}
}

// reply sends body back through surb.
func (n *Node) reply(surb []byte, status wire.Status, body []byte) {
	payload, err := wire.EncodeReply(status, body)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	pkt, first, err := n.sphinx.NewPacketFromSURB(surb, payload)
	if err != nil {
		n.metrics.drop(DropBadEnvelope)
		return
	}
	n.forward(pki.NodeID(*first), pkt)
}
