package sets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kbucket "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// Options tune a Service. Zero values mean the defaults given.
type Options struct {
	// Replication is how many nodes hold a set: Append needs this many
	// acknowledgements (or all nodes, in a smaller network) and Scan asks
	// this many. Default 3.
	Replication int
	// ReplicateInterval is the period of Run's expiry sweep and
	// re-replication round. Default 10 minutes.
	ReplicateInterval time.Duration
	// RequestTimeout bounds one request to one peer, a peer lookup, and the
	// serving of one incoming stream. Default 10 s.
	RequestTimeout time.Duration

	// AppendRate and AppendBurst limit the appends each remote peer may
	// make (a token bucket, per second). Defaults 20/s, burst 100. A
	// negative rate means no limit.
	AppendRate  float64
	AppendBurst int
	// PushRate and PushBurst limit each remote peer's replication traffic:
	// one token per pushed item and per digest query. Defaults 500/s, burst
	// 5000. A negative rate means no limit.
	PushRate  float64
	PushBurst int
	// ReadRate and ReadBurst limit each remote peer's scans. Defaults 50/s,
	// burst 200. A negative rate means no limit.
	ReadRate  float64
	ReadBurst int

	// MaxStreams bounds the inbound set streams served at once, from all
	// peers; MaxStreamsPerPeer those from one peer. A stream beyond either
	// is reset without being read (the caller sees wire.ErrUnavailable
	// and tries another replica). Each
	// stream may hold a frame of up to MaxFrameSize. Defaults 64 and 4.
	MaxStreams        int
	MaxStreamsPerPeer int
	// MinFrameRate is the slowest a peer may send a request frame, in
	// bytes per second: the frame's length prefix must arrive within
	// frameGrace and its body within frameGrace plus its length at this
	// rate (a 1 MiB frame: 2 s + 2 s), so that a peer that trickles a
	// large frame holds it only briefly. Default 512 KiB/s.
	MinFrameRate int

	// MaxSetsPerRound and MaxPushPerRound bound one re-replication round:
	// sets examined (the next round continues where this one stopped) and
	// items pushed. Defaults 256 and 20000.
	MaxSetsPerRound int
	MaxPushPerRound int

	// Allow, when set, names the peers the service talks to: streams from
	// other peers are refused and other peers are never chosen as replicas
	// (a node's allow_list). Nil means every peer.
	Allow func(peer.ID) bool
	// Replica, when set, reports whether a peer is a storage node (a mix
	// node of the directory), whose pushes are re-replication. Items that
	// any other peer pushes are taken as appends: counted and refused by
	// the namespace's hourly cap, which a push would otherwise bypass. Nil
	// treats every push as re-replication (tests of the store alone).
	Replica func(peer.ID) bool

	// Now is the clock for expiry and rate limits; nil means time.Now.
	Now func() time.Time
	// Logger receives the service's log; nil means slog.Default(). setitem.Item
	// contents and set keys are never logged.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defRate := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Replication, 3)
	if o.ReplicateInterval <= 0 {
		o.ReplicateInterval = 10 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	defRate(&o.AppendRate, 20)
	def(&o.AppendBurst, 100)
	defRate(&o.PushRate, 500)
	def(&o.PushBurst, 5000)
	defRate(&o.ReadRate, 50)
	def(&o.ReadBurst, 200)
	def(&o.MaxStreams, 64)
	def(&o.MaxStreamsPerPeer, 4)
	def(&o.MinFrameRate, 512<<10)
	def(&o.MaxSetsPerRound, 256)
	def(&o.MaxPushPerRound, 20000)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Service serves the set protocol on a libp2p host and writes and reads sets
// on the nodes of the DHT closest to them.
type Service struct {
	host  host.Host
	kad   *kaddht.IpfsDHT
	store *Store
	rules map[string]setitem.Rules
	opt   Options
	log   *slog.Logger

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	running bool
	wg      sync.WaitGroup // stream handlers and Run

	limMu  sync.Mutex
	limits map[peer.ID]*peerLimits

	streamMu    sync.Mutex
	streams     int             // inbound streams being served
	peerStreams map[peer.ID]int // the same, per peer

	rrCursor []byte // next set to re-replicate; owned by Run
}

// peerLimits are one remote peer's token buckets.
type peerLimits struct {
	appends, pushes, reads *rate.Limiter
	seen                   time.Time
}

const (
	// maxLimiters bounds the per-peer limiter table.
	maxLimiters = 1 << 16
	// limiterIdle is how long an unused limiter is kept.
	limiterIdle = 10 * time.Minute
)

// NewService checks rules, registers the set protocol on h and returns the
// service. kad finds the nodes closest to a set; store holds this node's
// items and stays owned by the caller (close it after the service).
func NewService(h host.Host, kad *kaddht.IpfsDHT, store *Store, rules map[string]setitem.Rules, opts Options) (*Service, error) {
	if h == nil || kad == nil || store == nil {
		return nil, errors.New("sets: NewService needs a host, a DHT and a store")
	}
	own := make(map[string]setitem.Rules, len(rules))
	for ns, r := range rules {
		if err := r.Validate(ns); err != nil {
			return nil, err
		}
		own[ns] = r
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		host: h, kad: kad, store: store, rules: own, opt: opts,
		log:    opts.Logger.With("svc", "sets"),
		ctx:    ctx,
		cancel: cancel,
		limits: map[peer.ID]*peerLimits{},

		peerStreams: map[peer.ID]int{},
	}
	h.SetStreamHandler(ProtocolID, s.handleStream)
	return s, nil
}

// Close unregisters the protocol, cancels outstanding work and waits for the
// stream handlers and Run to return. It does not close the store.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.host.RemoveStreamHandler(ProtocolID)
	s.cancel()
	s.wg.Wait()
	return nil
}

// enter registers a goroutine that Close must wait for; false if closed.
func (s *Service) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

var errClosed = fmt.Errorf("sets: service closed: %w", wire.ErrUnavailable)

// bind returns a context that is also canceled when the service closes.
func (s *Service) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Append writes an item to the set's closest nodes, this node included if it
// is one of them. The item is checked against its namespace's rules first
// (the caller solves the proof-of-work). It returns how many replicas
// acknowledged (stored the item or already held it or a later item with its
// nullifier). With fewer than Replication acknowledgements (or all nodes, in
// a smaller network) the error wraps wire.ErrReplicas and, if a replica
// refused the item, that refusal too (wire.ErrQuota, wire.ErrTooLarge, ... as a
// *RemoteError). The item may then be held by some replicas; appending it
// again is harmless.
func (s *Service) Append(ctx context.Context, it setitem.Item) (replicas int, err error) {
	if s.ctx.Err() != nil {
		return 0, errClosed
	}
	r, ok := s.rules[it.Namespace]
	if !ok {
		return 0, fmt.Errorf("sets: append: unknown namespace %q: %w", it.Namespace, wire.ErrInvalid)
	}
	enc, err := setitem.Encode(&it)
	if err != nil {
		return 0, fmt.Errorf("sets: append: %w", err)
	}
	now := s.opt.Now()
	if err := r.Verify(&it, len(enc), now); err != nil {
		return 0, fmt.Errorf("sets: append: %w", err)
	}
	ctx, cancel := s.bind(ctx)
	defer cancel()
	cands, err := s.closest(ctx, setitem.SetKey(it.Namespace, it.Key))
	if err != nil {
		return 0, fmt.Errorf("sets: append: %w", err)
	}
	need := min(s.opt.Replication, len(cands))
	req := &request{Op: uint8(opAppend), Items: [][]byte{enc}}
	acks, reject, fail := s.fanout(ctx, cands, need, func(ctx context.Context, p peer.ID) error {
		if p == s.host.ID() {
			_, err := s.store.put(&it, enc, r, now, fromAppend)
			return err
		}
		_, err := s.call(ctx, p, req)
		return err
	})
	if acks >= need {
		return acks, nil
	}
	if reject != nil {
		return acks, fmt.Errorf("sets: append: %d of %d replicas stored the item: %w: %w", acks, need, wire.ErrReplicas, reject)
	}
	return acks, fmt.Errorf("sets: append: %d of %d replicas stored the item: %w: %w", acks, need, wire.ErrReplicas, fail)
}

// Scan reads a page of a set: it asks Replication of the closest nodes
// (replacing those that fail with the next closest), checks every returned
// item against the namespace's rules, merges and deduplicates (by id, and by
// nullifier: the latest expiry wins), and returns up to limit items
// (1..MaxScanLimit; <= 0 means DefaultScanLimit) after cursor, ordered by
// expiry and then id, with the cursor of the next page (nil at the end).
// Deduplication by nullifier is exact within a page; across pages it is as
// good as the replicas' convergence. One answering replica suffices; with
// none the error wraps wire.ErrReplicas and any refusal.
func (s *Service) Scan(ctx context.Context, ns string, key []byte, cursor []byte, limit int) (items []setitem.Item, next []byte, err error) {
	if s.ctx.Err() != nil {
		return nil, nil, errClosed
	}
	r, ok := s.rules[ns]
	if !ok {
		return nil, nil, fmt.Errorf("sets: scan: unknown namespace %q: %w", ns, wire.ErrInvalid)
	}
	if err := checkScanArgs(ns, key, cursor); err != nil {
		return nil, nil, fmt.Errorf("sets: scan: %w", err)
	}
	limit = clampLimit(limit)
	now := s.opt.Now()
	sk := setitem.SetKey(ns, key)
	ctx, cancel := s.bind(ctx)
	defer cancel()
	cands, err := s.closest(ctx, sk)
	if err != nil {
		return nil, nil, fmt.Errorf("sets: scan: %w", err)
	}
	var (
		mu      sync.Mutex
		answers []*response
	)
	req := &request{Op: uint8(opScan), NS: ns, Key: key, Cursor: cursor, Limit: uint32(limit)}
	need := min(s.opt.Replication, len(cands))
	oks, reject, fail := s.fanout(ctx, cands, need, func(ctx context.Context, p peer.ID) error {
		var resp *response
		if p == s.host.ID() {
			raws, next, err := s.store.scanRaw(sk, cursor, limit, maxScanBytes, now)
			if err != nil {
				return err
			}
			resp = &response{Items: raws, Next: next}
		} else {
			var err error
			if resp, err = s.call(ctx, p, req); err != nil {
				return err
			}
			if len(resp.Items) > limit {
				return fmt.Errorf("sets: peer %s returned %d items for %d: %w", p.ShortString(), len(resp.Items), limit, wire.ErrUnavailable)
			}
		}
		mu.Lock()
		answers = append(answers, resp)
		mu.Unlock()
		return nil
	})
	if oks == 0 {
		if reject != nil {
			return nil, nil, fmt.Errorf("sets: scan: no replica answered: %w: %w", wire.ErrReplicas, reject)
		}
		return nil, nil, fmt.Errorf("sets: scan: no replica answered: %w: %w", wire.ErrReplicas, fail)
	}
	items, next, dropped := merge(answers, ns, key, r, cursor, limit, now)
	if dropped > 0 {
		s.log.Debug("scan: dropped invalid items from replicas", "ns", ns, "count", dropped)
	}
	return items, next, nil
}

// merged is an item being merged, with its sort key.
type merged struct {
	item setitem.Item
	pos  []byte // exp‖id, the item's cursor
}

// merge combines replicas' pages: checks, deduplication, order and paging.
// It returns the page, the next cursor and how many invalid items it dropped.
func merge(answers []*response, ns string, key []byte, r setitem.Rules, cursor []byte, limit int, now time.Time) ([]setitem.Item, []byte, int) {
	byID := map[[32]byte]bool{}
	byNull := map[string]int{} // nullifier → index in list
	var (
		list     []merged
		dropped  int
		more     bool
		minNext  []byte
		haveNext bool
	)
	for _, a := range answers {
		if a.Next != nil {
			more = true
			if !haveNext || bytes.Compare(a.Next, minNext) < 0 {
				minNext, haveNext = a.Next, true
			}
		}
		for _, raw := range a.Items {
			id := sha256.Sum256(raw)
			if byID[id] {
				continue
			}
			byID[id] = true
			it, err := setitem.Decode(raw)
			if err != nil || it.Namespace != ns || !bytes.Equal(it.Key, key) || r.Verify(it, len(raw), now) != nil {
				dropped++
				continue
			}
			pos := cat(setitem.ExpiryBytes(it.Expires), id[:])
			if cursor != nil && bytes.Compare(pos, cursor) <= 0 {
				dropped++
				continue
			}
			m := merged{item: *it, pos: pos}
			if len(it.Nullifier) > 0 {
				if i, ok := byNull[string(it.Nullifier)]; ok {
					if setitem.Supersedes(pos[:expLen], it.Sig, list[i].pos[:expLen], list[i].item.Sig) {
						list[i] = m
					}
					continue
				}
				byNull[string(it.Nullifier)] = len(list)
			}
			list = append(list, m)
		}
	}
	slices.SortFunc(list, func(a, b merged) int { return bytes.Compare(a.pos, b.pos) })
	if len(list) > limit {
		list, more = list[:limit], true
	}
	out := make([]setitem.Item, len(list))
	for i, m := range list {
		out[i] = m.item
	}
	var next []byte
	switch {
	case !more:
	case len(list) > 0:
		next = list[len(list)-1].pos
	default:
		next = bytes.Clone(minNext)
	}
	return out, next, dropped
}

// fanout runs fn on the first need candidates concurrently; each one that
// fails for a reason other than a rule-based refusal is replaced by the next
// candidate. It returns the number of successes, the first refusal and the
// last other failure (wire.ErrUnavailable-wrapped) when there were any.
func (s *Service) fanout(ctx context.Context, cands []peer.ID, need int, fn func(context.Context, peer.ID) error) (oks int, reject, fail error) {
	type result struct {
		p   peer.ID
		err error
	}
	results := make(chan result)
	next, inflight := 0, 0
	start := func() {
		p := cands[next]
		next++
		inflight++
		go func() {
			results <- result{p, fn(ctx, p)}
		}()
	}
	for next < len(cands) && inflight < need {
		start()
	}
	fail = fmt.Errorf("sets: no candidate nodes: %w", wire.ErrUnavailable)
	for inflight > 0 {
		res := <-results
		inflight--
		switch {
		case res.err == nil:
			oks++
		case wire.IsFinal(res.err):
			if reject == nil {
				reject = res.err
			}
		default:
			fail = res.err
			s.log.Debug("replica failed", "peer", res.p.ShortString(), "err", res.err)
			if next < len(cands) && ctx.Err() == nil {
				start()
			}
		}
	}
	return oks, reject, fail
}

// closest returns this node and the peers the DHT knows closest to set sk,
// nearest first.
func (s *Service) closest(ctx context.Context, sk [32]byte) ([]peer.ID, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.RequestTimeout)
	defer cancel()
	self := s.host.ID()
	ps, err := s.kad.GetClosestPeers(ctx, string(sk[:]))
	if err != nil && len(ps) == 0 && s.kad.RoutingTable().Size() > 0 {
		return nil, fmt.Errorf("sets: finding the closest nodes: %w: %w", wire.ErrReplicas, err)
	}
	if s.opt.Allow != nil {
		ps = slices.DeleteFunc(ps, func(p peer.ID) bool { return !s.opt.Allow(p) })
	}
	return orderByDistance(sk, append(ps, self)), nil
}

// orderByDistance sorts peers by their kad-dht XOR distance to set sk,
// nearest first (kad-dht's own ordering), and drops duplicates.
func orderByDistance(sk [32]byte, ps []peer.ID) []peer.ID {
	seen := map[peer.ID]bool{}
	uniq := make([]peer.ID, 0, len(ps))
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	return kbucket.SortClosestPeers(uniq, kbucket.ConvertKey(string(sk[:])))
}

// transportErr wraps a failure to talk to p. Errors of this package that
// arise from decoding p's answer are flattened so that they do not pass for
// p's refusal.
func transportErr(p peer.ID, err error) error {
	if st := wire.StatusOf(err); st != wire.StatusUnavailable && st != wire.StatusTimeout {
		return fmt.Errorf("sets: peer %s: %v: %w", p.ShortString(), err, wire.ErrUnavailable)
	}
	return fmt.Errorf("sets: peer %s: %w: %w", p.ShortString(), wire.ErrUnavailable, err)
}

// call sends one request to p and reads its response. A refusal comes back
// as a *RemoteError.
func (s *Service) call(ctx context.Context, p peer.ID, req *request) (*response, error) {
	body, err := encodeFrame(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.RequestTimeout)
	defer cancel()
	st, err := s.host.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return nil, transportErr(p, err)
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if err := writeFrame(st, body); err != nil {
		st.Reset()
		return nil, transportErr(p, err)
	}
	if err := st.CloseWrite(); err != nil {
		st.Reset()
		return nil, transportErr(p, err)
	}
	raw, err := readFrame(st)
	if err != nil {
		st.Reset()
		return nil, transportErr(p, err)
	}
	resp, err := decodeResponse(raw)
	if err != nil {
		return nil, transportErr(p, err)
	}
	if resp.Code != wire.StatusOK {
		return nil, &RemoteError{Peer: p, Status: resp.Code, Msg: resp.Msg}
	}
	return resp, nil
}

// frameGrace is the time a peer has for a request frame's length prefix,
// and in addition to its length at MinFrameRate for its body.
const frameGrace = 2 * time.Second

// acquireStream counts an inbound stream from p; false if p or all peers
// together are at their caps.
func (s *Service) acquireStream(p peer.ID) bool {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.streams >= s.opt.MaxStreams || s.peerStreams[p] >= s.opt.MaxStreamsPerPeer {
		return false
	}
	s.streams++
	s.peerStreams[p]++
	return true
}

func (s *Service) releaseStream(p peer.ID) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	s.streams--
	if s.peerStreams[p]--; s.peerStreams[p] <= 0 {
		delete(s.peerStreams, p)
	}
}

// handleStream serves one request.
func (s *Service) handleStream(st network.Stream) {
	if !s.enter() {
		st.Reset()
		return
	}
	defer s.wg.Done()
	stop := context.AfterFunc(s.ctx, func() { st.Reset() })
	defer stop()
	from := st.Conn().RemotePeer()
	if s.opt.Allow != nil && !s.opt.Allow(from) {
		st.Reset()
		return
	}
	if !s.acquireStream(from) {
		// Reset, unread: the caller sees the replica unavailable and tries
		// another. (Answering "busy" and closing let a peer go on filling
		// the stream's receive window: 125 MB under the attack test,
		// against 26 MB with the reset.)
		st.Reset()
		return
	}
	defer s.releaseStream(from)
	_ = st.SetDeadline(time.Now().Add(s.opt.RequestTimeout))
	s.respond(st, from, s.serveFrame(from, st))
}

// respond writes resp and closes st.
func (s *Service) respond(st network.Stream, from peer.ID, resp *response) {
	body, err := encodeFrame(resp)
	if err != nil {
		s.log.Error("encode response", "err", err)
		st.Reset()
		return
	}
	if err := writeFrame(st, body); err != nil {
		s.log.Debug("write response", "peer", from.ShortString(), "err", err)
		st.Reset()
		return
	}
	st.Close()
}

// serveFrame reads and serves one request frame. The frame must arrive at
// MinFrameRate (see Options); the stream's overall deadline still applies.
func (s *Service) serveFrame(from peer.ID, st network.Stream) *response {
	start := time.Now()
	limit := start.Add(s.opt.RequestTimeout)
	readBy := func(d time.Time) { _ = st.SetReadDeadline(minTime(d, limit)) }
	readBy(start.Add(frameGrace))
	n, err := readFrameHeader(st)
	if err != nil {
		return errResponse(err)
	}
	readBy(time.Now().Add(frameGrace + time.Duration(n)*time.Second/time.Duration(s.opt.MinFrameRate)))
	raw, err := readFrameBody(st, n)
	if err != nil {
		return errResponse(err)
	}
	req, err := decodeRequest(raw)
	if err != nil {
		return errResponse(err)
	}
	return s.serve(from, req)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func errResponse(err error) *response {
	return &response{Code: wire.StatusOf(err), Msg: wireMsg(err)}
}

// limiter returns from's token buckets, creating them if needed.
func (s *Service) limiter(from peer.ID, now time.Time) *peerLimits {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l := s.limits[from]
	if l == nil {
		if len(s.limits) >= maxLimiters {
			s.pruneLimitersLocked(now, time.Minute)
			for p := range s.limits { // still full: evict an arbitrary one
				if len(s.limits) < maxLimiters {
					break
				}
				delete(s.limits, p)
			}
		}
		mk := func(r float64, burst int) *rate.Limiter {
			if r < 0 {
				return rate.NewLimiter(rate.Inf, burst)
			}
			return rate.NewLimiter(rate.Limit(r), burst)
		}
		l = &peerLimits{
			appends: mk(s.opt.AppendRate, s.opt.AppendBurst),
			pushes:  mk(s.opt.PushRate, s.opt.PushBurst),
			reads:   mk(s.opt.ReadRate, s.opt.ReadBurst),
		}
		s.limits[from] = l
	}
	l.seen = now
	return l
}

func (s *Service) pruneLimitersLocked(now time.Time, idle time.Duration) {
	for p, l := range s.limits {
		if now.Sub(l.seen) > idle {
			delete(s.limits, p)
		}
	}
}

// serve handles a decoded request from a remote peer.
func (s *Service) serve(from peer.ID, req *request) *response {
	now := s.opt.Now()
	lim := s.limiter(from, now)
	switch op(req.Op) {
	case opAppend:
		if !lim.appends.AllowN(now, 1) {
			return errResponse(fmt.Errorf("sets: append rate of %v/s (burst %d) exceeded: %w", s.opt.AppendRate, s.opt.AppendBurst, wire.ErrQuota))
		}
		if _, err := s.accept(req.Items[0], now, fromAppend); err != nil {
			return errResponse(err)
		}
		return &response{}
	case opPush:
		if !lim.pushes.AllowN(now, len(req.Items)) {
			return errResponse(fmt.Errorf("sets: push rate of %v items/s (burst %d) exceeded: %w", s.opt.PushRate, s.opt.PushBurst, wire.ErrQuota))
		}
		// Only a storage node re-replicates; anyone else's push is an
		// append in disguise and meets the hourly cap.
		origin := fromPush
		if s.opt.Replica != nil && !s.opt.Replica(from) {
			origin = fromAppend
		}
		var stored, refused uint32
		for _, raw := range req.Items {
			ok, err := s.accept(raw, now, origin)
			switch {
			case err == nil && ok:
				stored++
			case err == nil:
			case wire.IsFinal(err):
				refused++
			default:
				return errResponse(err)
			}
		}
		if refused > 0 {
			s.log.Debug("push: refused items", "peer", from.ShortString(), "count", refused)
		}
		return &response{Stored: stored}
	case opScan:
		if !lim.reads.AllowN(now, 1) {
			return errResponse(fmt.Errorf("sets: read rate exceeded: %w", wire.ErrQuota))
		}
		if _, ok := s.rules[req.NS]; !ok {
			return errResponse(fmt.Errorf("sets: unknown namespace: %w", wire.ErrInvalid))
		}
		raws, next, err := s.store.scanRaw(setitem.SetKey(req.NS, req.Key), req.Cursor, clampLimit(int(req.Limit)), maxScanBytes, now)
		if err != nil {
			s.log.Error("scan", "err", err)
			return errResponse(err)
		}
		return &response{Items: raws, Next: next}
	case opHave:
		if !lim.pushes.AllowN(now, 1) {
			return errResponse(fmt.Errorf("sets: replication rate exceeded: %w", wire.ErrQuota))
		}
		if _, ok := s.rules[req.NS]; !ok {
			return errResponse(fmt.Errorf("sets: unknown namespace: %w", wire.ErrInvalid))
		}
		miss, err := s.store.missing(setitem.SetKey(req.NS, req.Key), req.IDs)
		if err != nil {
			s.log.Error("digest", "err", err)
			return errResponse(err)
		}
		return &response{Missing: miss}
	}
	return errResponse(invalidf("unknown op"))
}

// accept checks an encoded item and stores it; from says whether it is an
// append or a replication push (see origin).
func (s *Service) accept(raw []byte, now time.Time, from origin) (stored bool, err error) {
	it, err := setitem.Decode(raw)
	if err != nil {
		return false, err
	}
	r, ok := s.rules[it.Namespace]
	if !ok {
		return false, fmt.Errorf("sets: unknown namespace %q: %w", it.Namespace, wire.ErrInvalid)
	}
	if err := r.Verify(it, len(raw), now); err != nil {
		return false, err
	}
	stored, err = s.store.put(it, raw, r, now, from)
	if err != nil && !wire.IsFinal(err) {
		s.log.Error("store item", "err", err)
	}
	return stored, err
}
