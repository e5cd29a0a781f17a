package pin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire/geo"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Defaults of Config.
const (
	// DefaultConfirmations is k: a pin is confirmed at k distinct
	// confirmers, its author included.
	DefaultConfirmations = 2
	// DefaultDelayMin and DefaultDelayMax bound the random delay before a
	// pin is published.
	DefaultDelayMin = 30 * time.Second
	DefaultDelayMax = 2 * time.Minute
	// DefaultWatchEvery is the time between the starts of two watch
	// rounds. An alert is read at most this long after it was stored, plus
	// the reads' round trips: 20 s keeps the alert latency's p95 under 30 s
	// at the default rates (docs/benchmarks.md), for one request per cell
	// read, real or decoy, every 20 s.
	DefaultWatchEvery = 20 * time.Second
)

// bucket holds everything of this package in the store (see watch.go).
const bucket = "pin"

// Config is what client.toml says of pins and the watch.
type Config struct {
	// Confirmations is k (0: DefaultConfirmations).
	Confirmations int
	// DelayMin and DelayMax bound the publication delay of a pin (both
	// 0: the defaults; DelayMax may equal DelayMin).
	DelayMin, DelayMax time.Duration
	// WatchEvery is the watch interval (0: DefaultWatchEvery).
	WatchEvery time.Duration
	// Areas are the watched areas of the config (`[[watch]]`).
	Areas []Area
}

func (c *Config) defaults() {
	if c.Confirmations <= 0 {
		c.Confirmations = DefaultConfirmations
	}
	if c.DelayMin == 0 && c.DelayMax == 0 {
		c.DelayMin, c.DelayMax = DefaultDelayMin, DefaultDelayMax
	}
	c.DelayMax = max(c.DelayMax, c.DelayMin)
	if c.WatchEvery <= 0 {
		c.WatchEvery = DefaultWatchEvery
	}
}

// Area is a watched circle.
type Area struct {
	Near    geo.Point `json:"near"`
	RadiusM float64   `json:"radius_m"`
}

// Check reports whether the area can be watched: a valid point and a
// radius of more than 0 and at most 25 km.
func (a Area) Check() error {
	if err := a.Near.Validate(); err != nil {
		return err
	}
	_, err := social.AreaCells(a.Near, a.RadiusM)
	return err
}

// Service is one user's pins, alerts and watch. Run is its loop.
type Service struct {
	c   *client.Client
	id  *client.Identity
	st  *store.Store
	log *slog.Logger
	cfg Config
	now func() time.Time

	pubKick   chan struct{}
	watchKick chan struct{}
	done      chan struct{} // closed when Run returns
	round     sync.Mutex    // one read of cells at a time (their cursors)

	mu    sync.Mutex
	temp  map[string]*tempArea // areas of running `komrade watch` commands
	subs  map[*sub]struct{}
	stats counters
}

// New returns the pin service of a user. Its loop (Run, to be called once)
// publishes pending pins and watches the areas.
func New(c *client.Client, id *client.Identity, st *store.Store, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	cfg.defaults()
	return &Service{c: c, id: id, st: st, log: log, cfg: cfg, now: time.Now,
		pubKick: make(chan struct{}, 1), watchKick: make(chan struct{}, 1), done: make(chan struct{}),
		temp: map[string]*tempArea{}, subs: map[*sub]struct{}{}}
}

// Config returns the service's configuration, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// randBetween is uniform in [lo, hi].
func randBetween(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)+1))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return lo + time.Duration(n.Int64())
}

func salt() []byte {
	b := make([]byte, SaltSize)
	rand.Read(b)
	return b
}

// minute is t's Unix time rounded down to the minute.
func minute(t time.Time) int64 { return t.Unix() / 60 * 60 }

// rules returns the network's rules of the pin namespace.
func (s *Service) rules() (setitem.Rules, error) {
	r, ok := s.c.Params().SetRules()[Namespace]
	if !ok {
		return r, errors.New("pin: the network's parameters are not known yet (no gateway has answered); try again when the daemon is online")
	}
	return r, nil
}

// itemExpiry is a new item's expiry: an hour short of the namespace's
// lifetime (a writer whose clock runs ahead is not refused). Every item of
// the namespace gets it, so that a set's items sort by the time they were
// written and a watcher reads on from where it stopped.
func itemExpiry(now time.Time, ttl time.Duration) int64 {
	return now.Add(max(ttl-time.Hour, ttl/2)).Unix()
}

// PinOptions describe a new pin.
type PinOptions struct {
	Kind Kind
	At   geo.Point
	Note string
	// TTL is how long it shows (0: the kind's default), at most MaxPinTTL.
	TTL time.Duration
	// CellM is the size of the cell the position is snapped to (0:
	// geo.DefaultSnapM, about 150 m).
	CellM float64
}

// Pending is a pin waiting for its publication.
type Pending struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Lat     float64   `json:"lat"` // snapped
	Lon     float64   `json:"lon"`
	Publish time.Time `json:"publish"`
}

// pendingRec is a pin waiting in the store ("pend/<id>"): its body, when
// it is due, and when a failed try may be repeated.
type pendingRec struct {
	Body []byte `cbor:"1,keyasint"`
	Due  int64  `cbor:"2,keyasint"` // Unix s
	// Posted: the pin is in the network, the author's "still" is not yet
	// (its append failed); only that is tried again.
	Posted bool `cbor:"3,keyasint,omitempty"`
}

var localDec = detcbor.NewDecoder(64, 4)

// Pin makes a pin and queues it: it is published, with the author's own
// "still" confirmation, after a random delay between the config's bounds.
// The queue is in the store: a daemon that stops before then publishes it
// when it runs again (late pins whose lifetime passed are dropped).
func (s *Service) Pin(o PinOptions) (*Pending, error) {
	if _, ok := kindNames[o.Kind]; !ok {
		return nil, fmt.Errorf("pin: kind %d: want police, danger, medic, water or other", o.Kind)
	}
	if err := CheckText(o.Note, MaxNoteChars, MaxNoteBytes); err != nil {
		return nil, fmt.Errorf("pin: note: at most %d characters (%d bytes), no control characters: %w", MaxNoteChars, MaxNoteBytes, err)
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = o.Kind.DefaultTTL()
	}
	if ttl < MinTTL || ttl > MaxPinTTL {
		return nil, fmt.Errorf("pin: lifetime %v: want %v to %v", ttl, MinTTL, MaxPinTTL)
	}
	at, _, err := geo.Snap(o.At, o.CellM)
	if err != nil {
		return nil, fmt.Errorf("pin: position: %w", err)
	}
	// The body says the minute of publication, not of the tap: the
	// minute the user made it would undo the random delay for anyone who
	// watched the place.
	due := s.now().Add(randBetween(s.cfg.DelayMin, s.cfg.DelayMax))
	p := &Pin{Kind: o.Kind, LatE6: toE6(at.Lat), LonE6: toE6(at.Lon), Note: o.Note, Created: minute(due), TTL: uint32(ttl / time.Second), Salt: salt()}
	body, err := EncodePin(p)
	if err != nil {
		return nil, err
	}
	id := IDOf(body)
	b, err := detcbor.Marshal(&pendingRec{Body: body, Due: due.Unix()})
	if err != nil {
		return nil, err
	}
	if err := s.st.Put(bucket, "pend/"+id.String(), b); err != nil {
		return nil, err
	}
	kick(s.pubKick)
	return &Pending{ID: id.String(), Kind: o.Kind.String(), Lat: p.Point().Lat, Lon: p.Point().Lon, Publish: time.Unix(due.Unix(), 0)}, nil
}

// PendingPins lists the pins waiting for publication.
func (s *Service) PendingPins() ([]Pending, error) {
	var out []Pending
	err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucket, func(k string, v []byte) error {
			if !strings.HasPrefix(k, "pend/") {
				return nil
			}
			var r pendingRec
			if err := localDec.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("pin: pending: %w", err)
			}
			b, err := DecodeBody(r.Body)
			if err != nil || b.Pin == nil {
				return fmt.Errorf("pin: pending body: %w", err)
			}
			out = append(out, Pending{ID: IDOf(r.Body).String(), Kind: b.Pin.Kind.String(), Lat: b.Pin.Point().Lat, Lon: b.Pin.Point().Lon, Publish: time.Unix(r.Due, 0)})
			return nil
		})
	})
	return out, err
}

// retryLater is how long a pending pin whose publication failed waits.
const retryLater = 30 * time.Second

// publishDue publishes the pending pins that are due and returns when the
// next one is.
func (s *Service) publishDue(ctx context.Context) (time.Time, error) {
	type due struct {
		key string
		rec pendingRec
	}
	var all []due
	if err := s.st.View(func(tx *store.Tx) error {
		return tx.List(bucket, func(k string, v []byte) error {
			if strings.HasPrefix(k, "pend/") {
				var r pendingRec
				if err := localDec.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("pin: pending: %w", err)
				}
				all = append(all, due{k, r})
			}
			return nil
		})
	}); err != nil {
		return time.Time{}, err
	}
	var next time.Time
	var errs []error
	for _, d := range all {
		now := s.now()
		if d.rec.Due > now.Unix() {
			if t := time.Unix(d.rec.Due, 0); next.IsZero() || t.Before(next) {
				next = t
			}
			continue
		}
		posted, err := s.publishPin(ctx, d.rec.Body, d.rec.Posted)
		d.rec.Posted = d.rec.Posted || posted
		if err == nil || errors.Is(err, errStale) {
			if err := s.st.Update(func(tx *store.Tx) error { return tx.Delete(bucket, d.key) }); err != nil {
				return next, err
			}
			continue
		}
		if ctx.Err() == nil {
			errs = append(errs, err)
			d.rec.Due = now.Add(retryLater).Unix()
		} else if !posted {
			return next, ctx.Err()
		}
		if b, merr := detcbor.Marshal(&d.rec); merr == nil {
			if perr := s.st.Put(bucket, d.key, b); perr != nil {
				return next, perr
			}
		}
		if ctx.Err() != nil { // stopping: what was posted is saved above
			return next, ctx.Err()
		}
		if t := time.Unix(d.rec.Due, 0); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next, errors.Join(errs...)
}

var errStale = errors.New("pin: the pin's lifetime passed before it could be published")

// publishPin appends a pin (unless posted says it is in the network
// already) and then its author's "still" confirmation, and keeps both in
// the local copy. It reports whether the pin itself is in the network, so
// that a failed confirmation is tried again alone.
func (s *Service) publishPin(ctx context.Context, body []byte, posted bool) (bool, error) {
	b, err := DecodeBody(body)
	if err != nil || b.Pin == nil {
		return posted, fmt.Errorf("pin: pending body: %w", err)
	}
	p := b.Pin
	now := s.now()
	if now.Unix() >= p.Created+int64(p.TTL) {
		return posted, errStale
	}
	cell, err := geo.CellOf(p.Point(), social.AreaLevel)
	if err != nil {
		return posted, err
	}
	if !posted {
		rules, err := s.rules()
		if err != nil {
			return false, err
		}
		it := &setitem.Item{Namespace: Namespace, Key: SetKey(cell), Body: body, Expires: itemExpiry(now, rules.TTL)}
		enc, err := s.solve(ctx, it, rules)
		if err != nil {
			return false, err
		}
		if err := s.append(ctx, enc); err != nil {
			return false, fmt.Errorf("pin: publish pin: %w", err)
		}
		if _, err := s.hold(cell, it, b, now); err != nil {
			return true, err
		}
		if err := s.announce([]ID{IDOf(body)}); err != nil { // to the author's own watchers
			return true, err
		}
	}
	// The author's own confirmation: the author counts as one of k.
	if err := s.confirm(ctx, IDOf(body), cell, Still, p.Created); err != nil {
		return true, fmt.Errorf("pin: published; the author's confirmation: %w", err)
	}
	return true, nil
}

// solve gives an item the namespace's proof-of-work and encodes it.
func (s *Service) solve(ctx context.Context, it *setitem.Item, rules setitem.Rules) ([]byte, error) {
	if err := it.Solve(ctx, rules.PoWBits); err != nil {
		return nil, fmt.Errorf("pin: %w", err)
	}
	enc, err := setitem.Encode(it)
	if err != nil {
		return nil, err
	}
	if len(enc) > rules.MaxItemSize {
		return nil, fmt.Errorf("pin: item of %d bytes exceeds the network's %d", len(enc), rules.MaxItemSize)
	}
	return enc, nil
}

// append stores an item: a normal request (the user asked), repeated as
// messages are.
func (s *Service) append(ctx context.Context, enc []byte) error {
	return s.c.Retry(ctx, messenger.MaxTries, func(c context.Context) error {
		_, err := s.c.Append(c, enc)
		return err
	})
}

// AlertOptions describe an alert.
type AlertOptions struct {
	Near    geo.Point
	RadiusM float64
	Text    string
	// TTL is how long it shows (0: DefaultAlertTTL), at most MaxAlertTTL.
	TTL time.Duration
}

// Alert publishes an alert at once, in every cell its circle meets, and
// returns its id. Its centre is snapped to the cell of about 150 m.
func (s *Service) Alert(ctx context.Context, o AlertOptions) (ID, error) {
	var none ID
	if o.Text == "" {
		return none, errors.New("pin: an alert needs a text")
	}
	if err := CheckText(o.Text, MaxTextChars, MaxTextBytes); err != nil {
		return none, fmt.Errorf("pin: alert text: at most %d characters (%d bytes), no control characters: %w", MaxTextChars, MaxTextBytes, err)
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = DefaultAlertTTL
	}
	if ttl < MinTTL || ttl > MaxAlertTTL {
		return none, fmt.Errorf("pin: alert lifetime %v: want %v to %v", ttl, MinTTL, MaxAlertTTL)
	}
	if o.RadiusM < 1 || o.RadiusM > MaxAlertRadiusM {
		return none, fmt.Errorf("pin: alert radius %.0f m: want 1 m to %d km", o.RadiusM, MaxAlertRadiusM/1000)
	}
	at, _, err := geo.Snap(o.Near, 0)
	if err != nil {
		return none, fmt.Errorf("pin: alert centre: %w", err)
	}
	now := s.now()
	a := &Alert{LatE6: toE6(at.Lat), LonE6: toE6(at.Lon), RadiusM: uint32(o.RadiusM), Text: o.Text, Created: minute(now), TTL: uint32(ttl / time.Second), Salt: salt()}
	body, err := EncodeAlert(a)
	if err != nil {
		return none, err
	}
	cells, err := social.AreaCells(a.Point(), float64(a.RadiusM))
	if err != nil {
		return none, err
	}
	rules, err := s.rules()
	if err != nil {
		return none, err
	}
	items := make([]*setitem.Item, len(cells))
	encs := make([][]byte, len(cells))
	for i, c := range cells {
		items[i] = &setitem.Item{Namespace: Namespace, Key: SetKey(c), Body: body, Expires: itemExpiry(now, rules.TTL)}
		if encs[i], err = s.solve(ctx, items[i], rules); err != nil {
			return none, err
		}
	}
	// All cells at once: their requests queue for the next λP slots.
	errs := make([]error, len(encs))
	var wg sync.WaitGroup
	for i := range encs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.append(ctx, encs[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return none, fmt.Errorf("pin: alert: %w", err)
	}
	for i, c := range cells {
		if _, err := s.hold(c, items[i], &Body{Alert: a}, now); err != nil {
			return none, err
		}
	}
	return IDOf(body), s.announce([]ID{IDOf(body)})
}

// myConf is the user's last confirmation of a pin ("mine/<id>"): a new one
// must expire later to replace it.
type myConf struct {
	Exp int64 `cbor:"1,keyasint"`
}

// Confirm says that a pin the local copy holds is still there or gone: a
// normal request, one per identity per pin (a new one replaces the last).
// id may be an unambiguous prefix of at least 8 hex digits.
func (s *Service) Confirm(ctx context.Context, id string, say Say) (ID, error) {
	pid, cell, err := s.resolve(id)
	if err != nil {
		return pid, err
	}
	return pid, s.confirm(ctx, pid, cell, say, minute(s.now()))
}

func (s *Service) confirm(ctx context.Context, pid ID, cell geo.Cell, say Say, at int64) error {
	rules, err := s.rules()
	if err != nil {
		return err
	}
	body, err := EncodeConfirm(&Confirm{Pin: pid[:], Say: say, Created: at})
	if err != nil {
		return err
	}
	secret, err := social.VoteSecret(s.id)
	if err != nil {
		return err
	}
	nk, err := setitem.NullifierKey(secret, Namespace, pid[:])
	clear(secret)
	if err != nil {
		return err
	}
	var last myConf
	if v, err := s.st.Get(bucket, "mine/"+pid.String()); err == nil {
		if err := localDec.Unmarshal(v, &last); err != nil {
			return fmt.Errorf("pin: my confirmation: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := s.now()
	it := &setitem.Item{Namespace: Namespace, Key: SetKey(cell), Body: body, Expires: max(itemExpiry(now, rules.TTL), last.Exp+1)}
	if err := it.Sign(nk); err != nil {
		return err
	}
	enc, err := s.solve(ctx, it, rules)
	if err != nil {
		return err
	}
	if err := s.append(ctx, enc); err != nil {
		return fmt.Errorf("pin: confirm: %w", err)
	}
	b, err := detcbor.Marshal(&myConf{Exp: it.Expires})
	if err != nil {
		return err
	}
	if err := s.st.Put(bucket, "mine/"+pid.String(), b); err != nil {
		return err
	}
	_, err = s.hold(cell, it, &Body{Confirm: &Confirm{Pin: pid[:], Say: say, Created: at}}, now)
	return err
}
