package onion

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cretz/bine/torutil"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"golang.org/x/net/proxy"
)

// VirtualPort is the onion service port of every Komrade node: a node
// descriptor carries only the onion address, and clients connect to this
// port.
const VirtualPort = 7700

// DialTimeout bounds one connection attempt through Tor (building a
// rendezvous circuit to an onion service takes a few seconds on the public
// network, more on a slow one).
const DialTimeout = 60 * time.Second

// Multiaddr returns the /onion3 multiaddr of an onion service.
func Multiaddr(id string, port int) (ma.Multiaddr, error) {
	if err := CheckServiceID(id); err != nil {
		return nil, err
	}
	return ma.NewMultiaddr("/onion3/" + id + ":" + strconv.Itoa(port))
}

// CheckServiceID reports whether id is a well-formed v3 onion address
// (56 base32 characters, without ".onion", with a valid checksum).
func CheckServiceID(id string) error {
	if len(id) != 56 {
		return fmt.Errorf("onion: %q is not a v3 onion address (want 56 characters without .onion)", id)
	}
	if _, err := torutil.PublicKeyFromV3OnionServiceID(id); err != nil {
		return fmt.Errorf("onion: %q is not a v3 onion address: %v", id, err)
	}
	return nil
}

// IsOnion reports whether m is an /onion3 address (optionally with /p2p/).
func IsOnion(m ma.Multiaddr) bool {
	if len(m) == 0 {
		return false
	}
	return m[0].Code() == ma.P_ONION3
}

// splitOnion returns "id.onion" and the port of an /onion3 multiaddr.
func splitOnion(m ma.Multiaddr) (host string, port int, err error) {
	v, err := m.ValueForProtocol(ma.P_ONION3)
	if err != nil {
		return "", 0, err
	}
	id, ps, ok := strings.Cut(v, ":")
	if !ok {
		return "", 0, fmt.Errorf("onion: %s has no port", m)
	}
	if err := CheckServiceID(id); err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(ps)
	if err != nil {
		return "", 0, fmt.Errorf("onion: %s: bad port", m)
	}
	return id + ".onion", port, nil
}

// Transport is a libp2p transport for /onion3 multiaddrs: it opens a
// stream through tor's SOCKS port to the onion service and hands the
// connection to libp2p's upgrader, which runs the security handshake
// (Noise or TLS, authenticating the remote peer id) and the stream muxer.
// It cannot listen: a node publishes its onion service through tor
// (Tor.Serve), which forwards to the node's ordinary TCP listener.
type Transport struct {
	upgrader transport.Upgrader
	rcmgr    network.ResourceManager
	dialer   proxy.ContextDialer
}

var _ transport.Transport = (*Transport)(nil)

// NewTransport returns a constructor for libp2p.Transport that dials
// through d (see Tor.Dialer).
func NewTransport(d proxy.ContextDialer) func(transport.Upgrader, network.ResourceManager) (*Transport, error) {
	return func(u transport.Upgrader, rcmgr network.ResourceManager) (*Transport, error) {
		if rcmgr == nil {
			rcmgr = &network.NullResourceManager{}
		}
		return &Transport{upgrader: u, rcmgr: rcmgr, dialer: d}, nil
	}
}

// CanDial reports whether addr is a bare /onion3 address.
func (t *Transport) CanDial(addr ma.Multiaddr) bool {
	return len(addr) == 1 && addr[0].Code() == ma.P_ONION3
}

// Dial connects to the onion service at raddr through tor and upgrades the
// connection, authenticating the remote as p. The resource manager scope is
// opened first, as libp2p's TCP transport does, and released on failure.
func (t *Transport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	scope, err := t.rcmgr.OpenConnection(network.DirOutbound, true, raddr)
	if err != nil {
		return nil, fmt.Errorf("onion: resource manager: %w", err)
	}
	c, err := t.dialWithScope(ctx, raddr, p, scope)
	if err != nil {
		scope.Done()
		return nil, err
	}
	return c, nil
}

func (t *Transport) dialWithScope(ctx context.Context, raddr ma.Multiaddr, p peer.ID, scope network.ConnManagementScope) (transport.CapableConn, error) {
	if err := scope.SetPeer(p); err != nil {
		return nil, fmt.Errorf("onion: resource manager: %w", err)
	}
	host, port, err := splitOnion(raddr)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	nc, err := t.dialer.DialContext(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, dialError(host, port, err)
	}
	laddr, err := manet.FromNetAddr(nc.LocalAddr())
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("onion: local address: %w", err)
	}
	c := &conn{Conn: nc, laddr: laddr, raddr: raddr}
	// Upgrade closes the connection and releases the scope on failure.
	return t.upgrader.Upgrade(ctx, t, c, network.DirOutbound, p, scope)
}

// Listen always fails: see the type's documentation.
func (t *Transport) Listen(laddr ma.Multiaddr) (transport.Listener, error) {
	return nil, errors.New("onion: the onion transport cannot listen; a node serves an onion service through tor (config onion = true)")
}

// Protocols returns the /onion3 protocol code.
func (t *Transport) Protocols() []int { return []int{ma.P_ONION3} }

// Proxy reports that the transport reaches peers through a proxy.
func (t *Transport) Proxy() bool { return true }

func (t *Transport) String() string { return "onion3" }

// conn is a connection through tor with multiaddrs for libp2p: the local
// end of the SOCKS connection and the onion address dialled.
type conn struct {
	net.Conn
	laddr, raddr ma.Multiaddr
}

func (c *conn) LocalMultiaddr() ma.Multiaddr  { return c.laddr }
func (c *conn) RemoteMultiaddr() ma.Multiaddr { return c.raddr }

// socksReasons are tor's SOCKS5 replies, including its extended errors for
// onion services (tor proposal 304, SocksPort flag ExtendedErrors).
var socksReasons = map[int]string{
	1:    "general failure in tor",
	4:    "host unreachable: the service is not running, not yet published, or tor cannot reach it",
	5:    "connection refused by the onion service",
	6:    "circuit timed out",
	0xF0: "onion service descriptor not found: the service is not running, or not yet published",
	0xF1: "onion service descriptor is invalid",
	0xF2: "introduction to the onion service failed",
	0xF3: "rendezvous with the onion service failed",
	0xF4: "onion service needs client authorization",
	0xF5: "onion service rejected the client authorization",
	0xF6: "bad onion address",
	0xF7: "introduction to the onion service timed out",
}

var (
	socksCodeRE = regexp.MustCompile(`unknown code: (\d+)`)
	socksTextRE = map[string]int{
		"general SOCKS server failure": 1,
		"host unreachable":             4,
		"connection refused":           5,
		"TTL expired":                  6,
	}
)

// DialError is returned when an onion service cannot be reached through
// tor.
type DialError struct {
	// Addr is "id.onion:port".
	Addr string
	// Reason explains the failure in words.
	Reason string
	// Err is the underlying error.
	Err error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("onion: %s does not answer through Tor: %s (%v)", e.Addr, e.Reason, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// dialError turns a SOCKS error into a DialError that says why.
func dialError(host string, port int, err error) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var oe *net.OpError
	if errors.As(err, &oe) {
		var inner *net.OpError
		if errors.As(oe.Err, &inner) && inner.Op == "dial" {
			return fmt.Errorf("onion: cannot reach tor's SOCKS port (is tor still running?): %w", err)
		}
	}
	reason := "tor could not connect"
	msg := err.Error()
	if m := socksCodeRE.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		if r, ok := socksReasons[code]; ok {
			reason = r
		}
	} else {
		for text, code := range socksTextRE {
			if strings.Contains(msg, text) {
				reason = socksReasons[code]
			}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "no answer before the deadline"
	}
	return &DialError{Addr: addr, Reason: reason, Err: err}
}

// NewHost builds a libp2p host for a client whose only transport is
// Transport over d: it dials /onion3 addresses through tor and nothing
// else, so it never connects to anyone directly. It has a fresh identity
// (the client's per-session peer id) and no listener.
func NewHost(d proxy.ContextDialer) (host.Host, error) {
	h, err := libp2p.New(
		libp2p.Transport(NewTransport(d)),
		libp2p.NoListenAddrs,
		libp2p.DisableRelay(),
		libp2p.WithDialTimeout(DialTimeout),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		return nil, fmt.Errorf("onion: libp2p host: %w", err)
	}
	return h, nil
}
