package mixnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/komrade-net/komrade/transport/onion"
)

// The node's Tor onion service (config onion = true). The node starts tor
// with its data directory in <data_dir>/tor and publishes a v3 onion service
// whose key is <data_dir>/onion.pem (created 0600 on first start, so the
// address survives restarts). The service's virtual port onion.VirtualPort
// forwards to the node's libp2p TCP listener, so a client that comes through
// Tor speaks the same client-link and directory protocols, authenticated by
// the same libp2p handshake, as a direct one. The onion address goes into the
// node's signed descriptor.

// onionPublishTimeout bounds how long Start waits for the first upload of
// the onion service's descriptor. When it expires the node runs on and tor
// keeps trying; clients cannot reach the onion address until it succeeds.
const onionPublishTimeout = 2 * time.Minute

type onionService struct {
	tor *onion.Tor
	svc *onion.Service
}

// startOnion starts tor and the onion service when the config asks for it.
func (n *Node) startOnion(ctx context.Context) error {
	if !n.cfg.Onion {
		return nil
	}
	target, err := onionTarget(n.dht.Host.Network().ListenAddresses())
	if err != nil {
		return err
	}
	key, err := onion.LoadOrCreateKey(filepath.Join(n.cfg.DataDir, onion.KeyFile))
	if err != nil {
		return fmt.Errorf("mixnode: %w", err)
	}
	start := time.Now()
	n.log.Info("starting tor for the onion service (onion = true)")
	t, err := onion.Start(ctx, onion.Config{
		DataDir:   filepath.Join(n.cfg.DataDir, "tor"),
		TorrcFile: n.cfg.TorConfig,
		Logger:    n.log,
	})
	if err != nil {
		return fmt.Errorf("mixnode: onion = true: %w", err)
	}
	svc, err := t.Serve(ctx, key, onion.VirtualPort, target)
	if err != nil {
		t.Close()
		return fmt.Errorf("mixnode: onion = true: %w", err)
	}
	n.onion = &onionService{tor: t, svc: svc}
	wait := time.NewTimer(onionPublishTimeout)
	defer wait.Stop()
	select {
	case <-svc.Published():
		n.log.Info("onion service up", "addr", n.OnionAddr(), "took", time.Since(start).Round(time.Millisecond))
	case <-wait.C:
		n.log.Warn("onion service not published yet; tor keeps trying", "onion", svc.ID, "last_tor_log", t.LastLog())
	case <-ctx.Done():
		return fmt.Errorf("mixnode: waiting for the onion service: %w", ctx.Err())
	}
	return nil
}

// stopOnion stops tor, which removes the onion service.
func (n *Node) stopOnion() {
	if n.onion != nil {
		n.onion.tor.Close()
	}
}

// onionID is the node's onion address without ".onion", or "".
func (n *Node) onionID() string {
	if n.onion == nil {
		return ""
	}
	return n.onion.svc.ID
}

// OnionAddr returns the multiaddr at which clients with transport = "tor"
// reach this node, /onion3/<address>:<port>/p2p/<peer id>, or "" when the
// node serves no onion service.
func (n *Node) OnionAddr() string {
	if n.onion == nil {
		return ""
	}
	m, err := onion.Multiaddr(n.onion.svc.ID, n.onion.svc.Port)
	if err != nil {
		return ""
	}
	return m.String() + "/p2p/" + n.PeerID().String()
}

// onionTarget picks the TCP listener the onion service forwards to: the
// first TCP listen address, with an unspecified IP (0.0.0.0, ::) replaced by
// loopback.
func onionTarget(listen []ma.Multiaddr) (string, error) {
	for _, a := range listen {
		if _, err := a.ValueForProtocol(ma.P_WS); err == nil {
			continue
		}
		na, err := manet.ToNetAddr(a)
		if err != nil {
			continue
		}
		tcp, ok := na.(*net.TCPAddr)
		if !ok {
			continue
		}
		ip := tcp.IP
		if ip.IsUnspecified() {
			if ip.To4() != nil {
				ip = net.IPv4(127, 0, 0, 1)
			} else {
				ip = net.IPv6loopback
			}
		}
		return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port)), nil
	}
	return "", errors.New("mixnode: onion = true needs a TCP listen address for the onion service to forward to")
}
