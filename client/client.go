// Package client is the Komrade user agent's link to the mix network: a
// link to a gateway (over a fresh libp2p identity per session, directly or
// through Tor) with failover to the others of its config, the verified
// directory the gateway serves (cross-checked against a second gateway),
// Loopix cover traffic, and request/reply exchanges through full mix paths
// with SURBs: client → gateway → L1 → L2 → L3 (exit) and back L1 → L2 → L3 →
// gateway → client. The messenger and the daemon are built on it.
//
// It speaks only wire, pki and transport: the client never touches the DHT;
// everything it stores or reads is done by an exit node on its behalf.
package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/katzenpost/katzenpost/core/sphinx"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/backoff"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
)

// ErrClosed is returned by operations on a closed client.
var ErrClosed = errors.New("client: closed")

// Client is a session with one gateway.
type Client struct {
	cfg   config.Client
	log   *slog.Logger
	netID pki.NetworkID
	// params are the network's parameters: from the config's network_file,
	// else from the first gateway that answered (they hash to netID, so
	// every gateway serves the same). Set before Dial returns, then fixed.
	params pki.Params
	clock  pki.Clock
	allow  map[pki.NodeID]bool
	host   host.Host
	tor    io.Closer // the session's tor (tor.go), nil for a direct link
	gws    []peer.AddrInfo
	gwIdx  int // index in gws of the gateway in use (readLoop owns it)
	sphinx *sphinx.Sphinx
	queue  [32]byte

	wmu    sync.Mutex
	stream network.Stream

	refreshSem chan struct{} // holds a token while a directory fetch runs: one at a time
	rtt        rttEstimator  // round trips of requests: ReplyTimeout
	onSend     func(time.Time, int)
	onRecv     func(time.Time, int)
	cover      *cover // Loopix send loop, nil until StartCover
	wg         sync.WaitGroup

	mu           sync.Mutex
	gateway      peer.AddrInfo
	gwID         pki.NodeID
	failovers    int
	offlineSince time.Time      // when the gateway link went down; zero while up
	dir          *pki.Directory // in use: gwDir merged with cross
	gwDir        *pki.Directory // the gateway's own view
	dirFetched   time.Time
	refreshTried time.Time // last background refresh started (currentDirectory)
	cross        crossView // another gateway's view (crosscheck.go)
	pending      map[[16]byte]*pending
	lastForget   time.Time // the last forgetGivenUp (under mu)
	closed       bool

	quit chan struct{} // closed by Close: stops failover
	done chan struct{} // closed when the read loop has ended
}

type pending struct {
	surb *wire.SURB
	ch   chan []byte
	loop bool      // a loop cover packet (cover.go), not a request
	fill bool      // a λP filler (cover.go): its reply is dropped
	sent time.Time // when a loop or filler left (zero while it is a spare)
	// start is when a request began (Request): its reply's round trip is
	// measured from there.
	start time.Time
	// gaveUp is set once the request's caller stopped waiting: a reply
	// that still comes is only a round-trip sample (see readFrames).
	gaveUp bool
	// background marks a request made with Background: it waits behind
	// every other for its λP slot, so its round trip is no sample of what
	// the others wait (see readFrames).
	background bool
}

// forgetGivenUp forgets the requests given up more than rtoMax ago: their
// reply is not coming. Called with c.mu held.
func (c *Client) forgetGivenUp() {
	for id, p := range c.pending {
		if p.gaveUp && time.Since(p.start) > rtoMax {
			delete(c.pending, id)
		}
	}
}

// ErrOffline is returned for a packet sent while no gateway link is up.
var ErrOffline = errors.New("client: offline (no gateway link); trying the gateways of the config")

// Dial connects to the first reachable gateway of cfg, fetches and verifies
// the directory, and opens the client link.
func Dial(ctx context.Context, cfg config.Client, log *slog.Logger) (*Client, error) {
	return dial(ctx, cfg, log, false)
}

// Open is Dial for a client that must work offline (the daemon): when no
// gateway answers now, it returns a client that is offline (see Offline)
// and keeps trying the gateways of cfg in the background, with backoff,
// until one answers or the client is closed. Requests meanwhile fail with
// ErrOffline or their context's end.
func Open(ctx context.Context, cfg config.Client, log *slog.Logger) (*Client, error) {
	return dial(ctx, cfg, log, true)
}

func dial(ctx context.Context, cfg config.Client, log *slog.Logger, offlineOK bool) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	gws, err := transport.ParsePeers(cfg.Gateways)
	if err != nil {
		return nil, err
	}
	if len(gws) == 1 {
		log.Warn("only one gateway in the config: its directory cannot be cross-checked and there is no gateway to fail over to; name two or more")
	}
	allow := map[pki.NodeID]bool{}
	for _, s := range cfg.AllowList {
		id, err := pki.ParseNodeID(s)
		if err != nil {
			return nil, err
		}
		allow[id] = true
	}
	h, torc, err := newHost(ctx, cfg, log) // fresh identity per session, no listener
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, log: log, netID: cfg.NetworkID(), allow: allow,
		host: h, tor: torc, gws: gws, sphinx: wire.NewSphinx(), queue: wire.QueueID(h.ID()),
		pending: map[[16]byte]*pending{}, quit: make(chan struct{}), done: make(chan struct{}),
		refreshSem: make(chan struct{}, 1),
	}
	if cfg.Params != nil {
		c.setParams(*cfg.Params)
	}
	var errs []error
	for i, gw := range gws {
		if err := c.connect(ctx, gw); err != nil {
			errs = append(errs, fmt.Errorf("gateway %s: %w", gw.ID, err))
			continue
		}
		c.gwIdx = i
		// The first directory is checked against another gateway's
		// before anything is sent (crosscheck.go).
		c.crossNow(ctx, gw.ID)
		go c.readLoop()
		return c, nil
	}
	if offlineOK {
		log.Warn("no gateway answers; running offline and trying again", "err", errors.Join(errs...))
		c.setOffline()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if !c.failover(&backoff.Backoff{Min: minBackoff, Max: maxBackoff}) {
				close(c.done)
				return
			}
			gw, _ := c.gw()
			c.crossNow(context.Background(), gw.ID)
			c.readLoop()
		}()
		return c, nil
	}
	h.Close()
	closeTor(torc)
	return nil, fmt.Errorf("client: no gateway usable: %w", errors.Join(errs...))
}

func (c *Client) connect(ctx context.Context, gw peer.AddrInfo) error {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout(c.cfg))
	defer cancel()
	if err := c.host.Connect(cctx, gw); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	id, err := pki.NodeIDFromPeer(gw.ID)
	if err != nil {
		return err
	}
	if err := c.refreshFrom(cctx, gw.ID, id); err != nil {
		return err
	}
	s, err := c.host.NewStream(cctx, gw.ID, wire.ClientProtocol)
	if err != nil {
		return fmt.Errorf("open client link: %w", err)
	}
	// Only a gateway that answered becomes the one packets are built for.
	c.mu.Lock()
	c.gateway, c.gwID = gw, id
	c.offlineSince = time.Time{}
	c.mu.Unlock()
	c.wmu.Lock()
	old := c.stream
	c.stream = s
	c.wmu.Unlock()
	if old != nil {
		old.Reset()
	}
	return nil
}

// setOffline records that the gateway link is down, from now unless it
// already was.
func (c *Client) setOffline() {
	c.mu.Lock()
	if c.offlineSince.IsZero() {
		c.offlineSince = time.Now()
	}
	c.mu.Unlock()
}

// Offline returns since when the client has had no gateway link, or the
// zero time while it has one.
func (c *Client) Offline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offlineSince
}

// Gateway returns the peer id of the gateway in use.
func (c *Client) Gateway() peer.ID {
	gw, _ := c.gw()
	return gw.ID
}

// Failovers returns how often the client has moved to another gateway (or
// reconnected to the same one) after losing its link.
func (c *Client) Failovers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failovers
}

func (c *Client) gw() (peer.AddrInfo, pki.NodeID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gateway, c.gwID
}

// Directory returns the directory last fetched.
func (c *Client) Directory() *pki.Directory {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dir
}

// RefreshDirectory fetches the directory from the gateway and verifies every
// descriptor's signature, its epoch and the allow-list.
func (c *Client) RefreshDirectory(ctx context.Context) error {
	gw, gwID := c.gw()
	if err := c.refreshFrom(ctx, gw.ID, gwID); err != nil {
		return err
	}
	c.crossNow(ctx, gw.ID)
	return nil
}

// refresh is RefreshDirectory for the periodic refetch: the other
// gateway's view is fetched in the background, if it is due.
func (c *Client) refresh(ctx context.Context) error {
	gw, gwID := c.gw()
	if err := c.refreshFrom(ctx, gw.ID, gwID); err != nil {
		return err
	}
	c.crossInBackground()
	return nil
}

// refreshFrom fetches the directory from gateway gw (node id gwID).
func (c *Client) refreshFrom(ctx context.Context, gw peer.ID, gwID pki.NodeID) error {
	dir, params, err := FetchDirectory(ctx, c.host, gw, c.netID, c.cfg.Params, c.allow)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.params.Version == 0 {
		c.setParams(params) // the first gateway's, under mu: Params reads them
	}
	c.mu.Unlock()
	if _, ok := dir.Lookup(gwID); !ok {
		return fmt.Errorf("client: gateway %s is not in its own directory", gwID.Short())
	}
	own := dir
	dir = c.withCross(dir, gw)
	c.mu.Lock()
	c.dir, c.gwDir, c.dirFetched = dir, own, time.Now()
	c.mu.Unlock()
	return nil
}

func (c *Client) setParams(p pki.Params) {
	c.params = p
	c.clock = pki.NewClock(p.EpochLength)
}

// Params returns the network's parameters (zero until a gateway served
// them, for a client opened offline without a network file).
func (c *Client) Params() pki.Params {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.params
}

// FetchDirectory asks a gateway for its directory and the network's
// parameters, checks that they are those of network (own, when the client
// has its own copy, lets a mismatch name the parameters that differ) and
// verifies the directory for the current epoch.
func FetchDirectory(ctx context.Context, h host.Host, gw peer.ID, network pki.NetworkID, own *pki.Params, allow map[pki.NodeID]bool) (*pki.Directory, pki.Params, error) {
	var none pki.Params
	s, err := h.NewStream(ctx, gw, wire.DirectoryProtocol)
	if err != nil {
		return nil, none, fmt.Errorf("client: directory request: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	resp, err := pki.ReadResponse(s)
	if err != nil {
		return nil, none, fmt.Errorf("client: directory response: %w", err)
	}
	if theirs := pki.NetworkID(sha256.Sum256(resp.Params)); theirs != network {
		var tp *pki.Params
		if p, err := pki.DecodeParams(resp.Params); err == nil {
			tp = &p
		}
		return nil, none, fmt.Errorf("client: %w", pki.Mismatch(network, own, "this client's config", theirs, tp, "gateway "+gw.String()))
	}
	params, err := pki.DecodeParams(resp.Params)
	if err != nil {
		return nil, none, fmt.Errorf("client: gateway %s: %w", gw, err)
	}
	e := pki.NewClock(params.EpochLength).Current()
	if resp.Epoch+1 < e || resp.Epoch > e+1 {
		return nil, none, fmt.Errorf("client: gateway directory is for epoch %d, ours is %d (check the clock)", resp.Epoch, e)
	}
	dir, err := pki.Build(network, e, resp.Descriptors, allow)
	return dir, params, err
}

// lockRefresh waits for the turn to fetch the directory unless ctx ends (or
// the client closes) first; unlockRefresh ends the turn.
func (c *Client) lockRefresh(ctx context.Context) bool {
	select {
	case c.refreshSem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-c.done:
		return false
	}
}

func (c *Client) unlockRefresh() { <-c.refreshSem }

// refreshRetry spaces background refreshes that fail.
const refreshRetry = 5 * time.Second

// refreshInBackground refetches the directory in a goroutine the client
// owns, unless one was started within refreshRetry (a later one waits for
// the turn and finds the directory fresh). A failure keeps the directory
// held.
func (c *Client) refreshInBackground() {
	c.mu.Lock()
	if c.closed || time.Since(c.refreshTried) < refreshRetry {
		c.mu.Unlock()
		return
	}
	c.refreshTried = time.Now()
	c.wg.Add(1) // under mu, after the closed check: Close's Wait cannot miss it
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout(c.cfg))
		defer cancel()
		if !c.lockRefresh(ctx) {
			return
		}
		defer c.unlockRefresh()
		c.mu.Lock()
		fresh := time.Since(c.dirFetched) < DirectoryMaxAge
		c.mu.Unlock()
		if fresh {
			return // refreshed meanwhile
		}
		if err := c.refresh(ctx); err != nil {
			c.log.Debug("directory refresh failed; keeping the current one", "err", err)
		}
	}()
}

// DirectoryMaxAge is how long a client uses a directory before fetching it
// again within an epoch, so that nodes that left, joined or restarted (with
// fresh keys) are noticed.
const DirectoryMaxAge = time.Minute

// currentDirectory returns a directory for the current epoch. One older
// than DirectoryMaxAge is still returned at once, and refreshed in the
// background: building a packet (the cover loop builds them ahead of their
// departure) never waits for the network while a directory for the epoch is
// held. When the epoch has changed, it fetches one; right after an epoch
// boundary the gateway may still be collecting fresh descriptors, so a
// failed fetch is retried until ctx ends.
func (c *Client) currentDirectory(ctx context.Context) (*pki.Directory, uint64, error) {
	bo := backoff.Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	for {
		c.mu.Lock()
		known, clock, offline := c.params.Version != 0, c.clock, !c.offlineSince.IsZero()
		dir, fetched := c.dir, c.dirFetched
		c.mu.Unlock()
		if !known {
			return nil, 0, ErrOffline // opened offline: no gateway has served the parameters yet
		}
		epoch := clock.Current()
		if offline && (dir == nil || dir.Epoch != epoch) {
			return nil, 0, ErrOffline // no gateway to fetch a directory from
		}
		if dir != nil && dir.Epoch == epoch {
			if time.Since(fetched) >= DirectoryMaxAge {
				c.refreshInBackground()
			}
			return dir, epoch, nil
		}
		if !c.lockRefresh(ctx) {
			if ctx.Err() == nil {
				return nil, 0, errors.New("client: gateway link closed")
			}
			return nil, 0, fmt.Errorf("client: no directory for epoch %d: %w", epoch, ctx.Err())
		}
		var err error
		c.mu.Lock()
		stale := c.dir != dir || c.dirFetched != fetched
		c.mu.Unlock()
		if !stale { // nobody refreshed while we waited for the lock
			err = c.refresh(ctx)
		}
		c.unlockRefresh()
		if err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("client: no directory for epoch %d: %w", epoch, err)
		case <-c.done:
			return nil, 0, errors.New("client: gateway link closed")
		case <-time.After(bo.Next()):
		}
	}
}

// readLoop reads delivery frames from the gateway and hands each reply to
// the request waiting for it. When the link breaks it fails over to the
// next gateway of the config (and round again, with backoff) until one
// answers or the client is closed. Replies in flight on the old link are
// lost; the ARQ of the callers sends those requests again.
func (c *Client) readLoop() {
	defer close(c.done)
	buf := make([]byte, wire.PacketLength)
	bo := &backoff.Backoff{Min: minBackoff, Max: maxBackoff}
	for {
		c.wmu.Lock()
		s := c.stream
		c.wmu.Unlock()
		up := time.Now()
		err := c.readFrames(s, buf)
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		gw, _ := c.gw()
		c.log.Warn("gateway link lost; failing over", "gateway", gw.ID, "err", err)
		c.setOffline()
		if time.Since(up) >= stableLink {
			bo.Reset()
		} else if !c.pause(bo) {
			// A link that breaks at once (a gateway shutting down, or one
			// that takes streams and resets them) does not get reopened
			// in a tight loop.
			return
		}
		if !c.failover(bo) {
			return
		}
	}
}

// Failover pacing: the pause between rounds of connection attempts doubles
// from minBackoff to maxBackoff, and starts over once a link has held for
// stableLink.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	stableLink = 30 * time.Second
)

// pause waits for bo's next wait; false if the client closed.
func (c *Client) pause(bo *backoff.Backoff) bool {
	t := time.NewTimer(bo.Next())
	defer t.Stop()
	select {
	case <-c.quit:
		return false
	case <-t.C:
	}
	return true
}

// failover connects to another gateway: the others first, the one just lost
// last, then again after a pause. It returns false when the client is
// closed meanwhile.
func (c *Client) failover(bo *backoff.Backoff) bool {
	for {
		for k := 1; k <= len(c.gws); k++ {
			i := (c.gwIdx + k) % len(c.gws)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-c.quit:
					cancel()
				case <-ctx.Done():
				}
			}()
			err := c.connect(ctx, c.gws[i])
			cancel()
			if err == nil {
				c.gwIdx = i
				c.mu.Lock()
				c.failovers++
				c.mu.Unlock()
				c.log.Info("gateway link restored", "gateway", c.gws[i].ID)
				return true
			}
			select {
			case <-c.quit:
				return false
			default:
			}
			c.log.Debug("gateway unreachable", "gateway", c.gws[i].ID, "err", err)
		}
		if !c.pause(bo) {
			return false
		}
	}
}

// readFrames reads delivery frames from s until it fails.
func (c *Client) readFrames(s network.Stream, buf []byte) error {
	for {
		if err := wire.ReadFrame(s, buf); err != nil {
			return err
		}
		c.wmu.Lock()
		onRecv := c.onRecv
		c.wmu.Unlock()
		if onRecv != nil {
			onRecv(time.Now(), len(buf))
		}
		surbID, payload, err := wire.DecodeDelivery(buf)
		if err != nil {
			c.log.Debug("bad delivery frame", "err", err)
			continue
		}
		c.mu.Lock()
		p, ok := c.pending[surbID]
		delete(c.pending, surbID)
		gaveUp := ok && p.gaveUp
		c.mu.Unlock()
		if !ok {
			continue // a reply to a request forgotten, or a duplicate
		}
		reply, err := wire.OpenReply(c.sphinx, p.surb, payload)
		if err != nil {
			c.log.Debug("reply failed to open", "err", err)
			continue
		}
		if p.loop || p.fill {
			c.coverReturned(p)
			continue
		}
		// Every reply to a request is a round-trip sample, also one that
		// comes after its caller gave up waiting: each try is a packet of
		// its own with its own SURB, so no reply is ambiguous (the reason
		// TCP skips retransmitted segments), and without these samples a
		// timeout below the real round trip would never learn better: no
		// reply would ever arrive in time to be measured.
		// A background request's wait for a slot behind all others is not
		// what a message or poll waits: it would raise their timeout.
		if !p.background {
			c.rtt.sample(time.Since(p.start))
		}
		if !gaveUp {
			p.ch <- reply // buffered: never blocks
		}
	}
}

// Request sends one exit request through a fresh random path with a SURB and
// waits for the reply or ctx's end. It returns the reply's status and body.
// It sends one packet and never retransmits: a mix network loses some
// packets (a node restarts, a path crosses a node that just left), so a
// caller gives each try a deadline such as ReplyTimeout and tries again, as
// package messenger does. A reply that comes after ctx ended is no longer
// returned, but its round trip still adapts ReplyTimeout.
func (c *Client) Request(ctx context.Context, op wire.Op, body []byte) (wire.Status, []byte, error) {
	pkt, surb, err := c.buildRequest(ctx, op, body)
	if err != nil {
		return 0, nil, err
	}
	p := &pending{surb: surb, ch: make(chan []byte, 1), start: time.Now(), background: isBackground(ctx)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, nil, ErrClosed
	}
	if time.Since(c.lastForget) > time.Minute { // not a walk of every pending reply per request
		c.forgetGivenUp()
		c.lastForget = time.Now()
	}
	c.pending[surb.ID] = p
	c.mu.Unlock()
	gaveUp := false
	defer func() {
		c.mu.Lock()
		if gaveUp {
			// Its packet may have left: a reply may still come and
			// be measured (readFrames); forgotten after rtoMax.
			p.gaveUp = true
		} else {
			delete(c.pending, surb.ID)
		}
		c.mu.Unlock()
	}()
	if err := c.send(ctx, pkt); err != nil {
		return 0, nil, fmt.Errorf("client: send: %w", err)
	}
	select {
	case reply := <-p.ch:
		st, rb, err := wire.DecodeReply(reply)
		if err != nil {
			return 0, nil, err
		}
		return st, append([]byte(nil), rb...), nil
	case <-ctx.Done():
		gaveUp = true
		return 0, nil, ctx.Err()
	case <-c.done:
		return 0, nil, errors.New("client: gateway link closed")
	}
}

// buildRequest builds a request packet along a fresh random path (gateway,
// L1, L2, L3) carrying a SURB for a fresh random reply path (L1, L2, L3,
// gateway).
func (c *Client) buildRequest(ctx context.Context, op wire.Op, body []byte) ([]byte, *wire.SURB, error) {
	dir, epoch, err := c.currentDirectory(ctx)
	if err != nil {
		return nil, nil, err
	}
	_, gwID := c.gw()
	gw, ok := dir.Lookup(gwID)
	if !ok {
		return nil, nil, errors.New("client: gateway left the directory")
	}
	fwd, err := pki.RandomRoute(dir, gw.NodeID)
	if err != nil {
		return nil, nil, err
	}
	back, err := pki.RandomRoute(dir, gw.NodeID)
	if err != nil {
		return nil, nil, err
	}
	mu := c.Params().Mu
	fhops, err := pki.HopsFor(epoch, mu, gw, fwd[0], fwd[1], fwd[2])
	if err != nil {
		return nil, nil, err
	}
	bhops, err := pki.HopsFor(epoch, mu, back[0], back[1], back[2], gw)
	if err != nil {
		return nil, nil, err
	}
	surb, err := wire.NewSURB(c.sphinx, bhops, c.queue)
	if err != nil {
		return nil, nil, err
	}
	payload, err := wire.EncodeForwardPayload(surb.Block, op, body)
	if err != nil {
		return nil, nil, err
	}
	pkt, err := wire.NewForward(c.sphinx, fhops, payload)
	if err != nil {
		return nil, nil, err
	}
	return pkt, surb, nil
}

// Echo sends a random probe through the exit and back and returns the round
// trip time.
func (c *Client) Echo(ctx context.Context) (time.Duration, error) {
	probe := make([]byte, 32)
	rand.Read(probe)
	start := time.Now()
	st, body, err := c.Request(ctx, wire.OpEcho, probe)
	if err != nil {
		return 0, err
	}
	if st != wire.StatusOK {
		return 0, fmt.Errorf("client: echo status %d", st)
	}
	if string(body) != string(probe) {
		return 0, errors.New("client: echo reply does not match the probe")
	}
	return time.Since(start), nil
}

// SendRaw writes a raw frame on the client link at once, outside the cover
// stream (diagnostics and tests).
func (c *Client) SendRaw(frame []byte) error { return c.writeFrame(frame) }

// Close ends the session.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.quit)
	c.wmu.Lock()
	s := c.stream
	c.wmu.Unlock()
	if s != nil {
		s.Close() // a clean end of the link, not a truncated frame
	}
	err := c.host.Close()
	closeTor(c.tor)
	if s != nil {
		<-c.done
	}
	c.wg.Wait()
	return err
}

// ReplyTimeout is how long to wait for a reply before sending a request
// again (ARQ): the path's delays (8 hops, each Exp(mu), so 40·mu is far in
// the tail) plus a margin for processing and storage.
//
// Round trips measured on replies adapt it (rtt.go): it is SRTT + 4·RTTVAR
// of the requests' round trips, never under 3 s + 40·mu, which is also its
// value before the first reply. The floor is not lower: a try given up too
// early is sent again and its answer arrives later than the first one's
// would have (measured: p50 delivery 3.6 s against 2.5 s with a floor of
// 1 s + 20·mu), so the estimate only ever lengthens the wait, on networks
// slower than the floor assumes.
func (c *Client) ReplyTimeout() time.Duration {
	floor := 3*time.Second + 40*c.Params().Mu
	return c.rtt.timeout(floor, floor)
}
