// Package dht is the storage the mix nodes form (the "dust cloud"): the
// private Kademlia DHT on a node's libp2p host (built by transport), a
// kad-dht under the /komrade protocol prefix,
// in server mode, with only Komrade's record namespaces, and no public
// bootstrap peers. It also publishes and enumerates node descriptors: a
// descriptor is stored as a /kmix/ record and announced under a per-epoch
// provider key, so a gateway can list every node of an epoch. Records are
// kept in a pebble store and republished; replicated sets are in the sets
// subpackage. Only mix nodes run it: clients reach storage through exits.
package dht

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	libp2precord "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multihash"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
)

// ProtocolPrefix keeps Komrade's DHT apart from IPFS's.
const ProtocolPrefix = "/komrade"

// Config describes a DHT node.
type Config struct {
	// Identity is the node's Ed25519 key; it is also its libp2p identity.
	Identity ed25519.PrivateKey
	// ListenAddrs are libp2p multiaddrs to listen on.
	ListenAddrs []string
	// AnnounceAddrs, when set, are advertised instead of the listen addresses.
	AnnounceAddrs []string
	// Clock gives epochs to the descriptor validator.
	Clock pki.Clock
	// Logger receives the node's log; nil means slog.Default().
	Logger *slog.Logger
	// DataDir, when set, holds the persistent record store; otherwise
	// records live in memory.
	DataDir string
	// PoWBits is the proof-of-work difficulty of anonymous posts.
	PoWBits int
	// Metrics, when set, receives the host's resource-manager metrics
	// (see transport.WithMetrics).
	Metrics prometheus.Registerer
	// Allow, when non-empty, closes the DHT to every other node: only
	// listed peers enter the routing table, are queried, may open kad-dht
	// streams to this node or are fetched as providers (see Allowed).
	Allow map[pki.NodeID]bool
}

// Node is a libp2p host running the Komrade kad-dht in server mode.
type Node struct {
	Host  host.Host
	DHT   *kaddht.IpfsDHT
	clock pki.Clock
	log   *slog.Logger
	allow map[pki.NodeID]bool

	validator  libp2precord.NamespacedValidator
	store      indexingStore
	closeStore func() error
	pmOnce     sync.Once
	pm         *kadpb.ProtocolMessenger
	pmErr      error
}

// New starts a host and a kad-dht server on it.
func New(cfg Config) (*Node, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	raw, closeStore, err := openDatastore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	store := indexingStore{raw}
	if err := buildIndex(context.Background(), store); err != nil {
		closeStore()
		return nil, err
	}
	h, err := transport.NewHost(cfg.Identity, cfg.ListenAddrs, cfg.AnnounceAddrs, transport.WithMetrics(cfg.Metrics))
	if err != nil {
		closeStore()
		return nil, err
	}
	val := validators(cfg.Clock, cfg.PoWBits, log)
	n := &Node{Host: h, clock: cfg.Clock, log: log, allow: cfg.Allow, validator: val, store: store, closeStore: closeStore}
	opts := []kaddht.Option{
		kaddht.ProtocolPrefix(ProtocolPrefix),
		kaddht.Mode(kaddht.ModeServer),
		kaddht.Validator(val),
		kaddht.Datastore(store),
	}
	var kh host.Host = kadHost{h} // inbound messages capped: kadlimit.go
	if len(cfg.Allow) > 0 {
		opts = append(opts,
			kaddht.RoutingTableFilter(func(_ any, p peer.ID) bool { return n.Allowed(p) }),
			kaddht.QueryFilter(func(_ any, ai peer.AddrInfo) bool { return n.Allowed(ai.ID) }),
		)
		// kad-dht serves its protocol to any peer that opens a stream; the
		// filters above only keep peers out of the table and the queries.
		kh = allowHost{Host: kh, allowed: n.Allowed}
	}
	d, err := kaddht.New(kh, opts...)
	if err != nil {
		h.Close()
		closeStore()
		return nil, fmt.Errorf("dht: kad-dht: %w", err)
	}
	n.DHT = d
	return n, nil
}

// Allowed reports whether p may take part in the DHT: always without an
// allow-list, otherwise only when p's node id is listed.
func (n *Node) Allowed(p peer.ID) bool {
	if len(n.allow) == 0 {
		return true
	}
	id, err := pki.NodeIDFromPeer(p)
	return err == nil && n.allow[id]
}

// allowHost is the host kad-dht sees under an allow-list: its stream
// handlers refuse streams from peers that are not allowed, so that an
// unlisted peer can neither query this node nor store records or provider
// announcements on it. Other protocols of the host (client links, the
// directory service) are registered on the real host and stay open.
type allowHost struct {
	host.Host
	allowed func(peer.ID) bool
}

func (h allowHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, h.wrap(handler))
}

func (h allowHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, h.wrap(handler))
}

func (h allowHost) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !h.allowed(s.Conn().RemotePeer()) {
			s.Reset()
			return
		}
		handler(s)
	}
}

// Close stops the DHT and the host and closes the record store.
func (n *Node) Close() error {
	err1 := n.DHT.Close()
	err2 := n.Host.Close()
	err3 := n.closeStore()
	return errors.Join(err1, err2, err3)
}

// Bootstrap connects to peers and waits until the routing table holds at
// least one peer, then refreshes it. Peers that cannot be reached are
// skipped; it fails only if none can be. With no peers (the first node of a
// network) it returns at once.
func (n *Node) Bootstrap(ctx context.Context, peers []peer.AddrInfo) error {
	if len(peers) == 0 {
		return nil
	}
	var ok int
	var lastErr error
	for _, p := range peers {
		if p.ID == n.Host.ID() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*transport.DialTimeout)
		err := n.Host.Connect(cctx, p)
		cancel()
		if err != nil {
			lastErr = err
			n.log.Warn("bootstrap peer unreachable", "peer", p.ID, "err", err)
			continue
		}
		ok++
	}
	if ok == 0 {
		if lastErr == nil {
			return nil // only ourselves listed
		}
		return fmt.Errorf("dht: no bootstrap peer reachable: %w", lastErr)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	for n.DHT.RoutingTable().Size() == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("dht: waiting for routing table: %w", ctx.Err())
		case <-wait.C:
			return errors.New("dht: connected to bootstrap peers but none speaks the Komrade DHT (is it a Komrade node of this network?)")
		case <-tick.C:
		}
	}
	select {
	case err := <-n.DHT.RefreshRoutingTable():
		if err != nil {
			n.log.Debug("routing table refresh", "err", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// epochCID is the provider key under which nodes of an epoch announce
// themselves.
func epochCID(epoch uint64) cid.Cid {
	mh, err := multihash.Sum([]byte(fmt.Sprintf("komrade/mix/epoch/%d", epoch)), multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, mh)
}

// PublishDescriptor stores a signed descriptor under its /kmix/ key and
// announces the node under the provider key of each epoch given.
func (n *Node) PublishDescriptor(ctx context.Context, id pki.NodeID, raw []byte, epochs ...uint64) error {
	if err := n.DHT.PutValue(ctx, pki.RecordKey(id), raw); err != nil {
		return fmt.Errorf("dht: put descriptor: %w", err)
	}
	for _, e := range epochs {
		if err := n.DHT.Provide(ctx, epochCID(e), true); err != nil {
			return fmt.Errorf("dht: announce for epoch %d: %w", e, err)
		}
	}
	return nil
}

// Descriptor fetches the newest signed descriptor of id from the DHT.
func (n *Node) Descriptor(ctx context.Context, id pki.NodeID) ([]byte, error) {
	return n.DHT.GetValue(ctx, pki.RecordKey(id), kaddht.Quorum(3))
}

const (
	// FindWorkers bounds the descriptor fetches FindDescriptors runs at
	// once: a dial and a DHT lookup each.
	FindWorkers = 16
	// MaxProviders bounds the providers FindDescriptors considers in one
	// lookup: enough for a full directory (pki.MaxNodes) and as many again
	// that do not answer.
	MaxProviders = 2 * pki.MaxNodes
	// findTimeout bounds a whole FindDescriptors, collectTimeout its
	// provider lookup, fetchTimeout one descriptor lookup.
	findTimeout    = 10 * time.Second
	collectTimeout = 4 * time.Second
	fetchTimeout   = 5 * time.Second
)

// FindDescriptors lists the nodes announced for epoch and fetches their
// descriptors. Nodes that cannot be reached within the timeout are left out,
// so a stopped node drops out of the directory. The own descriptor, if
// announced, is fetched like any other.
//
// The work is bounded whatever the number of announcements: at most
// MaxProviders providers (allowed ones only, see Allowed) are taken from the
// lookup, and their descriptors are fetched by FindWorkers workers until
// all are done or the time is up. prefer ranks providers (higher first,
// ties in arrival order; nil ranks all alike), so that the nodes a caller
// already knows are fetched before a flood of new ones.
func (n *Node) FindDescriptors(ctx context.Context, epoch uint64, prefer func(pki.NodeID) uint64) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, findTimeout)
	defer cancel()
	cctx, ccancel := context.WithTimeout(ctx, collectTimeout)
	provs := n.DHT.FindProvidersAsync(cctx, epochCID(epoch), 0)
	cands := collectProviders(provs, MaxProviders, n.Allowed, prefer)
	ccancel()
	out := fetchAll(ctx, cands, FindWorkers, func(ctx context.Context, c candidate) ([]byte, bool) {
		if c.ai.ID != n.Host.ID() && !n.alive(ctx, c.ai) {
			return nil, false
		}
		gctx, gcancel := context.WithTimeout(ctx, fetchTimeout)
		defer gcancel()
		raw, err := n.Descriptor(gctx, c.id)
		if err != nil {
			n.log.Debug("descriptor fetch failed", "node", c.id.Short(), "err", err)
			return nil, false
		}
		return raw, true
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("dht: no descriptors found for epoch %d", epoch)
	}
	return out, nil
}

// candidate is a provider worth fetching a descriptor from.
type candidate struct {
	ai   peer.AddrInfo
	id   pki.NodeID
	rank uint64
}

// collectProviders reads provs until it closes (the caller's context ends
// the lookup) or max candidates are kept, and returns them best first:
// duplicates, peers that are not Ed25519 node ids and peers allowed refuses
// are dropped; the others are ordered by prefer, then arrival. When it
// returns early, the rest of provs is left to the lookup's cancellation.
func collectProviders(provs <-chan peer.AddrInfo, max int, allowed func(peer.ID) bool, prefer func(pki.NodeID) uint64) []candidate {
	seen := map[peer.ID]bool{}
	var out []candidate
	for p := range provs {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		if allowed != nil && !allowed(p.ID) {
			continue
		}
		id, err := pki.NodeIDFromPeer(p.ID)
		if err != nil {
			continue
		}
		c := candidate{ai: p, id: id}
		if prefer != nil {
			c.rank = prefer(id)
		}
		out = append(out, c)
		if len(out) == max {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rank > out[j].rank })
	return out
}

// fetchAll runs fetch on the candidates in order, with at most workers at
// once, until all are done or ctx ends, and returns what succeeded.
func fetchAll(ctx context.Context, cands []candidate, workers int, fetch func(context.Context, candidate) ([]byte, bool)) [][]byte {
	var (
		mu  sync.Mutex
		out [][]byte
		wg  sync.WaitGroup
	)
	jobs := make(chan candidate)
	for range min(workers, len(cands)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if raw, ok := fetch(ctx, c); ok {
					mu.Lock()
					out = append(out, raw)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, c := range cands {
		select {
		case jobs <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

// alive reports whether p answers a connection attempt.
func (n *Node) alive(ctx context.Context, p peer.AddrInfo) bool {
	if n.Host.Network().Connectedness(p.ID) == network.Connected {
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, transport.DialTimeout)
	defer cancel()
	return n.Host.Connect(cctx, p) == nil
}
