package messenger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestDelayedLinks is issue 12's test of retransmission on a slow network:
// every link of the mix network (client↔gateway and node↔node) adds 50 to
// 150 ms of latency each way, both users run cover traffic at the default
// rates, and each sends a batch of messages to the other while both poll as
// the daemon does. No message may be marked failed (or left waiting for the
// network), each must arrive exactly once and in order, and on average a
// box may be written at most twice: the reply timeout has to follow the
// measured round trips instead of giving up on replies that are merely
// late.
func TestDelayedLinks(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("a batch of messages through a mix network with slow links")
	}
	const n = 10 // messages each way
	rates := client.Rates{LambdaP: config.DefaultLambdaP, LambdaL: config.DefaultLambdaL, LambdaD: config.DefaultLambdaD}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quiet(),
		Delay: testnet.Delay{Min: 50 * time.Millisecond, Max: 150 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	a, b := newUser(t, net), newUser(t, net)
	for _, u := range []*user{a, b} {
		if err := u.c.StartCover(ctx, rates); err != nil {
			t.Fatal(err)
		}
	}
	pair(t, a, b)
	started := time.Now()

	type side struct {
		u          *user
		to, from   string
		ids        []uint64
		writes     uint64
		got        []string
		sendErr    error
		recvErr    error
		sent, recv time.Duration
	}
	sides := []*side{{u: a, to: "bob", from: "alice"}, {u: b, to: "alice", from: "bob"}}
	for _, s := range sides {
		s.writes = messenger.BoxWritesForTest(s.u.m)
	}
	var wg sync.WaitGroup
	for i, s := range sides {
		peer := sides[1-i]
		wg.Add(2)
		go func() { // sender: queue the batch, deliver it as the daemon does
			defer wg.Done()
			for j := range n {
				id, err := s.u.m.Queue(s.to, fmt.Sprintf("%s #%d", s.from, j))
				if err != nil {
					s.sendErr = err
					return
				}
				s.ids = append(s.ids, id)
			}
			s.sendErr = s.u.m.Deliver(ctx)
			s.sent = time.Since(started)
		}()
		go func() { // receiver: poll every slot of λP, as the daemon does
			defer wg.Done()
			pause := min(s.u.c.SlotInterval(), 2*time.Second)
			for len(s.got) < n && ctx.Err() == nil {
				msgs, err := s.u.m.Receive(ctx)
				if err != nil {
					s.recvErr = err
					return
				}
				for _, m := range msgs {
					if m.From != peer.from {
						s.recvErr = fmt.Errorf("message from %q", m.From)
						return
					}
					s.got = append(s.got, m.Text)
				}
				if len(s.got) < n {
					select {
					case <-time.After(pause):
					case <-ctx.Done():
					}
				}
			}
			s.recv = time.Since(started)
		}()
	}
	wg.Wait()

	var writes uint64
	for i, s := range sides {
		if s.sendErr != nil {
			t.Fatalf("%s sends: %v", s.from, s.sendErr)
		}
		if s.recvErr != nil {
			t.Fatalf("%s receives: %v", s.from, s.recvErr)
		}
		out, err := s.u.m.Outbox()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			if o.State != messenger.Acknowledged || o.Offline || o.Error != "" {
				t.Errorf("%s's message %d to %s: %s, offline %v, error %q", s.from, o.ID, o.To, o.State, o.Offline, o.Error)
			}
			if o.Parts != 1 {
				t.Fatalf("%s's message %d has %d boxes, want 1", s.from, o.ID, o.Parts)
			}
		}
		check(t, s.got, sides[1-i].from, n)
		// Nothing more comes: every box was read once.
		if more, err := s.u.m.Receive(ctx); err != nil || len(more) != 0 {
			t.Fatalf("%s receives again: %d messages, %v", s.from, len(more), err)
		}
		w := messenger.BoxWritesForTest(s.u.m) - s.writes
		writes += w
		st := s.u.c.LoopStats()
		t.Logf("%s: %d boxes written %d times (%.2f each); all sent after %v, all received after %v; reply timeout %v, loop round trip %v (%d/%d loops back)",
			s.from, n, w, float64(w)/n, s.sent.Round(time.Millisecond), s.recv.Round(time.Millisecond),
			s.u.c.ReplyTimeout().Round(time.Millisecond), st.MeanRTT.Round(time.Millisecond), st.Returned, st.Sent)
	}
	perBox := float64(writes) / (2 * n)
	t.Logf("%.2f writes per box; batch %v, whole test %v", perBox, time.Since(started).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if perBox > 2 {
		t.Fatalf("a box was written %.2f times on average, want at most 2", perBox)
	}
}
