package mixnode

import (
	"context"
	"errors"
	"time"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/dht/record"
	"github.com/komrade-net/komrade/mixnode/packet"
)

// Exit storage services: an exit reads and writes DHT records and set items
// on a client's behalf, so that no storage node learns who the client is.
// They can take seconds (DHT lookups, waiting for replicas), so they run on
// a bounded pool of workers, never on the delay queue's goroutine; when the
// pool's queue is full the client gets StatusBusy at once.

const (
	storageWorkers = 16
	storageQueue   = 256
)

type storageJob struct {
	op   packet.Op
	body []byte
	surb []byte
}

func (n *Node) submitStorage(j storageJob) {
	select {
	case n.storageJobs <- j:
	default:
		n.metrics.drop(DropStorageBusy)
		n.reply(j.surb, packet.StatusBusy, nil)
	}
}

func (n *Node) storageWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-n.storageJobs:
			jctx, cancel := context.WithTimeout(ctx, n.cfg.StorageTimeout.Duration)
			status, body := n.serveStorage(jctx, j.op, j.body)
			cancel()
			if ctx.Err() != nil {
				return
			}
			n.metrics.ExitStorage.Add(1)
			n.reply(j.surb, status, body)
		}
	}
}

// serveStorage performs one storage request and returns the reply.
func (n *Node) serveStorage(ctx context.Context, op packet.Op, body []byte) (packet.Status, []byte) {
	switch op {
	case packet.OpPutRecord, packet.OpGetRecord:
		var req packet.RecordRequest
		if packet.DecodeBody(body, &req) != nil {
			return packet.StatusInvalid, nil
		}
		if op == packet.OpPutRecord {
			return n.putRecord(ctx, req.Key, req.Value)
		}
		return n.getRecord(ctx, req.Key)
	case packet.OpPutBox, packet.OpGetBox:
		var req packet.BoxRequest
		if packet.DecodeBody(body, &req) != nil {
			return packet.StatusInvalid, nil
		}
		key := record.BoxKey(req.ID)
		if op == packet.OpPutBox {
			return n.putRecord(ctx, key, req.Value)
		}
		return n.getRecord(ctx, key)
	case packet.OpAppend, packet.OpScan:
		return n.serveSet(ctx, op, body)
	}
	return packet.StatusBadOp, nil
}

func (n *Node) putRecord(ctx context.Context, key string, value []byte) (packet.Status, []byte) {
	if len(value) > record.MaxValue {
		return packet.StatusTooLarge, nil
	}
	replicas, err := n.dht.PutRecord(ctx, key, value)
	if err != nil {
		return storageStatus(ctx, err), nil
	}
	out, err := packet.EncodeBody(&packet.PutResult{Replicas: replicas})
	if err != nil {
		return packet.StatusInvalid, nil
	}
	return packet.StatusOK, out
}

func (n *Node) getRecord(ctx context.Context, key string) (packet.Status, []byte) {
	v, err := n.dht.GetRecord(ctx, key)
	if err != nil {
		return storageStatus(ctx, err), nil
	}
	if len(v) > packet.MaxReplyBody {
		return packet.StatusTooLarge, nil
	}
	return packet.StatusOK, v
}

// storageStatus maps a storage error to the status a client sees.
func storageStatus(ctx context.Context, err error) packet.Status {
	switch {
	case errors.Is(err, record.ErrTooLarge):
		return packet.StatusTooLarge
	case errors.Is(err, dht.ErrInvalid):
		return packet.StatusInvalid
	case errors.Is(err, dht.ErrStale):
		return packet.StatusStale
	case errors.Is(err, dht.ErrNotFound):
		return packet.StatusNotFound
	case errors.Is(err, dht.ErrReplicas):
		return packet.StatusReplicas
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return packet.StatusTimeout
	}
	return packet.StatusReplicas
}

var _ = time.Second

// serveSet is replaced when the set service is wired in.
func (n *Node) serveSet(ctx context.Context, op packet.Op, body []byte) (packet.Status, []byte) {
	return packet.StatusBadOp, nil
}
