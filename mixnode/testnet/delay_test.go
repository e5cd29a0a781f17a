package testnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestDelayProxy sends 4 MiB through a delay proxy to an echo server and
// back: the bytes come back whole and in order although each chunk drew its
// own delay, no byte comes back sooner than the two crossings' minimum,
// and each side's end of writing reaches the other.
func TestDelayProxy(t *testing.T) {
	const min, max = 50 * time.Millisecond, 150 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		if _, err := io.Copy(c, c); err != nil {
			served <- err
			return
		}
		served <- c.(*net.TCPConn).CloseWrite()
	}()
	addr, stop, err := testnet.DelayProxyForTest(ln.Addr().String(), min, max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 4<<20) // 128 chunks or more: many draws
	rand.Read(data)
	start := time.Now()
	wrote := make(chan error, 1)
	go func() {
		if _, err := c.Write(data); err != nil {
			wrote <- err
			return
		}
		wrote <- c.(*net.TCPConn).CloseWrite()
	}()
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*min {
		t.Fatalf("first byte back after %v, before two crossings of at least %v", rtt, min)
	}
	rest, err := io.ReadAll(c) // until the server's end of writing
	if err != nil {
		t.Fatal(err)
	}
	if got := append(first, rest...); !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes back, not the %d sent in order", len(got), len(data))
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestDelayedNetwork starts a network whose links add 50–150 ms: every
// connection of every node crosses a delay proxy, and a request through the
// mix network still gets its reply, later than the client's own link alone
// (there and back) would make it.
func TestDelayedNetwork(t *testing.T) {
	const min, max = 50 * time.Millisecond, 150 * time.Millisecond
	net := startNet(t, testnet.Options{Nodes: 9, LambdaM: -1, Delay: testnet.Delay{Min: min, Max: max}})
	c := dial(t, net)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rtt time.Duration
	for try := 0; ; try++ { // a mix network may lose a packet; ten are plenty
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		rtt, err = c.Echo(tctx)
		tcancel()
		if err == nil {
			break
		}
		if try == 9 {
			t.Fatalf("no echo in 10 tries: %v", err)
		}
	}
	if rtt < 2*min {
		t.Fatalf("echo came back after %v, before the client's link there and back (at least %v)", rtt, 2*min)
	}
	conns := 0
	for i, node := range net.Nodes {
		for _, conn := range testseam.NodeDHT(node).Host.Network().Conns() {
			remote, err := manet.ToNetAddr(conn.RemoteMultiaddr())
			if err != nil {
				t.Fatal(err)
			}
			if !testnet.DelayedForTest(net, remote.String()) {
				t.Errorf("node %d: connection to %s (%s) crosses no delay proxy", i, conn.RemotePeer(), remote)
			}
			conns++
		}
	}
	if conns < len(net.Nodes) {
		t.Fatalf("only %d connections among %d nodes", conns, len(net.Nodes))
	}
	t.Logf("echo round trip %v; %d node connections, all delayed", rtt, conns)
}
