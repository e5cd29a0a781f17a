package social_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/seal"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVotePoW: the CPU time of one vote's proof-of-work at the default
// network's difficulty (pki.DefaultParams, "vote" namespace): what one more
// vote costs whoever makes it, per identity and post.
func BenchmarkVotePoW(b *testing.B) {
	bits := pki.DefaultParams().Sets["vote"].PoWBits
	id, err := client.NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	s := social.New(nil, id, nil, nil, nil)
	exp := time.Now().Add(24 * time.Hour).Unix()
	start := cpuTime()
	n := 0
	for b.Loop() {
		var post social.PostID
		rand.Read(post[:])
		it, err := s.VoteItem(post, social.VoteUp, exp)
		if err != nil {
			b.Fatal(err)
		}
		if err := it.Solve(context.Background(), bits); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(n), "cpu-s/vote")
	b.ReportMetric(float64(bits), "pow-bits")
}

// BenchmarkFeedAnswer: the time `feed` takes to answer from a full local
// copy (social.MaxKept items), a page of 50.
func BenchmarkFeedAnswer(b *testing.B) {
	st, err := store.Create(filepath.Join(b.TempDir(), "state.db"), []byte("pass"), seal.Params{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	id, err := client.NewIdentity()
	if err != nil {
		b.Fatal(err)
	}
	s := social.New(nil, id, st, nil, nil)
	now := time.Now()
	var authors []ed25519.PrivateKey
	for range 20 {
		_, priv, _ := ed25519.GenerateKey(nil)
		authors = append(authors, priv)
	}
	for i := range social.MaxKept {
		var pid social.PostID
		rand.Read(pid[:])
		e := &social.Entry{Post: pid, To: social.World, Created: now.Unix() - int64(i), Preview: strings.Repeat("word ", 40)}
		raw, err := social.SignEntry(e, authors[i%len(authors)])
		if err != nil {
			b.Fatal(err)
		}
		if err := social.KeepEntryForBench(s, raw, now.Add(time.Hour).Unix()); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		page, err := s.Feed(social.KindWorld, social.FeedQuery{Limit: 50})
		if err != nil || len(page.Items) != 50 {
			b.Fatalf("%d items, %v", len(page.Items), err)
		}
	}
}

// defaultNet starts a 9-node network with the default mean delay (mu 50
// ms) and the default proof-of-work is not needed for reading: 8 bits.
func defaultNet(b *testing.B) *testnet.Network {
	b.Helper()
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, Mu: pki.DefaultMu, LambdaM: -1, Dir: b.TempDir(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(net.Close)
	return net
}

func defaultRates() client.Rates {
	return client.Rates{LambdaP: config.DefaultLambdaP, LambdaL: config.DefaultLambdaL, LambdaD: config.DefaultLambdaD}
}

// BenchmarkFeedLoad: the time and packets a reader with cover traffic at
// the default rates takes to bring 50 new world posts into its local copy
// (refresh rounds until all 50 are there). Posts carry 200 characters.
func BenchmarkFeedLoad(b *testing.B) {
	net := defaultNet(b)
	author := newUser(b, net, nil)
	var ids []social.PostID
	for i := range 50 {
		ids = append(ids, worldPost(b, author, fmt.Sprintf("%03d %s", i, strings.Repeat("lorem ipsum ", 16)), false))
	}
	var secs, pkts, rounds []float64
	for b.Loop() {
		b.StopTimer()
		rates := defaultRates()
		r := newUser(b, net, &rates)
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()
		start := time.Now()
		n, req := 0, 0
		for {
			n++
			st, _ := r.s.Refresh(ctx)
			for _, v := range st.Requests {
				req += v
			}
			page, err := r.s.Feed(social.KindWorld, social.FeedQuery{Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			if has(ids...)(page) {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("%d of 50 posts after 10 minutes", len(page.Items))
			}
		}
		secs = append(secs, time.Since(start).Seconds())
		pkts = append(pkts, float64(req))
		rounds = append(rounds, float64(n))
		cancel()
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(med(secs), "s/50-posts")
	b.ReportMetric(med(pkts), "requests/50-posts")
	b.ReportMetric(med(rounds), "rounds")
}

// BenchmarkFollowLatency: the time from a followed author's post (Post
// returned: stored) until it is in the reader's local following feed, with
// the reader's daemon loop (Social.Run) and cover traffic at the default
// rates and mu. Posts come at random phases of the refresher's rounds.
func BenchmarkFollowLatency(b *testing.B) {
	net := defaultNet(b)
	author := newUser(b, net, nil)
	rates := defaultRates()
	r := newUser(b, net, &rates)
	if err := r.s.Follow(messenger.Address(author.pub())); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var lat []time.Duration
	var rnd [8]byte
	i := 0
	for b.Loop() {
		b.StopTimer()
		rand.Read(rnd[:])
		time.Sleep(time.Duration(binary.BigEndian.Uint64(rnd[:]) % uint64(social.RefreshEvery)))
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Minute)
		id, err := author.s.Post(pctx, social.PostOptions{To: social.World, Text: fmt.Sprintf("post %d", i)})
		pcancel()
		if err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		start := time.Now()
		for {
			page, err := r.s.Feed(social.KindFollowing, social.FeedQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if find(page, id) != nil {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("post %d not in the following feed after 5 minutes", i)
			}
			time.Sleep(100 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p int) float64 { return lat[(len(lat)-1)*p/100].Seconds() }
	b.ReportMetric(pct(50), "p50-s")
	b.ReportMetric(pct(95), "p95-s")
}
