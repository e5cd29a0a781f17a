package testnet

import (
	"fmt"

	"github.com/komrade-net/komrade/config"
)

// Onion gateways. A test network whose gateways serve onion services is
// started with Options.Configure = OnionGateways(k, torrc): the first k nodes
// set onion = true and start tor with the given torrc (a private Tor
// network's, from internal/tornet, or "" for the public one). TorClient
// then gives a client configuration that reaches those gateways only through
// their onion addresses.

// OnionGateways returns a Configure function that makes nodes 0..k-1 serve
// onion services, their tor started with torrc ("" for none). next, when
// not nil, is applied to every node afterwards.
func OnionGateways(k int, torrc string, next func(i int, c *config.Node)) func(i int, c *config.Node) {
	return func(i int, c *config.Node) {
		if i < k {
			c.Onion = true
			c.TorConfig = torrc
		}
		if next != nil {
			next(i, c)
		}
	}
}

// TorClient returns a copy of the network's client configuration with
// transport = "tor" whose gateways are the onion addresses of the running
// nodes that serve one (at most three). With socks set the client uses the
// tor at that SOCKS address; otherwise it starts its own, with torrc.
func (n *Network) TorClient(torrc, socks string) (config.Client, error) {
	c := n.Client
	c.Gateways = nil
	for _, node := range n.Nodes {
		if node == nil || len(c.Gateways) == 3 {
			continue
		}
		if a := node.OnionAddr(); a != "" {
			c.Gateways = append(c.Gateways, a)
		}
	}
	if len(c.Gateways) == 0 {
		return config.Client{}, fmt.Errorf("testnet: no node serves an onion service (use OnionGateways)")
	}
	c.Transport = config.TransportTor
	c.TorSOCKS = socks
	if socks == "" {
		c.TorConfig = torrc
	}
	return c, c.Validate()
}
