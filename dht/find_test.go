package dht

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/pki"
)

// fakeProviders returns count Ed25519 peer ids as provider records.
func fakeProviders(t *testing.T, count int) []peer.AddrInfo {
	t.Helper()
	out := make([]peer.AddrInfo, count)
	for i := range out {
		var s [32]byte
		binary.BigEndian.PutUint64(s[:], uint64(i))
		s = sha256.Sum256(s[:])
		var id pki.NodeID
		copy(id[:], ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey))
		pid, err := id.PeerID()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = peer.AddrInfo{ID: pid}
	}
	return out
}

func feed(ps []peer.AddrInfo) <-chan peer.AddrInfo {
	ch := make(chan peer.AddrInfo, len(ps))
	for _, p := range ps {
		ch <- p
	}
	close(ch)
	return ch
}

// FindDescriptors is collectProviders then fetchAll: with 1000 providers
// announced, no more than MaxProviders are considered, and no more than
// FindWorkers fetches run at once.
func TestFindDescriptorsBoundsWork(t *testing.T) {
	provs := fakeProviders(t, 1000)
	// Duplicates and a non-Ed25519 id are dropped.
	dup := append(append([]peer.AddrInfo{}, provs...), provs[:50]...)
	dup = append(dup, peer.AddrInfo{ID: "not a key"})
	if got := collectProviders(feed(dup), 10000, nil, nil); len(got) != 1000 {
		t.Fatalf("collected %d, want 1000", len(got))
	}
	const limit = 300
	cands := collectProviders(feed(provs), limit, nil, nil)
	if len(cands) != limit {
		t.Fatalf("collected %d, want %d", len(cands), limit)
	}
	var running, peak, calls atomic.Int32
	out := fetchAll(context.Background(), cands, FindWorkers, func(ctx context.Context, c candidate) ([]byte, bool) {
		calls.Add(1)
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		return c.id[:], true
	})
	if len(out) != limit || calls.Load() != limit {
		t.Fatalf("fetched %d in %d calls, want %d", len(out), calls.Load(), limit)
	}
	if p := peak.Load(); p > FindWorkers || p < 2 {
		t.Fatalf("peak concurrency %d, want 2..%d", p, FindWorkers)
	}
}

// An allow-list drops providers before they count, and preferred (known)
// nodes come first, whenever they arrived.
func TestCollectProvidersFiltersAndPrefers(t *testing.T) {
	provs := fakeProviders(t, 100)
	allowed := map[peer.ID]bool{}
	for _, p := range provs[90:] {
		allowed[p.ID] = true
	}
	got := collectProviders(feed(provs), 5, func(p peer.ID) bool { return allowed[p] }, nil)
	if len(got) != 5 {
		t.Fatalf("%d candidates, want 5 (listed ones, not the first 5 announced)", len(got))
	}
	for _, c := range got {
		if !allowed[c.ai.ID] {
			t.Fatal("unlisted provider kept")
		}
	}
	last, _ := pki.NodeIDFromPeer(provs[99].ID)
	got = collectProviders(feed(provs), 1000, nil, func(id pki.NodeID) uint64 {
		if id == last {
			return 3
		}
		return 0
	})
	if got[0].id != last {
		t.Fatal("the preferred provider is not first")
	}
}

// fetchAll stops handing out work when the context ends.
func TestFetchAllStopsAtDeadline(t *testing.T) {
	cands := collectProviders(feed(fakeProviders(t, 200)), 1000, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var calls atomic.Int32
	fetchAll(ctx, cands, 4, func(ctx context.Context, c candidate) ([]byte, bool) {
		calls.Add(1)
		<-ctx.Done()
		return nil, false
	})
	if n := calls.Load(); n > 4 {
		t.Fatalf("%d fetches started, want at most the 4 workers' first ones", n)
	}
}
