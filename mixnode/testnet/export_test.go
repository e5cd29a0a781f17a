package testnet

import "time"

// DelayedForTest reports whether a connection whose far end, seen from a
// node, is addr (host:port) crosses one of n's delay proxies.
func DelayedForTest(n *Network, addr string) bool { return n.delayed(addr) }

// DelayProxyForTest starts a delay proxy to target (host:port) and returns
// its address and a function that stops it.
func DelayProxyForTest(target string, min, max time.Duration) (addr string, stop func() error, err error) {
	p, err := listenDelayProxy("127.0.0.1:0", Delay{Min: min, Max: max})
	if err != nil {
		return "", nil, err
	}
	p.setTarget(target)
	return p.Addr(), p.Close, nil
}
