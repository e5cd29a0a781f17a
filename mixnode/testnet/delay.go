package testnet

// Slow links for a test network (Options.Delay). Each node gets a TCP proxy
// on 127.0.0.1 that holds every chunk of bytes it relays, in either
// direction, for a time drawn uniformly from [Min, Max] before writing it
// on, in order. The node announces the proxy's address instead of its own
// (config announce_addrs), so every peer that reaches it — its clients, the
// other nodes' mix links and DHT — goes through the proxy; a connection
// that a node opens goes through the proxy of the node it dials. Every
// connection between two parties therefore crosses exactly one proxy, and
// every byte of it is late by 50–150 ms (say) one way: real latency on real
// TCP connections, with nothing else changed.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Delay is the one-way latency that Options.Delay adds to every link: each
// chunk of bytes read from a connection is written on after a time drawn
// uniformly from [Min, Max], never before the chunk ahead of it (bytes are
// late, never reordered). The zero Delay adds none.
type Delay struct {
	Min, Max time.Duration
}

func (d Delay) on() bool { return d.Max > 0 }

func (d Delay) validate() error {
	if d.Min < 0 || d.Max < d.Min {
		return fmt.Errorf("testnet: delay [%v, %v] is not a range", d.Min, d.Max)
	}
	return nil
}

// draw returns one chunk's latency.
func (d Delay) draw() time.Duration {
	if d.Max == d.Min {
		return d.Min
	}
	return d.Min + rand.N(d.Max-d.Min+1)
}

// chunkSize bounds what one read takes from a connection, and so what one
// draw of the delay covers.
const chunkSize = 32 << 10

// pipeDepth bounds the chunks held per direction: a sender that outruns it
// waits, as it would for a full TCP window.
const pipeDepth = 256

// delayProxy relays TCP connections from its listener to a node's address,
// holding the bytes of each direction for Delay.
type delayProxy struct {
	ln    net.Listener
	delay Delay

	mu     sync.Mutex
	target string // the node's address (host:port); "" while it is stopped
	conns  map[*relay]struct{}
	dialed map[string]bool // local addresses of the proxy's connections to its node
	closed bool

	done chan struct{}
	wg   sync.WaitGroup
}

// listenDelayProxy starts a proxy on addr (host:port, port 0 for any).
func listenDelayProxy(addr string, d Delay) (*delayProxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testnet: delay proxy: %w", err)
	}
	p := &delayProxy{ln: ln, delay: d, conns: map[*relay]struct{}{}, dialed: map[string]bool{}, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.acceptLoop()
	}()
	return p, nil
}

// Addr is the proxy's address, host:port.
func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// setTarget points the proxy at the node's real address ("" while the node
// is stopped: connections are then refused by closing them).
func (p *delayProxy) setTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// isDialed reports whether addr is the local end of one of the proxy's
// connections to its node: seen from the node, a peer that came through
// the proxy has this address.
func (p *delayProxy) isDialed(addr string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dialed[addr]
}

func (p *delayProxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// serve dials the node for the accepted connection c and relays both ways
// until either side ends.
func (p *delayProxy) serve(c net.Conn) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == "" {
		c.Close()
		return
	}
	d, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	r := &relay{a: c, b: d, dead: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		r.kill()
		return
	}
	p.conns[r] = struct{}{}
	p.dialed[d.LocalAddr().String()] = true
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(c, d, p.delay, p.done) }()
	go func() { defer wg.Done(); r.pipe(d, c, p.delay, p.done) }()
	wg.Wait()
	r.kill()
	p.mu.Lock()
	delete(p.conns, r)
	// The address stays in dialed: the node may still hold the
	// connection's end for a moment, and a later connection cannot reuse
	// the port while this one is in TIME_WAIT on our side.
	p.mu.Unlock()
}

// Close stops the proxy and ends every connection through it.
func (p *delayProxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	rs := make([]*relay, 0, len(p.conns))
	for r := range p.conns {
		rs = append(rs, r)
	}
	p.mu.Unlock()
	close(p.done)
	err := p.ln.Close()
	for _, r := range rs {
		r.kill()
	}
	p.wg.Wait()
	return err
}

// relay is one proxied connection: a (the peer's) and b (to the node).
type relay struct {
	a, b net.Conn
	once sync.Once
	dead chan struct{}
}

func (r *relay) kill() {
	r.once.Do(func() {
		close(r.dead)
		r.a.Close()
		r.b.Close()
	})
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk held for a draw of d and never written
// before the one ahead of it. At src's end (EOF) it writes what it holds
// and closes dst for writing; at an error it ends the whole relay.
func (r *relay) pipe(src, dst net.Conn, d Delay, stop <-chan struct{}) {
	ch := make(chan chunk, pipeDepth)
	readErr := make(chan error, 1)
	go func() { // owned by pipe, which waits for readErr
		defer close(ch)
		var last time.Time
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				due := time.Now().Add(d.draw())
				if due.Before(last) {
					due = last
				}
				last = due
				select {
				case ch <- chunk{buf[:n], due}:
				case <-r.dead:
					readErr <- net.ErrClosed
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	t := time.NewTimer(0)
	defer t.Stop()
	for c := range ch {
		if wait := time.Until(c.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-r.dead:
				r.drain(ch)
				<-readErr
				return
			case <-stop:
				r.kill()
				r.drain(ch)
				<-readErr
				return
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			r.kill()
			r.drain(ch)
			<-readErr
			return
		}
	}
	if err := <-readErr; !errors.Is(err, io.EOF) {
		r.kill()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// drain empties ch until its reader (unblocked by a killed relay) closes it.
func (r *relay) drain(ch <-chan chunk) {
	for range ch {
	}
}

// multiaddr is the proxy's address as a libp2p multiaddr.
func (p *delayProxy) multiaddr() string {
	a := p.ln.Addr().(*net.TCPAddr)
	return fmt.Sprintf("/ip4/%s/tcp/%d", a.IP, a.Port)
}
