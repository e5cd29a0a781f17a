// Package onion carries Komrade's links over Tor. It has two halves:
//
//   - Starting or attaching to a tor. Start runs the `tor` binary from the
//     PATH (Debian package `tor`) through github.com/cretz/bine: bine starts
//     the process with a control port and cookie authentication, and this
//     package enables the network, waits for the bootstrap with a timeout
//     (reporting tor's last log line when it fails), makes tor exit with the
//     process that owns it (TAKEOWNERSHIP and __OwningControllerProcess), and
//     stops it on Close. Attach uses a tor that is already running, by its
//     SOCKS address.
//   - The two ends of a link. A mix node publishes a persistent v3 onion
//     service (Tor.Serve, key in the node's data dir) whose virtual port
//     VirtualPort forwards to the node's libp2p TCP listener, so onion
//     clients reach the same client-link and directory protocols as direct
//     ones. A client builds a libp2p host (NewHost) whose only transport is
//     Transport: it dials /onion3 multiaddrs through tor's SOCKS port and
//     upgrades the connection with libp2p's upgrader (Noise or TLS, then
//     yamux), so the link is encrypted and authenticated to the gateway's
//     identity key end to end, exactly as a direct link is; Tor adds the
//     hiding of the client's IP address.
//
// The client host has no other transport, so a client configured for Tor
// cannot fall back to a direct connection that would reveal its address.
package onion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/tor"
	"golang.org/x/net/proxy"
)

// Defaults for starting tor.
const (
	// DefaultBootstrapTimeout bounds how long Start waits for tor to reach
	// 100% bootstrap. A first bootstrap on the public network takes seconds
	// to a minute; a slow or censored network can take longer.
	DefaultBootstrapTimeout = 3 * time.Minute
	// controlPortWait bounds how long tor may take to open its control port.
	controlPortWait = 30 * time.Second
	// exitWait is how long Close waits for tor to exit after HALT before it
	// kills the process.
	exitWait = 5 * time.Second
)

// InstallHint tells a user how to get tor.
const InstallHint = "install it: apt-get install tor (Debian/Ubuntu), or your system's tor package"

// ErrNotInstalled is returned (wrapped) by Start when there is no tor binary
// on the PATH.
var ErrNotInstalled = errors.New("tor is not installed (no `tor` on the PATH)")

// Config describes a tor to start.
type Config struct {
	// DataDir is tor's data directory (created 0700). Empty means a
	// temporary directory, removed on Close. A persistent one keeps tor's
	// cached directory information, so later starts bootstrap faster.
	DataDir string
	// TorrcFile, when set, is a torrc with extra options (bridges, a proxy,
	// or a private test network); the options Start sets on the command
	// line take precedence over it.
	TorrcFile string
	// SOCKS opens a SOCKS port on 127.0.0.1 for outgoing connections
	// (clients). A tor that only hosts onion services does not need one.
	SOCKS bool
	// BootstrapTimeout bounds the wait for 100% bootstrap; zero means
	// DefaultBootstrapTimeout. The caller's context can end it sooner.
	BootstrapTimeout time.Duration
	// Logger receives tor's log lines (notices at debug level, warnings
	// and errors at warn and error level); nil means slog.Default().
	Logger *slog.Logger
}

// Tor is a running tor that this process started (Start) or uses (Attach).
type Tor struct {
	log    *slog.Logger
	bine   *tor.Tor      // nil when attached
	proc   *torProcess   // nil when attached
	out    *logTail      // nil when attached
	socks  string        // SOCKS host:port, "" if none
	cancel func()        // ends the process's context (kills it)
	tmpDir string        // removed on Close
	ctlMu  sync.Mutex    // serialises control commands issued by this package
	once   sync.Once     // Close
	svcs   []*Service    // services to close with tor
	svcMu  sync.Mutex    // svcs
	closed chan struct{} // closed by Close
}

// Start runs tor from the PATH, waits until it has bootstrapped and returns
// it. The context bounds the start-up only; the process runs until Close.
// Errors name the cause: tor not installed (with the install hint), a torrc
// that tor rejects, or a bootstrap that did not finish in time (with tor's
// progress and last log line).
func Start(ctx context.Context, cfg Config) (*Tor, error) {
	exe, err := exec.LookPath("tor")
	if err != nil {
		return nil, fmt.Errorf("onion: %w: %s", ErrNotInstalled, InstallHint)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "tor")
	if cfg.TorrcFile != "" {
		if _, err := os.Stat(cfg.TorrcFile); err != nil {
			return nil, fmt.Errorf("onion: torrc: %w", err)
		}
	}
	t := &Tor{log: log, closed: make(chan struct{})}
	dataDir := cfg.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "komrade-tor-"); err != nil {
			return nil, fmt.Errorf("onion: tor data dir: %w", err)
		}
		t.tmpDir = dataDir
	} else if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("onion: tor data dir: %w", err)
	}
	// tor refuses a data directory that others can read.
	if err := os.Chmod(dataDir, 0o700); err != nil {
		t.removeTmp()
		return nil, fmt.Errorf("onion: tor data dir: %w", err)
	}
	// An empty torrc of our own: the defaults file, so that a system-wide
	// torrc-defaults does not apply, and the torrc when none is given (bine
	// would otherwise leave a new temporary one in the data dir at every
	// start).
	empty := filepath.Join(dataDir, "torrc-empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.removeTmp()
		return nil, fmt.Errorf("onion: torrc: %w", err)
	}
	torrc := cfg.TorrcFile
	if torrc == "" {
		torrc = empty
	}
	socksPort := "0"
	if cfg.SOCKS {
		// ExtendedErrors makes tor report why an onion service did not
		// answer (descriptor not found, introduction failed, ...).
		socksPort = "127.0.0.1:auto ExtendedErrors"
	}
	t.out = newLogTail(log)
	creator := &creator{exe: exe, out: t.out, startCtx: ctx}
	procCtx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	bt, err := tor.Start(procCtx, &tor.StartConf{
		ProcessCreator:  creator,
		DataDir:         dataDir,
		TorrcFile:       torrc,
		NoAutoSocksPort: true,
		NoHush:          true,
		ExtraArgs: []string{
			"--defaults-torrc", empty,
			"--SocksPort", socksPort,
			"--Log", "notice stdout",
			"--__OwningControllerProcess", strconv.Itoa(os.Getpid()),
		},
	})
	t.proc = creator.proc
	if err != nil {
		t.stopProcess()
		creator.removePortFile()
		t.removeTmp()
		return nil, t.startError(err)
	}
	creator.removePortFile()
	t.bine = bt
	if err := t.configure(ctx, cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// configure takes ownership of the process, enables the network, waits for
// the bootstrap and finds the SOCKS port.
func (t *Tor) configure(ctx context.Context, cfg Config) error {
	c := t.bine.Control
	// tor exits when this control connection closes, so a crash of this
	// process does not leave it running.
	if err := c.TakeOwnership(); err != nil {
		return fmt.Errorf("onion: tor TAKEOWNERSHIP: %w", err)
	}
	if err := c.SetConf(control.KeyVals("DisableNetwork", "0")...); err != nil {
		return fmt.Errorf("onion: enable tor network: %w", err)
	}
	timeout := cfg.BootstrapTimeout
	if timeout <= 0 {
		timeout = DefaultBootstrapTimeout
	}
	if err := t.waitBootstrap(ctx, timeout); err != nil {
		return err
	}
	if cfg.SOCKS {
		kv, err := t.getInfo("net/listeners/socks")
		if err != nil {
			return fmt.Errorf("onion: tor SOCKS port: %w", err)
		}
		addr := strings.Trim(strings.Fields(kv + " ")[0], `"`)
		if addr == "" {
			return errors.New("onion: tor opened no SOCKS port")
		}
		t.socks = addr
	}
	t.log.Debug("tor ready", "socks", t.socks)
	return nil
}

// Attach uses a tor that is already running (the system's, or Tor
// Browser's) through its SOCKS port, e.g. "127.0.0.1:9050". That tor must be
// bootstrapped; Komrade does not control it and Close leaves it running.
func Attach(ctx context.Context, socksAddr string) (*Tor, error) {
	if _, _, err := net.SplitHostPort(socksAddr); err != nil {
		return nil, fmt.Errorf("onion: tor SOCKS address %q: %w", socksAddr, err)
	}
	var d net.Dialer
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(cctx, "tcp", socksAddr)
	if err != nil {
		return nil, fmt.Errorf("onion: no tor SOCKS port at %s (is tor running? %s): %w", socksAddr, InstallHint, err)
	}
	conn.Close()
	return &Tor{log: slog.Default(), socks: socksAddr, closed: make(chan struct{})}, nil
}

// SOCKSAddr is the address of tor's SOCKS port, or "" if it has none.
func (t *Tor) SOCKSAddr() string { return t.socks }

// Dialer returns a dialer through tor's SOCKS port. Each dialer uses its own
// random SOCKS credentials, which tor's default IsolateSOCKSAuth turns into
// circuits of its own: two client sessions do not share circuits.
func (t *Tor) Dialer() (proxy.ContextDialer, error) {
	if t.socks == "" {
		return nil, errors.New("onion: this tor has no SOCKS port")
	}
	var user, pass [16]byte
	if _, err := rand.Read(user[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(pass[:]); err != nil {
		return nil, err
	}
	conf := &tor.DialConf{
		ProxyAddress:      t.socks,
		ProxyNetwork:      "tcp",
		SkipEnableNetwork: true,
		ProxyAuth:         &proxy.Auth{User: hex.EncodeToString(user[:]), Password: hex.EncodeToString(pass[:])},
	}
	// A Tor value without a controller serves here: with ProxyAddress and
	// SkipEnableNetwork set, bine does not touch the control port.
	d, err := (&tor.Tor{}).Dialer(context.Background(), conf)
	if err != nil {
		return nil, fmt.Errorf("onion: SOCKS dialer: %w", err)
	}
	cd, ok := d.Dialer.(proxy.ContextDialer)
	if !ok {
		return nil, errors.New("onion: SOCKS dialer cannot take a context")
	}
	return cd, nil
}

// LastLog returns tor's last log line ("" when attached or silent).
func (t *Tor) LastLog() string {
	if t.out == nil {
		return ""
	}
	return t.out.last()
}

// Close removes the onion services, stops tor if this process started it,
// and removes a temporary data directory.
func (t *Tor) Close() error {
	t.once.Do(func() {
		close(t.closed)
		t.svcMu.Lock()
		svcs := t.svcs
		t.svcs = nil
		t.svcMu.Unlock()
		for _, s := range svcs {
			s.stopEvents()
		}
		if t.bine != nil {
			t.ctlMu.Lock()
			// HALT, close the controller, wait up to 300 ms for the exit.
			if err := t.bine.Close(); err != nil {
				t.log.Debug("tor close", "err", err)
			}
			t.ctlMu.Unlock()
		}
		t.stopProcess()
		t.removeTmp()
	})
	return nil
}

// stopProcess waits for tor to exit and kills it if it does not in time.
func (t *Tor) stopProcess() {
	if t.cancel == nil {
		return
	}
	if t.proc == nil || !t.proc.started {
		t.cancel()
		return
	}
	select {
	case <-t.proc.done:
	case <-time.After(exitWait):
		t.log.Warn("tor did not exit after HALT; killing it")
	}
	t.cancel() // kills the process if it is still running
	<-t.proc.done
}

func (t *Tor) removeTmp() {
	if t.tmpDir != "" {
		os.RemoveAll(t.tmpDir)
	}
}

// startError explains a failed start: tor exited (its last log line says
// why), or did not open its control port.
func (t *Tor) startError(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		if p := t.out.problems(3); len(p) > 0 {
			return fmt.Errorf("onion: tor exited during start-up (%v): %s", ee.err, strings.Join(p, " "))
		}
		return fmt.Errorf("onion: tor exited during start-up (%v); last tor log line: %s", ee.err, orNone(t.out.last()))
	}
	return fmt.Errorf("onion: starting tor: %w; last tor log line: %s", err, orNone(t.out.last()))
}

func (t *Tor) getInfo(key string) (string, error) {
	t.ctlMu.Lock()
	defer t.ctlMu.Unlock()
	select {
	case <-t.closed:
		return "", errors.New("onion: tor closed")
	default:
	}
	kvs, err := t.bine.Control.GetInfo(key)
	if err != nil {
		return "", err
	}
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Val, nil
		}
	}
	return "", fmt.Errorf("onion: GETINFO %s: no value", key)
}

// BootstrapError reports a tor that did not finish bootstrapping.
type BootstrapError struct {
	// Timeout is the bootstrap timeout that expired (zero if the caller's
	// context ended first, or tor exited).
	Timeout time.Duration
	// Progress and Summary are tor's last bootstrap status; Warning is the
	// problem tor reported, if any.
	Progress int
	Summary  string
	Warning  string
	// LastLog is tor's last log line.
	LastLog string
	// Err is the context's error or tor's exit status, if one ended the wait.
	Err error
}

func (e *BootstrapError) Error() string {
	var b strings.Builder
	b.WriteString("onion: tor did not finish bootstrapping")
	switch {
	case e.Timeout > 0:
		fmt.Fprintf(&b, " within %v", e.Timeout)
	case e.Err != nil:
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	fmt.Fprintf(&b, ": stuck at %d%%", e.Progress)
	if e.Summary != "" {
		fmt.Fprintf(&b, " (%s)", e.Summary)
	}
	if e.Warning != "" {
		fmt.Fprintf(&b, ", tor reports: %s", e.Warning)
	}
	fmt.Fprintf(&b, "; last tor log line: %s", orNone(e.LastLog))
	return b.String()
}

func (e *BootstrapError) Unwrap() error { return e.Err }

var (
	progressRE = regexp.MustCompile(`PROGRESS=(\d+)`)
	summaryRE  = regexp.MustCompile(`SUMMARY="((?:[^"\\]|\\.)*)"`)
	warningRE  = regexp.MustCompile(`WARNING="((?:[^"\\]|\\.)*)"`)
)

// waitBootstrap polls tor's bootstrap phase until it reports 100%.
func (t *Tor) waitBootstrap(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	be := &BootstrapError{}
	for {
		phase, err := t.getInfo("status/bootstrap-phase")
		if err == nil {
			if m := progressRE.FindStringSubmatch(phase); m != nil {
				be.Progress, _ = strconv.Atoi(m[1])
			}
			if m := summaryRE.FindStringSubmatch(phase); m != nil {
				be.Summary = m[1]
			}
			if m := warningRE.FindStringSubmatch(phase); m != nil {
				be.Warning = m[1]
			}
			if be.Progress == 100 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			be.Err = ctx.Err()
		case <-t.proc.done:
			be.Err = fmt.Errorf("tor exited: %v", t.proc.err)
		case <-timer.C:
			be.Timeout = timeout
		case <-tick.C:
			continue
		}
		be.LastLog = t.out.last()
		return be
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
