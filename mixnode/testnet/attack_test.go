package testnet_test

// The resource attacks of the issue "Nodes no peer can break", run from
// another process against a node of an in-process network:
//
//	go test -count=1 -v -run '^TestResourceAttack$' ./mixnode/testnet/
//
// The attacker is this test binary run again (TestAttackerProcess, which
// skips unless KOMRADE_ATTACK_TARGET is set), so that its memory is not the
// victim's. docs/benchmarks.md ("Attack figures") has the results.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/transport"
)

const (
	attackEnv  = "KOMRADE_ATTACK_TARGET" // the target's multiaddr with /p2p/
	attackKind = "KOMRADE_ATTACK_KIND"   // "kad" or "set"

	kadAttackStreams = 768
	kadClaim         = 4 << 20 // kad-dht's network.MessageSizeMax
	setAttackStreams = 256
	setClaim         = 1 << 20 // sets.MaxFrameSize

	// maxGrowth is how far above its idle RSS the victim may go.
	maxGrowth = 300 << 20
)

// vmRSS returns this process's resident set size in bytes.
func vmRSS(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestResourceAttack starts a 6-node network, finds the client's gateway,
// and runs each attack against it from a child process: the node must stay
// under maxGrowth above its idle RSS, keep answering kad requests from an
// honest peer, and keep forwarding (echoes through it succeed).
func TestResourceAttack(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 6, LambdaM: -1})
	c := dial(t, net)
	var target *mixnode.Node
	for _, n := range net.Nodes {
		if ai, err := peer.AddrInfoFromString(n.Addrs()[0]); err == nil && ai.ID == c.Gateway() {
			target = n
		}
	}
	if target == nil {
		t.Fatal("the client's gateway is not a node of the network")
	}
	targetAddr := target.Addrs()[0]
	if got := echoes(t, c, 20, 5, 20*time.Second); got != 20 {
		t.Fatalf("before the attack: %d/20 echoes", got)
	}
	honest := newKadClient(t)

	for _, kind := range []string{"kad", "set"} {
		t.Run(kind, func(t *testing.T) {
			// Give back what an earlier attack left, so that idle is idle.
			debug.FreeOSMemory()
			idle := vmRSS(t)
			var peak atomic.Int64
			peak.Store(idle)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if r := vmRSS(t); r > peak.Load() {
							peak.Store(r)
						}
					}
				}
			})
			child := startAttacker(t, kind, targetAddr)
			// While the attacker holds its streams: the node answers an
			// honest kad peer and forwards echoes.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			pingErr := honest.ping(ctx, targetAddr)
			cancel()
			ok := echoes(t, c, 10, 5, 20*time.Second)
			time.Sleep(2 * time.Second) // the attacker's streams stay open
			close(stop)
			wg.Wait()
			child.stop()
			growth := peak.Load() - idle
			t.Logf("%s attack: idle RSS %d MB, peak %d MB, growth %d MB; attacker: %s",
				kind, idle>>20, peak.Load()>>20, growth>>20, child.report())
			if pingErr != nil {
				t.Errorf("honest kad ping during the %s attack: %v", kind, pingErr)
			}
			if ok != 10 {
				t.Errorf("during the %s attack: %d/10 echoes", kind, ok)
			}
			if growth > maxGrowth {
				t.Errorf("%s attack: RSS grew by %d MB, want at most %d MB", kind, growth>>20, maxGrowth>>20)
			}
		})
	}
}

// kadClient is an honest kad-dht client on its own host.
type kadClient struct{ d *kaddht.IpfsDHT }

func newKadClient(t *testing.T) *kadClient {
	h, err := transport.NewHost(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := kaddht.New(h, kaddht.ProtocolPrefix(dht.ProtocolPrefix), kaddht.Mode(kaddht.ModeClient))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); h.Close() })
	return &kadClient{d}
}

func (k *kadClient) ping(ctx context.Context, addr string) error {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return err
	}
	if err := k.d.Host().Connect(ctx, *ai); err != nil {
		return err
	}
	return k.d.Ping(ctx, ai.ID)
}

// attacker is the child process.
type attacker struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	ready chan struct{}
}

// startAttacker runs the attack in a child and waits until it has opened
// and written all its streams (or a minute).
func startAttacker(t *testing.T, kind, addr string) *attacker {
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttackerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), attackEnv+"="+addr, attackKind+"="+kind)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attacker{cmd: cmd, ready: make(chan struct{})}
	t.Cleanup(a.stop)
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "attack:") {
				a.mu.Lock()
				a.lines = append(a.lines, strings.TrimPrefix(line, "attack: "))
				a.mu.Unlock()
				if strings.Contains(line, "holding") {
					once.Do(func() { close(a.ready) })
				}
			}
		}
		once.Do(func() { close(a.ready) })
	}()
	select {
	case <-a.ready:
	case <-time.After(time.Minute):
		t.Log("attacker still writing after a minute")
	}
	return a
}

func (a *attacker) stop() {
	if a.cmd.Process != nil && a.cmd.ProcessState == nil {
		a.cmd.Process.Kill()
		a.cmd.Wait()
	}
}

func (a *attacker) report() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.lines, "; ")
}

// TestAttackerProcess is the attacker: with KOMRADE_ATTACK_TARGET set it
// connects to the target from a host without resource limits and opens
// many streams of the protocol KOMRADE_ATTACK_KIND names, each with a length
// prefix claiming the protocol's largest message and all of that message but
// one byte, then holds them until killed.
func TestAttackerProcess(t *testing.T) {
	addr := os.Getenv(attackEnv)
	if addr == "" {
		t.Skip("the attacker of TestResourceAttack; runs only as its child")
	}
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Connect(ctx, *ai); err != nil {
		t.Fatal(err)
	}
	var (
		proto   = transport.KadProtocol
		streams = kadAttackStreams
		msg     []byte
	)
	switch os.Getenv(attackKind) {
	case "kad":
		msg = binary.AppendUvarint(nil, kadClaim)
		msg = append(msg, make([]byte, kadClaim-1)...)
	case "set":
		proto, streams = transport.SetProtocol, setAttackStreams
		msg = binary.BigEndian.AppendUint32(nil, setClaim)
		msg = append(msg, make([]byte, setClaim-1)...)
	default:
		t.Fatalf("unknown %s", attackKind)
	}
	var opened, written, failed atomic.Int64
	var held []network.Stream
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for range streams {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			s, err := h.NewStream(sctx, ai.ID, proto)
			if err != nil {
				failed.Add(1)
				return
			}
			opened.Add(1)
			s.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if _, err := s.Write(msg); err != nil {
				failed.Add(1)
				return
			}
			written.Add(1)
			mu.Lock()
			held = append(held, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Printf("attack: %s: %d streams opened, %d fully written, %d refused or reset; holding\n",
		os.Getenv(attackKind), opened.Load(), written.Load(), failed.Load())
	time.Sleep(10 * time.Minute) // until killed
}
