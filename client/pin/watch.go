package pin

// The watch and the local copy. The store's bucket "pin" holds:
//
//	pend/<id>           a pin waiting for publication (pin.go)
//	mine/<id>           the expiry of the user's last confirmation of a pin
//	p/<id>, a/<id>      a pin, an alert read (or written): body, set expiry
//	c/<pin id>/<null>   one nullifier's latest confirmation of a pin
//	cur/<cell>          where the last read of a cell's set stopped
//	dec/<area>          the decoy cells of an area, drawn once and kept
//
// Every WatchEvery, Run reads the pin set of every cell the watched areas
// meet and of their decoy cells, in a random order, as normal requests:
// they take λP slots that would otherwise carry fillers, and an observer
// of the link sees an idle client's traffic (docs/pins.md).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

const (
	// inflight is the most reads of a round waiting at once.
	inflight = 2
	// maxPages is the most scan pages of one cell a round reads; the next
	// round goes on from there.
	maxPages = 4
	// scanLimit is the page size asked for.
	scanLimit = 16
	// decoyUp: decoys are drawn among the cells of the real cells'
	// ancestors one level up (geo.SiblingDecoys), as for area posts.
	decoyUp = 1
	// minGap is the least pause between two rounds.
	minGap = 2 * time.Second
)

// heldRec is a pin or an alert in the local copy.
type heldRec struct {
	Body   []byte `cbor:"1,keyasint"`
	SetExp int64  `cbor:"2,keyasint"`
	Seen   int64  `cbor:"3,keyasint"`
	Cell   string `cbor:"4,keyasint"`
}

// confRec is one nullifier's latest confirmation of a pin.
type confRec struct {
	Say    Say   `cbor:"1,keyasint"`
	At     int64 `cbor:"2,keyasint"`
	SetExp int64 `cbor:"3,keyasint"`
}

// cursorRec is where the last read of a cell's set stopped, and whether
// it had reached the set's end.
type cursorRec struct {
	Cursor []byte `cbor:"1,keyasint"`
	Caught bool   `cbor:"2,keyasint,omitempty"`
}

// counters are the service's statistics since it started.
type counters struct {
	alertsSeen, pinsSeen, confsSeen int
	skipped, requests, rounds       uint64
	lastRound                       time.Time
	cells, decoys                   int
	lastErr                         string
}

// hold keeps an item read (or written) in the local copy; isNew reports
// whether it was not held before (for pins and alerts).
func (s *Service) hold(cell geo.Cell, it *setitem.Item, b *Body, now time.Time) (isNew bool, err error) {
	err = s.st.Update(func(tx *store.Tx) error {
		switch {
		case b.Confirm != nil:
			key := "c/" + hex.EncodeToString(b.Confirm.Pin) + "/" + hex.EncodeToString(it.Nullifier)
			if v, err := tx.Get(bucket, key); err == nil {
				var old confRec
				if localDec.Unmarshal(v, &old) == nil && (old.At > b.Confirm.Created || (old.At == b.Confirm.Created && old.SetExp >= it.Expires)) {
					return nil
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			v, err := detcbor.Marshal(&confRec{Say: b.Confirm.Say, At: b.Confirm.Created, SetExp: it.Expires})
			if err != nil {
				return err
			}
			isNew = true
			return tx.Put(bucket, key, v)
		default:
			prefix := "p/"
			if b.Alert != nil {
				prefix = "a/"
			}
			key := prefix + IDOf(it.Body).String()
			if _, err := tx.Get(bucket, key); err == nil {
				return nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			v, err := detcbor.Marshal(&heldRec{Body: bytes.Clone(it.Body), SetExp: it.Expires, Seen: now.Unix(), Cell: cell.String()})
			if err != nil {
				return err
			}
			isNew = true
			return tx.Put(bucket, key, v)
		}
	})
	return isNew, err
}

// resolve finds a held pin by its id or a prefix of at least 8 hex digits.
func (s *Service) resolve(id string) (ID, geo.Cell, error) {
	var pid ID
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 8 || len(id) > 2*IDSize {
		return pid, geo.Cell{}, fmt.Errorf("pin: id %q: give at least 8 hex digits of it (komrade pins lists them)", id)
	}
	var found []string
	var cell string
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucket, func(k string, v []byte) error {
			if rest, ok := strings.CutPrefix(k, "p/"); ok && strings.HasPrefix(rest, id) {
				var h heldRec
				if err := localDec.Unmarshal(v, &h); err != nil {
					return fmt.Errorf("pin: held pin: %w", err)
				}
				found, cell = append(found, rest), h.Cell
			}
			return nil
		})
	})
	if err != nil {
		return pid, geo.Cell{}, err
	}
	switch len(found) {
	case 0:
		return pid, geo.Cell{}, fmt.Errorf("pin: no pin %s in the local copy (only pins of watched areas are known: see komrade pins)", id)
	case 1:
	default:
		return pid, geo.Cell{}, fmt.Errorf("pin: %d pins start with %s: give more of the id", len(found), id)
	}
	b, err := hex.DecodeString(found[0])
	if err != nil || len(b) != IDSize {
		return pid, geo.Cell{}, fmt.Errorf("pin: held pin id %q", found[0])
	}
	c, err := geo.ParseCell(cell)
	if err != nil {
		return pid, geo.Cell{}, fmt.Errorf("pin: held pin's cell: %w", err)
	}
	return ID(b), c, nil
}

// ---- Areas and their decoys ----

type tempArea struct {
	a Area
	n int // watch commands that watch it
}

func areaKey(a Area) string {
	return fmt.Sprintf("%d,%d,%d", toE6(a.Near.Lat), toE6(a.Near.Lon), uint32(math.Round(a.RadiusM)))
}

// Areas lists the watched areas: the config's, then those of running
// `komrade watch` commands.
func (s *Service) Areas() []Area {
	out := slices.Clone(s.cfg.Areas)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.temp {
		if !slices.Contains(out, t.a) {
			out = append(out, t.a)
		}
	}
	return out
}

// watchTemp adds an area while a watch command runs; the returned func
// takes it back.
func (s *Service) watchTemp(a Area) func() {
	k := areaKey(a)
	s.mu.Lock()
	t := s.temp[k]
	if t == nil {
		t = &tempArea{a: a}
		s.temp[k] = t
	}
	t.n++
	s.mu.Unlock()
	kick(s.watchKick)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if t.n--; t.n == 0 {
			delete(s.temp, k)
		}
	}
}

// decoys returns the decoy cells of an area, drawing them the first time
// and keeping them: an area watched again reads the same decoys, or the
// real cells would be the ones read every time.
func (s *Service) decoys(a Area, real []geo.Cell) ([]geo.Cell, error) {
	key := "dec/" + areaKey(a)
	var cells []string
	v, err := s.st.Get(bucket, key)
	switch {
	case err == nil:
		if err := localDec.Unmarshal(v, &cells); err != nil {
			return nil, fmt.Errorf("pin: decoys: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		n := max(social.MinDecoys, len(real))
		d, err := geo.SiblingDecoys(n, rand.Reader, real, decoyUp)
		if errors.Is(err, geo.ErrFewCandidates) {
			d, err = geo.Decoys(n, rand.Reader, social.AreaLevel)
		}
		if err != nil {
			return nil, fmt.Errorf("pin: decoys: %w", err)
		}
		for _, c := range d {
			cells = append(cells, c.String())
		}
		b, err := detcbor.Marshal(cells)
		if err != nil {
			return nil, err
		}
		if err := s.st.Put(bucket, key, b); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	out := make([]geo.Cell, 0, len(cells))
	for _, c := range cells {
		if cell, err := geo.ParseCell(c); err == nil && cell.Level() == social.AreaLevel {
			out = append(out, cell)
		}
	}
	return out, nil
}

// plan returns the cells to read for areas, real and decoy, shuffled.
func (s *Service) plan(areas []Area) (all []geo.Cell, isDecoy map[geo.Cell]bool, err error) {
	isDecoy = map[geo.Cell]bool{}
	seen := map[geo.Cell]bool{}
	var decoys []geo.Cell
	for _, a := range areas {
		real, err := social.AreaCells(a.Near, a.RadiusM)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range real {
			if !seen[c] {
				seen[c] = true
				all = append(all, c)
			}
		}
		d, err := s.decoys(a, real)
		if err != nil {
			return nil, nil, err
		}
		decoys = append(decoys, d...)
	}
	for _, c := range decoys {
		if !seen[c] {
			seen[c] = true
			isDecoy[c] = true
			all = append(all, c)
		}
	}
	if err := geo.Shuffle(all, rand.Reader); err != nil {
		return nil, nil, err
	}
	return all, isDecoy, nil
}

// ---- Reading ----

// Run publishes pending pins when they are due and watches the areas,
// until ctx ends. The daemon starts it.
func (s *Service) Run(ctx context.Context) {
	defer close(s.done) // ends the watchers (Watch)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.publishLoop(ctx)
	}()
	s.watchLoop(ctx)
	wg.Wait()
}

func (s *Service) publishLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pubKick:
		}
		next, err := s.publishDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("pin publication delayed", "err", err)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 100*time.Millisecond)
		}
		t.Reset(wait)
	}
}

func (s *Service) watchLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	var end time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.watchKick:
			t.Stop()
			if wait := minGap - time.Since(end); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		start := time.Now()
		if areas := s.Areas(); len(areas) > 0 {
			if err := s.read(ctx, areas, 1); err != nil && ctx.Err() == nil {
				s.log.Debug("watch round incomplete", "err", err)
			}
		}
		end = time.Now()
		t.Reset(max(time.Until(start.Add(s.cfg.WatchEvery)), minGap))
	}
}

// fetchTries is how often Fetch sends a read whose answer did not come:
// a watch round tries each read once (the next round tries again), but a
// one-off read has no next round, and the mix network loses packets.
const fetchTries = 3

// Fetch reads an area's cells and decoys once now (for a list of an area
// nobody watches), each read tried up to fetchTries times.
func (s *Service) Fetch(ctx context.Context, a Area) error {
	if err := a.Check(); err != nil {
		return err
	}
	return s.read(ctx, []Area{a}, fetchTries)
}

// Covered reports whether every cell area a meets is read by the watch.
func (s *Service) Covered(a Area) bool {
	want, err := social.AreaCells(a.Near, a.RadiusM)
	if err != nil {
		return false
	}
	have := map[geo.Cell]bool{}
	for _, w := range s.Areas() {
		cells, _ := social.AreaCells(w.Near, w.RadiusM)
		for _, c := range cells {
			have[c] = true
		}
	}
	for _, c := range want {
		if !have[c] {
			return false
		}
	}
	return true
}

// read reads the cells of areas and their decoys once: one round, each
// read tried up to tries times (client.Retry).
func (s *Service) read(ctx context.Context, areas []Area, tries int) error {
	s.round.Lock()
	defer s.round.Unlock()
	rules, err := s.rules()
	if err != nil {
		return err
	}
	cells, isDecoy, err := s.plan(areas)
	if err != nil {
		return err
	}
	ch := make(chan geo.Cell)
	errs := make(chan error, len(cells))
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				if err := s.scanCell(ctx, c, isDecoy[c], rules, tries); err != nil {
					errs <- fmt.Errorf("reading a cell: %w", err) // never which: the log is on disk
				}
			}
		}()
	}
dispatch:
	for _, c := range cells {
		select {
		case ch <- c:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(ch)
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	perr := s.prune(s.now())
	s.mu.Lock()
	s.stats.rounds++
	s.stats.lastRound = time.Now()
	s.stats.cells, s.stats.decoys = len(cells)-len(isDecoy), len(isDecoy)
	s.stats.lastErr = ""
	if len(all) > 0 {
		s.stats.lastErr = all[0].Error()
	}
	s.mu.Unlock()
	return errors.Join(append(all, perr)...)
}

// scanCell reads a cell's set on from where the last read stopped, up to
// maxPages pages. Items sort by expiry, which writers set to the writing
// time plus a fixed lifetime, so items written since come after the
// cursor; once a read reached the set's end, the next starts
// setitem.MaxClockSkew before where it stopped, for writers whose clocks
// run behind (a read that did not resumes where it stopped, so that a burst
// of items is read through). An item whose expiry no honest writer gives
// (beyond now + the writers' lifetime + MaxClockSkew) ends the read as the
// set's end does. Items of a decoy cell are checked the same way and
// dropped.
func (s *Service) scanCell(ctx context.Context, cell geo.Cell, decoy bool, rules setitem.Rules, tries int) error {
	key := SetKey(cell)
	ckey := "cur/" + cell.String()
	var cur cursorRec
	if v, err := s.st.Get(bucket, ckey); err == nil {
		if err := localDec.Unmarshal(v, &cur); err != nil {
			return fmt.Errorf("pin: cursor: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cursor := cur.Cursor
	if cur.Caught && len(cur.Cursor) == 8+32 {
		exp := int64(binary.BigEndian.Uint64(cur.Cursor[:8])) - int64(setitem.MaxClockSkew/time.Second)
		cursor = append(setitem.ExpiryBytes(exp), make([]byte, 32)...)
	}
	last := cur.Cursor
	caught := false
	var err error
	for range maxPages {
		var res *wire.ScanResult
		s.mu.Lock()
		s.stats.requests++
		s.mu.Unlock()
		err = s.c.Retry(ctx, tries, func(tctx context.Context) error {
			var e error
			res, e = s.c.Scan(tctx, wire.ScanRequest{Namespace: Namespace, Key: key, Cursor: cursor, Limit: scanLimit})
			return e
		})
		if errors.Is(err, wire.ErrNotFound) {
			err, caught = nil, true
			break
		}
		if err != nil {
			break
		}
		now := s.now()
		// The latest expiry an honest writer gives an item: its clock
		// at most MaxClockSkew ahead. Storage nodes accept expiries up
		// to an hour later (now + TTL + skew); items there are no
		// honest writer's, and every honest item sorts before them.
		honest := itemExpiry(now.Add(setitem.MaxClockSkew), rules.TTL)
		beyond := false
		var fresh []ID
		for _, raw := range res.Items {
			// The next round resumes after every item read, valid or
			// not: storage nodes do not check pin bodies, so items that
			// only a reader refuses would otherwise be read again every
			// round and, a few pages of them, keep the watch from ever
			// reaching the alerts after them. An item beyond what an
			// honest writer can write ends the read, as the set's end
			// does, and never moves the cursor: pages of them (or one
			// from a lying exit) would otherwise carry it past the
			// honest items written from now on, for as long as they
			// are kept coming.
			if it0, derr := setitem.Decode(raw); derr == nil {
				if it0.Expires > honest {
					beyond = true
					break
				}
				if c, cerr := it0.Cursor(); cerr == nil && bytes.Compare(c, last) > 0 {
					last = c
				}
			}
			it, b, ierr := checkItem(raw, cell, rules, now)
			if ierr == nil {
				if !decoy {
					ierr = s.accept(cell, it, b, now, &fresh)
				}
			}
			if ierr != nil {
				if !errors.Is(ierr, wire.ErrInvalid) && !errors.Is(ierr, wire.ErrPoW) && !errors.Is(ierr, wire.ErrTooLarge) && !errors.Is(ierr, wire.ErrExpired) {
					return ierr
				}
				s.mu.Lock()
				s.stats.skipped++
				s.mu.Unlock()
			}
		}
		if aerr := s.announce(fresh); aerr != nil {
			return aerr
		}
		if beyond || len(res.Next) == 0 || bytes.Equal(res.Next, cursor) {
			caught = true
			break
		}
		cursor = res.Next
	}
	// Never resume past where an honest item written from now on can
	// sort (an item with the latest expiry allowed): once at the set's
	// end, not past where a writer whose clock runs behind writes; in a
	// burst not read through yet, not past where one whose clock runs
	// ahead does (or the read could not pass items just written).
	ahead := -setitem.MaxClockSkew
	if !caught {
		ahead = setitem.MaxClockSkew
	}
	limit := append(setitem.ExpiryBytes(itemExpiry(s.now().Add(ahead), rules.TTL)), make([]byte, 32)...)
	if bytes.Compare(last, limit) > 0 {
		last = limit
	}
	// An empty cursor is no cursor: nothing is kept of a cell whose set
	// was empty (the store would otherwise name every cell ever read).
	if len(last) > 0 && (!bytes.Equal(last, cur.Cursor) || caught != cur.Caught) {
		b, merr := detcbor.Marshal(&cursorRec{Cursor: last, Caught: caught})
		if merr != nil {
			return merr
		}
		if perr := s.st.Put(bucket, ckey, b); perr != nil {
			return perr
		}
	}
	return err
}

// checkItem decodes an item a scan of cell's set returned and checks it as
// storage nodes do (shape, set, size, expiry, proof-of-work, nullifier
// signature), then its body: a pin must lie in the cell and an alert's
// circle meet it; pins and alerts carry no nullifier, confirmations one;
// nothing is dated more than the clock skew ahead.
func checkItem(raw []byte, cell geo.Cell, rules setitem.Rules, now time.Time) (*setitem.Item, *Body, error) {
	it, err := setitem.Decode(raw)
	if err != nil {
		return nil, nil, err
	}
	if it.Namespace != Namespace || !bytes.Equal(it.Key, SetKey(cell)) {
		return nil, nil, fmt.Errorf("%w: an item of another set", ErrMalformed)
	}
	if err := rules.Verify(it, len(raw), now); err != nil {
		return nil, nil, err
	}
	b, err := DecodeBody(it.Body)
	if err != nil {
		return nil, nil, err
	}
	future := now.Add(clockSkew).Unix()
	switch {
	case b.Pin != nil:
		c, err := geo.CellOf(b.Pin.Point(), social.AreaLevel)
		if err != nil || c != cell || len(it.Nullifier) != 0 || b.Pin.Created > future {
			return nil, nil, fmt.Errorf("%w: a pin of another cell, with a nullifier, or from the future", ErrMalformed)
		}
	case b.Alert != nil:
		cells, err := social.AreaCells(b.Alert.Point(), float64(b.Alert.RadiusM))
		if err != nil || !slices.Contains(cells, cell) || len(it.Nullifier) != 0 || b.Alert.Created > future {
			return nil, nil, fmt.Errorf("%w: an alert that does not meet its cell, with a nullifier, or from the future", ErrMalformed)
		}
	default:
		if len(it.Nullifier) == 0 || b.Confirm.Created > future {
			return nil, nil, fmt.Errorf("%w: a confirmation without a nullifier, or from the future", ErrMalformed)
		}
	}
	return it, b, nil
}

// accept keeps a checked item; a new pin or alert is added to fresh, whose
// watchers are told once the page is read (with the confirmations read
// with it).
func (s *Service) accept(cell geo.Cell, it *setitem.Item, b *Body, now time.Time, fresh *[]ID) error {
	isNew, err := s.hold(cell, it, b, now)
	if err != nil || !isNew {
		return err
	}
	s.mu.Lock()
	switch b.Type() {
	case TypePin:
		s.stats.pinsSeen++
	case TypeAlert:
		s.stats.alertsSeen++
	default:
		s.stats.confsSeen++
	}
	s.mu.Unlock()
	if b.Confirm == nil {
		*fresh = append(*fresh, IDOf(it.Body))
	}
	return nil
}

// announce tells the watchers that there are new pins or alerts.
func (s *Service) announce(ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.subs {
		kick(w.kick)
	}
	return nil
}

// prune drops what expired from the local copy, and the cursors before
// which every item has expired (of cells nothing was written to for about
// a day, or read once that long ago).
func (s *Service) prune(now time.Time) error {
	return s.st.Update(func(tx *store.Tx) error {
		var drop []string
		if err := tx.List(bucket, func(k string, v []byte) error {
			var exp int64
			switch {
			case strings.HasPrefix(k, "p/"), strings.HasPrefix(k, "a/"):
				var h heldRec
				if localDec.Unmarshal(v, &h) != nil {
					drop = append(drop, k)
					return nil
				}
				exp = h.SetExp
			case strings.HasPrefix(k, "c/"):
				var c confRec
				if localDec.Unmarshal(v, &c) != nil {
					drop = append(drop, k)
					return nil
				}
				exp = c.SetExp
			case strings.HasPrefix(k, "cur/"):
				// A cursor before now is worth nothing: every item it
				// passed has expired, and a read from the set's start
				// reads what a read from it would. Dropping it keeps
				// the store from naming cells read once, long ago.
				var c cursorRec
				if localDec.Unmarshal(v, &c) != nil || len(c.Cursor) < 8 {
					drop = append(drop, k)
					return nil
				}
				exp = int64(binary.BigEndian.Uint64(c.Cursor[:8]))
			case strings.HasPrefix(k, "mine/"):
				var m myConf
				if localDec.Unmarshal(v, &m) != nil {
					drop = append(drop, k)
					return nil
				}
				exp = m.Exp
			default:
				return nil
			}
			if exp <= now.Unix() {
				drop = append(drop, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range drop {
			if err := tx.Delete(bucket, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- What readers see ----

// Marker is a live pin or alert as a list or a map shows it.
type Marker struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`           // "pin" or "alert"
	Kind    string    `json:"kind,omitempty"` // a pin's kind
	Lat     float64   `json:"lat"`
	Lon     float64   `json:"lon"`
	Note    string    `json:"note,omitempty"`     // a pin's note
	Text    string    `json:"text,omitempty"`     // an alert's text
	RadiusM float64   `json:"radius_m,omitempty"` // an alert's radius
	Created time.Time `json:"created"`
	AgeS    int64     `json:"age_s"`
	Expires time.Time `json:"expires"`
	// Still and Gone count distinct confirmers (a pin's).
	Still     int  `json:"still"`
	Gone      int  `json:"gone"`
	Confirmed bool `json:"confirmed"`
	// DistanceM and Bearing (degrees from north) are from the query's
	// point, or the nearest watched area's centre; Compass names the
	// bearing (N, NE…).
	DistanceM float64 `json:"distance_m"`
	Bearing   float64 `json:"bearing"`
	Compass   string  `json:"compass"`
}

// Query selects markers.
type Query struct {
	// Near and RadiusM: pins within the circle and alerts whose circle
	// meets it; without Near, those of every watched area.
	Near    *geo.Point
	RadiusM float64
	// At is the time the reader rules are applied at (zero: now).
	At time.Time
	// IDs, if set, selects these pins and alerts only.
	IDs []ID
}

// List returns the live pins and alerts of the local copy that q selects,
// alerts first, then pins, nearest first.
func (s *Service) List(q Query) ([]Marker, error) {
	now := q.At
	if now.IsZero() {
		now = s.now()
	}
	areas := s.Areas()
	if q.Near != nil {
		if err := (Area{Near: *q.Near, RadiusM: q.RadiusM}).Check(); err != nil {
			return nil, err
		}
		areas = []Area{{Near: *q.Near, RadiusM: q.RadiusM}}
	}
	held := map[string]heldRec{}
	confs := map[string][]Conf{}
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucket, func(k string, v []byte) error {
			switch {
			case strings.HasPrefix(k, "p/"), strings.HasPrefix(k, "a/"):
				var h heldRec
				if err := localDec.Unmarshal(v, &h); err != nil {
					return fmt.Errorf("pin: held item: %w", err)
				}
				held[k] = h
			case strings.HasPrefix(k, "c/"):
				parts := strings.Split(k, "/")
				var c confRec
				if len(parts) != 3 || localDec.Unmarshal(v, &c) != nil {
					return fmt.Errorf("pin: held confirmation %q", k)
				}
				n, _ := hex.DecodeString(parts[2])
				confs[parts[1]] = append(confs[parts[1]], Conf{Nullifier: n, Say: c.Say, At: c.At})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []Marker
	for k, h := range held {
		id := IDOf(h.Body)
		if len(q.IDs) > 0 && !slices.Contains(q.IDs, id) {
			continue
		}
		b, err := DecodeBody(h.Body)
		if err != nil {
			continue // held items were checked; a damaged one is not shown
		}
		m := Marker{ID: id.String()}
		var reach float64
		switch {
		case strings.HasPrefix(k, "p/") && b.Pin != nil:
			p := b.Pin
			st := PinState(p, h.SetExp, confs[id.String()], s.cfg.Confirmations, now)
			if !st.Live {
				continue
			}
			m.Type, m.Kind, m.Note = "pin", p.Kind.String(), p.Note
			m.Lat, m.Lon = p.Point().Lat, p.Point().Lon
			m.Created, m.Expires = time.Unix(p.Created, 0), st.Expires
			m.Still, m.Gone, m.Confirmed = st.Still, st.Gone, st.Confirmed
		case strings.HasPrefix(k, "a/") && b.Alert != nil:
			a := b.Alert
			m.Expires = AlertExpiry(a, h.SetExp)
			if !now.Before(m.Expires) {
				continue
			}
			m.Type, m.Text, m.RadiusM = "alert", a.Text, float64(a.RadiusM)
			m.Lat, m.Lon = a.Point().Lat, a.Point().Lon
			m.Created = time.Unix(a.Created, 0)
			reach = m.RadiusM
		default:
			continue
		}
		m.AgeS = max(int64(now.Sub(m.Created)/time.Second), 0)
		p := geo.Point{Lat: m.Lat, Lon: m.Lon}
		best := math.Inf(1)
		var from geo.Point
		for _, a := range areas {
			if d := geo.Distance(a.Near, p); d <= a.RadiusM+reach && d < best {
				best, from = d, a.Near
			}
		}
		if math.IsInf(best, 1) {
			continue
		}
		m.DistanceM = best
		m.Bearing = geo.Bearing(from, p)
		m.Compass = geo.Compass(m.Bearing)
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Marker) int {
		if a.Type != b.Type {
			return strings.Compare(a.Type, b.Type) // "alert" < "pin": alerts first
		}
		if a.DistanceM != b.DistanceM {
			if a.DistanceM < b.DistanceM {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Stats are the watch's numbers for `komrade status`.
type Stats struct {
	Areas      int       `json:"areas"`       // watched areas
	Alerts     int       `json:"alerts"`      // live alerts in them now
	Pins       int       `json:"pins"`        // live pins in them now
	Pending    int       `json:"pending"`     // pins waiting for publication
	AlertsSeen int       `json:"alerts_seen"` // new alerts read since the daemon started
	PinsSeen   int       `json:"pins_seen"`   // new pins read since the daemon started
	Skipped    uint64    `json:"skipped"`     // items that failed validation
	Requests   uint64    `json:"requests"`    // reads sent, real and decoy
	Rounds     uint64    `json:"rounds"`
	LastRound  time.Time `json:"last_round,omitzero"`
	Cells      int       `json:"cells"`  // real cells of the last round
	Decoys     int       `json:"decoys"` // decoy cells of the last round
	Error      string    `json:"error,omitempty"`
	EveryS     float64   `json:"every_s"` // the watch interval
}

// Stats counts what the watch holds and did.
func (s *Service) Stats() (Stats, error) {
	var ms []Marker
	if len(s.Areas()) > 0 {
		var err error
		if ms, err = s.List(Query{}); err != nil {
			return Stats{}, err
		}
	}
	p, err := s.PendingPins()
	if err != nil {
		return Stats{}, err
	}
	return s.StatsOf(ms, p), nil
}

// StatsOf is Stats for a caller that has listed the markers and the
// pending pins already (List, PendingPins): it counts ms as the live
// alerts and pins and p as the pending pins, and reads the store no more.
func (s *Service) StatsOf(ms []Marker, p []Pending) Stats {
	st := Stats{Areas: len(s.Areas()), EveryS: s.cfg.WatchEvery.Seconds(), Pending: len(p)}
	for _, m := range ms {
		if m.Type == TypeAlert.String() {
			st.Alerts++
		} else {
			st.Pins++
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	st.AlertsSeen, st.PinsSeen, st.Skipped, st.Requests, st.Rounds = c.alertsSeen, c.pinsSeen, c.skipped, c.requests, c.rounds
	st.LastRound, st.Cells, st.Decoys, st.Error = c.lastRound, c.cells, c.decoys, c.lastErr
	return st
}

// ---- Watchers ----

// sub is a running Watch: kicked when new pins or alerts are held, it
// lists its area again and shows those it has not shown.
type sub struct {
	kick chan struct{}
}

// Watch calls show with the live pins and alerts of area a (nil: of every
// watched area), then with every new one read, until ctx ends or Run
// returns. While it
// runs a is watched (with its decoys, kept for the next time it is).
func (s *Service) Watch(ctx context.Context, a *Area, show func(Marker) error) error {
	q := Query{}
	if a != nil {
		if err := a.Check(); err != nil {
			return err
		}
		q.Near, q.RadiusM = &a.Near, a.RadiusM
		defer s.watchTemp(*a)()
	} else if len(s.cfg.Areas) == 0 {
		return errors.New("pin: no watched areas: give --near and --radius, or add [[watch]] areas to client.toml")
	}
	w := &sub{kick: make(chan struct{}, 1)}
	s.mu.Lock()
	s.subs[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, w)
		s.mu.Unlock()
	}()
	shown := map[string]bool{}
	for {
		ms, err := s.List(q)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if shown[m.ID] {
				continue
			}
			shown[m.ID] = true
			if err := show(m); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-w.kick:
		}
	}
}
