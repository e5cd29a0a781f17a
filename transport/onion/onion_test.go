package onion

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func testLogger() *slog.Logger {
	lvl := slog.LevelWarn
	if os.Getenv("KOMRADE_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

func needTor(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tor"); err != nil {
		t.Skipf("tor not installed; %s", InstallHint)
	}
}

func TestStartWithoutTor(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Config{})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Start without tor: %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "apt-get install tor") {
		t.Fatalf("error does not say how to install tor: %v", err)
	}
}

// unreachableTorrc is a torrc for a private network whose only directory
// authority does not exist, so tor can never bootstrap.
func unreachableTorrc(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there any more
	path := filepath.Join(t.TempDir(), "torrc")
	torrc := "TestingTorNetwork 1\nDirAuthority nowhere orport=" + strconv.Itoa(port) +
		" no-v2 v3ident=0000000000000000000000000000000000000001 127.0.0.1:" + strconv.Itoa(port) +
		" 0000000000000000000000000000000000000001\n"
	if err := os.WriteFile(path, []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBootstrapTimeout(t *testing.T) {
	needTor(t)
	start := time.Now()
	_, err := Start(context.Background(), Config{
		SOCKS: true, TorrcFile: unreachableTorrc(t), BootstrapTimeout: 4 * time.Second, Logger: testLogger(),
	})
	var be *BootstrapError
	if !errors.As(err, &be) {
		t.Fatalf("Start with an unreachable network: %v, want a BootstrapError", err)
	}
	t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if be.Timeout != 4*time.Second || be.LastLog == "" || be.Progress >= 100 {
		t.Fatalf("BootstrapError lacks the timeout, progress or last log line: %+v", be)
	}
	for _, want := range []string{"did not finish bootstrapping within 4s", "last tor log line: ["} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
}

func TestBootstrapContext(t *testing.T) {
	needTor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Start(ctx, Config{TorrcFile: unreachableTorrc(t), Logger: testLogger()})
	var be *BootstrapError
	if !errors.As(err, &be) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a short context: %v, want a BootstrapError wrapping the deadline", err)
	}
}

func TestBadTorrc(t *testing.T) {
	needTor(t)
	path := filepath.Join(t.TempDir(), "torrc")
	os.WriteFile(path, []byte("NoSuchTorOption 1\n"), 0o600)
	_, err := Start(context.Background(), Config{TorrcFile: path, Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "NoSuchTorOption") {
		t.Fatalf("Start with a bad torrc: %v, want tor's complaint about the option", err)
	}
	t.Logf("user sees: %v", err)
	_, err = Start(context.Background(), Config{TorrcFile: filepath.Join(t.TempDir(), "missing"), Logger: testLogger()})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Start with a missing torrc: %v", err)
	}
}

func TestStartRemovesTemporaryDataDir(t *testing.T) {
	needTor(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	Start(context.Background(), Config{TorrcFile: unreachableTorrc(t), BootstrapTimeout: time.Second, Logger: testLogger()})
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Fatalf("temporary tor data dir left behind: %v", left)
	}
}

func TestAttachNoTor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Attach(context.Background(), addr); err == nil || !strings.Contains(err.Error(), "no tor SOCKS port") {
		t.Fatalf("Attach to a closed port: %v", err)
	}
	if _, err := Attach(context.Background(), "nonsense"); err == nil {
		t.Fatal("Attach accepted a bad address")
	}
}

func TestKeyPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", KeyFile)
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) || ServiceID(k1) != ServiceID(k2) {
		t.Fatal("reloaded key differs")
	}
	if err := CheckServiceID(ServiceID(k1)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable key accepted: %v", err)
	}
	os.Chmod(path, 0o600)
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("garbage key accepted")
	}
}

func TestServiceIDMatchesTor(t *testing.T) {
	// A known v3 address (the Tor Project's) passes the checksum; a
	// one-character change does not.
	good := "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid"
	if err := CheckServiceID(good); err != nil {
		t.Fatal(err)
	}
	if err := CheckServiceID("3" + good[1:]); err == nil {
		t.Fatal("bad checksum accepted")
	}
	if err := CheckServiceID(good[:55]); err == nil {
		t.Fatal("short address accepted")
	}
}

func TestTransportAddresses(t *testing.T) {
	var tr Transport
	id := "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid"
	m, err := Multiaddr(id, VirtualPort)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.CanDial(m) || !IsOnion(m) {
		t.Fatalf("cannot dial %s", m)
	}
	host, port, err := splitOnion(m)
	if err != nil || host != id+".onion" || port != VirtualPort {
		t.Fatalf("splitOnion(%s) = %s, %d, %v", m, host, port, err)
	}
	for _, s := range []string{"/ip4/127.0.0.1/tcp/7700", "/dns/example.org/tcp/1", "/onion3/" + id + ":7700/tcp/1"} {
		if tr.CanDial(ma.StringCast(s)) {
			t.Fatalf("onion transport claims %s", s)
		}
	}
	if _, err := tr.Listen(m); err == nil {
		t.Fatal("onion transport listens")
	}
}

// TestHostDialsOnlyOnion checks that a Tor client's host has no transport
// but the onion one: a direct address fails without any connection attempt.
func TestHostDialsOnlyOnion(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	h, err := NewHost(refusingDialer{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	other, err := NewHost(refusingDialer{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ai := peer.AddrInfo{ID: other.ID(), Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/" + strconv.Itoa(port))}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Connect(ctx, ai); err == nil {
		t.Fatal("onion-only host connected to a TCP address")
	}
	select {
	case <-accepted:
		t.Fatal("onion-only host opened a direct TCP connection")
	default:
	}
	// An onion address goes to the (refusing) SOCKS dialer, whose error
	// says the address does not answer.
	m, _ := Multiaddr("2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid", VirtualPort)
	err = h.Connect(ctx, peer.AddrInfo{ID: other.ID(), Addrs: []ma.Multiaddr{m}})
	if err == nil || !strings.Contains(err.Error(), "does not answer through Tor") {
		t.Fatalf("dial through a refusing tor: %v", err)
	}
}

// refusingDialer fails every dial with tor's "descriptor not found" reply.
type refusingDialer struct{}

func (refusingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, &net.OpError{Op: "socks connect", Net: network, Err: errors.New("unknown error unknown code: 240")}
}

func TestDialErrorReasons(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("socks connect tcp 127.0.0.1:1->x.onion:7700: unknown error unknown code: 242"), "introduction to the onion service failed"},
		{errors.New("socks connect tcp 127.0.0.1:1->x.onion:7700: unknown error host unreachable"), "host unreachable"},
		{context.DeadlineExceeded, "no answer before the deadline"},
		{&net.OpError{Op: "socks connect", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, "cannot reach tor's SOCKS port"},
	} {
		if got := dialError("x.onion", 7700, tc.err).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("dialError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestLogTail(t *testing.T) {
	l := newLogTail(testLogger())
	l.Write([]byte("Nov 25 12:52:43.450 [notice] Bootstrapped 5% (conn): Connecting to a relay\nNov 25 12:52:44.000 [warn] Problem bootst"))
	if got := l.last(); got != "[notice] Bootstrapped 5% (conn): Connecting to a relay" {
		t.Fatalf("last = %q", got)
	}
	l.Write([]byte("rapping. Stuck at 5%\n\n"))
	if got := l.last(); got != "[warn] Problem bootstrapping. Stuck at 5%" {
		t.Fatalf("last = %q", got)
	}
}
