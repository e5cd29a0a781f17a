package transport

import (
	"math"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/x/rate"
)

// Protocols the resource-manager policy names. The packages that speak
// them (dht, dht/sets) sit above transport; their tests check that these
// stay equal to their own constants.
const (
	// KadProtocol is the Komrade kad-dht protocol (dht.ProtocolPrefix +
	// "/kad/1.0.0").
	KadProtocol protocol.ID = "/komrade/kad/1.0.0"
	// SetProtocol is the replicated set protocol (sets.ProtocolID).
	SetProtocol protocol.ID = "/komrade/set/1.0.0"
)

// Per-peer and per-protocol stream limits. See docs/operations.md,
// "Resource limits", for why each has its value.
const (
	// KadStreamsPerPeer bounds one peer's concurrent inbound kad streams.
	// kad-dht keeps one stream per peer for its requests (two with the
	// dht package's own messenger); a few more cover reconnects.
	KadStreamsPerPeer = 16
	// KadStreams bounds inbound kad streams from all peers together.
	KadStreams = 1024
	// SetStreamsPerPeer and SetStreams do the same for set streams: one
	// request per stream, a handful in flight per replicating peer. The
	// set service has its own, lower, caps (sets.Options).
	SetStreamsPerPeer = 16
	SetStreams        = 512

	// ConnsPerIPv4 is the most connections from one IPv4 address
	// (libp2p's default is 8). It is high so that many clients behind one
	// NAT can use one gateway; loopback (a local testnet, clients arriving
	// through the node's own onion service) is not limited by it.
	ConnsPerIPv4 = 256
	// ConnsPerIPv6 is the same for one /56; ConnsPerIPv6Net for one /48.
	ConnsPerIPv6    = 256
	ConnsPerIPv6Net = 1024
)

// serverLimits is the limit configuration of a host that listens: libp2p's
// default scaling limits (scaled to an eighth of the machine's memory and
// half its file descriptors), with more inbound connections at the system
// level, so that a gateway can hold many clients, and the Komrade protocols'
// own stream caps.
func serverLimits() rcmgr.ConcreteLimitConfig {
	cfg := rcmgr.DefaultLimits // a copy; its maps are nil
	libp2p.SetDefaultServiceLimits(&cfg)
	// A gateway's clients each hold one connection: 1024 + 1024/GiB
	// scaled instead of 64 + 64/GiB. Outbound stays libp2p's.
	cfg.SystemBaseLimit.ConnsInbound = 1024
	cfg.SystemBaseLimit.Conns = 1024 + cfg.SystemBaseLimit.ConnsOutbound
	cfg.SystemLimitIncrease.ConnsInbound = 1024
	cfg.SystemLimitIncrease.Conns = 1024 + cfg.SystemLimitIncrease.ConnsOutbound
	cfg.SystemBaseLimit.FD = max(cfg.SystemBaseLimit.FD, 1024)
	// Connections still negotiating security and muxer (the transient
	// scope) are bounded as libp2p does; so is everything per peer.
	addProtoLimits(&cfg)
	return cfg.AutoScale()
}

// clientLimits is the limit configuration of a host without a listener (a
// client): libp2p's defaults at their base values, which are far above what
// a client uses and bound what a gateway can make it hold.
func clientLimits() rcmgr.ConcreteLimitConfig {
	cfg := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&cfg)
	addProtoLimits(&cfg)
	return cfg.Scale(0, 0) // base limits only
}

func addProtoLimits(cfg *rcmgr.ScalingLimitConfig) {
	none := rcmgr.BaseLimitIncrease{}
	cfg.AddProtocolLimit(KadProtocol,
		rcmgr.BaseLimit{StreamsInbound: KadStreams, StreamsOutbound: 4096, Streams: KadStreams + 4096, Memory: 256 << 20}, none)
	cfg.AddProtocolPeerLimit(KadProtocol,
		rcmgr.BaseLimit{StreamsInbound: KadStreamsPerPeer, StreamsOutbound: 64, Streams: KadStreamsPerPeer + 64, Memory: 16 << 20}, none)
	cfg.AddProtocolLimit(SetProtocol,
		rcmgr.BaseLimit{StreamsInbound: SetStreams, StreamsOutbound: 1024, Streams: SetStreams + 1024, Memory: 256 << 20}, none)
	cfg.AddProtocolPeerLimit(SetProtocol,
		rcmgr.BaseLimit{StreamsInbound: SetStreamsPerPeer, StreamsOutbound: 64, Streams: SetStreamsPerPeer + 64, Memory: 16 << 20}, none)
}

// resourceManagerOptions are the connection limits per address and the
// connection rate limits.
func resourceManagerOptions() []rcmgr.Option {
	loopback := []rate.PrefixLimit{
		{Prefix: netip.MustParsePrefix("127.0.0.0/8")},
		{Prefix: netip.MustParsePrefix("::1/128")},
	}
	return []rcmgr.Option{
		rcmgr.WithLimitPerSubnet(
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: ConnsPerIPv4}},
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: ConnsPerIPv6}, {PrefixLength: 48, ConnCount: ConnsPerIPv6Net}}),
		// Loopback unlimited, as in libp2p's default (named here so that it
		// does not depend on that default).
		rcmgr.WithNetworkPrefixLimit(
			[]rcmgr.NetworkPrefixLimit{{Network: netip.MustParsePrefix("127.0.0.0/8"), ConnCount: math.MaxInt}},
			[]rcmgr.NetworkPrefixLimit{{Network: netip.MustParsePrefix("::1/128"), ConnCount: math.MaxInt}}),
		// New connections per address: 2/s with a burst of 128 (libp2p's
		// default is 0.2/s, burst 16), loopback unlimited.
		rcmgr.WithConnRateLimiters(&rate.Limiter{
			NetworkPrefixLimits: loopback,
			SubnetRateLimiter: rate.SubnetLimiter{
				IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 2, Burst: 128}}},
				IPv6SubnetLimits: []rate.SubnetLimit{{PrefixLength: 56, Limit: rate.Limit{RPS: 2, Burst: 128}}},
				GracePeriod:      time.Minute,
			},
		}),
	}
}
