package mixnode

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Every node is a gateway: it accepts client links, feeds their packets into
// its own processing as the first hop, and hands SURB replies whose final
// Recipient command names a connected client back over that client's link.
//
// A client's queue id is wire.QueueID of its libp2p peer id, which the
// link's Noise/TLS handshake authenticates: no one else can take over the
// queue. Clients use a fresh peer id per session.

// clientTable maps queue ids to connected client links.
type clientTable struct {
	mu      sync.Mutex
	clients map[[32]byte]*clientLink
	closed  bool
}

type clientLink struct {
	ch     chan []byte
	cancel context.CancelFunc
}

func newClientTable() *clientTable { return &clientTable{clients: map[[32]byte]*clientLink{}} }

func (t *clientTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for q, c := range t.clients {
		c.cancel()
		delete(t.clients, q)
	}
}

// handleClient serves one client link: a writer goroutine drains the
// client's bounded delivery buffer while this one reads packets into the
// client's own queue of the fair queue (fair.go).
func (n *Node) handleClient(s network.Stream) {
	q := wire.QueueID(s.Conn().RemotePeer())
	ctx, cancel := context.WithCancel(n.ctx)
	c := &clientLink{ch: make(chan []byte, n.cfg.ClientBuffer), cancel: cancel}
	n.clients.mu.Lock()
	if n.clients.closed {
		n.clients.mu.Unlock()
		cancel()
		s.Reset()
		return
	}
	if old, ok := n.clients.clients[q]; ok {
		old.cancel() // a reconnect replaces the old link
	}
	n.clients.clients[q] = c
	n.clients.mu.Unlock()
	defer func() {
		cancel()
		n.clients.mu.Lock()
		if n.clients.clients[q] == c {
			delete(n.clients.clients, q)
		}
		n.clients.mu.Unlock()
	}()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				s.Reset() // unblocks the reader below
				return
			case f := <-c.ch:
				if err := wire.WriteFrame(s, f); err != nil {
					s.Reset()
					cancel()
					return
				}
				n.metrics.Delivered.Add(1)
				if testseam.Observing() { // anonymity tests only
					testseam.Frame(s.Conn().LocalPeer(), s.Conn().RemotePeer(), f)
				}
			}
		}
	}()
	cq := new(clientQueue)
	n.readFrames(s, &n.metrics.ReceivedClient, clientIdle, func(pkt []byte) {
		if !n.fair.push(cq, pkt) {
			n.metrics.drop(DropClientQueueFull) // only this client loses
		}
	})
	cancel()
	<-done
}

// deliver hands a SURB reply to the connected client with queue id q.
func (n *Node) deliver(q [32]byte, surbID [16]byte, payload []byte) {
	f, err := wire.EncodeDelivery(surbID, payload)
	if err != nil {
		n.metrics.drop(DropBadCommands)
		return
	}
	n.clients.mu.Lock()
	c, ok := n.clients.clients[q]
	n.clients.mu.Unlock()
	if !ok {
		n.metrics.drop(DropNoClient)
		return
	}
	select {
	case c.ch <- f:
	default:
		n.metrics.drop(DropClientFull)
	}
}

// directoryResponse returns the current directory and its encoded
// response (nil, nil before the first build).
func (n *Node) directoryResponse() (*pki.Directory, []byte) {
	n.dirMu.RLock()
	defer n.dirMu.RUnlock()
	return n.dir, n.dirResp
}

// handleDirectory serves the node's current directory: a 4-byte big-endian
// length and a pki.Response. Length 0 means the node has no directory
// yet.
func (n *Node) handleDirectory(s network.Stream) {
	defer s.Close()
	s.SetDeadline(time.Now().Add(30 * time.Second))
	dir, body := n.directoryResponse()
	if (dir == nil || dir.Epoch != n.clock.Current()) && n.refreshLimiter.Allow() {
		// A new epoch began: serve a directory built for it, so that every
		// descriptor carries a key for the epoch the client builds with.
		ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
		if err := n.RefreshDirectory(ctx); err != nil {
			n.log.Debug("directory refresh for a client", "err", err)
		}
		cancel()
		_, body = n.directoryResponse()
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	if _, err := s.Write(hdr[:]); err != nil {
		s.Reset()
		return
	}
	if _, err := s.Write(body); err != nil {
		s.Reset()
	}
}
