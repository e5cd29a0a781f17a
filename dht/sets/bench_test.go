package sets

import (
	"fmt"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire/setitem"
)

// benchCluster is a 4-node cluster with a "bench" namespace without
// proof-of-work or quotas, so that the benchmarks measure the service.
func benchCluster(b *testing.B) *cluster {
	opts := clusterOpts()
	opts.ReplicateInterval = time.Hour
	opts.AppendRate, opts.ReadRate = -1, -1
	return newCluster(b, 4, opts, func(int) map[string]setitem.Rules {
		r := setitem.DefaultRules()
		r["bench"] = setitem.Rules{MaxItemSize: 1024, TTL: time.Hour}
		return r
	})
}

func benchItem(key []byte, i int) setitem.Item {
	return setitem.Item{Namespace: "bench", Key: key, Body: fmt.Appendf(nil, "item %d %s", i, make([]byte, 200)), Expires: time.Now().Add(time.Hour).Unix()}
}

// BenchmarkSetAppend measures Append of 200-byte items to one set: a peer
// lookup and three replica writes (one of them possibly local) each.
func BenchmarkSetAppend(b *testing.B) {
	c := benchCluster(b)
	key := c.keyAvoiding(b, "bench", 3, 0)
	svc := c.nodes[0].svc
	ctx := testCtx(b)
	for i := 0; b.Loop(); i++ {
		if _, err := svc.Append(ctx, benchItem(key, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetScan measures a 64-item Scan page of a 200-item set, merged
// from three replicas.
func BenchmarkSetScan(b *testing.B) {
	c := benchCluster(b)
	key := c.keyAvoiding(b, "bench", 3, 0)
	svc := c.nodes[0].svc
	ctx := testCtx(b)
	for i := range 200 {
		if _, err := svc.Append(ctx, benchItem(key, i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		items, _, err := svc.Scan(ctx, "bench", key, nil, 64)
		if err != nil || len(items) != 64 {
			b.Fatalf("%d items, %v", len(items), err)
		}
	}
}

// BenchmarkStorePut measures the local store's Put (with fsync).
func BenchmarkStorePut(b *testing.B) {
	s, err := Open(b.TempDir() + "/sets.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := setitem.Rules{MaxItemSize: 1024, TTL: time.Hour}
	for i := 0; b.Loop(); i++ {
		if _, err := s.Put(benchItem([]byte("k"), i), r, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
