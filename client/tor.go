package client

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/transport/onion"
)

// Transport = "tor": the session's libp2p host has a fresh identity, like a
// direct one, but its only transport is transport/onion's, which dials the
// gateway's /onion3 address through tor's SOCKS port and runs libp2p's
// handshake over that connection. The gateway never sees the client's IP
// address, and the host cannot connect to anything directly. The tor is
// either started for the session (from the PATH, with a temporary data dir,
// stopped on Close) or one already running, reached at tor_socks.

// directConnectTimeout bounds connecting to a gateway and fetching its
// directory over a direct link.
const directConnectTimeout = 15 * time.Second

// newHost returns the libp2p host for a session and, with transport tor,
// the tor it uses (nil otherwise), to be closed with the session.
func newHost(ctx context.Context, cfg config.Client, log *slog.Logger) (host.Host, io.Closer, error) {
	if !cfg.IsTor() {
		h, err := transport.NewHost(nil, nil, nil) // fresh identity per session, no listener
		return h, nil, err
	}
	var (
		t   *onion.Tor
		err error
	)
	if cfg.TorSOCKS != "" {
		t, err = onion.Attach(ctx, cfg.TorSOCKS)
	} else {
		log.Info("starting tor for the session (transport = tor)")
		start := time.Now()
		t, err = onion.Start(ctx, onion.Config{SOCKS: true, TorrcFile: cfg.TorConfig, Logger: log})
		if err == nil {
			log.Info("tor bootstrapped", "took", time.Since(start).Round(time.Millisecond))
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("client: transport = tor: %w", err)
	}
	d, err := t.Dialer()
	if err != nil {
		t.Close()
		return nil, nil, fmt.Errorf("client: transport = tor: %w", err)
	}
	h, err := onion.NewHost(d)
	if err != nil {
		t.Close()
		return nil, nil, fmt.Errorf("client: transport = tor: %w", err)
	}
	return h, t, nil
}

// connectTimeout bounds connecting to one gateway and fetching its
// directory: longer over Tor, where reaching an onion service builds
// circuits first.
func connectTimeout(cfg config.Client) time.Duration {
	if cfg.IsTor() {
		return onion.DialTimeout + directConnectTimeout
	}
	return directConnectTimeout
}

// closeTor stops the session's tor, if any.
func closeTor(t io.Closer) {
	if t != nil {
		t.Close()
	}
}
