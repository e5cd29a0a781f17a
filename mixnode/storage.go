package mixnode

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/dht/record"
	"github.com/komrade-net/komrade/dht/sets"
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
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return packet.StatusTimeout
	}
	return packet.StatusReplicas // not enough storage nodes stored it or answered
}

// openSets opens the node's set store (DataDir/sets.db) and service.
func (n *Node) openSets() error {
	store, err := sets.Open(filepath.Join(n.cfg.DataDir, "sets.db"))
	if err != nil {
		return err
	}
	rules := n.opts.SetRules
	if rules == nil {
		rules = sets.DefaultRules()
		for ns, r := range rules {
			if r.PoWBits > 0 {
				r.PoWBits = n.cfg.PoWBits // a network parameter, like pow_bits for posts
				rules[ns] = r
			}
		}
	}
	svc, err := sets.NewService(n.dht.Host, n.dht.DHT, store, rules, sets.Options{
		ReplicateInterval: n.cfg.SetReplicateInterval.Duration,
		Logger:            n.log,
	})
	if err != nil {
		store.Close()
		return err
	}
	n.sets, n.setStore = svc, store
	return nil
}

// serveSet appends to or scans a replicated set.
func (n *Node) serveSet(ctx context.Context, op packet.Op, body []byte) (packet.Status, []byte) {
	if op == packet.OpAppend {
		// An item a scan reply could not carry could never be read back
		// through the mix network.
		if len(body) > maxScanItem {
			return packet.StatusTooLarge, nil
		}
		it, err := sets.DecodeItem(body)
		if err != nil {
			return setStatus(ctx, err), nil
		}
		replicas, err := n.sets.Append(ctx, *it)
		if err != nil {
			return setStatus(ctx, err), nil
		}
		out, err := packet.EncodeBody(&packet.PutResult{Replicas: replicas})
		if err != nil {
			return packet.StatusInvalid, nil
		}
		return packet.StatusOK, out
	}
	var req packet.ScanRequest
	if packet.DecodeBody(body, &req) != nil {
		return packet.StatusInvalid, nil
	}
	items, next, err := n.sets.Scan(ctx, req.Namespace, req.Key, req.Cursor, req.Limit)
	if err != nil {
		return setStatus(ctx, err), nil
	}
	// A page must fit one reply packet: stop before the item that would
	// overflow it and point the cursor just after the last one included.
	res := packet.ScanResult{Items: [][]byte{}, Next: next}
	for i := range items {
		enc, err := sets.EncodeItem(&items[i])
		if err != nil {
			continue
		}
		try := res
		try.Items = append(append([][]byte{}, res.Items...), enc)
		if b, err := packet.EncodeBody(&try); err != nil || len(b) > packet.MaxReplyBody-64 {
			// Point the cursor after the last item included, or after this
			// one if it alone cannot fit (written directly to storage
			// nodes, not through an exit): readers skip it, never stall.
			last := max(i-1, 0)
			if res.Next, err = items[last].Cursor(); err != nil {
				return packet.StatusInvalid, nil
			}
			break
		}
		res.Items = try.Items
	}
	out, err := packet.EncodeBody(&res)
	if err != nil {
		return packet.StatusTooLarge, nil
	}
	return packet.StatusOK, out
}

// maxScanItem is the largest encoded set item an exit accepts: one that a
// scan reply (one packet) can carry on its own.
const maxScanItem = packet.MaxReplyBody - 128

// setStatus maps a set service error to the status a client sees.
func setStatus(ctx context.Context, err error) packet.Status {
	switch {
	case errors.Is(err, sets.ErrTooLarge):
		return packet.StatusTooLarge
	case errors.Is(err, sets.ErrQuota):
		return packet.StatusQuota
	case errors.Is(err, sets.ErrInvalid), errors.Is(err, sets.ErrExpired), errors.Is(err, sets.ErrPoW):
		return packet.StatusInvalid
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return packet.StatusTimeout
	}
	return packet.StatusReplicas // sets.ErrNotEnoughReplicas, or a replica failed
}
