package dht

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	libp2precord "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

func testProfile(t *testing.T, ttl time.Duration) (string, []byte, int64) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	p := record.NewProfile(1, ttl, []byte("hello"))
	v, err := record.SignProfile(p, priv)
	if err != nil {
		t.Fatal(err)
	}
	return record.ProfileKey(priv.Public().(ed25519.PublicKey)), v, p.Expires
}

// The index follows puts and deletes of records under any datastore key,
// ignores what is not a storage record, and is rebuilt from a store written
// without it.
func TestIndexFollowsStore(t *testing.T) {
	ctx := context.Background()
	raw := dssync.MutexWrap(ds.NewMapDatastore())
	s := indexingStore{raw}
	key, value, exp := testProfile(t, time.Hour)
	buf, _ := proto.Marshal(libp2precord.MakePutRecord(key, value))
	// A layout of kad-dht's choosing: the index never builds these keys.
	where := ds.NewKey("/some/layout/x")
	if err := s.Put(ctx, where, buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, ds.NewKey("/providers/abc"), []byte("not a record")); err != nil {
		t.Fatal(err)
	}
	desc, _ := proto.Marshal(libp2precord.MakePutRecord("/kmix/abc", []byte("d")))
	if err := s.Put(ctx, ds.NewKey("/kmix/abc"), desc); err != nil {
		t.Fatal(err)
	}
	held, err := s.heldRecords(ctx)
	if err != nil || len(held) != 1 {
		t.Fatalf("index holds %d entries (%v), want 1", len(held), err)
	}
	if e := held[0]; e.key != key || e.expires != exp || e.dsKey != where {
		t.Fatalf("entry %+v", e)
	}
	if v, err := s.heldValue(ctx, held[0]); err != nil || !bytes.Equal(v, value) {
		t.Fatalf("held value: %v", err)
	}

	// A store written before the index: built once on open.
	raw2 := dssync.MutexWrap(ds.NewMapDatastore())
	raw2.Put(ctx, where, buf)
	raw2.Put(ctx, ds.NewKey("/providers/abc"), []byte("not a record"))
	s2 := indexingStore{raw2}
	if err := buildIndex(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if held, _ := s2.heldRecords(ctx); len(held) != 1 || held[0].key != key {
		t.Fatalf("built index: %+v", held)
	}

	if err := s.Delete(ctx, where); err != nil {
		t.Fatal(err)
	}
	if held, _ := s.heldRecords(ctx); len(held) != 0 {
		t.Fatalf("index still holds %d entries after delete", len(held))
	}
}

// A record another node PUTs through kad-dht lands in the receiver's index:
// this fails, rather than republishing silently finding nothing, if kad-dht
// stops storing records as libp2p records through the datastore it is given.
// An expired record is deleted by the next round.
func TestKadPutIsIndexed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*Node
	for range 3 {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		n, err := New(Config{Identity: priv, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Clock: pki.NewClock(time.Hour), Logger: discard, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		nodes = append(nodes, n)
	}
	boot := []peer.AddrInfo{{ID: nodes[0].Host.ID(), Addrs: nodes[0].Host.Addrs()}}
	for _, n := range nodes[1:] {
		if err := n.Bootstrap(ctx, boot); err != nil {
			t.Fatal(err)
		}
	}
	key, value, _ := testProfile(t, time.Hour)
	short, shortValue, shortExp := testProfile(t, 3*time.Second)
	for k, v := range map[string][]byte{key: value, short: shortValue} {
		if _, err := nodes[0].PutRecord(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range nodes[1:] {
		if got, err := n.LocalRecord(ctx, key); err != nil || !bytes.Equal(got, value) {
			t.Fatalf("node %d: record not in its index: %v", i+1, err)
		}
		if st, err := n.RepublishRound(ctx); err != nil || st.Held != 2 || st.Responsible != 2 || st.Puts != 2*(Replication-1) {
			t.Fatalf("node %d: republish %+v, %v", i+1, st, err)
		}
	}
	time.Sleep(time.Until(time.Unix(shortExp+1, 0)))
	st, err := nodes[1].RepublishRound(ctx)
	if err != nil || st.Expired != 1 {
		t.Fatalf("republish after expiry: %+v, %v", st, err)
	}
	if _, err := nodes[1].LocalRecord(ctx, short); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("expired record still held: %v", err)
	}
}
