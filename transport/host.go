// Package transport builds the libp2p hosts that clients and mix nodes
// speak over: libp2p's default transports (TCP by default), Noise or TLS
// security, no relay, and the resource-manager policy that bounds what a
// peer can make a host hold. Tor lives in the onion subpackage.
package transport

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// DialTimeout is short so that dead peers do not stall lookups for long.
const DialTimeout = 3 * time.Second

// Option adjusts a host built by NewHost.
type Option func(*hostOptions)

type hostOptions struct {
	metrics prometheus.Registerer
}

// WithMetrics exports the host's resource-manager metrics (libp2p_rcmgr_*)
// through reg; nil means none, as without the option. libp2p keeps these
// metrics in package-level collectors: every host built with WithMetrics in
// one process reports into the same series, so give it to at most one host
// per process if the values are to describe that host. Hosts built without
// it report nothing there and do not pay for the tracing.
//
// The rest of libp2p's metrics (swarm, identify, event bus) stay disabled.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *hostOptions) { o.metrics = reg }
}

// NewHost builds a libp2p host with the given identity: libp2p's default
// transports (the listen addresses choose which are used; TCP by default),
// Noise or TLS security, no relay. Its resource manager enforces real limits
// (see limits.go and docs/operations.md, "Resource limits"): a listening host
// gets libp2p's limits scaled to the machine, raised for inbound connections
// so that a gateway can serve many clients, with stream caps per peer and
// per protocol for the kad and set protocols, and per-IP connection limits
// above libp2p's (loopback unlimited); a host without listen addresses (a
// client) gets libp2p's base limits.
func NewHost(identity ed25519.PrivateKey, listen, announce []string, options ...Option) (host.Host, error) {
	var ho hostOptions
	for _, o := range options {
		o(&ho)
	}
	var opts []libp2p.Option
	if identity != nil {
		priv, err := crypto.UnmarshalEd25519PrivateKey(identity)
		if err != nil {
			return nil, fmt.Errorf("transport: identity: %w", err)
		}
		opts = append(opts, libp2p.Identity(priv))
	}
	rmOpts := resourceManagerOptions()
	if ho.metrics != nil {
		if err := registerRcmgr(ho.metrics); err != nil {
			return nil, err
		}
		// The resource manager would add this reporter by itself (it adds
		// one unless WithMetricsDisabled); named here so that the metrics
		// do not depend on that default.
		sr, err := rcmgr.NewStatsTraceReporter()
		if err != nil {
			return nil, fmt.Errorf("transport: resource-manager metrics: %w", err)
		}
		rmOpts = append(rmOpts, rcmgr.WithTraceReporter(sr))
	} else {
		rmOpts = append(rmOpts, rcmgr.WithMetricsDisabled())
	}
	limits := serverLimits()
	if len(listen) == 0 {
		limits = clientLimits()
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), rmOpts...)
	if err != nil {
		return nil, fmt.Errorf("transport: resource manager: %w", err)
	}
	opts = append(opts,
		libp2p.ListenAddrStrings(listen...),
		libp2p.DefaultTransports,
		libp2p.DisableRelay(),
		libp2p.ResourceManager(rm),
		libp2p.WithDialTimeout(DialTimeout),
		libp2p.DisableMetrics(), // all but the resource manager's; see WithMetrics
	)
	if len(listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	if len(announce) > 0 {
		var mas []multiaddr.Multiaddr
		for _, a := range announce {
			m, err := multiaddr.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("transport: announce address %q: %w", a, err)
			}
			mas = append(mas, m)
		}
		opts = append(opts, libp2p.AddrsFactory(func([]multiaddr.Multiaddr) []multiaddr.Multiaddr { return mas }))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("transport: libp2p host: %w", err)
	}
	return h, nil
}

// registerRcmgr registers libp2p's resource-manager collectors with reg.
// rcmgr.MustRegisterWith ignores collectors reg already holds (a second
// host on the same registry) and panics on any other conflict, such as a
// different collector of the same name; that panic becomes an error.
func registerRcmgr(reg prometheus.Registerer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("transport: resource-manager metrics: %v", r)
		}
	}()
	rcmgr.MustRegisterWith(reg)
	return nil
}

// ParsePeers parses multiaddrs that end in /p2p/<id>.
func ParsePeers(addrs []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, a := range addrs {
		ai, err := peer.AddrInfoFromString(a)
		if err != nil {
			return nil, fmt.Errorf("peer address %q: %w", a, err)
		}
		out = append(out, *ai)
	}
	return out, nil
}
