package onion

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/torutil"
	bineed25519 "github.com/cretz/bine/torutil/ed25519"
	"github.com/komrade-net/komrade/internal/secretfile"
)

// KeyFile is the name of a node's onion service key in its data dir.
const KeyFile = "onion.pem"

const keyPEMType = "KOMRADE ONION SERVICE KEY"

// LoadOrCreateKey reads the Ed25519 key of an onion service from path, or
// creates one there (mode 0600) if the file does not exist. The key fixes
// the onion address, so a node keeps its address across restarts. A key
// file readable by group or others is refused.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := secretfile.Read(path, "onion key")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createKey(path)
	case err != nil:
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != keyPEMType || len(blk.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("onion key %s: not a Komrade onion service key", path)
	}
	return ed25519.NewKeyFromSeed(blk.Bytes), nil
}

func createKey(path string) (ed25519.PrivateKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("onion key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: keyPEMType, Bytes: priv.Seed()})
	// Created exclusively: never replace a key another process just wrote.
	if err := secretfile.Create(path, data); err != nil {
		return nil, fmt.Errorf("onion key: %w", err)
	}
	return priv, nil
}

// ServiceID returns the v3 onion address (56 characters, without ".onion")
// of an onion service key.
func ServiceID(key ed25519.PrivateKey) string {
	return torutil.OnionServiceIDFromV3PublicKey(bineed25519.PublicKey(key.Public().(ed25519.PublicKey)))
}

// Service is an onion service published by a tor that this process started.
type Service struct {
	// ID is the v3 onion address without ".onion".
	ID string
	// Port is the virtual port clients connect to.
	Port int

	published chan struct{} // closed on the first descriptor upload
	events    *control.Conn // HS_DESC event connection
	raw       net.Conn      // its network connection
	stopOnce  sync.Once
	stopped   chan struct{} // closed when the event reader has returned
}

// Serve publishes an onion service with key whose virtual port forwards to
// target (host:port, normally the node's libp2p TCP listener on a local
// address). It returns once tor has accepted the service; Published reports
// when the service descriptor has reached the onion service directories, so
// that clients can find it. The service lives until tor is closed.
func (t *Tor) Serve(ctx context.Context, key ed25519.PrivateKey, port int, target string) (*Service, error) {
	if t.bine == nil {
		return nil, errors.New("onion: an onion service needs a tor started by this process (not an attached one)")
	}
	s := &Service{ID: ServiceID(key), Port: port, published: make(chan struct{}), stopped: make(chan struct{})}
	// Subscribe to upload events before the service exists, on a separate
	// control connection that one goroutine owns, so no event is missed.
	events, raw, err := t.eventConn(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan control.Event, 16)
	if err := events.AddEventListener(ch, control.EventCodeHSDesc); err != nil {
		raw.Close()
		return nil, fmt.Errorf("onion: subscribe to HS_DESC events: %w", err)
	}
	s.events, s.raw = events, raw
	go s.readEvents(t, ch)
	t.ctlMu.Lock()
	_, err = t.bine.Control.AddOnion(&control.AddOnionRequest{
		Key:   &control.ED25519Key{KeyPair: bineed25519.FromCryptoPrivateKey(key)},
		Ports: []*control.KeyVal{{Key: strconv.Itoa(port), Val: target}},
	})
	t.ctlMu.Unlock()
	if err != nil {
		s.stopEvents()
		return nil, fmt.Errorf("onion: ADD_ONION: %w", err)
	}
	t.svcMu.Lock()
	t.svcs = append(t.svcs, s)
	t.svcMu.Unlock()
	t.log.Info("onion service added", "onion", s.ID+".onion", "port", port)
	return s, nil
}

// Published is closed once tor has uploaded the service's descriptor to at
// least one onion service directory.
func (s *Service) Published() <-chan struct{} { return s.published }

// eventConn opens and authenticates a second control connection.
func (t *Tor) eventConn(ctx context.Context) (*control.Conn, net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(t.bine.ControlPort))
	if err != nil {
		return nil, nil, fmt.Errorf("onion: tor control port: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	c := control.NewConn(textproto.NewConn(raw))
	if err := c.Authenticate(""); err != nil {
		raw.Close()
		return nil, nil, fmt.Errorf("onion: tor control auth: %w", err)
	}
	raw.SetDeadline(time.Time{})
	return c, raw, nil
}

// readEvents reads HS_DESC events until the first upload of this service
// succeeds or the connection is closed.
func (s *Service) readEvents(t *Tor, ch chan control.Event) {
	defer close(s.stopped)
	defer s.raw.Close()
	var attempts, failures int
	for {
		if err := s.events.HandleNextEvent(); err != nil {
			return
		}
		for {
			var ev control.Event
			select {
			case ev = <-ch:
			default:
			}
			if ev == nil {
				break
			}
			hs, ok := ev.(*control.HSDescEvent)
			if !ok || hs.Address != s.ID {
				continue
			}
			switch hs.Action {
			case "UPLOAD":
				attempts++
			case "UPLOADED":
				t.log.Info("onion service published", "onion", s.ID+".onion", "hsdir", hs.HSDir)
				close(s.published)
				return
			case "FAILED":
				failures++
				t.log.Debug("onion service descriptor upload failed", "hsdir", hs.HSDir, "reason", hs.Reason)
				if failures == attempts {
					t.log.Warn("onion service descriptor uploads failed; tor retries", "reason", hs.Reason, "last_tor_log", t.LastLog())
				}
			}
		}
	}
}

// stopEvents ends the event reader (if it still runs) and waits for it.
func (s *Service) stopEvents() {
	s.stopOnce.Do(func() {
		if s.raw != nil {
			s.raw.Close() // unblocks HandleNextEvent
			<-s.stopped
		}
	})
}
