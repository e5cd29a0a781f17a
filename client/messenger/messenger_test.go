package messenger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// startNet starts a 9-node network (node loop cover off) for the test;
// nodeOpts, if set, adjusts each node's options.
func startNet(t *testing.T, nodeOpts func(int, *mixnode.Options)) *testnet.Network {
	t.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: quiet(), NodeOptions: nodeOpts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	return net
}

type user struct {
	m     *messenger.Messenger
	c     *client.Client
	st    *store.Store
	id    *client.Identity
	state string
}

func newUser(t *testing.T, net *testnet.Network) *user {
	t.Helper()
	dir := t.TempDir()
	u := &user{state: filepath.Join(dir, "state.db")}
	st, err := store.Create(u.state, []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	u.open(t, net)
	return u
}

// open (re)connects the user: store, identity, client link.
func (u *user) open(t *testing.T, net *testnet.Network) {
	t.Helper()
	st, err := store.Open(u.state, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	if u.id == nil {
		u.id, err = client.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, net.Client, quiet())
	if err != nil {
		t.Fatal(err)
	}
	u.c, u.st = c, st
	u.m = messenger.New(c, u.id, st, quiet())
	t.Cleanup(u.close)
}

func (u *user) close() {
	if u.c != nil {
		u.c.Close()
		u.st.Close()
		u.c, u.st = nil, nil
	}
}

// receive polls until n texts arrived from name or the deadline passes.
func (u *user) receive(t *testing.T, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []string
	for len(got) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		msgs, err := u.m.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, m.Text)
		}
		if len(got) < n {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return got
}

func pair(t *testing.T, a, b *user) {
	t.Helper()
	code, err := a.m.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.m.Accept(ctx, code, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	// The hello confirmed bob: alice's friends capability goes to him.
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ca, _ := a.m.Contacts()
	cb, _ := b.m.Contacts()
	if ca["bob"] != b.id.Fingerprint() || cb["alice"] != a.id.Fingerprint() {
		t.Fatalf("fingerprints after the exchange: %v %v", ca, cb)
	}
}

func check(t *testing.T, got []string, from string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d/%d messages from %s", len(got), n, from)
	}
	for i, s := range got {
		if want := fmt.Sprintf("%s #%d", from, i); s != want {
			t.Fatalf("message %d is %q, want %q (order or duplicates)", i, s, want)
		}
	}
}

// TestFiftyEachWay: an invite, then 50 messages each way, all delivered
// exactly once and in order.
func TestFiftyEachWay(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("100 messages through the mix network")
	}
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make(chan error, 2)
	for _, s := range []struct {
		u    *user
		to   string
		from string
	}{{a, "bob", "alice"}, {b, "alice", "bob"}} {
		go func() {
			for i := 0; i < 50; i++ {
				if err := s.u.m.Send(ctx, s.to, fmt.Sprintf("%s #%d", s.from, i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Bob receives with two polls at once (the daemon's and one the user
	// asked for): each box is taken by one of them, every message saved
	// once, in order.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(b.inbox(t, "alice")) < 50 && ctx.Err() == nil {
				if _, err := b.m.Receive(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check(t, b.inbox(t, "alice"), "alice", 50)
	check(t, a.receive(t, 50, 2*time.Minute), "bob", 50)
}

// inbox returns the texts from name saved in u's inbox, in order.
func (u *user) inbox(t *testing.T, name string) []string {
	t.Helper()
	saved := map[string]string{}
	err := u.st.View(func(tx *store.Tx) error {
		return tx.List("inbox", func(k string, v []byte) error {
			if strings.HasPrefix(k, name+"/") {
				m, err := messenger.DecodeInboxEntry(v)
				if err != nil {
					return err
				}
				saved[k] = m.Text
			}
			return nil
		})
	})
	if err != nil {
		t.Error(err)
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		out = append(out, saved[k])
	}
	return out
}

// TestStoreAndForwardAndFaults: messages sent while the recipient is away
// wait in the DHT and arrive after it comes back; with every node dropping
// 5% of packets, every message still arrives through retransmission.
func TestStoreAndForwardAndFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("messages through a lossy mix network")
	}
	t.Cleanup(testseam.SetDropRate(0.05))
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	b.close() // bob goes offline
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < 20; i++ {
		if err := a.m.Send(ctx, "bob", fmt.Sprintf("alice #%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	b.open(t, net) // bob comes back, with his saved state
	check(t, b.receive(t, 20, 3*time.Minute), "alice", 20)
	var injected uint64
	for _, n := range net.Nodes {
		injected += n.Metrics().Dropped("injected")
	}
	if injected == 0 {
		t.Fatal("no packet was dropped: the fault injection did not run")
	}
	t.Logf("%d packets dropped by fault injection", injected)
}

// TestFriendRequest: Alice publishes a profile; Bob, who knows only her
// address, asks through her intro set; she sees the request with his
// fingerprint, accepts, and they exchange messages. Carol's request is
// ignored and does not come back on the next scan; a junk item in the set
// is skipped.
func TestFriendRequest(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("through the mix network")
	}
	net := startNet(t, nil)
	a, b, c := newUser(t, net), newUser(t, net), newUser(t, net)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	if err := b.m.Request(ctx, a.m.Address(), "alice", "Bob", "hi"); err == nil {
		t.Fatal("a request to an address with no profile succeeded")
	}
	addr, err := a.m.PublishProfile(ctx, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.m.CheckRequests(ctx); err != nil || n != 0 {
		t.Fatalf("empty intro set: %d requests, %v", n, err)
	}
	if err := b.m.Request(ctx, addr, "alice", "Bob", "we met at the march"); err != nil {
		t.Fatal(err)
	}
	if err := c.m.Request(ctx, addr, "alice", "Carol", ""); err != nil {
		t.Fatal(err)
	}
	// Junk in Alice's set (anyone may append, with proof-of-work).
	junk := setitem.Item{Namespace: "intro", Key: introKeyOf(t, ctx, a, b), Body: make([]byte, 1008), Expires: time.Now().Add(time.Hour).Unix()}
	if err := junk.Solve(ctx, setitem.DefaultRules()["intro"].PoWBits); err != nil {
		t.Fatal(err)
	}
	enc, _ := setitem.Encode(&junk)
	if _, err := b.c.Append(ctx, enc); err != nil {
		t.Fatal(err)
	}

	if n, err := a.m.CheckRequests(ctx); err != nil || n != 2 {
		t.Fatalf("got %d requests, %v; want 2", n, err)
	}
	reqs, err := a.m.Requests()
	if err != nil || len(reqs) != 2 {
		t.Fatalf("requests: %v %v", reqs, err)
	}
	var fromBob, fromCarol messenger.FriendRequest
	for _, r := range reqs {
		switch r.From {
		case "Bob":
			fromBob = r
		case "Carol":
			fromCarol = r
		}
	}
	if fromBob.Fingerprint != b.id.Fingerprint() || fromBob.Note != "we met at the march" || fromCarol.Fingerprint != c.id.Fingerprint() {
		t.Fatalf("requests: %+v", reqs)
	}
	if cb, _ := b.m.Contacts(); cb["alice"] != "" {
		t.Fatalf("Bob's contact is confirmed before Alice answered: %v", cb)
	}
	// Bob writes before Alice answers: the message waits for her hello.
	if err := b.m.Send(ctx, "alice", "bob #0"); err == nil || !strings.Contains(err.Error(), "until they answer") {
		t.Fatalf("send before the answer: %v", err)
	}
	if err := a.m.IgnoreRequest(fromCarol.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.m.AcceptRequest(ctx, fromBob.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.m.CheckRequests(ctx); err != nil || n != 0 {
		t.Fatalf("rescan: %d new requests, %v", n, err)
	}
	if reqs, _ := a.m.Requests(); len(reqs) != 0 {
		t.Fatalf("requests left: %+v", reqs)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ca, _ := a.m.Contacts()
	cb, _ := b.m.Contacts()
	if ca["bob"] != b.id.Fingerprint() || cb["alice"] != a.id.Fingerprint() {
		t.Fatalf("fingerprints after accepting: %v %v", ca, cb)
	}
	if err := b.m.Deliver(ctx); err != nil { // the waiting message leaves now
		t.Fatal(err)
	}
	if err := a.m.Send(ctx, "bob", "alice #0"); err != nil {
		t.Fatal(err)
	}
	check(t, a.receive(t, 1, time.Minute), "bob", 1)
	check(t, b.receive(t, 1, time.Minute), "alice", 1)

	// Anyone can copy a request's sealed body into a new item with a new
	// expiry and proof-of-work: it is the same request, not a new one.
	res, err := c.c.Scan(ctx, wire.ScanRequest{Namespace: "intro", Key: introKeyOf(t, ctx, a, c), Limit: 8})
	if err != nil || len(res.Items) == 0 {
		t.Fatalf("scan: %v %v", res, err)
	}
	for _, raw := range res.Items {
		it, err := setitem.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		it.Expires--
		it.Nonce = 0
		if err := it.Solve(ctx, setitem.DefaultRules()["intro"].PoWBits); err != nil {
			t.Fatal(err)
		}
		enc, _ := setitem.Encode(it)
		if _, err := c.c.Append(ctx, enc); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.m.CheckRequests(ctx); err != nil || n != 0 {
		t.Fatalf("copies of old requests: %d new, %v", n, err)
	}

	// Requests that cross: Carol (whose request Alice ignored) still waits
	// for Alice; now Alice asks Carol. Carol sees it and accepts it under
	// the same name, which replaces her unanswered request.
	if _, err := c.m.PublishProfile(ctx, "Carol"); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Request(ctx, c.m.Address(), "carol", "Alice", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := c.m.CheckRequests(ctx); err != nil || n != 1 {
		t.Fatalf("crossed request: %d, %v", n, err)
	}
	reqs, _ = c.m.Requests()
	if err := c.m.AcceptRequest(ctx, reqs[0].ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := c.m.AcceptRequest(ctx, reqs[0].ID, "alice2"); err == nil {
		t.Fatal("a request was accepted twice")
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ca, _ = a.m.Contacts()
	cc, _ := c.m.Contacts()
	if ca["carol"] != c.id.Fingerprint() || cc["alice"] != a.id.Fingerprint() {
		t.Fatalf("after crossed requests: %v %v", ca, cc)
	}
	if err := c.m.Send(ctx, "alice", "carol #0"); err != nil {
		t.Fatal(err)
	}
	check(t, a.receive(t, 1, time.Minute), "carol", 1)
}

// introKeyOf reads the intro set key from u's published profile, as any
// requester would (via other's client).
func introKeyOf(t *testing.T, ctx context.Context, u, other *user) []byte {
	t.Helper()
	raw, err := other.c.GetRecord(ctx, record.ProfileKey(u.id.Sign.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := record.DecodeProfile(raw)
	if err != nil {
		t.Fatal(err)
	}
	body, err := messenger.DecodeProfileBody(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body.Intro
}

// TestOutboxCrash: messages are saved before they are sent. One box is
// stored but its ACK is never recorded (a crash at the worst moment),
// another message never left; after a restart both are delivered, exactly
// once and in order, and their states are visible throughout.
func TestOutboxCrash(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("through the mix network")
	}
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id0, err := a.m.Queue("bob", "alice #0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Queue("bob", "alice #1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Queue("nobody", "x"); err == nil {
		t.Fatal("queued a message to an unknown contact")
	}
	if err := messenger.SealAndStoreForTest(ctx, a.m, id0); err != nil {
		t.Fatal(err)
	}
	states := func() []messenger.State {
		out, err := a.m.Outbox()
		if err != nil {
			t.Fatal(err)
		}
		var s []messenger.State
		for _, o := range out {
			if o.To == "bob" && o.Text != "(contact confirmation)" && o.Text != "(friends key)" {
				s = append(s, o.State)
			}
		}
		return s
	}
	if s := states(); fmt.Sprint(s) != "[sent queued]" {
		t.Fatalf("states before the crash: %v", s)
	}
	a.close() // crash
	a.open(t, net)
	if s := states(); fmt.Sprint(s) != "[sent queued]" {
		t.Fatalf("states after the restart: %v", s)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if s := states(); fmt.Sprint(s) != "[acknowledged acknowledged]" {
		t.Fatalf("states after delivery: %v", s)
	}
	check(t, b.receive(t, 2, time.Minute), "alice", 2)
	if extra := b.receive(t, 1, 3*time.Second); len(extra) != 0 {
		t.Fatalf("delivered twice: %v", extra)
	}

	// A failed message holds back the next one to the same contact, which
	// says so instead of waiting forever; a retry sends both, in order.
	id2, err := a.m.Queue("bob", "alice #2")
	if err != nil {
		t.Fatal(err)
	}
	if err := messenger.FailForTest(a.m, id2); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Send(ctx, "bob", "alice #3"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("behind failed message %d", id2)) {
		t.Fatalf("send behind a failed message: %v", err)
	}
	if s := states(); fmt.Sprint(s) != "[acknowledged acknowledged failed queued]" {
		t.Fatalf("states with a failed message: %v", s)
	}
	if err := a.m.Retry(id2); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if s := states(); fmt.Sprint(s) != "[acknowledged acknowledged acknowledged acknowledged]" {
		t.Fatalf("states after the retry: %v", s)
	}
	got := b.receive(t, 2, time.Minute)
	if fmt.Sprint(got) != "[alice #2 alice #3]" {
		t.Fatalf("after the retry bob got %v", got)
	}
}

// TestHostileBoxesSkipped: a contact's box that does not open, and a signed
// hello too short to hold a key (which used to crash the reader, on every
// restart), are each skipped once and counted for the user; the messages
// after them arrive.
func TestHostileBoxesSkipped(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := messenger.PutBoxForTest(ctx, a.m, "bob", false, bytes.Repeat([]byte{7}, 1200)); err != nil {
		t.Fatal(err)
	}
	if err := messenger.PutBoxForTest(ctx, a.m, "bob", true, []byte("short")); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Send(ctx, "bob", "after the junk"); err != nil {
		t.Fatal(err)
	}
	var got []messenger.Message
	for len(got) == 0 && ctx.Err() == nil {
		msgs, err := b.m.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if len(got) != 1 || got[0].Text != "after the junk" {
		t.Fatalf("received %+v", got)
	}
	if d := got[0].At.Sub(got[0].Sent); got[0].Sent.IsZero() || d < -time.Minute || d > time.Minute {
		t.Fatalf("sent %v, arrived %v: the sender's time is missing or wrong", got[0].Sent, got[0].At)
	}
	skipped, _, err := b.m.Skipped()
	if err != nil || skipped["alice"] != 2 {
		t.Fatalf("skipped %v, %v; want alice: 2", skipped, err)
	}
}

// TestOutageWaitsNotFails: with every node down, a message whose round of
// tries gets no acknowledgement waits for the network (it is not failed,
// and says so); when the nodes are back it is delivered, once.
func TestOutageWaitsNotFails(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	messenger.SetTriesForTest(a.m, 2)
	for i := range net.Nodes {
		net.StopNode(i)
	}
	id, err := a.m.Queue("bob", "through the outage")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := a.m.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.State == messenger.Failed || !o.Offline || !strings.Contains(o.Error, "waiting for the network") {
		t.Fatalf("after a round in the outage: %+v", o)
	}
	for i := range net.Nodes {
		if err := net.RestartNode(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := net.WaitDirectories(ctx, len(net.Nodes)); err != nil {
		t.Fatal(err)
	}
	messenger.SetTriesForTest(a.m, messenger.MaxTries)
	for ctx.Err() == nil {
		if err := a.m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if o, _ = a.m.Wait(ctx, id); o.State == messenger.Acknowledged {
			break
		}
	}
	if o.State != messenger.Acknowledged || o.Error != "" {
		t.Fatalf("after the outage: %+v", o)
	}
	if got := b.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "through the outage" {
		t.Fatalf("bob received %q", got)
	}
	if got := b.receive(t, 1, 3*time.Second); len(got) != 0 {
		t.Fatalf("bob received it again: %q", got)
	}
}

// loseBox has a send bob "one", "two" and "three", deletes the box of "two"
// from every node (as if every replica had lost it after it was
// acknowledged), and checks that bob reads on past it: he gets "one" and
// "three", holds the missing box and asks alice for it. It returns the
// outbox id of "two".
func loseBox(t *testing.T, ctx context.Context, net *testnet.Network, a, b *user) uint64 {
	t.Helper()
	messenger.SetProbeEveryForTest(b.m, 0)
	if err := a.m.Send(ctx, "bob", "one"); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Send(ctx, "bob", "two"); err != nil {
		t.Fatal(err)
	}
	key, err := messenger.LastOutBoxKeyForTest(a.m, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.m.Send(ctx, "bob", "three"); err != nil {
		t.Fatal(err)
	}
	var held int
	for _, n := range net.Nodes {
		if err := testseam.NodeDHT(n).ForgetLocal(ctx, key); err == nil {
			held++
		}
	}
	if held == 0 {
		t.Fatal("no node held the box")
	}
	if got := b.receive(t, 2, time.Minute); len(got) != 2 || got[0] != "one" || got[1] != "three" {
		t.Fatalf("bob received %q, want one and three", got)
	}
	missing, _, err := b.m.Gaps()
	if err != nil || missing["alice"] != 1 {
		t.Fatalf("missing %v, %v; want alice: 1", missing, err)
	}
	if _, lost, err := b.m.Skipped(); err != nil || len(lost) != 0 {
		t.Fatalf("lost %v, %v before the sender answered", lost, err)
	}
	// Bob's report goes out through his outbox, not as a text.
	if err := b.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := b.m.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 || out[len(out)-1].State != messenger.Acknowledged || !strings.Contains(out[len(out)-1].Text, "report") {
		t.Fatalf("bob's outbox after the gap: %+v", out)
	}
	sent, err := a.m.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sent {
		if o.Text == "two" {
			return o.ID
		}
	}
	t.Fatalf("no message two in alice's outbox: %+v", sent)
	return 0
}

// lostFlag returns whether message id in u's outbox is marked lost.
func lostFlag(t *testing.T, u *user, id uint64) bool {
	t.Helper()
	sent, err := u.m.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sent {
		if o.ID == id {
			return o.Lost
		}
	}
	t.Fatalf("no message %d in the outbox", id)
	return false
}

// TestLostBoxWrittenAgain: a box that every replica lost after it was
// acknowledged does not stop the conversation, and comes back: the reader
// reads on, asks the sender, the sender writes the same box again from its
// copy, and the missing message arrives, at its place in the inbox.
func TestLostBoxWrittenAgain(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	two := loseBox(t, ctx, net, a, b)
	tasks := a.m.Tasks()
	if msgs, err := a.m.Receive(ctx); err != nil || len(msgs) != 0 {
		t.Fatalf("alice received %+v, %v: a report is not a text", msgs, err)
	}
	if a.m.Tasks() == tasks {
		t.Fatal("reading the report gave the outbox nothing to do")
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "two" {
		t.Fatalf("after the re-write bob received %q, want two", got)
	}
	if got := b.inbox(t, "alice"); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("bob's inbox: %q", got)
	}
	missing, _, err := b.m.Gaps()
	_, lost, err2 := b.m.Skipped()
	if err != nil || err2 != nil || len(missing) != 0 || len(lost) != 0 {
		t.Fatalf("bob after the late box: missing %v lost %v (%v, %v)", missing, lost, err, err2)
	}
	if _, lostSent, err := a.m.Gaps(); err != nil || len(lostSent) != 0 || lostFlag(t, a, two) {
		t.Fatalf("alice shows the message lost: %v, %v", lostSent, err)
	}
	if err := a.m.Send(ctx, "bob", "four"); err != nil {
		t.Fatal(err)
	}
	if got := b.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "four" {
		t.Fatalf("after the gap bob received %q", got)
	}
}

// TestLostBoxGone: when the sender no longer has the lost box's bytes, it
// says so; the reader destroys the key, and both show the message lost.
func TestLostBoxGone(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	two := loseBox(t, ctx, net, a, b)
	if err := messenger.DropKeptForTest(a.m, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if !lostFlag(t, a, two) {
		t.Fatal("alice's outbox does not show the message lost")
	}
	if _, lostSent, err := a.m.Gaps(); err != nil || lostSent["bob"] != 1 {
		t.Fatalf("alice's lost messages: %v, %v; want bob: 1", lostSent, err)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	var lost map[string]uint64
	for ctx.Err() == nil && lost["alice"] == 0 {
		if msgs, err := b.m.Receive(ctx); err != nil || len(msgs) != 0 {
			t.Fatalf("bob received %+v, %v", msgs, err)
		}
		var err error
		if _, lost, err = b.m.Skipped(); err != nil {
			t.Fatal(err)
		}
	}
	if lost["alice"] != 1 {
		t.Fatalf("bob's lost messages: %v; want alice: 1", lost)
	}
	if missing, _, err := b.m.Gaps(); err != nil || len(missing) != 0 {
		t.Fatalf("bob still holds %v, %v", missing, err)
	}
	if err := a.m.Send(ctx, "bob", "four"); err != nil {
		t.Fatal(err)
	}
	if got := b.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "four" {
		t.Fatalf("after the gap bob received %q", got)
	}
}

// TestLostBoxGivenUp: a reader that waited holdFor in vain destroys the key
// and tells the sender, whose outbox then shows the message lost.
func TestLostBoxGivenUp(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	pair(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	two := loseBox(t, ctx, net, a, b)
	messenger.SetHoldForTest(b.m, 0)
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	missing, _, err := b.m.Gaps()
	_, lost, err2 := b.m.Skipped()
	if err != nil || err2 != nil || len(missing) != 0 || lost["alice"] != 1 {
		t.Fatalf("bob after holdFor: missing %v lost %v (%v, %v); want lost alice: 1", missing, lost, err, err2)
	}
	if err := b.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	// Alice reads bob's first report (write it again; she does not get to)
	// and then his second (lost): the re-write is dropped.
	for ctx.Err() == nil && !lostFlag(t, a, two) {
		if _, err := a.m.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, lostSent, err := a.m.Gaps(); err != nil || lostSent["bob"] != 1 {
		t.Fatalf("alice's lost messages: %v, %v; want bob: 1", lostSent, err)
	}
}
