package testnet_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	libp2precord "github.com/libp2p/go-libp2p-record"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht"
	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/mixnode"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

func storageCtx(t *testing.T) context.Context {
	// Generous: every call crosses the mix network and waits for replicas,
	// and slow machines (or -race) take many times longer.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestStorageThroughMixnet runs the record and box services of issue 4 on a
// 12-node network, every request through the mix network.
func TestStorageThroughMixnet(t *testing.T) {
	net := startNet(t, testnet.Options{Nodes: 12, LambdaM: -1})
	writer := dial(t, net)
	reader := dial(t, net)
	ctx := storageCtx(t)

	t.Run("box written by one client is read by another", func(t *testing.T) {
		wc, err := bacap.NewWriteCap(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		bctx := []byte("komrade test stream")
		idx := wc.GetFirstMessageBoxIndex()
		blob := []byte("a message for the reader only")
		id, val, err := record.SealBox(wc, idx, bctx, blob, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		n, err := writer.PutBox(ctx, id, val)
		if err != nil {
			t.Fatal(err)
		}
		if n < dht.Replication {
			t.Fatalf("box stored on %d nodes, want >= %d", n, dht.Replication)
		}
		// The reader derives the same box id from the read capability.
		rid := idx.BoxIDForContext(wc.ReadCap(), bctx)
		var rb [32]byte
		copy(rb[:], rid.Bytes())
		if rb != id {
			t.Fatal("read capability derives another box id")
		}
		box, err := reader.GetBox(ctx, rb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(box.Blob, blob) {
			t.Fatal("box content differs")
		}
		// The next box is unlinkable to this one and empty.
		next, _ := idx.NextIndex()
		nid := next.BoxIDForContext(wc.ReadCap(), bctx)
		var nb [32]byte
		copy(nb[:], nid.Bytes())
		if _, err := reader.GetBox(ctx, nb); !errors.Is(err, wire.ErrNotFound) {
			t.Fatalf("empty next box: %v, want not found", err)
		}
	})

	t.Run("box with a wrong signature is refused by every storing node", func(t *testing.T) {
		wc, _ := bacap.NewWriteCap(rand.Reader)
		other, _ := bacap.NewWriteCap(rand.Reader)
		idx := wc.GetFirstMessageBoxIndex()
		id, _, _ := record.SealBox(wc, idx, []byte("c"), []byte("x"), time.Hour)
		// Signed with another capability's key for the same index.
		_, forged, _ := record.SealBox(other, idx, []byte("c"), []byte("x"), time.Hour)
		if _, err := writer.PutBox(ctx, id, forged); !errors.Is(err, wire.ErrInvalid) {
			t.Fatalf("forged box through the exit: %v, want invalid", err)
		}
		// Bypass the exit's own check: every node refuses it directly.
		src := testseam.NodeDHT(net.Nodes[0])
		pm, err := kadpb.NewProtocolMessenger(src.DHT.MessageSender())
		if err != nil {
			t.Fatal(err)
		}
		rec := libp2precord.MakePutRecord(record.BoxKey(id), forged)
		for i, n := range net.Nodes[1:] {
			if err := pm.PutValue(ctx, n.PeerID(), rec); err == nil {
				t.Fatalf("node %d stored a forged box", i+1)
			}
			if _, err := testseam.NodeDHT(n).LocalRecord(ctx, record.BoxKey(id)); !errors.Is(err, wire.ErrNotFound) {
				t.Fatalf("node %d holds the forged box: %v", i+1, err)
			}
		}
	})

	t.Run("profile with a higher sequence number replaces, a lower one does not", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		key := record.ProfileKey(priv.Public().(ed25519.PublicKey))
		put := func(seq uint64) error {
			v, err := record.SignProfile(record.NewProfile(seq, time.Hour, []byte{byte(seq)}), priv)
			if err != nil {
				t.Fatal(err)
			}
			_, err = writer.PutRecord(ctx, key, v)
			return err
		}
		get := func() uint64 {
			v, err := reader.GetRecord(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			p, err := record.DecodeProfile(v)
			if err != nil {
				t.Fatal(err)
			}
			return p.Seq
		}
		if err := put(2); err != nil {
			t.Fatal(err)
		}
		if err := put(3); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != 3 {
			t.Fatalf("seq %d after update, want 3", got)
		}
		if err := put(1); !errors.Is(err, wire.ErrStale) {
			t.Fatalf("older profile: %v, want stale", err)
		}
		if got := get(); got != 3 {
			t.Fatalf("seq %d after an older put, want 3", got)
		}
	})

	t.Run("an expired record is no longer served and is deleted", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		key := record.ProfileKey(priv.Public().(ed25519.PublicKey))
		v, _ := record.SignProfile(&record.Profile{Seq: 1, Expires: time.Now().Add(2 * time.Second).Unix()}, priv)
		if _, err := writer.PutRecord(ctx, key, v); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, err := reader.GetRecord(ctx, key)
			if errors.Is(err, wire.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("expired record still served: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		node := testseam.NodeDHT(net.Nodes[1])
		if _, err := node.Republish(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := node.LocalRecord(ctx, key); !errors.Is(err, wire.ErrNotFound) {
			t.Fatalf("expired record still on disk: %v", err)
		}
	})

	t.Run("oversize record and anonymous post without work get typed errors", func(t *testing.T) {
		big := make([]byte, record.MaxValue+40)
		if _, err := writer.PutRecord(ctx, "/kpost/00", big); !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("oversize record: %v, want too large", err)
		}
		p := &record.Post{Created: time.Now().Unix(), Expires: time.Now().Add(time.Hour).Unix(), Body: []byte("hi")}
		v, _ := record.StampPost(context.Background(), p, 0) // no work at all
		if _, err := record.DecodePost(v, 8); err == nil {
			t.Skip("a zero-work stamp happened to meet the difficulty (p = 1/256)")
		}
		if _, err := writer.PutRecord(ctx, record.PostKey(v), v); !errors.Is(err, wire.ErrPoW) {
			t.Fatalf("post without work: %v, want insufficient proof of work", err)
		}
		good, _ := record.StampPost(context.Background(), p, 8)
		if _, err := writer.PutRecord(ctx, record.PostKey(good), good); err != nil {
			t.Fatal(err)
		}
		got, err := reader.GetRecord(ctx, record.PostKey(good))
		if err != nil || !bytes.Equal(got, good) {
			t.Fatalf("anonymous post read back: %v", err)
		}
	})
}

// TestRecordsSurviveRestartAndLoss: a node restarted from its data dir still
// holds the records it stored; with two storing nodes stopped a record stays
// readable; a node that joins later closest to the record's key gets it in
// the next republishing round.
func TestRecordsSurviveRestartAndLoss(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key := record.ProfileKey(priv.Public().(ed25519.PublicKey))
	var net *testnet.Network
	// The node added last (index 12) gets an identity closer to key than
	// every running node: republishing must bring the record to it.
	net = startNet(t, testnet.Options{Nodes: 12, LambdaM: -1,
		NodeOptions: func(i int, o *mixnode.Options) {
			if i == 12 {
				o.Identity = closestIdentity(t, net, key)
			}
		}})
	c := dial(t, net)
	ctx := storageCtx(t)
	v, _ := record.SignProfile(record.NewProfile(1, time.Hour, []byte("profile")), priv)
	if _, err := c.PutRecord(ctx, key, v); err != nil {
		t.Fatal(err)
	}
	var holders []int
	for i, n := range net.Nodes {
		if got, err := testseam.NodeDHT(n).LocalRecord(ctx, key); err == nil && bytes.Equal(got, v) {
			holders = append(holders, i)
		}
	}
	if len(holders) < dht.Replication {
		t.Fatalf("record on %d nodes, want >= %d", len(holders), dht.Replication)
	}
	// Restart one holder (not the client's gateway, node 0).
	h := holders[len(holders)-1]
	if err := net.StopNode(h); err != nil {
		t.Fatal(err)
	}
	if err := net.RestartNode(ctx, h); err != nil {
		t.Fatal(err)
	}
	if got, err := testseam.NodeDHT(net.Nodes[h]).LocalRecord(ctx, key); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("restarted node lost the record: %v", err)
	}
	// Stop two other holders: still readable through the mix network.
	stopped := 0
	for _, i := range holders {
		if i != 0 && i != h && stopped < 2 {
			net.StopNode(i)
			stopped++
		}
	}
	if err := net.WaitDirectories(ctx, len(net.Nodes)-stopped); err != nil {
		t.Fatal(err)
	}
	if err := c.RefreshDirectory(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetRecord(ctx, key); err != nil || !bytes.Equal(got, v) {
		t.Fatalf("record with two holders stopped: %v", err)
	}
	// A node that joins later, closest to the key, gets the record when the
	// holders run a republishing round (as each does every interval). Only
	// holders among the closest push it; the round may start before they
	// have the new node in their routing tables, so rounds repeat a while.
	j, err := net.AddNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testseam.NodeDHT(net.Nodes[j]).LocalRecord(ctx, key); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("new node already has the record: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		pushed := 0
		for i, n := range net.Nodes {
			if n != nil && i != j {
				k, err := testseam.NodeDHT(n).Republish(ctx)
				if err != nil {
					t.Fatalf("node %d republish: %v", i, err)
				}
				pushed += k
			}
		}
		got, err := testseam.NodeDHT(net.Nodes[j]).LocalRecord(ctx, key)
		if err == nil && bytes.Equal(got, v) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new node did not receive the republished record (%d pushed in the last round): %v", pushed, err)
		}
		time.Sleep(time.Second)
	}
}

// closestIdentity returns a fresh identity whose DHT position is closer to
// key than that of every running node of net.
func closestIdentity(t *testing.T, net *testnet.Network, key string) ed25519.PrivateKey {
	for {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		sk, err := lcrypto.UnmarshalEd25519PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		closest := true
		for _, n := range net.Nodes {
			if n != nil && !kb.Closer(id, n.PeerID(), key) {
				closest = false
				break
			}
		}
		if closest {
			return priv
		}
	}
}

// TestSetsThroughMixnet: two clients append to one set through the mix
// network, a third scans both; a later vote with the same nullifier replaces
// the earlier; items expire; quota and size limits come back typed.
func TestSetsThroughMixnet(t *testing.T) {
	rules := setitem.DefaultRules()
	vote := rules["vote"]
	vote.PoWBits, vote.MaxItemsPerKey = 8, 4
	rules["vote"] = vote
	net := startNet(t, testnet.Options{Nodes: 12, LambdaM: -1,
		NodeOptions: func(i int, o *mixnode.Options) { o.SetRules = rules }})
	a, b, reader := dial(t, net), dial(t, net), dial(t, net)
	ctx := storageCtx(t)
	key := []byte("post-1234")
	// item signs with the nullifier key writer derives for the set (the
	// writer's name stands for its secret).
	nullifierKey := func(writer string) ed25519.PrivateKey {
		k, err := setitem.NullifierKey([]byte(writer), "vote", key)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	item := func(body, writer string, ttl time.Duration) []byte {
		it := setitem.Item{Namespace: "vote", Key: key, Body: []byte(body), Expires: time.Now().Add(ttl).Unix()}
		if writer != "" {
			if err := it.Sign(nullifierKey(writer)); err != nil {
				t.Fatal(err)
			}
		}
		if err := it.Solve(ctx, 8); err != nil {
			t.Fatal(err)
		}
		enc, err := setitem.Encode(&it)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	scan := func() map[string]bool {
		res, err := reader.Scan(ctx, wire.ScanRequest{Namespace: "vote", Key: key, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, raw := range res.Items {
			it, err := setitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got[string(it.Body)] = true
		}
		return got
	}
	for _, w := range []struct {
		c interface {
			Append(context.Context, []byte) (int, error)
		}
		body string
		null string
	}{{a, "up from a", "a"}, {b, "down from b", "b"}} {
		n, err := w.c.Append(ctx, item(w.body, w.null, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n < 3 {
			t.Fatalf("append stored on %d replicas", n)
		}
	}
	if got := scan(); !got["up from a"] || !got["down from b"] || len(got) != 2 {
		t.Fatalf("scan sees %v, want both writers' items", got)
	}
	// a changes its vote: same nullifier, later expiry.
	if _, err := a.Append(ctx, item("down from a", "a", 2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := scan(); got["up from a"] || !got["down from a"] || len(got) != 2 {
		t.Fatalf("after a's second vote the set is %v", got)
	}
	// b, who read a's nullifier in the scan, cannot change a's vote: the
	// exit refuses the item (replicas would too: dht/sets tests).
	forged, err := setitem.Decode(item("up again", "b", 3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forged.Nullifier = nullifierKey("a").Public().(ed25519.PublicKey)
	if err := forged.Solve(ctx, 8); err != nil {
		t.Fatal(err)
	}
	enc, err := setitem.Encode(forged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, enc); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("vote under a's nullifier signed by b: %v, want invalid", err)
	}
	// An item that expires shortly disappears.
	if _, err := b.Append(ctx, item("fleeting", "", 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !scan()["fleeting"] {
		t.Fatal("short-lived item missing before expiry")
	}
	deadline := time.Now().Add(20 * time.Second)
	for scan()["fleeting"] {
		if time.Now().After(deadline) {
			t.Fatal("item still listed after its expiry")
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The set holds at most 4 items: a fifth is over quota.
	if _, err := b.Append(ctx, item("third", "", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, item("fourth", "", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, item("fifth", "", time.Hour)); !errors.Is(err, wire.ErrQuota) {
		t.Fatalf("append over quota: %v, want quota", err)
	}
	// An item larger than the namespace allows (but within a packet).
	big := string(make([]byte, vote.MaxItemSize+100))
	if _, err := b.Append(ctx, item(big, "", time.Hour)); !errors.Is(err, wire.ErrTooLarge) {
		t.Fatalf("oversize item: %v, want too large", err)
	}
}
