// Package config holds the TOML configuration of a Komrade mix node and of a
// client: the types, their defaults, strict loading (unknown keys are errors)
// and validation that names the offending field.
//
// A node is configured by one file written by `komrade mixnode init`; a client
// by one file such as the `client.toml` that `komrade testnet` writes. The
// parameters every participant of a network must agree on (epoch length, μ,
// proof-of-work, set limits: pki.Params) appear in neither: they live in the
// network file (network.toml, LoadNetwork) that a node's network_file names,
// and a client config names the network by its id.
package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/komrade-net/komrade/internal/secretfile"
	"github.com/komrade-net/komrade/pki"
	"github.com/multiformats/go-multiaddr"
)

// Duration is a time.Duration that reads and writes as a Go duration string
// ("20m", "150ms") in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// D returns a Duration of v.
func D(v time.Duration) Duration { return Duration{v} }

// Default node parameters. The network's are pki.DefaultParams.
const (
	DefaultLambdaM       = 2.0 // node loop packets per second
	DefaultQueueSize     = 50000
	DefaultClientBuffer  = 256
	DefaultDirRefresh    = 30 * time.Second
	DefaultRepublish     = time.Hour
	DefaultStorageTime   = 20 * time.Second
	DefaultSetReplicate  = 10 * time.Minute
	DefaultListenAddress = "/ip4/0.0.0.0/tcp/7700"
)

// Node is the configuration of a mix node.
type Node struct {
	// DataDir holds the identity key (and, with the storage service, the
	// DHT's records).
	DataDir string `toml:"data_dir"`
	// ListenAddrs are the libp2p multiaddrs the node listens on (mix links,
	// client links, DHT, directory service share one host).
	ListenAddrs []string `toml:"listen_addrs"`
	// AnnounceAddrs, when set, replace the listen addresses in the node's
	// descriptor (e.g. a public address behind NAT).
	AnnounceAddrs []string `toml:"announce_addrs"`
	// Bootstrap lists multiaddrs with /p2p/ of nodes already in the network.
	Bootstrap []string `toml:"bootstrap"`
	// NetworkFile is the network file (network.toml): the parameters every
	// node and client of the network shares (pki.Params). A relative path is
	// relative to the config file's dir; the default is network.toml next to
	// it. `komrade mixnode init` writes the default parameters there, or a
	// copy of the file given with --network.
	NetworkFile string `toml:"network_file"`
	// Network holds the parameters read from NetworkFile (LoadNode), or set
	// directly by a program that runs nodes in-process.
	Network pki.Params `toml:"-"`
	// LambdaM is the rate (packets per second) of the node's loop cover
	// traffic; 0 disables it.
	LambdaM float64 `toml:"lambda_m"`
	// QueueSize bounds the delay queue; overload drops the newest packet.
	QueueSize int `toml:"queue_size"`
	// ClientBuffer bounds the per-client delivery buffer at a gateway.
	ClientBuffer int `toml:"client_buffer"`
	// DirectoryRefresh is how often the node rebuilds its view of the
	// directory from the DHT.
	DirectoryRefresh Duration `toml:"directory_refresh"`
	// MetricsAddr, when set, serves counters in Prometheus text format on
	// this host:port (keep it on a local address).
	MetricsAddr string `toml:"metrics_addr"`
	// Onion, when true, starts tor (from the PATH) and publishes a v3 onion
	// service that reaches this node's client links, so clients with
	// transport = "tor" can connect without revealing their IP address. The
	// address is kept across restarts (key in data_dir/onion.pem) and put in
	// the node's descriptor.
	Onion bool `toml:"onion,omitempty"`
	// TorConfig, when set, is a torrc file with extra options for the tor
	// the node starts (bridges, a proxy, a private test network).
	TorConfig string `toml:"tor_config,omitempty"`
	// AllowList, when non-empty, restricts the directory, the DHT (routing
	// table, queries, inbound kad-dht streams) and the set service to these
	// node ids (hex Ed25519 public keys). Client links stay open.
	AllowList []string `toml:"allow_list"`
	// RepublishInterval is how often the node re-stores the records it holds
	// on the current closest nodes (keeps them past kad-dht's 48 h limit and
	// restores lost replicas).
	RepublishInterval Duration `toml:"republish_interval"`
	// StorageTimeout bounds one storage operation an exit performs.
	StorageTimeout Duration `toml:"storage_timeout"`
	// SetReplicateInterval is how often the node sweeps expired set items
	// and copies items to the nodes now closest to each set, restoring the
	// replication factor after nodes leave or join.
	SetReplicateInterval Duration `toml:"set_replicate_interval"`
	// PassphraseFile, when set, names a file (mode 0600) holding the
	// passphrase that encrypts the identity key on disk. Without it the key
	// is stored unencrypted (mode 0600) so the node can restart unattended.
	PassphraseFile string `toml:"passphrase_file"`
}

// DefaultNode returns a node configuration with working defaults.
func DefaultNode() Node {
	return Node{
		ListenAddrs:      []string{DefaultListenAddress},
		NetworkFile:      NetworkFile,
		Network:          pki.DefaultParams(),
		LambdaM:          DefaultLambdaM,
		QueueSize:        DefaultQueueSize,
		ClientBuffer:     DefaultClientBuffer,
		DirectoryRefresh: D(DefaultDirRefresh),

		RepublishInterval: D(DefaultRepublish),
		StorageTimeout:    D(DefaultStorageTime),

		SetReplicateInterval: D(DefaultSetReplicate),
	}
}

// Validate reports the first invalid field by its TOML name.
func (n *Node) Validate() error {
	if n.DataDir == "" {
		return fieldErr("data_dir", "must be set")
	}
	if len(n.ListenAddrs) == 0 {
		return fieldErr("listen_addrs", "at least one address is needed")
	}
	for i, a := range n.ListenAddrs {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			return fieldErr(fmt.Sprintf("listen_addrs[%d]", i), err.Error())
		}
	}
	for i, a := range n.AnnounceAddrs {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			return fieldErr(fmt.Sprintf("announce_addrs[%d]", i), err.Error())
		}
	}
	if err := validatePeerAddrs("bootstrap", n.Bootstrap); err != nil {
		return err
	}
	if n.NetworkFile == "" {
		return fieldErr("network_file", "must be set: the network's parameters (komrade mixnode init writes "+NetworkFile+")")
	}
	if err := n.Network.Validate(); err != nil {
		return fieldErr("network_file", err.Error())
	}
	if !(n.LambdaM >= 0 && n.LambdaM <= 1000) { // also rejects NaN
		return fieldErr("lambda_m", "must be between 0 and 1000 packets per second")
	}
	if n.QueueSize < 1 || n.QueueSize > 10_000_000 {
		return fieldErr("queue_size", "must be between 1 and 10000000")
	}
	if n.ClientBuffer < 1 || n.ClientBuffer > 1_000_000 {
		return fieldErr("client_buffer", "must be between 1 and 1000000")
	}
	if n.DirectoryRefresh.Duration < 100*time.Millisecond {
		return fieldErr("directory_refresh", "must be at least 100ms")
	}
	if err := validateAllowList(n.AllowList); err != nil {
		return err
	}
	if err := validateNodeTor(n); err != nil {
		return err
	}
	if n.RepublishInterval.Duration < time.Second || n.RepublishInterval.Duration > 24*time.Hour {
		return fieldErr("republish_interval", "must be between 1s and 24h")
	}
	if n.StorageTimeout.Duration < 100*time.Millisecond || n.StorageTimeout.Duration > 5*time.Minute {
		return fieldErr("storage_timeout", "must be between 100ms and 5m")
	}
	if n.SetReplicateInterval.Duration < 100*time.Millisecond || n.SetReplicateInterval.Duration > 24*time.Hour {
		return fieldErr("set_replicate_interval", "must be between 100ms and 24h")
	}
	return nil
}

// Client is the configuration the `komrade ping` diagnostic (and later the
// client daemon) needs to join a network.
type Client struct {
	// Gateways are multiaddrs with /p2p/ of nodes that accept client links.
	// The client uses the first that answers (the others on failover) and
	// merges its directory with another's (crosscheck.go), so name two or
	// more.
	Gateways []string `toml:"gateways"`
	// Network is the id of the network (64 hex digits, printed by `komrade
	// mixnode init` and `komrade testnet`); the default is the id of
	// pki.DefaultParams. The client takes the network's parameters from its
	// gateway and checks that they hash to this id.
	Network string `toml:"network"`
	// NetworkFile, when set, is the network file: the client then has its
	// own copy of the parameters (it must hash to Network) and a mismatch
	// names the differing parameters. Relative to the config file's dir.
	NetworkFile string `toml:"network_file,omitempty"`
	// Params holds the parameters read from NetworkFile, or nil.
	Params *pki.Params `toml:"-"`
	// AllowList, when non-empty, restricts the directory to these node ids.
	AllowList []string `toml:"allow_list"`
	// Transport is how the client reaches its gateway: "direct" (the
	// default, also when empty) or "tor" (through Tor to the gateway's onion
	// address; the gateways must then be /onion3 addresses).
	Transport string `toml:"transport,omitempty"`
	// TorSOCKS, with transport = "tor", uses a tor that is already running
	// through its SOCKS port (e.g. "127.0.0.1:9050"); empty means start tor
	// from the PATH for the session.
	TorSOCKS string `toml:"tor_socks,omitempty"`
	// TorConfig, with transport = "tor" and no tor_socks, is a torrc file
	// with extra options for the tor the client starts (e.g. bridges).
	TorConfig string `toml:"tor_config,omitempty"`
	// LambdaP, LambdaL and LambdaD are the daemon's Loopix rates in packets
	// per second: the real-or-drop stream (which also carries mailbox
	// fetches), loop cover and drop cover. Zero means the defaults
	// (DefaultLambdaP, DefaultLambdaL, DefaultLambdaD).
	LambdaP float64 `toml:"lambda_p,omitempty"`
	LambdaL float64 `toml:"lambda_l,omitempty"`
	LambdaD float64 `toml:"lambda_d,omitempty"`
	// KeepRead is how long the daemon keeps messages once they are read
	// (`komrade history`), after which they are destroyed like any deleted
	// value of the store; "0s" keeps none (a message is destroyed when it
	// is read). Absent means DefaultKeepRead; see KeepReadFor.
	KeepRead *Duration `toml:"keep_read,omitempty"`
	// Pins and alerts (organize.go): the watched areas, the confirmations
	// that make a pin confirmed, a pin's publication delay and the watch
	// interval. Zero values mean the defaults of package client/pin.
	Watch            []WatchArea `toml:"watch,omitempty"`
	PinConfirmations int         `toml:"pin_confirmations,omitempty"`
	PinDelayMin      *Duration   `toml:"pin_delay_min,omitempty"`
	PinDelayMax      *Duration   `toml:"pin_delay_max,omitempty"`
	WatchEvery       *Duration   `toml:"watch_every,omitempty"`
	// UIListen is where the daemon serves its web interface (`komrade
	// ui`): "127.0.0.1:PORT" or "[::1]:PORT", nothing else; empty means
	// DefaultUIListen (a free port on 127.0.0.1, new at each start), "off"
	// none.
	UIListen string `toml:"ui_listen,omitempty"`
}

// DefaultUIListen is the web interface's address when the client config
// does not say: a free port of 127.0.0.1.
const DefaultUIListen = "127.0.0.1:0"

// UIAddr returns the web interface's listen address, or "" when it is
// off.
func (c *Client) UIAddr() string {
	switch c.UIListen {
	case "":
		return DefaultUIListen
	case "off":
		return ""
	}
	return c.UIListen
}

// DefaultKeepRead is how long read messages are kept when the client
// config does not say; MaxKeepRead is the longest it may say.
const (
	DefaultKeepRead = 24 * time.Hour
	MaxKeepRead     = 365 * 24 * time.Hour
)

// KeepReadFor returns how long read messages are kept: keep_read, or
// DefaultKeepRead when it is absent. Zero means not at all.
func (c *Client) KeepReadFor() time.Duration {
	if c.KeepRead == nil {
		return DefaultKeepRead
	}
	return c.KeepRead.Duration
}

// Default Loopix rates of the client daemon: one packet every 0.4 s on
// average, about 9000 packets (28 MB) an hour, idle or busy.
const (
	DefaultLambdaP = 1.5
	DefaultLambdaL = 0.5
	DefaultLambdaD = 0.5
)

// Rates returns the configured Loopix rates with defaults filled in.
func (c *Client) Rates() (p, l, d float64) {
	p, l, d = c.LambdaP, c.LambdaL, c.LambdaD
	if p == 0 {
		p = DefaultLambdaP
	}
	if l == 0 {
		l = DefaultLambdaL
	}
	if d == 0 {
		d = DefaultLambdaD
	}
	return p, l, d
}

// DefaultClient returns a client configuration with working defaults but no
// gateways, for the default network.
func DefaultClient() Client {
	return Client{Network: pki.DefaultParams().ID().String()}
}

// NetworkID returns the id Network names (Validate checks it parses).
func (c *Client) NetworkID() pki.NetworkID {
	id, _ := pki.ParseNetworkID(c.Network)
	return id
}

// Validate reports the first invalid field by its TOML name.
func (c *Client) Validate() error {
	if len(c.Gateways) == 0 {
		return fieldErr("gateways", "at least one gateway address is needed")
	}
	if err := validatePeerAddrs("gateways", c.Gateways); err != nil {
		return err
	}
	id, err := pki.ParseNetworkID(c.Network)
	if err != nil {
		return fieldErr("network", "must be the network id: 64 hex digits (komrade mixnode init and komrade testnet print it)")
	}
	if c.Params != nil {
		if err := c.Params.Validate(); err != nil {
			return fieldErr("network_file", err.Error())
		}
		if own := c.Params.ID(); own != id {
			return fieldErr("network_file", fmt.Sprintf("its network id is %s, but network names %s", own, id))
		}
	}
	if err := validateAllowList(c.AllowList); err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"lambda_p", c.LambdaP}, {"lambda_l", c.LambdaL}, {"lambda_d", c.LambdaD}} {
		if !(r.v >= 0 && r.v <= 1000) {
			return fieldErr(r.name, "must be between 0 and 1000 packets per second (0: default)")
		}
	}
	if k := c.KeepRead; k != nil && (k.Duration < 0 || k.Duration > MaxKeepRead) {
		return fieldErr("keep_read", fmt.Sprintf("is %v: must be between \"0s\" (read messages are destroyed at once) and \"8760h\" (365 days), e.g. \"24h\"", k.Duration))
	}
	if err := validateOrganize(c); err != nil {
		return err
	}
	if a := c.UIAddr(); a != "" {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !(ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
			return fieldErr("ui_listen", fmt.Sprintf("is %q: must be \"127.0.0.1:PORT\" or \"[::1]:PORT\" (the interface is for this machine only), or \"off\"", a))
		}
	}
	return validateClientTor(c)
}

func validatePeerAddrs(field string, addrs []string) error {
	for i, a := range addrs {
		m, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), err.Error())
		}
		if _, err := m.ValueForProtocol(multiaddr.P_P2P); err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "must end in /p2p/<peer id>")
		}
	}
	return nil
}

func validateAllowList(ids []string) error {
	for i, id := range ids {
		b, err := hex.DecodeString(id)
		if err != nil || len(b) != 32 {
			return fieldErr(fmt.Sprintf("allow_list[%d]", i), "must be a node id: 64 hex characters")
		}
	}
	return nil
}

// FieldError names the configuration field that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("config: %s: %s", e.Field, e.Reason) }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// movedKeys are keys that configs used to have and that now live in the
// network file.
var movedKeys = []string{"epoch_length", "mu", "max_delay", "pow_bits"}

// LoadNode reads a node configuration: defaults, then the file, then the
// network file it names; unknown keys and invalid values are errors naming
// the field.
func LoadNode(path string) (Node, error) {
	n := DefaultNode()
	if err := decodeStrict(path, &n); err != nil {
		return Node{}, err
	}
	if n.NetworkFile == "" {
		return Node{}, fmt.Errorf("%s: %w", path, fieldErr("network_file", "must be set: the network's parameters (komrade mixnode init writes "+NetworkFile+")"))
	}
	p, err := LoadNetwork(resolve(path, n.NetworkFile))
	if err != nil {
		return Node{}, fmt.Errorf("%s: network_file: %w", path, err)
	}
	n.Network = p
	if err := n.Validate(); err != nil {
		return Node{}, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// LoadClient reads a client configuration like LoadNode does.
func LoadClient(path string) (Client, error) {
	c := DefaultClient()
	if err := decodeStrict(path, &c); err != nil {
		return Client{}, err
	}
	if c.NetworkFile != "" {
		p, err := LoadNetwork(resolve(path, c.NetworkFile))
		if err != nil {
			return Client{}, fmt.Errorf("%s: network_file: %w", path, err)
		}
		c.Params = &p
	}
	if err := c.Validate(); err != nil {
		return Client{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func decodeStrict(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(v)
	if err == nil {
		for _, k := range movedKeys {
			if md.IsDefined(k) {
				return fmt.Errorf("%s: %w", path, fieldErr(k, "moved to the network file ("+NetworkFile+"): remove it here; a node names the file with network_file, a client names the network by its id with network"))
			}
		}
	}
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("%s: %s", path, parseErrorText(perr))
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("%s: config: unknown key(s): %s", path, strings.Join(keys, ", "))
	}
	return nil
}

// parseErrorText renders a TOML parse error with its position. The toml
// package's ErrorWithPosition panics on some malformed inputs (e.g. a file
// that is just `"\`, reported at line 0); fall back to the plain message.
func parseErrorText(perr toml.ParseError) (s string) {
	defer func() {
		if recover() != nil {
			s = perr.Error()
		}
	}()
	return perr.ErrorWithPosition()
}

// Write encodes v (a Node or Client) as TOML into path with mode 0600,
// atomically (write to a temporary file, then rename).
func Write(path string, v any) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return secretfile.Write(path, buf.Bytes())
}
