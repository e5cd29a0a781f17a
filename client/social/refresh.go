package social

// The refresher keeps the local copy fresh with background requests
// (client.Background): they take a λP slot only when no message, mailbox
// poll or alert waits for one, so they fill slots that would otherwise
// carry fillers, and an observer of the client's link sees nothing
// different. docs/social.md ("The refresher") has the schedule.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/record"
	"github.com/komrade-net/komrade/wire/setitem"
)

// The refresher's schedule.
const (
	// RefreshEvery is the least time between the starts of two rounds.
	RefreshEvery = 30 * time.Second
	// Inflight is the most refresh requests waiting at once: the λP queue
	// never holds more than this many of them.
	Inflight = 2
	// MaxPagesPerSet is the most scan pages of one set a round reads; the
	// next round goes on from the cursor.
	MaxPagesPerSet = 4
	// TalliesPerRound is the most posts whose votes and replies a round
	// reads (those shown longest ago first).
	TalliesPerRound = 8
	// ThumbsPerRound is the most thumbnails of posts shown a round fetches.
	ThumbsPerRound = 4
	// LateWindow is how long into an hour the previous hour's world shards
	// are still read (posts written just before the hour turned).
	LateWindow = 15 * time.Minute
	// WorldSamples is how many (earlier hour, shard) world sets a round
	// reads besides the current and the late hour.
	WorldSamples = 1
	// minGap is the least pause between rounds, even when woken.
	minGap = 2 * time.Second
	// requestTries is how often a refresh request is tried in one round.
	requestTries = 2
	// scanLimit is the page size asked for (the exit returns what fits
	// one reply: about four world entries of 200 characters, a dozen votes).
	scanLimit = 16
	// maxShown is the most shown posts whose tallies are kept fresh.
	maxShown = 200
)

// feedState is the refresher's state in memory; its zero value is ready.
type feedState struct {
	once  sync.Once
	kick  chan struct{} // wakes Run (a follow, an area added)
	round sync.Mutex    // one round at a time

	mu      sync.Mutex
	shown   map[PostID]time.Time // posts a feed showed, and when
	checked map[PostID]time.Time // when their tallies were last read
}

func (f *feedState) init() {
	f.once.Do(func() {
		f.kick = make(chan struct{}, 1)
		f.shown = map[PostID]time.Time{}
		f.checked = map[PostID]time.Time{}
	})
}

// wake asks Run for a round soon.
func (f *feedState) wake() {
	f.init()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// showed records the posts of a feed page: their tallies are kept fresh.
func (f *feedState) showed(ids []PostID, at time.Time) {
	f.init()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.shown[id] = at
	}
	for len(f.shown) > maxShown {
		var oldest PostID
		var t time.Time
		for id, at := range f.shown {
			if t.IsZero() || at.Before(t) {
				oldest, t = id, at
			}
		}
		delete(f.shown, oldest)
		delete(f.checked, oldest)
	}
}

// dueTallies returns up to n shown posts, those checked longest ago first.
func (f *feedState) dueTallies(n int) []PostID {
	f.init()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PostID
	for id := range f.shown {
		out = append(out, id)
	}
	// Never checked first, then by the time of the last check.
	slices.SortFunc(out, func(a, b PostID) int {
		return cmp.Or(f.checked[a].Compare(f.checked[b]), bytes.Compare(a[:], b[:]))
	})
	return out[:min(n, len(out))]
}

func (f *feedState) checkedNow(id PostID, at time.Time) {
	f.mu.Lock()
	f.checked[id] = at
	f.mu.Unlock()
}

// Run keeps the local copy fresh until ctx ends: a round (Refresh) every
// RefreshEvery, or sooner when a follow or an area is added. The daemon
// starts it.
func (s *Social) Run(ctx context.Context) {
	s.fs.init()
	t := time.NewTimer(0)
	defer t.Stop()
	var end time.Time // of the last round
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.fs.kick:
			t.Stop() // since Go 1.23 no stale tick is left to drain
			if wait := minGap - time.Since(end); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		start := time.Now()
		if st, err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("feed refresh incomplete", "err", err, "requests", st.Requests)
		}
		// The user's own profile and local listing are published again
		// before they expire (a no-op on most rounds).
		if err := s.RefreshProfile(client.Background(ctx)); err != nil && ctx.Err() == nil {
			s.log.Debug("profile refresh", "err", err)
		}
		end = time.Now()
		t.Reset(max(time.Until(start.Add(RefreshEvery)), minGap))
	}
}

// RoundStats describe one refresh round.
type RoundStats struct {
	// Requests counts the requests sent, by what they were for:
	// "following", "world", "area", "decoy", "tallies", "thumbs" (the friends
	// streams' reads are RefreshFriends' own and not counted here).
	Requests map[string]int
	Kept     int // items added to (or updated in) the local copy
	Skipped  int // items that failed validation
	Took     time.Duration
}

// round is the state one round's jobs share.
type round struct {
	mu    sync.Mutex
	stats RoundStats
	skip  map[string]int // skipped items by source
}

func (r *round) request(what string) {
	r.mu.Lock()
	r.stats.Requests[what]++
	r.mu.Unlock()
}

func (r *round) skipped(src string) {
	r.mu.Lock()
	r.stats.Skipped++
	r.skip[src]++
	r.mu.Unlock()
}

func (r *round) kept() {
	r.mu.Lock()
	r.stats.Kept++
	r.mu.Unlock()
}

// job is one unit of a round: a few requests one after another.
type job struct {
	src  string // the source whose freshness it counts for
	what string // what its requests count as (RoundStats.Requests)
	run  func(ctx context.Context, r *round, what string) error
}

// Refresh runs one round of the refresher now: the friends streams
// (RefreshFriends), followed profiles (and the
// heads of their new posts), the world index (the current hour's shards,
// the previous hour's during LateWindow, WorldSamples earlier ones), the
// user's areas with their decoys, and the tallies of posts shown. All its
// requests are background requests; at most Inflight wait at once. A
// source whose requests all succeeded is marked fresh.
func (s *Social) Refresh(ctx context.Context) (RoundStats, error) {
	s.fs.init()
	s.fs.round.Lock()
	defer s.fs.round.Unlock()
	ctx = client.Background(ctx)
	start := time.Now()
	r := &round{stats: RoundStats{Requests: map[string]int{}}, skip: map[string]int{}}
	if s.c.Params().WorldShards < 1 {
		return r.stats, errors.New("social: no network parameters yet (offline?)")
	}
	jobs, err := s.plan(start)
	if err != nil {
		return r.stats, err
	}
	failed := map[string]error{}
	var fmu sync.Mutex
	ch := make(chan job)
	var wg sync.WaitGroup
	for range Inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := j.run(ctx, r, j.what); err != nil {
					fmu.Lock()
					if failed[j.src] == nil {
						failed[j.src] = err
					}
					fmu.Unlock()
				}
			}
		}()
	}
dispatch:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(ch)
	wg.Wait()

	var errs []error
	for _, src := range []string{"friends", "following", "world", "area", "tallies"} {
		if err := failed[src]; err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
			continue
		}
		if ctx.Err() == nil {
			if err := s.markFresh(src, start); err != nil {
				return r.stats, err
			}
		}
	}
	for src, n := range r.skip {
		if err := s.countSkipped(src, n); err != nil {
			return r.stats, err
		}
	}
	if err := s.prune(time.Now()); err != nil {
		return r.stats, err
	}
	r.stats.Took = time.Since(start)
	return r.stats, errors.Join(errs...)
}

// plan lists a round's jobs, in the order they start.
func (s *Social) plan(now time.Time) ([]job, error) {
	var jobs []job
	if s.m != nil {
		jobs = append(jobs, job{src: "friends", what: "friends", run: func(ctx context.Context, r *round, what string) error {
			n, err := s.RefreshFriends(ctx) // its own requests, a few streams at once
			r.mu.Lock()
			r.stats.Kept += n
			r.mu.Unlock()
			return err
		}})
	}
	follows, err := s.followSet()
	if err != nil {
		return nil, err
	}
	for k := range follows {
		pub := ed25519.PublicKey(k)
		jobs = append(jobs, job{src: "following", what: "following", run: func(ctx context.Context, r *round, what string) error {
			return s.readFollowed(ctx, r, what, pub)
		}})
	}

	shards := s.c.Params().WorldShards
	worldTTL := s.c.Params().Sets["world"].TTL
	hour := WorldHour(now)
	hours := []int64{hour}
	if now.Sub(time.Unix(hour*3600, 0)) < LateWindow {
		hours = append(hours, hour-1)
	}
	for _, h := range hours {
		for shard := range shards {
			jobs = append(jobs, s.worldJob(h, shard, worldTTL))
		}
	}
	// Samples of earlier hours still alive: sets not yet read to their
	// end after their hour was over.
	if oldest := WorldHour(now.Add(-worldTTL)) + 1; oldest < hour-1 {
		for i := 0; i < WorldSamples; i++ {
			h := oldest + randInt(hour-1-oldest)
			shard := int(randInt(int64(shards)))
			done, err := s.worldDone(h, shard)
			if err != nil {
				return nil, err
			}
			if !done {
				jobs = append(jobs, s.worldJob(h, shard, worldTTL))
			}
		}
	}

	areaJobs, err := s.areaJobs()
	if err != nil {
		return nil, err
	}
	jobs = append(jobs, areaJobs...)

	thumbs, err := s.missingThumbs(ThumbsPerRound)
	if err != nil {
		return nil, err
	}
	for _, h := range thumbs {
		jobs = append(jobs, job{src: "thumbs", what: "thumbs", run: func(ctx context.Context, r *round, what string) error {
			return s.readThumb(ctx, r, what, h)
		}})
	}
	for _, id := range s.fs.dueTallies(TalliesPerRound) {
		jobs = append(jobs, job{src: "tallies", what: "tallies", run: func(ctx context.Context, r *round, what string) error {
			return s.readTallies(ctx, r, what, id)
		}})
	}
	return jobs, nil
}

// randInt is uniform in [0, n) (0 for n ≤ 0).
func randInt(n int64) int64 {
	if n <= 0 {
		return 0
	}
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return v.Int64()
}

func cursorKey(ns string, key []byte) string { return "cursor/" + ns + "/" + hex.EncodeToString(key) }

// worldDone reports whether a world set was read to its end after its hour
// (and LateWindow) was over: nothing more will come.
func (s *Social) worldDone(hour int64, shard int) (bool, error) {
	var st state
	err := s.st.View(func(tx *store.Tx) error {
		var err error
		st, err = getState(tx, cursorKey("world", WorldKey(hour, shard)))
		return err
	})
	return st.Caught > (hour+1)*3600+int64(LateWindow/time.Second), err
}

func (s *Social) worldJob(hour int64, shard int, ttl time.Duration) job {
	key := WorldKey(hour, shard)
	forget := (hour+1)*3600 + int64((ttl+time.Hour)/time.Second)
	return job{src: "world", what: "world", run: func(ctx context.Context, r *round, what string) error {
		return s.scanSet(ctx, r, what, "world", key, forget, func(it *setitem.Item) error {
			return s.acceptEntry(it, World, srcWorld)
		})
	}}
}

// acceptEntry keeps the entry a world set item carries.
func (s *Social) acceptEntry(it *setitem.Item, to Audience, src uint8) error {
	e, err := DecodeEntry(it.Body)
	if err != nil {
		return err
	}
	return s.keepEntry(it, e, to, src)
}

// acceptArea keeps the entry an area set item carries; a local profile's
// listing (the other kind of area item) is no post and is passed over.
func (s *Social) acceptArea(it *setitem.Item) error {
	e, ref, err := DecodeAreaItem(it.Body)
	if err != nil || ref != nil {
		return err
	}
	return s.keepEntry(it, e, Local, srcArea)
}

func (s *Social) keepEntry(it *setitem.Item, e *Entry, to Audience, src uint8) error {
	if e.To != to {
		return fmt.Errorf("%w: a %s entry in a %s set", ErrMalformed, e.To, it.Namespace)
	}
	l := &line{To: e.To, Created: e.Created, Preview: e.Preview, Thumb: e.Thumb, Reply: e.Reply, Area: e.Area, Author: e.Author}
	return s.keep(e.Post, src, proofEntry, bytes.Clone(it.Body), l, it.Expires)
}

// try runs f, one request, up to requestTries times, each within the
// client's reply timeout.
func (s *Social) try(ctx context.Context, r *round, what string, f func(context.Context) error) error {
	var err error
	for range requestTries {
		r.request(what)
		tctx, cancel := context.WithTimeout(ctx, s.c.ReplyTimeout())
		err = f(tctx)
		cancel()
		if err == nil || ctx.Err() != nil || wire.IsFinal(err) {
			return err
		}
	}
	return err
}

// scanSet reads up to MaxPagesPerSet pages of a set from where the last
// round stopped, checks every item as storage nodes do (the exit could
// lie) and hands it to accept. Items that fail are skipped and counted;
// accept's errors other than ErrMalformed end the job.
//
// Writers give entries the namespace's whole lifetime (expiry = writing
// time + TTL), so items sort by the time they were written and a reader
// resumes after the last item it read. A set read to its end is read
// again from setitem.MaxClockSkew before that item, for writers whose
// clocks run behind.
func (s *Social) scanSet(ctx context.Context, r *round, what, ns string, key []byte, forget int64, accept func(*setitem.Item) error) error {
	return s.scanSetFlush(ctx, r, what, ns, key, forget, accept, nil)
}

// scanSetFlush is scanSet with flush, if set, called before the set's new
// cursor is saved: accept may collect items and flush store them in one
// transaction (a failed flush leaves the cursor where it was).
func (s *Social) scanSetFlush(ctx context.Context, r *round, what, ns string, key []byte, forget int64, accept func(*setitem.Item) error, flush func() error) error {
	skey := cursorKey(ns, key)
	var st state
	if err := s.st.View(func(tx *store.Tx) error {
		var err error
		st, err = getState(tx, skey)
		return err
	}); err != nil {
		return err
	}
	rules, ok := s.c.Params().SetRules()[ns]
	if !ok {
		return fmt.Errorf("social: the network has no %q namespace", ns)
	}
	src := what
	if what == "decoy" {
		src = "area"
	}
	cursor := st.Cursor
	if st.Caught != 0 && len(cursor) == 8+32 {
		exp := int64(binary.BigEndian.Uint64(cursor[:8])) - int64(setitem.MaxClockSkew/time.Second)
		cursor = append(setitem.ExpiryBytes(exp), make([]byte, 32)...)
	}
	var last []byte // cursor of the last item read
	caught := false
	var err error
	for page := 0; page < MaxPagesPerSet; page++ {
		var res *wire.ScanResult
		err = s.try(ctx, r, what, func(c context.Context) error {
			var err error
			res, err = s.c.Scan(c, wire.ScanRequest{Namespace: ns, Key: key, Cursor: cursor, Limit: scanLimit})
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			caught, err = true, nil
			break
		}
		if err != nil {
			break
		}
		now := time.Now()
		for _, raw := range res.Items {
			it, ierr := checkScanned(raw, ns, key, rules, now)
			if ierr == nil {
				if c, cerr := it.Cursor(); cerr == nil {
					last = c
				}
				ierr = accept(it)
			}
			switch {
			case ierr == nil:
				r.kept()
			case errors.Is(ierr, wire.ErrInvalid), errors.Is(ierr, wire.ErrPoW), errors.Is(ierr, wire.ErrTooLarge), errors.Is(ierr, wire.ErrExpired):
				r.skipped(src)
			default:
				err = ierr
			}
		}
		if err != nil {
			break
		}
		if len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			caught = true
			break
		}
		cursor = res.Next
	}
	switch {
	case caught:
		st.Caught = time.Now().Unix()
		if last != nil && bytes.Compare(last, st.Cursor) > 0 {
			st.Cursor = last
		}
	case last != nil || len(cursor) != 0:
		st.Caught = 0
		if last != nil && bytes.Compare(last, cursor) > 0 {
			cursor = last
		}
		if bytes.Compare(cursor, st.Cursor) > 0 {
			st.Cursor = cursor
		}
	}
	// Never resume past where an honest item written from now on can
	// sort (expiry now + TTL - 1 h, a writer's clock up to MaxClockSkew
	// behind): storage nodes accept expiries up to now + TTL + skew, and
	// one item with the latest allowed expiry (or a lying exit's cursor)
	// would otherwise make this reader skip every honest item of the next
	// hour or so.
	limit := append(setitem.ExpiryBytes(time.Now().Add(rules.TTL-time.Hour-setitem.MaxClockSkew).Unix()), make([]byte, 32)...)
	if bytes.Compare(st.Cursor, limit) > 0 {
		st.Cursor = limit
	}
	st.Forget = forget
	if flush != nil {
		if ferr := flush(); ferr != nil {
			return ferr
		}
	}
	if serr := s.st.Update(func(tx *store.Tx) error { return putState(tx, skey, st) }); serr != nil {
		return serr
	}
	return err
}

// checkScanned decodes an item a scan of set (ns, key) returned and checks
// it as storage nodes do: shape, set, size, expiry, proof-of-work,
// nullifier signature.
func checkScanned(raw []byte, ns string, key []byte, rules setitem.Rules, now time.Time) (*setitem.Item, error) {
	it, err := setitem.Decode(raw)
	if err != nil {
		return nil, err
	}
	if it.Namespace != ns || !bytes.Equal(it.Key, key) {
		return nil, fmt.Errorf("%w: an item of another set", ErrMalformed)
	}
	if err := rules.Verify(it, len(raw), now); err != nil {
		return nil, err
	}
	return it, nil
}

// readFollowed reads a followed author's profile and fetches the heads of
// the posts it lists that the local copy lacks.
func (s *Social) readFollowed(ctx context.Context, r *round, what string, pub ed25519.PublicKey) error {
	var raw []byte
	err := s.try(ctx, r, what, func(c context.Context) error {
		var err error
		raw, err = s.c.GetRecord(c, record.ProfileKey(pub))
		return err
	})
	if errors.Is(err, wire.ErrNotFound) {
		return s.followChecked(pub, 0, time.Now())
	}
	if err != nil {
		return err
	}
	p, err := record.DecodeProfile(raw) // the client checked it; decoded again for the body
	if err != nil || !bytes.Equal(p.Author, pub) {
		r.skipped("following")
		return nil
	}
	f, err := s.follow(pub)
	if err != nil || f == nil {
		return err // unfollowed meanwhile
	}
	if f.Seq == p.Seq {
		return s.followChecked(pub, p.Seq, time.Now())
	}
	recent, err := profileRecent(p.Body)
	if err != nil {
		r.skipped("following")
		return nil
	}
	for _, h := range recent {
		id := PostID(h)
		if ok, err := s.addSource(id, pub, srcFollowing); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		var head []byte
		err := s.try(ctx, r, what, func(c context.Context) error {
			var err error
			head, err = s.c.GetRecord(c, id.Key())
			return err
		})
		if errors.Is(err, wire.ErrNotFound) {
			continue // expired
		}
		if err != nil {
			return err
		}
		l, exp, err := lineOfHead(id, head)
		if err == nil && !bytes.Equal(l.Author, pub) {
			err = fmt.Errorf("%w: a profile lists another author's post", ErrMalformed)
		}
		if err == nil {
			err = s.keep(id, srcFollowing, proofHead, head, l, exp)
		}
		switch {
		case err == nil:
			r.kept()
		case errors.Is(err, wire.ErrInvalid):
			r.skipped("following")
		default:
			return err
		}
	}
	return s.followChecked(pub, p.Seq, time.Now())
}

// profileRecent returns the ids a profile body lists as its owner's
// latest world posts.
func profileRecent(b []byte) ([][32]byte, error) {
	body, err := messenger.DecodeProfileBody(b)
	if err != nil {
		return nil, err
	}
	return body.Recent, nil
}

// addSource adds src to the kept item id if it is author's; ok reports
// whether there is such an item.
func (s *Social) addSource(id PostID, author ed25519.PublicKey, src uint8) (ok bool, err error) {
	err = s.st.Update(func(tx *store.Tx) error {
		v, err := tx.Get(bucketFeed, id.String())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var k kept
		if err := localDec.Unmarshal(v, &k); err != nil || !bytes.Equal(k.Line.Author, author) {
			return nil // fetch the head: it settles who wrote it
		}
		ok = true
		if k.Sources&src != 0 {
			return nil
		}
		k.Sources |= src
		b, err := detcbor.Marshal(&k)
		if err != nil {
			return err
		}
		return tx.Put(bucketFeed, id.String(), b)
	})
	return ok, err
}

// areaJobs are the scans of the user's areas: the real cells and the
// decoys of every area, in a random order (geo.Shuffle), each read the same
// way. The items of decoy cells are checked and dropped.
func (s *Social) areaJobs() ([]job, error) {
	areas, err := s.Areas()
	if err != nil {
		return nil, err
	}
	type cell struct {
		c     geo.Cell
		decoy bool
	}
	seen := map[geo.Cell]bool{}
	var real, decoys []geo.Cell
	for _, a := range areas {
		cells, err := AreaCells(a.Near, a.RadiusM)
		if err != nil {
			continue
		}
		for _, c := range cells {
			if !seen[c] {
				seen[c] = true
				real = append(real, c)
			}
		}
	}
	for _, a := range areas {
		for _, c := range a.decoys {
			if !seen[c] {
				seen[c] = true
				decoys = append(decoys, c)
			}
		}
	}
	all := append(append([]geo.Cell{}, real...), decoys...)
	if err := geo.Shuffle(all, rand.Reader); err != nil {
		return nil, err
	}
	isReal := map[geo.Cell]bool{}
	for _, c := range real {
		isReal[c] = true
	}
	ttl := s.c.Params().Sets["area"].TTL
	var jobs []job
	for _, c := range all {
		key := geo.AreaKey(c)
		what := "decoy"
		if isReal[c] {
			what = "area"
		}
		forget := time.Now().Add(ttl + time.Hour).Unix()
		jobs = append(jobs, job{src: "area", what: what, run: func(ctx context.Context, r *round, what string) error {
			return s.scanSet(ctx, r, what, "area", key, forget, func(it *setitem.Item) error {
				if what == "decoy" {
					_, _, err := DecodeAreaItem(it.Body) // checked like the rest, then dropped
					return err
				}
				return s.acceptArea(it)
			})
		}})
	}
	return jobs, nil
}

// missingThumbs returns up to n thumbnail keys of posts feeds showed that
// the local copy lacks, most recently shown first.
func (s *Social) missingThumbs(n int) ([][32]byte, error) {
	s.fs.mu.Lock()
	type shownAt struct {
		id PostID
		at time.Time
	}
	var shown []shownAt
	for id, at := range s.fs.shown {
		shown = append(shown, shownAt{id, at})
	}
	s.fs.mu.Unlock()
	slices.SortFunc(shown, func(a, b shownAt) int { return b.at.Compare(a.at) })
	var out [][32]byte
	err := s.st.View(func(tx *store.Tx) error {
		for _, sh := range shown {
			if len(out) == n {
				return nil
			}
			v, err := tx.Get(bucketFeed, sh.id.String())
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var k kept
			if localDec.Unmarshal(v, &k) != nil || len(k.Line.Thumb) != 32 {
				continue
			}
			if _, err := tx.Get(bucketThumb, hex.EncodeToString(k.Line.Thumb)); err == nil {
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			out = append(out, [32]byte(k.Line.Thumb))
		}
		return nil
	})
	return out, err
}

// readThumb fetches a thumbnail record (checked against its key by the
// client, its body a checked JPEG) into the local copy.
func (s *Social) readThumb(ctx context.Context, r *round, what string, h [32]byte) error {
	var raw []byte
	err := s.try(ctx, r, what, func(c context.Context) error {
		var err error
		raw, err = s.c.GetRecord(c, PostID(h).Key())
		return err
	})
	if errors.Is(err, wire.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	jpg, err := thumbOf(h, raw)
	if err != nil {
		r.skipped("thumbs")
		return nil
	}
	return s.st.Put(bucketThumb, hex.EncodeToString(h[:]), jpg)
}

// thumbOf checks a thumbnail record of key h and returns the JPEG it
// carries.
func thumbOf(h [32]byte, raw []byte) ([]byte, error) {
	if IDOf(raw) != PostID(h) {
		return nil, fmt.Errorf("%w: the thumbnail record is not the one asked for", ErrMalformed)
	}
	p, err := record.DecodePost(raw, 0)
	if err != nil || len(p.Author) == 0 {
		return nil, fmt.Errorf("%w: thumbnail record", ErrMalformed)
	}
	if _, err := photo.DecodeThumb(p.Body); err != nil {
		return nil, fmt.Errorf("%w: thumbnail: %v", ErrMalformed, err)
	}
	return p.Body, nil
}
