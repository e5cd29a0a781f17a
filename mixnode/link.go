package mixnode

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/komrade-net/komrade/internal/backoff"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Link protocols, defined in package wire so clients share them.
const (
	MixProtocol       = wire.MixProtocol
	ClientProtocol    = wire.ClientProtocol
	DirectoryProtocol = wire.DirectoryProtocol
)

const (
	linkBuffer     = 1024
	backoffMin     = 50 * time.Millisecond
	backoffMax     = 10 * time.Second
	streamOpenTime = 5 * time.Second
)

func (n *Node) registerHandlers() {
	h := n.dht.Host
	h.SetStreamHandler(MixProtocol, n.handleMix)
	h.SetStreamHandler(ClientProtocol, n.handleClient)
	h.SetStreamHandler(DirectoryProtocol, n.handleDirectory)
	h.SetStreamHandler(NetworkProtocol, n.handleNetwork)
}

func (n *Node) removeHandlers() {
	h := n.dht.Host
	h.RemoveStreamHandler(MixProtocol)
	h.RemoveStreamHandler(ClientProtocol)
	h.RemoveStreamHandler(DirectoryProtocol)
	h.RemoveStreamHandler(NetworkProtocol)
}

// handleMix reads frames from another mix node until the stream ends. Only
// known nodes (recent directory views, or learnt by learnPeer) may open a mix link;
// clients use the client protocol.
func (n *Node) handleMix(s network.Stream) {
	defer s.Close()
	p := s.Conn().RemotePeer()
	if !n.knownPeer(p) && !n.learnPeer(p) {
		n.metrics.drop(DropUnknownPeer)
		s.Reset()
		return
	}
	if !n.mixStreams.acquire(p) {
		s.Reset() // a node needs one inbound link; a few allow for reopening
		return
	}
	defer n.mixStreams.release(p)
	n.readFrames(s, &n.metrics.ReceivedMix, mixIdle, n.submit)
}

// Idle links: a client link on which no frame arrives for clientIdle, or
// a mix link for mixIdle, is closed. A client's cover traffic sends a frame
// every fraction of a second, and a node's links carry loops and cover; a
// link that stays silent only holds memory. Senders reopen a link when they
// next need it.
const (
	clientIdle = 2 * time.Minute
	mixIdle    = 5 * time.Minute
	// maxMixStreams is the most inbound mix links one peer may hold.
	maxMixStreams = 4
)

// streamCount caps concurrent streams per peer.
type streamCount struct {
	mu sync.Mutex
	n  map[peer.ID]int
}

func (c *streamCount) acquire(p peer.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[peer.ID]int{}
	}
	if c.n[p] >= maxMixStreams {
		return false
	}
	c.n[p]++
	return true
}

func (c *streamCount) release(p peer.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[p]--; c.n[p] <= 0 {
		delete(c.n, p)
	}
}

type counter interface{ Add(uint64) uint64 }

// readFrames reads whole frames and hands each to submit; a partial frame
// ends the stream and is counted, never processed, and so does a silence
// longer than idle.
func (n *Node) readFrames(s network.Stream, recv counter, idle time.Duration, submit func([]byte)) {
	for {
		buf := make([]byte, wire.PacketLength)
		s.SetReadDeadline(time.Now().Add(idle))
		if err := wire.ReadFrame(s, buf); err != nil {
			if errors.Is(err, wire.ErrTruncatedFrame) && n.ctx.Err() == nil {
				n.metrics.drop(DropTruncated)
			}
			if !errors.Is(err, io.EOF) {
				s.Reset()
			}
			return
		}
		recv.Add(1)
		if testseam.Observing() { // anonymity tests only
			testseam.Frame(s.Conn().RemotePeer(), s.Conn().LocalPeer(), buf)
		}
		submit(buf)
	}
}

// linkPool keeps one outbound stream per next-hop node, reopened with
// exponential backoff when it breaks. Each link has a bounded buffer; a full
// buffer drops the packet and counts it.
type linkPool struct {
	n      *Node
	mu     sync.Mutex
	links  map[peer.ID]*link
	closed bool
}

type link struct {
	ch     chan []byte
	cancel context.CancelFunc
}

func newLinkPool(n *Node) *linkPool { return &linkPool{n: n, links: map[peer.ID]*link{}} }

// send queues pkt for the node described by ai.
func (p *linkPool) send(ai peer.AddrInfo, pkt []byte) {
	p.mu.Lock()
	l, ok := p.links[ai.ID]
	if !ok {
		if p.closed {
			p.mu.Unlock()
			p.n.metrics.drop(DropShuttingDown)
			return
		}
		ctx, cancel := context.WithCancel(p.n.ctx)
		l = &link{ch: make(chan []byte, linkBuffer), cancel: cancel}
		p.links[ai.ID] = l
		p.n.dht.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		p.n.wg.Add(1)
		go func() {
			defer p.n.wg.Done()
			p.run(ctx, ai.ID, l)
		}()
	}
	p.mu.Unlock()
	select {
	case l.ch <- pkt:
	default:
		p.n.metrics.drop(DropLinkFull)
	}
}

// run owns one outbound link: it opens the stream, writes frames, and on any
// error reopens it after a growing backoff. A stream breaks without notice
// when the next hop restarts, so the first write after that fails: the
// packet of that write gets one more try on the new stream (the next hop's
// replay cache drops it should the failed write have reached it after all).
func (p *linkPool) run(ctx context.Context, pid peer.ID, l *link) {
	bo := backoff.Backoff{Min: backoffMin, Max: backoffMax}
	var held []byte
	for ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, streamOpenTime)
		s, err := p.n.dht.Host.NewStream(network.WithAllowLimitedConn(octx, "mix"), pid, MixProtocol)
		cancel()
		if err != nil {
			if held != nil {
				p.n.metrics.drop(DropLinkError)
				held = nil
			}
			wait := bo.Next()
			p.n.log.Debug("mix link open failed", "peer", pid, "err", err, "retry_in", wait)
			if backoff.Sleep(ctx, wait) != nil {
				return
			}
			continue
		}
		bo.Reset()
		held, err = p.write(ctx, s, l, held)
		if err != nil {
			s.Reset()
		} else {
			s.Close()
		}
	}
}

// write sends held (a packet whose write failed on the previous stream),
// then frames from the link's queue, until ctx ends or a write fails. It
// returns the packet of a failed write for one more try, or drops it if it
// was already the retry.
func (p *linkPool) write(ctx context.Context, s network.Stream, l *link, held []byte) ([]byte, error) {
	pkt, retry := held, held != nil
	for {
		if pkt == nil {
			select {
			case <-ctx.Done():
				return nil, nil
			case pkt = <-l.ch:
			}
		}
		if err := wire.WriteFrame(s, pkt); err != nil {
			p.n.log.Debug("mix link write failed", "peer", s.Conn().RemotePeer(), "err", err, "retry", !retry)
			if retry {
				p.n.metrics.drop(DropLinkError)
				return nil, err
			}
			return pkt, err
		}
		p.n.metrics.Forwarded.Add(1)
		pkt, retry = nil, false
	}
}

// prune closes links to nodes no longer known.
func (p *linkPool) prune(known map[pki.NodeID]knownNode) {
	keep := map[peer.ID]bool{}
	for _, k := range known {
		keep[k.ai.ID] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for pid, l := range p.links {
		if !keep[pid] {
			l.cancel()
			delete(p.links, pid)
		}
	}
}

func (p *linkPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for pid, l := range p.links {
		l.cancel()
		delete(p.links, pid)
	}
}
