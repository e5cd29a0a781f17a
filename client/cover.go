package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Loopix cover traffic. Once StartCover runs, the client sends packets only
// at the events of a Poisson process of rate λP + λL + λD, whatever the user
// does: each event is, with probability λP/Λ, a slot of the real stream (the
// next queued real packet, or a filler when none waits), with probability
// λL/Λ a loop packet (an echo through a full path that comes back to the
// client), and otherwise a drop packet. By the superposition property this
// is the same as three independent Poisson streams. Real packets replace
// cover packets instead of adding to them, so an observer of the client's
// link sees the same distribution of departures whether the client is idle
// or busy.
//
// The filler of an empty λP slot is an echo request whose reply the client
// discards, not a drop as in Loopix: every real packet is a request whose
// reply comes back through the gateway, so with drops an observer would see
// a busy client receive more frames than an idle one. With fillers both
// receive about λP + λL replies a second.

// Rates are the Loopix send rates, in packets per second.
type Rates struct {
	LambdaP float64 // real-or-drop stream
	LambdaL float64 // loop cover
	LambdaD float64 // drop cover
}

// Total is the rate of all departures.
func (r Rates) Total() float64 { return r.LambdaP + r.LambdaL + r.LambdaD }

// Interval draws the time from one event of the cover stream to the next:
// exponential with rate Total. The client's send loop and the anonymity
// simulator (internal/anonymity) both draw their departures with it.
func (r Rates) Interval() time.Duration { return wire.ExpInterval(r.Total()) }

// Event kinds of the cover stream (Rates.Event).
const (
	EventSlot = "slot" // a λP slot: the next real packet, or a filler
	EventLoop = "loop"
	EventDrop = "drop"
)

// Event says which stream an event of the merged Poisson stream belongs to,
// given u uniform in [0, 1): EventSlot with probability λP/Λ, EventLoop
// with λL/Λ, otherwise EventDrop.
func (r Rates) Event(u float64) string {
	u *= r.Total()
	switch {
	case u < r.LambdaP:
		return EventSlot
	case u < r.LambdaP+r.LambdaL:
		return EventLoop
	}
	return EventDrop
}

// Validate checks the rates.
func (r Rates) Validate() error {
	for _, v := range []float64{r.LambdaP, r.LambdaL, r.LambdaD} {
		if !(v >= 0 && v <= 1000) {
			return fmt.Errorf("client: cover rates must be between 0 and 1000 per second, got %+v", r)
		}
	}
	if r.LambdaP == 0 {
		return errors.New("client: lambda_p must be positive: real packets only leave in its slots")
	}
	return nil
}

// ErrQueueFull is returned when the real-packet queue is full.
var ErrQueueFull = errors.New("client: send queue full")

const realQueue = 1024

// queued is a real packet waiting for a λP slot, with the context of the
// request that sent it: once that request has given up (its reply would be
// dropped), the packet is not worth a slot.
type queued struct {
	pkt []byte
	ctx context.Context
}

// next returns the oldest queued packet whose request still waits, or nil:
// first of the urgent queue, then of the background one.
func (cv *cover) next() []byte {
	for _, q := range []chan queued{cv.queue, cv.bulk} {
	drain:
		for {
			select {
			case p := <-q:
				if p.ctx.Err() == nil {
					return p.pkt
				}
			default:
				break drain
			}
		}
	}
	return nil
}

type backgroundKey struct{}

// Background marks the requests made with the returned context as
// background work (feed refreshes): they take a λP slot only when no other
// request waits for one, so that messages, mailbox polls and alerts go
// first. What leaves is the same either way; only the order changes.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

type cover struct {
	rates Rates
	queue chan queued // requests, messages and polls
	bulk  chan queued // background requests (see Background)

	mu            sync.Mutex
	sent          map[string]uint64
	loopsReturned uint64
	loopRTT       time.Duration // sum over returned loops
}

// LoopStats reports the client's loop cover packets.
type LoopStats struct {
	Sent, Returned uint64
	// MeanRTT is the mean round trip of returned loops.
	MeanRTT time.Duration
	// Departures counts packets sent, by kind: "real", "fill" (an empty λP
	// slot), "drop", "loop".
	Departures map[string]uint64
	// Queued is the number of real packets waiting for a slot.
	Queued int
}

// StartCover starts the Loopix send loop; it runs until ctx ends or the
// client closes. From then on requests wait for a slot of the λP stream.
func (c *Client) StartCover(ctx context.Context, r Rates) error {
	if err := r.Validate(); err != nil {
		return err
	}
	cv := &cover{rates: r, queue: make(chan queued, realQueue), bulk: make(chan queued, realQueue), sent: map[string]uint64{}}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.cover != nil:
		c.mu.Unlock()
		return errors.New("client: cover traffic already running")
	}
	c.cover = cv
	c.wg.Add(1) // under mu, after the closed check: Close's Wait cannot miss it
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		c.coverLoop(ctx, cv)
	}()
	return nil
}

// LoopStats returns the loop statistics (zero without cover traffic).
func (c *Client) LoopStats() LoopStats {
	c.mu.Lock()
	cv := c.cover
	c.mu.Unlock()
	if cv == nil {
		return LoopStats{}
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	s := LoopStats{Sent: cv.sent["loop"], Returned: cv.loopsReturned, Departures: map[string]uint64{}, Queued: len(cv.queue) + len(cv.bulk)}
	for k, v := range cv.sent {
		s.Departures[k] = v
	}
	if cv.loopsReturned > 0 {
		s.MeanRTT = cv.loopRTT / time.Duration(cv.loopsReturned)
	}
	return s
}

// SetReceiveObserver registers f to be called with the time and size of
// every frame the client reads from its gateway.
func (c *Client) SetReceiveObserver(f func(at time.Time, size int)) {
	c.wmu.Lock()
	c.onRecv = f
	c.wmu.Unlock()
}

// SetSendObserver registers f to be called with the time and size of every
// frame the client writes to its gateway (tests measure departures with it).
func (c *Client) SetSendObserver(f func(at time.Time, size int)) {
	c.wmu.Lock()
	c.onSend = f
	c.wmu.Unlock()
}

// send hands a built packet to the link: directly without cover traffic,
// otherwise to the queue of the λP stream.
func (c *Client) send(ctx context.Context, pkt []byte) error {
	c.mu.Lock()
	cv := c.cover
	c.mu.Unlock()
	if cv == nil {
		return c.writeFrame(pkt)
	}
	q := cv.queue
	if isBackground(ctx) {
		q = cv.bulk
	}
	select {
	case q <- queued{pkt, ctx}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	default:
		return ErrQueueFull
	}
}

func (c *Client) writeFrame(pkt []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.stream == nil {
		return ErrOffline
	}
	if err := wire.WriteFrame(c.stream, pkt); err != nil {
		return err
	}
	if c.onSend != nil {
		c.onSend(time.Now(), len(pkt))
	}
	return nil
}

// Cover packets are built while waiting for the next event, so that at the
// event itself only a write remains: departures keep to the schedule even
// when building a packet takes a while. Building never waits past the next
// event (with no valid directory, the slot passes in silence, which an
// observer sees; it is logged).
const (
	// coverReplyWait is how long a loop or filler waits for its reply
	// before it is forgotten as lost.
	coverReplyWait = 10 * time.Minute
	// lateBuild bounds building a cover packet at its event, when the
	// spare was missing or entered by a gateway the client has left.
	lateBuild = 500 * time.Millisecond
)

// spare is a cover packet built ahead of its event.
type spare struct {
	pkt []byte
	id  [16]byte   // its pending reply (loops and fillers)
	gw  pki.NodeID // the gateway its path starts at
}

func (c *Client) coverLoop(ctx context.Context, cv *cover) {
	next := time.Now().Add(cv.rates.Interval())
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	kinds := []string{"fill", "drop"}
	if cv.rates.LambdaL > 0 {
		kinds = append(kinds, "loop")
	}
	spares := map[string]*spare{}
	defer func() {
		for _, s := range spares {
			c.discard(s)
		}
	}()
	// take returns the spare of kind, built again if it is missing or
	// enters by a gateway the client has left since (after a failover).
	take := func(kind string, deadline time.Time) *spare {
		s := spares[kind]
		spares[kind] = nil
		if _, gw := c.gw(); s != nil && s.gw == gw {
			return s
		}
		c.discard(s)
		bctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		s, err := c.buildCover(bctx, kind)
		if err != nil && ctx.Err() == nil {
			c.log.Debug("cover: build", "kind", kind, "err", err)
		}
		return s
	}
	lastSweep := time.Now()
	for {
		_, gw := c.gw()
		for _, k := range kinds {
			if spares[k] == nil || spares[k].gw != gw {
				spares[k] = take(k, next)
			}
		}
		if time.Since(lastSweep) > time.Minute {
			c.sweepCover()
			lastSweep = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-timer.C:
		}
		kind := cv.rates.Event(wire.Uniform())
		if kind == EventSlot {
			kind = "fill"
		}
		// A λP slot takes the filler whether or not a real packet goes in
		// its place: the filler is then built again before the next event,
		// and a late one is built at the event, for busy and idle clients
		// alike. (A real packet used to leave the filler in place, so a
		// busy client skipped fewer late events on a loaded machine: a
		// count an observer could see. Found by the real-code disclosure
		// attack of internal/anonymity.)
		s := take(kind, time.Now().Add(lateBuild))
		// A slot whose filler could not be built passes in silence for a
		// busy client too: a real packet sent where an idle client sends
		// nothing would tell them apart. It waits for the next slot.
		if kind == "fill" && s != nil {
			if pkt := cv.next(); pkt != nil {
				c.discard(s)
				kind, s = "real", &spare{pkt: pkt}
			}
		}
		if s != nil {
			c.departCover(ctx, cv, kind, s)
		}
		// The next event is drawn from the scheduled time, so the time spent
		// on this one does not bend the distribution; but after a stall (the
		// machine was busy) it is drawn from now, so that missed events are
		// skipped rather than sent in a burst, which would mark the client.
		if now := time.Now(); now.After(next) {
			next = now
		}
		next = next.Add(cv.rates.Interval())
		timer.Reset(time.Until(next))
	}
}

// departCover writes the packet of one event and counts it.
func (c *Client) departCover(ctx context.Context, cv *cover, kind string, s *spare) {
	if s.id != ([16]byte{}) {
		c.mu.Lock()
		if p, ok := c.pending[s.id]; ok {
			p.sent = time.Now()
		}
		c.mu.Unlock()
	}
	if err := c.writeFrame(s.pkt); err != nil {
		if ctx.Err() == nil {
			c.log.Debug("cover slot", "kind", kind, "err", err)
		}
		c.discard(s) // no reply can come for a packet that did not leave
		return
	}
	cv.mu.Lock()
	cv.sent[kind]++
	cv.mu.Unlock()
}

// buildCover builds a cover packet: a "drop", or an echo through a full
// path whose reply comes back to this client, a "loop" (counted in
// LoopStats) or a λP "fill" (its reply dropped).
func (c *Client) buildCover(ctx context.Context, kind string) (*spare, error) {
	_, gw := c.gw() // read first: a failover meanwhile makes the spare stale, never wrongly fresh
	if kind == "drop" {
		pkt, err := c.dropPacket(ctx)
		if err != nil {
			return nil, err
		}
		return &spare{pkt: pkt, gw: gw}, nil
	}
	pkt, surb, err := c.buildRequest(ctx, wire.OpEcho, nil)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.pending[surb.ID] = &pending{surb: surb, loop: kind == "loop", fill: kind == "fill"}
	c.mu.Unlock()
	return &spare{pkt: pkt, id: surb.ID, gw: gw}, nil
}

// discard forgets the pending reply of a cover packet that will not leave.
func (c *Client) discard(s *spare) {
	if s == nil || s.id == ([16]byte{}) {
		return
	}
	c.mu.Lock()
	delete(c.pending, s.id)
	c.mu.Unlock()
}

// sweepCover forgets the loops and fillers whose reply has not come within
// coverReplyWait: they were lost.
func (c *Client) sweepCover() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, p := range c.pending {
		if (p.loop || p.fill) && !p.sent.IsZero() && time.Since(p.sent) > coverReplyWait {
			delete(c.pending, id)
		}
	}
}

// dropPacket builds a packet an exit discards: the same size and path shape
// as any other.
func (c *Client) dropPacket(ctx context.Context) ([]byte, error) {
	dir, epoch, err := c.currentDirectory(ctx)
	if err != nil {
		return nil, err
	}
	_, gwID := c.gw()
	gw, ok := dir.Lookup(gwID)
	if !ok {
		return nil, errors.New("client: gateway left the directory")
	}
	route, err := pki.RandomRoute(dir, gw.NodeID)
	if err != nil {
		return nil, err
	}
	hops, err := pki.HopsFor(epoch, c.Params().Mu, gw, route[0], route[1], route[2])
	if err != nil {
		return nil, err
	}
	payload, err := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	if err != nil {
		return nil, err
	}
	return wire.NewForward(c.sphinx, hops, payload)
}

// coverReturned records the reply of a loop (its round trip counts in
// LoopStats); the reply of a filler is dropped.
func (c *Client) coverReturned(p *pending) {
	c.mu.Lock()
	cv := c.cover
	c.mu.Unlock()
	if cv == nil || !p.loop {
		return
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	cv.loopsReturned++
	cv.loopRTT += time.Since(p.sent)
}

// SlotInterval is the mean time between slots of the λP stream that carries
// requests (1/λP), or 0 without cover traffic (requests leave at once).
func (c *Client) SlotInterval() time.Duration {
	c.mu.Lock()
	cv := c.cover
	c.mu.Unlock()
	if cv == nil || cv.rates.LambdaP <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / cv.rates.LambdaP)
}
