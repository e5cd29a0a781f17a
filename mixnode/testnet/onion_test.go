package testnet_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/internal/tornet"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport/onion"
)

// torEnv is a private Tor network (internal/tornet, built from Debian's
// tor) and a 9-node mix network whose three gateways serve onion services
// on it; both stop at cleanup.
type torEnv struct {
	tn  *tornet.Network
	net *testnet.Network
}

// startTorEnv starts a torEnv, or skips when tor is not installed or with
// -short.
func startTorEnv(tb testing.TB) *torEnv {
	if err := tornet.Available(); err != nil {
		tb.Skipf("Tor tests skipped: %v", err)
	}
	if testing.Short() {
		tb.Skip("Tor tests skipped with -short (they start a private Tor network)")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	tn, err := tornet.Start(ctx, tornet.Options{Logger: testLogger(tb)})
	cancel()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tn.Close)
	tb.Logf("private Tor network up in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	net := startNet(tb, testnet.Options{Nodes: 9, Configure: testnet.OnionGateways(3, tn.ClientTorrc(), nil)})
	tb.Logf("mix network with 3 onion gateways up in %v", time.Since(start).Round(time.Millisecond))
	return &torEnv{tn: tn, net: net}
}

// clientConfig is a client config whose gateways are the onion addresses
// only; socks "" makes the client start its own tor.
func (e *torEnv) clientConfig(tb testing.TB, socks string) config.Client {
	tb.Helper()
	cfg, err := e.net.TorClient(e.tn.ClientTorrc(), socks)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// dial connects a client (closed at cleanup) over Tor.
func (e *torEnv) dial(tb testing.TB, cfg config.Client) *client.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	c, err := client.Dial(ctx, cfg, testLogger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	tb.Logf("client dialled its gateway over Tor in %v", time.Since(start).Round(time.Millisecond))
	return c
}

// TestTor checks the Tor transport end to end. One torEnv serves all
// subtests.
func TestTor(t *testing.T) {
	env := startTorEnv(t)
	tn, net := env.tn, env.net
	torClient, dialTor := env.clientConfig, env.dial

	t.Run("DescriptorCarriesOnion", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i, node := range net.Nodes {
			raw, err := testseam.NodeDHT(net.Nodes[(i+1)%len(net.Nodes)]).Descriptor(ctx, node.ID())
			if err != nil {
				t.Fatalf("node %d descriptor: %v", i, err)
			}
			d, err := pki.Verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i < 3 && (d.Onion == "" || !strings.HasPrefix(node.OnionAddr(), "/onion3/"+d.Onion+":")):
				t.Fatalf("gateway %d: descriptor onion %q, node serves %q", i, d.Onion, node.OnionAddr())
			case i >= 3 && (d.Onion != "" || node.OnionAddr() != ""):
				t.Fatalf("node %d has onion %q but onion = false", i, d.Onion)
			}
			if i < 3 {
				if err := onion.CheckServiceID(d.Onion); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	t.Run("PingOverTor", func(t *testing.T) {
		// The client starts its own tor; its gateways are onion addresses
		// only and its host has no other transport.
		cfg := torClient(t, "")
		for _, g := range cfg.Gateways {
			if !strings.HasPrefix(g, "/onion3/") {
				t.Fatalf("gateway %s is not an onion address", g)
			}
		}
		c := dialTor(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		sum := c.Ping(ctx, 20, 20*time.Millisecond, 30*time.Second, func(r client.PingResult) {
			if r.Err != nil {
				t.Logf("seq %d: %v", r.Seq, r.Err)
			}
		})
		if sum.Received != 20 {
			t.Fatalf("%d/20 replies over Tor", sum.Received)
		}
		t.Logf("20/20 replies over Tor, rtt min/avg/max %v/%v/%v", sum.Min, sum.Avg, sum.Max)
	})

	t.Run("AttachToRunningTor", func(t *testing.T) {
		c := dialTor(t, torClient(t, tn.SOCKSAddr()))
		if got := echoes(t, c, 5, 5, 30*time.Second); got != 5 {
			t.Fatalf("%d/5 replies through the attached tor", got)
		}
	})

	t.Run("UnpublishedOnionDoesNotAnswer", func(t *testing.T) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m, err := onion.Multiaddr(onion.ServiceID(key), onion.VirtualPort)
		if err != nil {
			t.Fatal(err)
		}
		cfg := torClient(t, tn.SOCKSAddr())
		cfg.Gateways = []string{m.String() + "/p2p/" + net.Nodes[0].PeerID().String()}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, err = client.Dial(ctx, cfg, testLogger(t))
		if err == nil {
			t.Fatal("dial to an unpublished onion address succeeded")
		}
		t.Logf("user sees: %v", err)
		var de *onion.DialError
		// The network's client tor has ExtendedErrors, so tor says why.
		if !errors.As(err, &de) || !strings.Contains(err.Error(), "does not answer through Tor") ||
			!strings.Contains(err.Error(), "descriptor not found") {
			t.Fatalf("error does not say the onion address does not answer: %v", err)
		}
	})

	t.Run("LinkAuthenticatesGatewayKey", func(t *testing.T) {
		// Node 0's onion address with node 1's peer id: Tor delivers the
		// connection to node 0, whose libp2p handshake proves node 0's
		// key, so the client refuses it.
		cfg := torClient(t, tn.SOCKSAddr())
		addr, _, _ := strings.Cut(net.Nodes[0].OnionAddr(), "/p2p/")
		cfg.Gateways = []string{addr + "/p2p/" + net.Nodes[1].PeerID().String()}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, err := client.Dial(ctx, cfg, testLogger(t))
		if err == nil {
			t.Fatal("client accepted a gateway whose key does not match the peer id")
		}
		t.Logf("user sees: %v", err)
		if !strings.Contains(err.Error(), "peer id mismatch") {
			t.Fatalf("error does not name the key mismatch: %v", err)
		}
	})

	// Last: it restarts gateway 0.
	t.Run("MessageBetweenTorClients", func(t *testing.T) {
		// Two users whose clients both reach their gateways only through
		// Tor exchange an invite and a message each way.
		user := func() *messenger.Messenger {
			st, err := store.Create(filepath.Join(t.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			id, err := client.NewIdentity()
			if err != nil {
				t.Fatal(err)
			}
			return messenger.New(dialTor(t, torClient(t, tn.SOCKSAddr())), id, st, testLogger(t))
		}
		alice, bob := user(), user()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		code, err := alice.Invite("bob")
		if err != nil {
			t.Fatal(err)
		}
		if err := bob.Accept(ctx, code, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := bob.Send(ctx, "alice", "from bob over tor"); err != nil {
			t.Fatal(err)
		}
		// Alice must read bob's hello before she can write to him; his
		// message may come with it (kept in early).
		var early []messenger.Message
		for ctx.Err() == nil {
			msgs, err := alice.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			early = append(early, msgs...)
			if cs, _ := alice.Contacts(); cs["bob"] != "" {
				break
			}
		}
		if err := alice.Send(ctx, "bob", "from alice over tor"); err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			m    *messenger.Messenger
			want string
		}{{alice, "from bob over tor"}, {bob, "from alice over tor"}} {
			var got []string
			if w.m == alice {
				for _, m := range early {
					got = append(got, m.Text)
				}
			}
			for ctx.Err() == nil && len(got) == 0 {
				msgs, err := w.m.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					got = append(got, m.Text)
				}
			}
			if len(got) != 1 || got[0] != w.want {
				t.Fatalf("received %q, want %q", got, w.want)
			}
		}
	})

	t.Run("OnionStableAcrossRestart", func(t *testing.T) {
		before := net.Nodes[0].OnionAddr()
		id := net.Nodes[0].ID()
		if err := net.StopNode(0); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := net.RestartNode(ctx, 0); err != nil {
			t.Fatal(err)
		}
		after := net.Nodes[0].OnionAddr()
		if after == "" || after != before {
			t.Fatalf("onion address changed across a restart: %s -> %s", before, after)
		}
		if err := net.WaitDirectories(ctx, len(net.Nodes)); err != nil {
			t.Fatal(err)
		}
		raw, err := testseam.NodeDHT(net.Nodes[1]).Descriptor(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		d, err := pki.Verify(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(after, "/onion3/"+d.Onion+":") {
			t.Fatalf("descriptor after restart has onion %q, node serves %s", d.Onion, after)
		}
		// Every node must route to the restarted node's new address and
		// keys before replies can reach it.
		waitFor(t, "every node to see the restarted descriptor", 60*time.Second, func() bool {
			for _, node := range net.Nodes {
				if got, ok := node.Directory().Lookup(id); !ok || got.Issued < d.Issued {
					return false // nodes refresh every 2 s
				}
			}
			return true
		})
		// A fresh session reaches the restarted gateway at the same
		// address: Dial fetches the directory through it, and echoes come
		// back through it. Other nodes' mix links to the restarted node
		// still point at its old connection; each loses the first packet
		// it carries (a mix-layer behaviour, not Tor's), so a few of the
		// first replies may be missing.
		cfg := torClient(t, tn.SOCKSAddr())
		cfg.Gateways = []string{after}
		// The client's tor may still hold the onion service descriptor
		// published before the restart (old introduction points): the first
		// attempt can time out until tor fetches the new one, so try a few
		// times before calling the address unreachable.
		var c *client.Client
		for attempt := 1; ; attempt++ {
			dctx, dcancel := context.WithTimeout(context.Background(), 90*time.Second)
			cl, err := client.Dial(dctx, cfg, testLogger(t))
			dcancel()
			if err == nil {
				c = cl
				t.Cleanup(func() { cl.Close() })
				break
			}
			if attempt == 3 {
				t.Fatalf("restarted onion gateway unreachable after %d attempts: %v", attempt, err)
			}
			t.Logf("attempt %d to reach the restarted gateway: %v", attempt, err)
		}
		if got := echoes(t, c, 10, 5, 10*time.Second); got < 5 {
			t.Fatalf("%d/10 replies through the restarted gateway", got)
		} else {
			t.Logf("%d/10 replies through the restarted gateway", got)
		}
	})
}
