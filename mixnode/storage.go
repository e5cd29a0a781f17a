package mixnode

import (
	"context"
	"path/filepath"

	"github.com/komrade-net/komrade/dht/sets"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
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
	op   wire.Op
	body []byte
	surb []byte
}

func (n *Node) submitStorage(j storageJob) {
	select {
	case n.storageJobs <- j:
	default:
		n.metrics.drop(DropStorageBusy)
		n.reply(j.surb, wire.StatusBusy, nil)
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
func (n *Node) serveStorage(ctx context.Context, op wire.Op, body []byte) (wire.Status, []byte) {
	switch op {
	case wire.OpPutRecord, wire.OpGetRecord:
		var req wire.RecordRequest
		if wire.DecodeBody(body, &req) != nil {
			return wire.StatusInvalid, nil
		}
		if op == wire.OpPutRecord {
			return n.putRecord(ctx, req.Key, req.Value)
		}
		return n.getRecord(ctx, req.Key)
	case wire.OpPutBox, wire.OpGetBox:
		var req wire.BoxRequest
		if wire.DecodeBody(body, &req) != nil {
			return wire.StatusInvalid, nil
		}
		key := record.BoxKey(req.ID)
		if op == wire.OpPutBox {
			return n.putRecord(ctx, key, req.Value)
		}
		return n.getRecord(ctx, key)
	case wire.OpAppend, wire.OpScan:
		return n.serveSet(ctx, op, body)
	}
	return wire.StatusBadOp, nil
}

func (n *Node) putRecord(ctx context.Context, key string, value []byte) (wire.Status, []byte) {
	if len(value) > record.MaxValue {
		return wire.StatusTooLarge, nil
	}
	replicas, err := n.dht.PutRecord(ctx, key, value)
	if err != nil {
		return storageStatus(ctx, err), nil
	}
	out, err := wire.EncodeBody(&wire.PutResult{Replicas: replicas})
	if err != nil {
		return wire.StatusInvalid, nil
	}
	return wire.StatusOK, out
}

func (n *Node) getRecord(ctx context.Context, key string) (wire.Status, []byte) {
	v, err := n.dht.GetRecord(ctx, key)
	if err != nil {
		return storageStatus(ctx, err), nil
	}
	if len(v) > wire.MaxReplyBody {
		return wire.StatusTooLarge, nil
	}
	return wire.StatusOK, v
}

// storageStatus is the status a client sees for a storage error: the
// error's own (wire.StatusOf), or a timeout when the request's time ran out.
func storageStatus(ctx context.Context, err error) wire.Status {
	st := wire.StatusOf(err)
	if st == wire.StatusUnavailable && ctx.Err() != nil {
		return wire.StatusTimeout
	}
	return st
}

// openSets opens the node's set store (DataDir/sets.db) and service.
func (n *Node) openSets() error {
	store, err := sets.Open(filepath.Join(n.cfg.DataDir, "sets.db"))
	if err != nil {
		return err
	}
	rules := n.opts.SetRules
	if rules == nil {
		rules = n.cfg.Network.SetRules()
	}
	opts := sets.Options{
		ReplicateInterval: n.cfg.SetReplicateInterval.Duration,
		// A push from a peer outside the directory is an append: the
		// hourly caps of pins, alerts and feeds hold against it.
		Replica: n.knownPeer,
		Logger:  n.log,
	}
	if len(n.allow) > 0 {
		opts.Allow = n.dht.Allowed
	}
	svc, err := sets.NewService(n.dht.Host, n.dht.DHT, store, rules, opts)
	if err != nil {
		store.Close()
		return err
	}
	n.sets, n.setStore = svc, store
	return nil
}

// serveSet appends to or scans a replicated set.
func (n *Node) serveSet(ctx context.Context, op wire.Op, body []byte) (wire.Status, []byte) {
	if op == wire.OpAppend {
		// An item a scan reply could not carry could never be read back
		// through the mix network.
		if len(body) > maxScanItem {
			return wire.StatusTooLarge, nil
		}
		it, err := setitem.Decode(body)
		if err != nil {
			return storageStatus(ctx, err), nil
		}
		replicas, err := n.sets.Append(ctx, *it)
		if err != nil {
			return storageStatus(ctx, err), nil
		}
		out, err := wire.EncodeBody(&wire.PutResult{Replicas: replicas})
		if err != nil {
			return wire.StatusInvalid, nil
		}
		return wire.StatusOK, out
	}
	var req wire.ScanRequest
	if wire.DecodeBody(body, &req) != nil {
		return wire.StatusInvalid, nil
	}
	items, next, err := n.sets.Scan(ctx, req.Namespace, req.Key, req.Cursor, req.Limit)
	if err != nil {
		return storageStatus(ctx, err), nil
	}
	// A page must fit one reply packet: stop before the item that would
	// overflow it and point the cursor just after the last one included.
	res := wire.ScanResult{Items: [][]byte{}, Next: next}
	for i := range items {
		enc, err := setitem.Encode(&items[i])
		if err != nil {
			continue
		}
		try := res
		try.Items = append(append([][]byte{}, res.Items...), enc)
		if b, err := wire.EncodeBody(&try); err != nil || len(b) > wire.MaxReplyBody-64 {
			// Point the cursor after the last item included, or after this
			// one if it alone cannot fit (written directly to storage
			// nodes, not through an exit): readers skip it, never stall.
			last := max(i-1, 0)
			if res.Next, err = items[last].Cursor(); err != nil {
				return wire.StatusInvalid, nil
			}
			break
		}
		res.Items = try.Items
	}
	out, err := wire.EncodeBody(&res)
	if err != nil {
		return wire.StatusTooLarge, nil
	}
	return wire.StatusOK, out
}

// maxScanItem is the largest encoded set item an exit accepts: one that a
// scan reply (one packet) can carry on its own.
const maxScanItem = wire.MaxReplyBody - 128
