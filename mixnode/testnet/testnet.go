// Package testnet starts a whole Komrade mix network in one process on
// 127.0.0.1: real libp2p hosts, a real kad-dht, real Sphinx, with short
// delays and epochs. `komrade testnet` runs one for people; the integration
// tests run many.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/pki"
)

// Options shape a test network. Zero values take the defaults below.
// EpochLength, Mu, MaxDelay and PoWBits make the network's parameters
// (Params), which the nodes and client.toml get from one network.toml.
type Options struct {
	Nodes       int           // default 9
	Dir         string        // data dirs, network.toml and client.toml; default: a temporary dir
	EpochLength time.Duration // default 2m
	Mu          time.Duration // default 5ms
	MaxDelay    time.Duration // default 1s
	PoWBits     int           // default 8: cheap proof of work for people and tests; negative: none
	LambdaM     float64       // default 1 loop/s per node; negative disables
	Refresh     time.Duration // directory refresh; default 2s
	Logger      *slog.Logger
	// NodeOptions, when set, is called for each node's Options (tests).
	NodeOptions func(i int, o *mixnode.Options)
	// Configure, when set, may change each node's configuration (tests).
	Configure func(i int, c *config.Node)
	// Delay, when its Max is positive, makes every link of the network
	// slow: each node listens behind a TCP proxy on 127.0.0.1 (delay.go)
	// and announces the proxy's address, so that every connection to it
	// (from clients, and the other nodes' mix links and DHT) crosses the
	// proxy, which holds each chunk of bytes, either way, for a time drawn
	// uniformly from [Min, Max], in order. client.toml names the gateways
	// at their proxies. Default: none.
	Delay Delay
}

func (o *Options) defaults() {
	if o.Nodes == 0 {
		o.Nodes = 9
	}
	if o.EpochLength == 0 {
		o.EpochLength = 2 * time.Minute
	}
	if o.Mu == 0 {
		o.Mu = 5 * time.Millisecond
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = time.Second
	}
	if o.PoWBits == 0 {
		o.PoWBits = 8
	}
	if o.PoWBits < 0 {
		o.PoWBits = 0
	}
	if o.LambdaM == 0 {
		o.LambdaM = 1
	}
	if o.LambdaM < 0 {
		o.LambdaM = 0
	}
	if o.Refresh == 0 {
		o.Refresh = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Network is a running test network.
type Network struct {
	Nodes  []*mixnode.Node
	Client config.Client
	// Params are the network's parameters, also in Dir/network.toml.
	Params pki.Params
	// ClientConfigPath is where client.toml was written.
	ClientConfigPath string
	opts             Options
	tmp              string
	boot             []string

	pmu     sync.Mutex
	proxies map[int]*delayProxy // node index -> its delay proxy (Options.Delay)
}

// Params returns the test network's parameters: the defaults
// (pki.DefaultParams) with o's epoch length, delays and proof-of-work, under
// the name "testnet". Zero fields of o take the testnet defaults.
func (o Options) Params() pki.Params {
	o.defaults()
	p := pki.DefaultParams()
	p.Name = "testnet"
	p.EpochLength, p.Mu, p.MaxDelay = o.EpochLength, o.Mu, o.MaxDelay
	p.SetPoW(o.PoWBits)
	return p
}

// NodeConfig returns the configuration test node i would get.
func (o Options) NodeConfig(dataDir string) config.Node {
	c := config.DefaultNode()
	c.DataDir = dataDir
	c.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	c.Network = o.Params()
	c.NetworkFile = filepath.Join(o.Dir, config.NetworkFile)
	c.LambdaM = o.LambdaM
	c.DirectoryRefresh = config.D(o.Refresh)
	c.SetReplicateInterval = config.D(2 * time.Second)
	return c
}

// Start creates and starts the nodes, waits until every node's directory
// lists all of them, and writes client.toml.
func Start(ctx context.Context, opts Options) (*Network, error) {
	opts.defaults()
	if opts.Nodes < 3 {
		return nil, fmt.Errorf("testnet: need at least 3 nodes (one per layer), got %d", opts.Nodes)
	}
	if err := opts.Delay.validate(); err != nil {
		return nil, err
	}
	net := &Network{opts: opts, proxies: map[int]*delayProxy{}}
	if opts.Dir == "" {
		tmp, err := os.MkdirTemp("", "komrade-testnet-")
		if err != nil {
			return nil, err
		}
		net.tmp, opts.Dir = tmp, tmp
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	net.opts = opts
	net.Params = opts.Params()
	if err := config.WriteNetwork(filepath.Join(opts.Dir, config.NetworkFile), net.Params); err != nil {
		net.Close()
		return nil, err
	}
	newNode := func(i int, bootstrap []string) (*mixnode.Node, error) {
		return net.startNode(ctx, i, bootstrap)
	}
	first, err := newNode(0, nil)
	if err != nil {
		net.Close()
		return nil, err
	}
	net.Nodes = make([]*mixnode.Node, opts.Nodes)
	net.Nodes[0] = first
	boot := first.Addrs()[:1]
	net.boot = boot
	var wg sync.WaitGroup
	errs := make([]error, opts.Nodes)
	for i := 1; i < opts.Nodes; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			net.Nodes[i], errs[i] = newNode(i, boot)
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		net.Close()
		return nil, err
	}
	if err := net.WaitDirectories(ctx, opts.Nodes); err != nil {
		net.Close()
		return nil, err
	}
	net.Client = config.DefaultClient()
	net.Client.Network = net.Params.ID().String()
	net.Client.NetworkFile = filepath.Join(opts.Dir, config.NetworkFile)
	net.Client.Params = &net.Params
	for _, n := range net.Nodes[:min(3, len(net.Nodes))] {
		net.Client.Gateways = append(net.Client.Gateways, n.Addrs()[0])
	}
	net.ClientConfigPath = filepath.Join(opts.Dir, "client.toml")
	if err := config.Write(net.ClientConfigPath, net.Client); err != nil {
		net.Close()
		return nil, err
	}
	return net, nil
}

// WaitDirectories waits until every running node's directory lists want
// nodes, refreshing as it goes (and republishing a node's descriptor at most
// once a second).
func (n *Network) WaitDirectories(ctx context.Context, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastPub time.Time
	for {
		ok := true
		pub := time.Since(lastPub) > time.Second
		for _, node := range n.Nodes {
			if node == nil {
				continue
			}
			if d := node.Directory(); d == nil || len(d.Nodes) != want {
				ok = false
				if pub {
					node.Publish(ctx)
				}
				node.RefreshDirectory(ctx)
			}
		}
		if pub {
			lastPub = time.Now()
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: directories did not converge on %d nodes: %w", want, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops every node and delay proxy and removes a temporary dir.
func (n *Network) Close() {
	var wg sync.WaitGroup
	for i, node := range n.Nodes {
		if node != nil {
			n.Nodes[i] = nil
			wg.Add(1)
			go func() { defer wg.Done(); node.Close() }()
		}
	}
	wg.Wait()
	n.pmu.Lock()
	for i, p := range n.proxies {
		p.Close()
		delete(n.proxies, i)
	}
	n.pmu.Unlock()
	if n.tmp != "" {
		os.RemoveAll(n.tmp)
	}
}

// startNode creates (or reloads, if its data dir exists) node i and starts it.
func (n *Network) startNode(ctx context.Context, i int, bootstrap []string) (*mixnode.Node, error) {
	opts := n.opts
	dir := filepath.Join(opts.Dir, fmt.Sprintf("node-%02d", i))
	priv, err := mixnode.LoadIdentity(dir, nil)
	if err != nil {
		if priv, err = mixnode.CreateIdentity(dir, nil); err != nil {
			return nil, err
		}
	}
	cfg := opts.NodeConfig(dir)
	// A node keeps its address across restarts (of the node, or of the
	// whole testnet in the same dir), so client configs and other nodes
	// still find it.
	listenFile := filepath.Join(dir, "listen-addr")
	if b, err := os.ReadFile(listenFile); err == nil && len(b) > 0 {
		cfg.ListenAddrs = []string{strings.TrimSpace(string(b))}
	}
	cfg.Bootstrap = bootstrap
	var proxy *delayProxy
	if opts.Delay.on() {
		if proxy, err = n.proxy(i, dir); err != nil {
			return nil, err
		}
		cfg.AnnounceAddrs = []string{proxy.multiaddr()}
	}
	if opts.Configure != nil {
		opts.Configure(i, &cfg)
	}
	no := mixnode.Options{Identity: priv, Logger: opts.Logger}
	if opts.NodeOptions != nil {
		opts.NodeOptions(i, &no)
	}
	node, err := mixnode.New(cfg, no)
	if err != nil {
		return nil, err
	}
	if err := node.Start(ctx); err != nil {
		node.Close()
		return nil, err
	}
	addr, _, _ := strings.Cut(node.Addrs()[0], "/p2p/")
	if proxy != nil {
		// The node announces its proxy; the proxy relays to where the
		// node really listens.
		real, err := listenAddr(node)
		if err != nil {
			node.Close()
			return nil, err
		}
		hp, err := manet.ToNetAddr(real)
		if err != nil {
			node.Close()
			return nil, fmt.Errorf("testnet: node %d listen address: %w", i, err)
		}
		proxy.setTarget(hp.String())
		addr = real.String()
	}
	if err := os.WriteFile(listenFile, []byte(addr+"\n"), 0o600); err != nil {
		node.Close()
		return nil, err
	}
	return node, nil
}

// RestartNode starts node i again from its data dir (same identity, same
// stored records) after StopNode.
func (n *Network) RestartNode(ctx context.Context, i int) error {
	if n.Nodes[i] != nil {
		return fmt.Errorf("testnet: node %d is running", i)
	}
	// Join through any node that runs now (the first one may have moved to
	// another port); with none running, start a network afresh.
	node, err := n.startNode(ctx, i, n.liveAddr())
	if err != nil {
		return err
	}
	n.Nodes[i] = node
	return nil
}

// AddNode starts one more node that joins through the bootstrap node and
// returns its index.
func (n *Network) AddNode(ctx context.Context) (int, error) {
	i := len(n.Nodes)
	node, err := n.startNode(ctx, i, n.liveAddr())
	if err != nil {
		return 0, err
	}
	n.Nodes = append(n.Nodes, node)
	return i, nil
}

func (n *Network) liveAddr() []string {
	for _, node := range n.Nodes {
		if node != nil {
			return node.Addrs()[:1]
		}
	}
	return nil
}

// StopNode closes node i and removes it from the network.
func (n *Network) StopNode(i int) error {
	node := n.Nodes[i]
	if node == nil {
		return fmt.Errorf("testnet: node %d is not running", i)
	}
	n.Nodes[i] = nil
	n.pmu.Lock()
	if p := n.proxies[i]; p != nil {
		p.setTarget("") // refused while the node is down, as its port would be
	}
	n.pmu.Unlock()
	return node.Close()
}

// proxy returns node i's delay proxy, started on the first call: on the
// address saved in dir (a node keeps its announced address across restarts
// of the testnet in the same dir), else on any free port of 127.0.0.1.
func (n *Network) proxy(i int, dir string) (*delayProxy, error) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	if p := n.proxies[i]; p != nil {
		return p, nil
	}
	file := filepath.Join(dir, "proxy-addr")
	addr := "127.0.0.1:0"
	if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
		addr = strings.TrimSpace(string(b))
	}
	p, err := listenDelayProxy(addr, n.opts.Delay)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, []byte(p.Addr()+"\n"), 0o600); err != nil {
		p.Close()
		return nil, err
	}
	n.proxies[i] = p
	return p, nil
}

// delayed reports whether a connection whose far end, seen from a node,
// is addr (host:port) crosses a delay proxy: addr is a proxy's listener
// (the node dialed another node's proxy) or the near end of a proxy's
// connection to its node (a peer came in through the node's proxy).
func (n *Network) delayed(addr string) bool {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	for _, p := range n.proxies {
		if p.Addr() == addr || p.isDialed(addr) {
			return true
		}
	}
	return false
}

// listenAddr is the TCP address node listens on (not the one it announces).
func listenAddr(node *mixnode.Node) (ma.Multiaddr, error) {
	for _, a := range testseam.NodeDHT(node).Host.Network().ListenAddresses() {
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			return a, nil
		}
	}
	return nil, errors.New("testnet: the node listens on no TCP address")
}
