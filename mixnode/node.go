// Package mixnode is the Komrade mix node: it takes fixed-size Sphinx packets
// from mix links and client links, opens one layer with its epoch key,
// rejects replays, holds each packet for the delay its sender chose and sends
// it on; as a gateway it hands replies to connected clients, as an exit it
// serves requests, and it sends loop cover traffic of its own.
//
// The path of a packet reads from the file list: link.go (frames in and
// out), unwrap.go (Sphinx processing), replay.go, delayqueue.go, forward.go,
// gateway.go (client links and the directory service), exit.go, cover.go
// (loop cover) and descriptor.go (publishing keys and building the
// directory). keys.go holds the identity and epoch keys, metrics.go the
// counters, onion.go the optional Tor onion service for clients.
package mixnode

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/katzenpost/katzenpost/core/sphinx"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/dht/sets"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Options are the parts of a node's setup that do not come from its TOML
// file.
type Options struct {
	// Identity is the node's key; nil means load it from the data dir.
	Identity ed25519.PrivateKey
	// Logger receives the node's log; nil means slog.Default().
	Logger *slog.Logger
	// OnRelease, when set, is called with how long each packet was held in
	// the delay queue and the delay its sender asked for (tests and
	// benchmarks use it).
	OnRelease func(held, requested time.Duration)
	// Clock overrides the epoch clock (tests).
	Clock *pki.Clock
	// SetRules overrides the set namespaces' rules (tests); nil means the
	// network's (pki.Params.SetRules).
	SetRules map[string]setitem.Rules
}

func init() {
	testseam.NodeDHT = func(n any) *dht.Node { return n.(*Node).dht }
}

// Node is a running mix node.
type Node struct {
	cfg    config.Node
	opts   Options
	log    *slog.Logger
	id     pki.NodeID
	priv   ed25519.PrivateKey
	clock  pki.Clock
	dht    *dht.Node
	sphinx *sphinx.Sphinx
	allow  map[pki.NodeID]bool
	// netID and netEnc are the network's id and encoded parameters
	// (cfg.Network), carried in descriptors and directory responses.
	netID  pki.NetworkID
	netEnc []byte
	// foreignWarned is the epoch of the last warning about nodes of
	// another network (descriptor.go, network.go): one a epoch.
	foreignWarned atomic.Uint64

	keys   *epochKeys
	replay *replayCache
	// panicky, set only by fuzz tests, lets a panic in the Sphinx library
	// through instead of dropping the packet, so the fuzzer reports it.
	panicky bool
	queue   *delayQueue
	inbox   chan inbound // packets from mix links
	fair    *fairQueue   // packets from client links, in turn order
	fromCl  chan inbound // the fair queue's output

	mixStreams streamCount // inbound mix links per peer
	links      *linkPool
	clients    *clientTable
	loops      *loopTable
	metrics    Metrics

	storageJobs chan storageJob
	sets        *sets.Service // replicated sets (storage.go)
	setStore    *sets.Store

	dirMu   sync.RWMutex
	dir     *pki.Directory           // current view, nil until built
	dirResp []byte                   // dir as a pki.Response, for clients
	known   map[pki.NodeID]knownNode // next hops and mix-link peers (forward.go)
	// runs holds, for each node of a recent directory, the epochs of its
	// current run in it (descriptor.go, seniority).
	runs    map[pki.NodeID]run
	dirRefr chan struct{}

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started atomic.Bool
	// refreshLimiter bounds the directory rebuilds client requests can cause.
	refreshLimiter *rate.Limiter
	// learnLimiter bounds the descriptor lookups unknown peers can cause.
	learnLimiter *rate.Limiter
	// lastPublish is when the descriptor was last published (unix ns).
	lastPublish atomic.Int64
	// registry holds what /metrics serves: metrics and, with metrics_addr,
	// the host's resource-manager metrics.
	registry    *prometheus.Registry
	metricsSrv  *http.Server
	metricsAddr net.Addr
	// onion is the Tor onion service (onion.go), nil unless cfg.Onion.
	onion *onionService
}

// New creates a node from its configuration: it loads (or takes) the
// identity and starts listening. Call Start to join the network.
func New(cfg config.Node, opts Options) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	priv := opts.Identity
	if priv == nil {
		var err error
		pass, err := ReadPassphrase(cfg.PassphraseFile)
		if err != nil {
			return nil, err
		}
		if priv, err = LoadIdentity(cfg.DataDir, pass); err != nil {
			return nil, err
		}
	}
	netEnc, err := cfg.Network.Encode()
	if err != nil {
		return nil, err
	}
	clock := pki.NewClock(cfg.Network.EpochLength)
	if opts.Clock != nil {
		clock = *opts.Clock
	}
	allow := map[pki.NodeID]bool{}
	for _, s := range cfg.AllowList {
		id, err := pki.ParseNodeID(s)
		if err != nil {
			return nil, fmt.Errorf("config: allow_list: %w", err)
		}
		allow[id] = true
	}
	id := NodeIDOf(priv)
	log = log.With("node", id.Short())
	registry := prometheus.NewRegistry()
	var hostMetrics prometheus.Registerer
	if cfg.MetricsAddr != "" {
		hostMetrics = registry
	}
	d, err := dht.New(dht.Config{
		Identity:      priv,
		ListenAddrs:   cfg.ListenAddrs,
		AnnounceAddrs: cfg.AnnounceAddrs,
		Clock:         clock,
		Logger:        log,
		DataDir:       cfg.DataDir,
		PoWBits:       cfg.Network.PoWBits,
		Metrics:       hostMetrics,
		Allow:         allow,
	})
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, opts: opts, log: log, id: id, priv: priv, clock: clock, dht: d,
		sphinx:  wire.NewSphinx(),
		allow:   allow,
		netID:   cfg.Network.ID(),
		netEnc:  netEnc,
		keys:    newEpochKeys(),
		replay:  newReplayCache(),
		queue:   newDelayQueue(cfg.QueueSize),
		inbox:   make(chan inbound, 4096),
		fair:    newFairQueue(),
		fromCl:  make(chan inbound),
		clients: newClientTable(),
		loops:   newLoopTable(),
		known:   map[pki.NodeID]knownNode{},
		runs:    map[pki.NodeID]run{},
		dirRefr: make(chan struct{}, 1),

		storageJobs: make(chan storageJob, storageQueue),

		refreshLimiter: rate.NewLimiter(rate.Every(time.Second), 1),
		learnLimiter:   rate.NewLimiter(rate.Limit(5), 10),
		registry:       registry,
	}
	registry.MustRegister(&n.metrics)
	n.links = newLinkPool(n)
	n.keys.rotate(clock.Current())
	if err := n.openSets(); err != nil {
		d.Close()
		return nil, err
	}
	return n, nil
}

// ID is the node's id (its Ed25519 public key).
func (n *Node) ID() pki.NodeID { return n.id }

// PeerID is the node's libp2p peer id.
func (n *Node) PeerID() peer.ID { return n.dht.Host.ID() }

// Addrs returns the node's multiaddrs, each ending in /p2p/<peer id>.
func (n *Node) Addrs() []string {
	var out []string
	for _, a := range n.dht.Host.Addrs() {
		out = append(out, a.String()+"/p2p/"+n.PeerID().String())
	}
	return out
}

// Metrics returns the node's counters.
func (n *Node) Metrics() *Metrics { return &n.metrics }

// MetricsAddr is the address /metrics is served on (metrics_addr with its
// port resolved), or nil when the node does not serve metrics or has not
// been started.
func (n *Node) MetricsAddr() net.Addr { return n.metricsAddr }

// Directory returns the node's current view of the directory, or nil.
func (n *Node) Directory() *pki.Directory {
	n.dirMu.RLock()
	defer n.dirMu.RUnlock()
	return n.dir
}

// Start joins the network through the configured bootstrap peers, publishes
// the node's descriptor and starts processing. It returns once the node is
// serving; the work goes on until Close.
func (n *Node) Start(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("mixnode: already started")
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	peers, err := transport.ParsePeers(n.cfg.Bootstrap)
	if err != nil {
		return err
	}
	if err := n.dht.Bootstrap(ctx, peers); err != nil {
		return err
	}
	if err := n.checkNetwork(ctx, peers); err != nil {
		return err
	}
	n.registerHandlers()
	if err := n.startOnion(ctx); err != nil {
		return err
	}
	n.goRun(func(ctx context.Context) { n.fair.dispatch(ctx, n.fromCl) })
	workers := runtime.GOMAXPROCS(0)
	for i := 0; i < workers; i++ {
		n.goRun(n.unwrapWorker)
	}
	n.goRun(func(ctx context.Context) { n.queue.run(ctx, n.release) })
	n.goRun(n.epochLoop)
	n.goRun(n.directoryLoop)
	n.goRun(n.coverLoop)
	n.goRun(n.loops.sweepLoop(&n.metrics))
	for i := 0; i < storageWorkers; i++ {
		n.goRun(n.storageWorker)
	}
	n.goRun(func(ctx context.Context) { n.dht.RunRepublisher(ctx, n.cfg.RepublishInterval.Duration) })
	n.goRun(func(ctx context.Context) {
		if err := n.sets.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("set service", "err", err)
		}
	})
	if n.cfg.MetricsAddr != "" {
		if err := n.serveMetrics(); err != nil {
			return err
		}
	}
	if n.dht.DHT.RoutingTable().Size() == 0 {
		n.log.Info("no peers yet: the descriptor is published once others join")
	} else if err := n.publish(ctx); err != nil {
		n.log.Warn("first descriptor publication failed; will retry", "err", err)
	}
	n.log.Info("mix node started", "peer", n.PeerID(), "addrs", n.dht.Host.Addrs())
	return nil
}

func (n *Node) goRun(f func(ctx context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f(n.ctx)
	}()
}

// Close stops every goroutine of the node, closes its links and its host.
func (n *Node) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.removeHandlers()
	n.links.closeAll()
	n.clients.closeAll()
	if n.metricsSrv != nil {
		n.metricsSrv.Close()
	}
	n.stopOnion()
	errSets := n.sets.Close()
	err := n.dht.Close()
	n.wg.Wait()
	return errors.Join(err, errSets, n.setStore.Close())
}

func (n *Node) serveMetrics() error {
	ln, err := net.Listen("tcp", n.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(n.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	n.metricsAddr = ln.Addr()
	n.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	n.goRun(func(ctx context.Context) {
		if err := n.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics server", "err", err)
		}
	})
	n.log.Info("serving metrics", "addr", ln.Addr().String())
	return nil
}

// descriptorAddrs returns the addresses to publish (without /p2p/).
func (n *Node) descriptorAddrs() [][]byte {
	var out [][]byte
	for _, a := range n.dht.Host.Addrs() {
		if len(out) == pki.MaxAddrs {
			break
		}
		out = append(out, a.Bytes())
	}
	return out
}
