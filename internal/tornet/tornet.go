// Package tornet starts a private Tor network on 127.0.0.1 for tests: the
// public Tor network is out of reach of CI, so the Tor tests of several
// packages build one from Debian's tor. It has three directory authorities
// (also relays and exits), two relays and one client tor with a SOCKS port,
// all with TestingTorNetwork, AssumeReachable, every relay voted Exit, Guard
// and HSDir, and the shortest voting intervals tor accepts; it reaches 100%
// bootstrap in well under a minute.
//
// Tors that join the network (a node's onion service tor, a client's tor)
// are started with the torrc fragment at ClientTorrc, which names the
// network's authorities. Every process gets its own ports and a directory
// under the network's, and exits when Close is called (or, should the test
// binary die, when tor notices its owner is gone).
//
// A test package starts one network and runs its Tor tests against it (as
// subtests of one test, so that the network is stopped at that test's
// cleanup): the network takes 30-60 s to come up and about 600 MiB.
package tornet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InstallHint says how to get what the private network needs.
const InstallHint = "install tor to run them: apt-get install tor (it provides tor and tor-gencert)"

// Available reports whether tor and tor-gencert are on the PATH.
func Available() error {
	for _, bin := range []string{"tor", "tor-gencert"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found on the PATH; %s", bin, InstallHint)
		}
	}
	return nil
}

// Options shape a network.
type Options struct {
	// Dir holds every process's data directory and torrc; default a new
	// temporary directory, removed by Close.
	Dir string
	// Timeout bounds the wait for every process to bootstrap; default 3m.
	Timeout time.Duration
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// Network is a running private Tor network.
type Network struct {
	dir, tmp    string
	clientTorrc string
	socks       string
	procs       []*proc
	log         *slog.Logger
}

type proc struct {
	name, dir string
	cmd       *exec.Cmd
	done      chan struct{}
}

// ClientTorrc is the path of a torrc fragment for a tor that joins the
// network (onion.Config.TorrcFile, config tor_config).
func (n *Network) ClientTorrc() string { return n.clientTorrc }

// SOCKSAddr is the SOCKS address (host:port) of the network's client tor,
// for clients that attach to a running tor (config tor_socks).
func (n *Network) SOCKSAddr() string { return n.socks }

// Dir is the network's directory.
func (n *Network) Dir() string { return n.dir }

// common are the torrc lines every process of the network shares.
func common(dir string) string {
	return fmt.Sprintf(`TestingTorNetwork 1
DataDirectory %s
RunAsDaemon 0
ShutdownWaitLength 0
Log notice file %s
SafeLogging 0
ContactInfo komrade-test@example.invalid
TestingDirAuthVoteExit *
TestingDirAuthVoteHSDir *
TestingDirAuthVoteGuard *
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingV3AuthInitialVotingInterval 10
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
__OwningControllerProcess %d
`, dir, filepath.Join(dir, "notice.log"), os.Getpid())
}

// Start builds the network and waits until every process has bootstrapped.
// A port taken between choosing and binding it makes a process fail; Start
// then tries again with fresh ports, up to three times.
func Start(ctx context.Context, opts Options) (*Network, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	base, tmp := opts.Dir, ""
	if base == "" {
		var err error
		if base, err = os.MkdirTemp("", "komrade-tornet-"); err != nil {
			return nil, err
		}
		tmp = base
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		dir := filepath.Join(base, fmt.Sprintf("net%d", attempt))
		n, err := start(ctx, dir, opts)
		if err == nil {
			n.tmp = tmp
			return n, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			break
		}
		opts.Logger.Warn("tornet: a port was taken; retrying with fresh ports", "err", err)
	}
	if tmp != "" {
		os.RemoveAll(tmp)
	}
	return nil, lastErr
}

var errPortTaken = errors.New("port already in use")

func start(ctx context.Context, dir string, opts Options) (*Network, error) {
	n := &Network{dir: dir, log: opts.Logger}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Ports: for each authority an ORPort and a DirPort, for each relay an
	// ORPort, and the client's SOCKS port.
	ports, err := freePorts(3*2 + 2 + 1)
	if err != nil {
		return nil, err
	}
	type authority struct{ dir, torrc, line string }
	auths := make([]authority, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range auths {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := filepath.Join(dir, fmt.Sprintf("auth%d", i))
			orPort, dirPort := ports[2*i], ports[2*i+1]
			torrc := common(d) + fmt.Sprintf(`Nickname auth%d
Address 127.0.0.1
AssumeReachable 1
ORPort 127.0.0.1:%d
DirPort 127.0.0.1:%d
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ExitPolicy accept *:*
SocksPort 0
`, i, orPort, dirPort)
			v3, fp, err := authorityKeys(ctx, d, torrc, dirPort)
			if err != nil {
				errs[i] = fmt.Errorf("tornet: authority %d keys: %w", i, err)
				return
			}
			auths[i] = authority{dir: d, torrc: torrc,
				line: fmt.Sprintf("DirAuthority auth%d orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s\n", i, orPort, v3, dirPort, fp)}
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var dirLines string
	for _, a := range auths {
		dirLines += a.line
	}
	type member struct{ name, dir, torrc string }
	var members []member
	for i, a := range auths {
		members = append(members, member{fmt.Sprintf("auth%d", i), a.dir, a.torrc + dirLines})
	}
	for i := 0; i < 2; i++ {
		d := filepath.Join(dir, fmt.Sprintf("relay%d", i))
		members = append(members, member{fmt.Sprintf("relay%d", i), d, common(d) + fmt.Sprintf(`Nickname relay%d
Address 127.0.0.1
AssumeReachable 1
ORPort 127.0.0.1:%d
ExitPolicy accept *:*
SocksPort 0
`, i, ports[6+i]) + dirLines})
	}
	n.socks = "127.0.0.1:" + strconv.Itoa(ports[8])
	d := filepath.Join(dir, "client")
	members = append(members, member{"client", d, common(d) + "SocksPort " + n.socks + " ExtendedErrors\n" + dirLines})

	// The fragment for tors that join: only what a client or an onion
	// service needs to find this network.
	n.clientTorrc = filepath.Join(dir, "client-torrc")
	if err := os.WriteFile(n.clientTorrc, []byte("TestingTorNetwork 1\n"+dirLines), 0o600); err != nil {
		return nil, err
	}

	for _, m := range members {
		p, err := n.run(m.name, m.dir, m.torrc)
		if err != nil {
			n.Close()
			return nil, err
		}
		n.procs = append(n.procs, p)
	}
	if err := n.waitBootstrapped(ctx, opts.Timeout); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// authorityKeys creates an authority's keys with tor-gencert and reads its
// relay fingerprint with tor --list-fingerprint. That command refuses a
// TestingTorNetwork torrc without a DirAuthority line, so it gets a
// placeholder one.
func authorityKeys(ctx context.Context, dir, torrc string, dirPort int) (v3ident, fingerprint string, err error) {
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return "", "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, "tor-gencert", "--create-identity-key", "-m", "12",
		"-a", "127.0.0.1:"+strconv.Itoa(dirPort), "--passphrase-fd", "0")
	cmd.Dir = keys
	cmd.Stdin = strings.NewReader("\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("tor-gencert: %v: %s", err, out)
	}
	cert, err := os.ReadFile(filepath.Join(keys, "authority_certificate"))
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(cert), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "fingerprint" {
			v3ident = f[1]
		}
	}
	if v3ident == "" {
		return "", "", errors.New("no fingerprint in authority_certificate")
	}
	fpTorrc := filepath.Join(dir, "torrc.fingerprint")
	placeholder := "DirAuthority placeholder orport=1 no-v2 v3ident=0000000000000000000000000000000000000000 127.0.0.1:1 0000000000000000000000000000000000000000\n"
	if err := os.WriteFile(fpTorrc, []byte(torrc+placeholder), 0o600); err != nil {
		return "", "", err
	}
	defer os.Remove(fpTorrc)
	if out, err := exec.CommandContext(ctx, "tor", "--list-fingerprint", "-f", fpTorrc).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("tor --list-fingerprint: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fingerprint"))
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("unexpected fingerprint file %q", b)
	}
	return v3ident, f[1], nil
}

// run starts one tor process.
func (n *Network) run(name, dir, torrc string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "torrc")
	if err := os.WriteFile(path, []byte(torrc), 0o600); err != nil {
		return nil, err
	}
	empty := filepath.Join(dir, "torrc-defaults")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("tor", "-f", path, "--defaults-torrc", empty)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tornet: start %s: %w", name, err)
	}
	p := &proc{name: name, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitBootstrapped polls every process's log for 100% bootstrap.
func (n *Network) waitBootstrapped(ctx context.Context, timeout time.Duration) error {
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := 0
		for _, p := range n.procs {
			select {
			case <-p.done:
				last := p.lastLog()
				err := fmt.Errorf("tornet: %s exited: %s", p.name, last)
				if p.logContains("Address already in use") {
					err = fmt.Errorf("%w: %w", errPortTaken, err)
				}
				return err
			default:
			}
			if p.logContains("Bootstrapped 100%") {
				ready++
			}
		}
		if ready == len(n.procs) {
			n.log.Info("tornet: private Tor network bootstrapped", "took", time.Since(start).Round(time.Millisecond), "dir", n.dir)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tornet: %d of %d tors bootstrapped: %w", ready, len(n.procs), ctx.Err())
		case <-deadline.C:
			var stuck []string
			for _, p := range n.procs {
				if !p.logContains("Bootstrapped 100%") {
					stuck = append(stuck, p.name+": "+p.lastLog())
				}
			}
			return fmt.Errorf("tornet: not bootstrapped within %v: %s", timeout, strings.Join(stuck, "; "))
		case <-tick.C:
		}
	}
}

func (p *proc) logContains(s string) bool {
	b, err := os.ReadFile(filepath.Join(p.dir, "notice.log"))
	return err == nil && strings.Contains(string(b), s)
}

func (p *proc) lastLog() string {
	f, err := os.Open(filepath.Join(p.dir, "notice.log"))
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	last := "(empty log)"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// Close stops every process (SIGTERM, then SIGKILL after 5 s), waits for
// them and removes a temporary directory.
func (n *Network) Close() {
	for _, p := range n.procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range n.procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	n.procs = nil
	if n.tmp != "" {
		os.RemoveAll(n.tmp)
	}
}

// freePorts returns k distinct free TCP ports on 127.0.0.1.
func freePorts(k int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < k; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
