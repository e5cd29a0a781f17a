package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/multiformats/go-multiaddr"
)

// Client transports (Client.Transport).
const (
	// TransportDirect connects to the gateway over TCP: the gateway sees
	// the client's IP address. The empty string means the same.
	TransportDirect = "direct"
	// TransportTor connects to the gateway's onion service through Tor,
	// so the gateway does not learn the client's IP address.
	TransportTor = "tor"
)

// IsTor reports whether the client reaches its gateway over Tor.
func (c *Client) IsTor() bool { return c.Transport == TransportTor }

// validateNodeTor checks the Tor settings of a node: an onion service
// forwards to a TCP listener, so onion = true needs one.
func validateNodeTor(n *Node) error {
	if !n.Onion {
		return nil
	}
	for _, a := range n.ListenAddrs {
		m, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			continue // reported by Validate
		}
		_, tcpErr := m.ValueForProtocol(multiaddr.P_TCP)
		_, wsErr := m.ValueForProtocol(multiaddr.P_WS)
		if tcpErr == nil && wsErr != nil {
			return nil
		}
	}
	return fieldErr("onion", "needs a TCP address in listen_addrs (the onion service forwards to it)")
}

// LoadClientTransport reads a client configuration like LoadClient, with
// the transport set to transport (when not empty) before validation: the
// `--tor` flag of `komrade ping` uses it.
func LoadClientTransport(path, transport string) (Client, error) {
	c := DefaultClient()
	if err := decodeStrict(path, &c); err != nil {
		return Client{}, err
	}
	if transport != "" {
		c.Transport = transport
	}
	if err := c.Validate(); err != nil {
		return Client{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// validateClientTor checks transport and the Tor settings of a client. With
// transport = "tor" every gateway must be an /onion3 address: the client
// then has no way to connect to anything directly. Without it, an /onion3
// gateway cannot be reached.
func validateClientTor(c *Client) error {
	switch c.Transport {
	case "", TransportDirect:
		for i, g := range c.Gateways {
			if strings.HasPrefix(g, "/onion3/") {
				return fieldErr(fmt.Sprintf("gateways[%d]", i), `an /onion3 gateway needs transport = "tor" (or --tor)`)
			}
		}
		return nil
	case TransportTor:
	default:
		return fieldErr("transport", fmt.Sprintf(`must be %q or %q, not %q`, TransportDirect, TransportTor, c.Transport))
	}
	for i, g := range c.Gateways {
		if !strings.HasPrefix(g, "/onion3/") {
			return fieldErr(fmt.Sprintf("gateways[%d]", i), `with transport = "tor" a gateway must be an /onion3/<address>:<port>/p2p/<peer id> address (a node run with onion = true prints it)`)
		}
	}
	if c.TorSOCKS != "" {
		if c.TorConfig != "" {
			return fieldErr("tor_config", "is for a tor that Komrade starts; with tor_socks Komrade uses a running tor")
		}
		if _, _, err := net.SplitHostPort(c.TorSOCKS); err != nil {
			return fieldErr("tor_socks", "must be host:port of a tor SOCKS port, e.g. 127.0.0.1:9050")
		}
	}
	return nil
}
