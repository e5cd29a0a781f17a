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
	"github.com/libp2p/go-libp2p/x/rate"
	"github.com/multiformats/go-multiaddr"
)

// DialTimeout is short so that dead peers do not stall lookups for long.
const DialTimeout = 3 * time.Second

// NewHost builds a libp2p host with the given identity: libp2p's default
// transports (the listen addresses choose which are used; TCP by default),
// Noise or TLS security, no relay, per-IP connection limits lifted so that a gateway
// can serve many clients behind one address.
func NewHost(identity ed25519.PrivateKey, listen, announce []string) (host.Host, error) {
	var opts []libp2p.Option
	if identity != nil {
		priv, err := crypto.UnmarshalEd25519PrivateKey(identity)
		if err != nil {
			return nil, fmt.Errorf("transport: identity: %w", err)
		}
		opts = append(opts, libp2p.Identity(priv))
	}
	rm, err := rcmgr.NewResourceManager(
		rcmgr.NewFixedLimiter(rcmgr.InfiniteLimits),
		rcmgr.WithLimitPerSubnet([]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: 4096}},
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: 4096}}),
		rcmgr.WithConnRateLimiters(&rate.Limiter{}),
	)
	if err != nil {
		return nil, fmt.Errorf("transport: resource manager: %w", err)
	}
	opts = append(opts,
		libp2p.ListenAddrStrings(listen...),
		libp2p.DefaultTransports,
		libp2p.DisableRelay(),
		libp2p.ResourceManager(rm),
		libp2p.WithDialTimeout(DialTimeout),
		libp2p.DisableMetrics(),
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
