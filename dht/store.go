package dht

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	libp2precord "github.com/libp2p/go-libp2p-record"
	recpb "github.com/libp2p/go-libp2p-record/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/multiformats/go-base32"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Replication is how many storage nodes must acknowledge a record write.
const Replication = 3

// invalidRecord wraps a validator's refusal. Record validators report
// wire's sentinels already (record.ErrTooLarge is a wire.ErrTooLarge); any
// other refusal, such as a descriptor's, is a wire.ErrInvalid.
func invalidRecord(err error) error {
	if wire.StatusOf(err) == wire.StatusUnavailable {
		return fmt.Errorf("dht: invalid record: %w: %w", wire.ErrInvalid, err)
	}
	return fmt.Errorf("dht: invalid record: %w", err)
}

// validators builds the record validators: descriptors and the storage
// namespaces, nothing else (no IPFS pk/ipns). Rejections are logged by
// namespace and reason, rate-limited, never with the content.
func validators(clock pki.Clock, powBits int, log *slog.Logger) libp2precord.NamespacedValidator {
	lim := rate.NewLimiter(rate.Every(time.Second), 10)
	wrap := func(ns string, v libp2precord.Validator) libp2precord.Validator {
		return loggingValidator{ns: ns, v: v, log: log, lim: lim}
	}
	nv := libp2precord.NamespacedValidator{"kmix": pki.Validator{Clock: clock}}
	for ns, v := range record.Validators(powBits) {
		nv[ns] = wrap(ns, v)
	}
	return nv
}

type loggingValidator struct {
	ns  string
	v   libp2precord.Validator
	log *slog.Logger
	lim *rate.Limiter
}

func (l loggingValidator) Validate(key string, value []byte) error {
	err := l.v.Validate(key, value)
	if err != nil && l.lim.Allow() {
		l.log.Info("record rejected", "ns", l.ns, "reason", err.Error())
	}
	return err
}

func (l loggingValidator) Select(key string, values [][]byte) (int, error) {
	return l.v.Select(key, values)
}

// openDatastore opens the persistent record store in dir, or an in-memory
// one when dir is empty. Writes are synced: an acknowledged record survives
// a crash.
func openDatastore(dir string) (ds.Batching, func() error, error) {
	if dir == "" {
		m := dssync.MutexWrap(ds.NewMapDatastore())
		return m, m.Close, nil
	}
	opts := &pebble.Options{MemTableSize: 1 << 20}
	d, err := pebbleds.NewDatastore(filepath.Join(dir, "records"),
		pebbleds.WithPebbleOpts(opts), pebbleds.WithCacheSize(1<<20),
		pebbleds.WithPebbleWriteOptions(pebble.Sync))
	if err != nil {
		return nil, nil, fmt.Errorf("dht: open record store: %w", err)
	}
	return d, d.Close, nil
}

// messenger returns a kad-dht protocol messenger for direct per-peer record
// operations (to count acknowledgements).
func (n *Node) messenger() (*kadpb.ProtocolMessenger, error) {
	n.pmOnce.Do(func() { n.pm, n.pmErr = kadpb.NewProtocolMessenger(n.DHT.MessageSender()) })
	return n.pm, n.pmErr
}

// PutRecord validates a record locally, stores it on the nodes closest to
// its key and returns how many acknowledged it. kad-dht's own PutValue
// reports success even when nobody stored the value; this counts the
// acknowledgements of PUT_VALUE sent to each closest peer, and fails with
// wire.ErrReplicas below the quorum (Replication, or every peer of a smaller
// network).
func (n *Node) PutRecord(ctx context.Context, key string, value []byte) (int, error) {
	if err := n.validator.Validate(key, value); err != nil {
		return 0, invalidRecord(err)
	}
	return n.putValidated(ctx, key, value)
}

// putValidated is PutRecord for a value already validated.
func (n *Node) putValidated(ctx context.Context, key string, value []byte) (int, error) {
	closest, err := n.DHT.GetClosestPeers(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("dht: find storage nodes: %w: %w", wire.ErrReplicas, err)
	}
	pm, err := n.messenger()
	if err != nil {
		return 0, err
	}
	rec := libp2precord.MakePutRecord(key, value)
	var acks, stale atomic.Int32
	var wg sync.WaitGroup
	for _, p := range closest {
		wg.Add(1)
		go func(p peer.ID) {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := pm.PutValue(pctx, p, rec); err != nil {
				// A newer stored record makes the peer refuse the write; we
				// cannot tell that from other refusals but by reading back.
				if got, _, gerr := pm.GetValue(pctx, p, key); gerr == nil && got != nil && string(got.GetValue()) != string(value) {
					if i, serr := n.validator.Select(key, [][]byte{value, got.GetValue()}); serr == nil && i == 1 {
						stale.Add(1)
					}
				}
				return
			}
			acks.Add(1)
		}(p)
	}
	wg.Wait()
	need := min(Replication, len(closest))
	if need == 0 {
		return 0, fmt.Errorf("dht: no storage node reachable: %w", wire.ErrReplicas)
	}
	if int(acks.Load()) < need {
		if stale.Load() > 0 {
			return int(acks.Load()), fmt.Errorf("dht: %w", wire.ErrStale)
		}
		return int(acks.Load()), fmt.Errorf("dht: %d of %d stored it: %w", acks.Load(), need, wire.ErrReplicas)
	}
	return int(acks.Load()), nil
}

// GetRecord reads the best valid record under key from the closest nodes.
func (n *Node) GetRecord(ctx context.Context, key string) ([]byte, error) {
	if _, _, err := record.SplitKey(key); err != nil {
		return nil, invalidRecord(err)
	}
	v, err := n.DHT.GetValue(ctx, key, kaddht.Quorum(Replication))
	if errors.Is(err, routing.ErrNotFound) {
		return nil, fmt.Errorf("dht: %w", wire.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("dht: get: %w: %w", wire.ErrReplicas, err)
	}
	return v, nil
}

// Republish deletes the expired records this node holds and re-stores every
// other storage record on the current closest nodes. kad-dht forgets PUT_VALUE records after 48 h
// and never re-replicates them; records that must live longer (boxes: 7
// days) are kept alive, and replicas lost with departed nodes are restored.
// It returns how many records were republished.
func (n *Node) Republish(ctx context.Context) (int, error) {
	var count int
	for _, ns := range []string{record.NSProfile, record.NSPost, record.NSBox} {
		res, err := n.store.Query(ctx, dsq.Query{Prefix: "/" + ns})
		if err != nil {
			return count, err
		}
		var batch []*recpb.Record
		var expired []ds.Key
		for e := range res.Next() {
			if e.Error != nil {
				break
			}
			rec := new(recpb.Record)
			if proto.Unmarshal(e.Value, rec) != nil {
				continue
			}
			if err := n.validator.Validate(string(rec.GetKey()), rec.GetValue()); err != nil {
				// Expired (or no longer valid): nothing is kept forever.
				expired = append(expired, ds.NewKey(e.Key))
				continue
			}
			batch = append(batch, rec)
		}
		res.Close()
		for _, k := range expired {
			if err := n.store.Delete(ctx, k); err != nil {
				n.log.Warn("delete expired record", "err", err)
			}
		}
		for _, rec := range batch {
			if ctx.Err() != nil {
				return count, ctx.Err()
			}
			key := string(rec.GetKey())
			if _, err := n.putValidated(ctx, key, rec.GetValue()); err == nil {
				count++
			}
		}
	}
	return count, nil
}

// RunRepublisher republishes every interval until ctx ends.
func (n *Node) RunRepublisher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c, err := n.Republish(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("republish", "err", err)
			} else if c > 0 {
				n.log.Debug("republished records", "count", c)
			}
		}
	}
}

// LocalRecord returns the record this node itself stores under key, without
// asking the network (tests and operators use it to see replicas).
func (n *Node) LocalRecord(ctx context.Context, key string) ([]byte, error) {
	ns, _, err := record.SplitKey(key)
	if err != nil {
		return nil, err
	}
	buf, err := n.store.Get(ctx, ds.NewKey("/"+ns+"/"+base32.RawStdEncoding.EncodeToString([]byte(key))))
	if errors.Is(err, ds.ErrNotFound) {
		return nil, fmt.Errorf("dht: %w", wire.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rec := new(recpb.Record)
	if err := proto.Unmarshal(buf, rec); err != nil {
		return nil, fmt.Errorf("dht: stored record: %w", err)
	}
	return rec.GetValue(), nil
}
