package dht

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	libp2precord "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/encoding/protowire"
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

// RepublishStats is what one republishing round did.
type RepublishStats struct {
	Held        int // storage records the node held (its index) at the start
	Expired     int // records deleted because they expired
	Responsible int // held records the node is among the Replication closest to
	Strays      int // held records it is not, pushed this round by chance
	Pushed      int // records stored again on at least one peer
	Lookups     int // closest-peer lookups over the network
	Puts        int // PUT_VALUE messages sent
	PutBytes    int // their encoded size, length prefix included
}

// strayChance is the chance that a holder not among the Replication closest
// to a record's key pushes it in a round: 1 in kad-dht's bucket size, so that
// of the up to 20 holders a PutRecord leaves, about one a round does.
const strayChance = 1.0 / 20

// Republish runs one republishing round (see RepublishRound) and returns how
// many records it stored again on at least one peer.
func (n *Node) Republish(ctx context.Context) (int, error) {
	st, err := n.RepublishRound(ctx)
	return st.Pushed, err
}

// RepublishRound keeps the records this node holds alive and where they
// belong. It reads the node's record index (index.go), never kad-dht's key
// layout. Expired records are deleted. For each other record:
//
//   - If the node is among the Replication nodes closest to the key, as its
//     own routing table sees it (a node knows its neighbourhood well, and
//     this costs no lookup), it sends PUT_VALUE to the other Replication-1 of
//     them. Each of the closest copies is so refreshed every round by the
//     other closest holders before kad-dht's 48-hour record age runs out, and
//     a node that joins among the closest, or replaces a departed one, gets
//     the record within a round.
//   - Otherwise (a holder further out: PutRecord writes to the 20 closest,
//     and nodes that join closer push holders out), it pushes the record with
//     probability strayChance, to the Replication closest found by a lookup.
//     This rescues a record whose closest nodes all changed at once; such
//     holders' own copies are not refreshed and kad-dht drops them after
//     48 hours.
//
// PUT_VALUE is idempotent, so no holder asks first whether a peer has it.
func (n *Node) RepublishRound(ctx context.Context) (RepublishStats, error) {
	var st RepublishStats
	held, err := n.store.heldRecords(ctx)
	if err != nil {
		return st, err
	}
	st.Held = len(held)
	now := time.Now().Unix()
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, e := range held {
		if ctx.Err() != nil {
			break
		}
		if e.expires != 0 && e.expires <= now {
			if err := n.store.Delete(ctx, e.dsKey); err != nil {
				n.log.Warn("delete expired record", "err", err)
			} else {
				st.Expired++
			}
			continue
		}
		targets, responsible := n.republishTargets(e.key)
		if !responsible && mrand.Float64() >= strayChance {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := n.push(ctx, e, targets, responsible)
			mu.Lock()
			st.add(r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return st, ctx.Err()
}

func (st *RepublishStats) add(r RepublishStats) {
	st.Responsible += r.Responsible
	st.Strays += r.Strays
	st.Pushed += r.Pushed
	st.Lookups += r.Lookups
	st.Puts += r.Puts
	st.PutBytes += r.PutBytes
}

// republishTargets reports whether this node is among the Replication
// closest to key by its routing table and, if so, the others of them.
func (n *Node) republishTargets(key string) ([]peer.ID, bool) {
	self := n.Host.ID()
	near := n.DHT.RoutingTable().NearestPeers(kb.ConvertKey(key), Replication)
	closer := 0
	for _, p := range near {
		if kb.Closer(p, self, key) {
			closer++
		}
	}
	if closer >= Replication {
		return nil, false
	}
	return near[:min(len(near), Replication-1)], true
}

// push sends one held record to targets, or, for a stray holder, to the
// Replication closest peers a lookup finds.
func (n *Node) push(ctx context.Context, e indexEntry, targets []peer.ID, responsible bool) RepublishStats {
	var st RepublishStats
	if responsible {
		st.Responsible = 1
	} else {
		st.Strays = 1
	}
	value, err := n.store.heldValue(ctx, e)
	if err != nil {
		n.log.Debug("republish: read held record", "err", err)
		return st
	}
	if !responsible {
		st.Lookups = 1
		closest, err := n.DHT.GetClosestPeers(ctx, e.key)
		if err != nil {
			return st
		}
		targets = closest[:min(len(closest), Replication)]
	}
	pm, err := n.messenger()
	if err != nil || len(targets) == 0 {
		return st
	}
	rec := libp2precord.MakePutRecord(e.key, value)
	msg := kadpb.NewMessage(kadpb.Message_PUT_VALUE, rec.GetKey(), 0)
	msg.Record = rec
	size := proto.Size(msg)
	size += protowire.SizeVarint(uint64(size))
	var acks atomic.Int32
	var wg sync.WaitGroup
	for _, p := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if pm.PutValue(pctx, p, rec) == nil {
				acks.Add(1)
			}
		}()
	}
	wg.Wait()
	st.Puts, st.PutBytes = len(targets), len(targets)*size
	if acks.Load() > 0 {
		st.Pushed = 1
	}
	return st
}

// RunRepublisher republishes about every interval until ctx ends. Each wait
// is drawn from 0.9–1.1 × interval so that nodes started together do not
// republish in step.
func (n *Node) RunRepublisher(ctx context.Context, interval time.Duration) {
	for {
		wait := time.Duration(float64(interval) * (0.9 + 0.2*mrand.Float64()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			if st, err := n.RepublishRound(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("republish", "err", err)
			} else if st.Pushed > 0 || st.Expired > 0 {
				n.log.Debug("republished records", "held", st.Held, "pushed", st.Pushed, "expired", st.Expired, "puts", st.Puts)
			}
		}
	}
}

// LocalRecord returns the record this node itself stores under key, without
// asking the network (tests and operators use it to see replicas). It scans
// the node's record index.
func (n *Node) LocalRecord(ctx context.Context, key string) ([]byte, error) {
	if _, _, err := record.SplitKey(key); err != nil {
		return nil, err
	}
	held, err := n.store.heldRecords(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range held {
		if e.key == key {
			v, err := n.store.heldValue(ctx, e)
			if errors.Is(err, ds.ErrNotFound) {
				break
			}
			return v, err
		}
	}
	return nil, fmt.Errorf("dht: %w", wire.ErrNotFound)
}

// ForgetLocal deletes the record this node itself stores under key (and its
// index entry), without telling the network: for an operator who must drop
// a record, and for tests of what readers do when every replica lost one.
func (n *Node) ForgetLocal(ctx context.Context, key string) error {
	held, err := n.store.heldRecords(ctx)
	if err != nil {
		return err
	}
	for _, e := range held {
		if e.key == key {
			return n.store.Delete(ctx, e.dsKey)
		}
	}
	return fmt.Errorf("dht: %w", wire.ErrNotFound)
}
