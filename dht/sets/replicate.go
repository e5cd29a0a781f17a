package sets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

// maxIDsPerSet bounds the item ids of one set examined in one round.
const maxIDsPerSet = 4 * maxDigestIDs

// Run sweeps expired items and re-replicates every Options.ReplicateInterval
// until ctx is done or the service is closed (also before Run starts); then
// it returns nil.
//
// For each set it holds, a round looks up the current closest nodes, asks
// the Replication closest other than itself which items they lack, and
// pushes those. A round examines at most MaxSetsPerRound sets (the next one
// continues where it stopped), pushes at most MaxPushPerRound items and
// lasts at most max(ReplicateInterval, RequestTimeout); unless rounds are
// cut short by these bounds, a lost replica is replaced within
// ceil(sets held / MaxSetsPerRound) + 1 intervals. A node that is no longer
// among the closest keeps its items until they expire.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil
	case s.running:
		s.mu.Unlock()
		return errors.New("sets: Run called twice")
	}
	s.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := s.bind(ctx)
	defer cancel()
	t := time.NewTicker(s.opt.ReplicateInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.round(ctx)
		}
	}
}

// round is one sweep and re-replication pass. It takes at most
// max(ReplicateInterval, RequestTimeout); sets it does not reach are
// examined in the next round.
func (s *Service) round(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(s.opt.ReplicateInterval, s.opt.RequestTimeout))
	defer cancel()
	now := s.opt.Now()
	if n, err := s.store.Sweep(now); err != nil {
		s.log.Error("sweep", "err", err)
	} else if n > 0 {
		s.log.Debug("swept expired items", "count", n)
	}
	s.limMu.Lock()
	s.pruneLimitersLocked(now, limiterIdle)
	s.limMu.Unlock()

	refs, err := s.store.listSets(s.rrCursor, s.opt.MaxSetsPerRound)
	if err != nil {
		s.log.Error("re-replication", "err", err)
		return
	}
	if len(refs) < s.opt.MaxSetsPerRound {
		s.rrCursor = nil // wrap around next round
	} else {
		s.rrCursor = refs[len(refs)-1].sk[:]
	}
	var budget atomic.Int64
	budget.Store(int64(s.opt.MaxPushPerRound))
	pushed := 0
	for i, ref := range refs {
		if ctx.Err() != nil || budget.Load() <= 0 {
			if i > 0 { // resume here next round
				s.rrCursor = refs[i-1].sk[:]
			}
			break
		}
		n, err := s.replicateSet(ctx, ref, now, &budget)
		pushed += n
		if err != nil {
			s.log.Debug("re-replication of a set incomplete", "ns", ref.ns, "err", err)
		}
	}
	if pushed > 0 {
		s.log.Info("re-replicated items", "count", pushed, "sets", len(refs))
	}
}

// replicateSet brings the set's closest nodes up to date with this node's
// copy. It returns how many items it pushed.
func (s *Service) replicateSet(ctx context.Context, ref setRef, now time.Time, budget *atomic.Int64) (int, error) {
	if _, ok := s.rules[ref.ns]; !ok {
		return 0, nil // namespace no longer served
	}
	ids, err := s.store.itemIDs(ref.sk, now, maxIDsPerSet)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	cands, err := s.closest(ctx, ref.sk)
	if err != nil {
		return 0, err
	}
	var targets []peer.ID
	for _, p := range cands {
		if p != s.host.ID() && len(targets) < s.opt.Replication {
			targets = append(targets, p)
		}
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		pushed int
		errs   []error
	)
	for _, p := range targets {
		wg.Go(func() {
			n, err := s.syncPeer(ctx, p, ref, ids, budget)
			mu.Lock()
			defer mu.Unlock()
			pushed += n
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return pushed, errors.Join(errs...)
}

// syncPeer asks p which of ids it lacks and pushes those items.
func (s *Service) syncPeer(ctx context.Context, p peer.ID, ref setRef, ids [][]byte, budget *atomic.Int64) (int, error) {
	pushed := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxDigestIDs)]
		ids = ids[len(chunk):]
		resp, err := s.call(ctx, p, &request{Op: uint8(opHave), NS: ref.ns, Key: ref.key, IDs: chunk})
		if err != nil {
			return pushed, err
		}
		var want [][]byte
		for _, i := range resp.Missing {
			if int(i) >= len(chunk) {
				return pushed, fmt.Errorf("sets: peer %s: missing index %d of %d: %w", p.ShortString(), i, len(chunk), wire.ErrUnavailable)
			}
			want = append(want, chunk[i])
		}
		raws, err := s.store.get(ref.sk, want)
		if err != nil {
			return pushed, err
		}
		for len(raws) > 0 {
			n, size := 0, 0
			for n < len(raws) && n < maxPushItems && size+len(raws[n]) <= maxScanBytes {
				size += len(raws[n])
				n++
			}
			if budget.Add(-int64(n)) < 0 {
				return pushed, nil
			}
			if _, err := s.call(ctx, p, &request{Op: uint8(opPush), Items: raws[:n]}); err != nil {
				return pushed, err
			}
			pushed += n
			raws = raws[n:]
		}
	}
	return pushed, nil
}
