// Package daemon runs a user's Komrade client in the background and serves
// the other CLI commands over a Unix socket (mode 0600) in the home
// directory: one gateway link (with failover), Loopix cover traffic with the
// configured rates (mailbox fetches, sends and intro-set scans take the
// slots of the λP stream), a mailbox poll loop, an outbox delivery loop, the
// keeping of read messages for keep_read (history.go), the feeds' refresher
// (social.Run: background requests in spare λP slots; social_feed.go), the
// pins' publication and watch (pin.Run: normal requests in λP slots;
// organize_pin.go) and a small JSON-over-HTTP API, whose POST /panic
// destroys the store and stops the daemon (panic.go).
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/client/webui"
	"github.com/komrade-net/komrade/config"
)

// SocketFile is the API socket in the home directory.
const SocketFile = "komrade.sock"

// PollInterval is the longest pause between two rounds of fetching new
// mailbox boxes. With cover traffic the pause is one slot interval of the
// λP stream (shorter): a poll takes a slot that would otherwise carry a
// filler, so polling often changes nothing an observer sees and shortens
// the wait for a message.
const PollInterval = 2 * time.Second

// introEvery is how often the daemon scans its intro set for friend
// requests.
const introEvery = 30 * time.Second

// resendInterval is how often the outbox is looked at without a new
// message (messages a shutdown interrupted).
const resendInterval = 10 * time.Second

// Daemon is a running client.
type Daemon struct {
	home string
	cl   *client.Client
	st   *store.Store
	m    *messenger.Messenger
	s    *social.Social // profiles, posts, feeds, votes
	ev   *event.Events  // events, invitations, RSVPs (organize_event.go)
	pins *pin.Service   // danger pins, alerts, the watch (organize_pin.go)
	log  *slog.Logger
	ln   net.Listener
	srv  *http.Server
	wg   sync.WaitGroup
	stop context.CancelFunc // ends the loops' context

	kick chan struct{} // wakes the delivery loop

	panicOnce sync.Once
	panicked  chan struct{} // closed by Panic (panic.go)
	hist      history       // read messages kept for keep_read (history.go)
	ui        *webui.Server // the web interface (ui.go), nil when off
	uiw       uiWatches     // the areas the interface watches (ui_organize.go)

	mu       sync.Mutex
	received int
	lastPoll time.Time
	pollErr  string
	introErr string // the last friend-request scan's error
}

// Start unlocks the identity in home, connects to a gateway of cfg, starts
// cover traffic and the poll loop, and serves the API. It runs until ctx ends
// or Close.
func Start(ctx context.Context, home string, passphrase []byte, cfg config.Client, log *slog.Logger) (*Daemon, error) {
	if log == nil {
		log = slog.Default()
	}
	sock := filepath.Join(home, SocketFile)
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("daemon: one is already running (%s)", sock)
	}
	st, id, err := client.OpenHome(home, passphrase)
	if err != nil {
		return nil, err
	}
	os.Remove(sock)                       // a stale socket from a crash
	cl, err := client.Open(ctx, cfg, log) // offline is fine: local commands work, the link comes when it can
	if err != nil {
		st.Close()
		return nil, err
	}
	p, l, dd := cfg.Rates()
	if err := cl.StartCover(ctx, client.Rates{LambdaP: p, LambdaL: l, LambdaD: dd}); err != nil {
		cl.Close()
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		cl.Close()
		st.Close()
		return nil, fmt.Errorf("daemon: socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		cl.Close()
		st.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx) // the loops end with ctx or Close
	m := messenger.New(cl, id, st, log)
	d := &Daemon{home: home, cl: cl, st: st, m: m, s: social.New(cl, id, st, m, log), log: log, ln: ln, kick: make(chan struct{}, 1), stop: stop, panicked: make(chan struct{})}
	d.ev = event.New(cl, id, st, m, d.s, log)
	d.hist.keep = cfg.KeepReadFor()
	d.pins = pin.New(cl, id, st, pinConfig(cfg), log)
	d.srv = &http.Server{Handler: d.routes(), ReadHeaderTimeout: 5 * time.Second}
	if a := cfg.UIAddr(); a != "" {
		// Messaging works without the interface: a busy port is logged,
		// and `komrade ui` says the interface is not running.
		if err := d.startUI(ctx, a); err != nil {
			log.Error("web interface not started", "err", err)
		}
	}
	d.wg.Add(7)
	go func() {
		defer d.wg.Done()
		d.pins.Run(ctx) // pending pins' publication and the watch of areas
	}()
	go func() {
		defer d.wg.Done()
		d.introLoop(ctx)
	}()
	go func() {
		defer d.wg.Done()
		d.s.Run(ctx) // the feeds' refresher: background requests only
	}()
	go func() {
		defer d.wg.Done()
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("api", "err", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		d.pollLoop(ctx)
	}()
	go func() {
		defer d.wg.Done()
		d.deliverLoop(ctx)
	}()
	go func() {
		defer d.wg.Done()
		d.purgeLoop(ctx)
	}()
	log.Info("daemon running", "socket", sock, "gateway", cl.Gateway(), "fingerprint", id.Fingerprint())
	return d, nil
}

// Close stops the daemon.
func (d *Daemon) Close() error {
	d.stop()
	if d.ui != nil {
		d.ui.Close()
	}
	// Let running API calls (a post, a profile) finish for a few seconds
	// before the client and the store they use close; then cut them off.
	sctx, cancel := context.WithTimeout(context.Background(), d.shutdownWait())
	d.srv.Shutdown(sctx)
	cancel()
	d.srv.Close()
	err := d.cl.Close()
	d.wg.Wait()
	os.Remove(filepath.Join(d.home, SocketFile))
	return errors.Join(err, d.st.Close())
}

// deliverLoop sends the outbox whenever a message is queued, and every
// resendInterval in case one was left behind.
func (d *Daemon) deliverLoop(ctx context.Context) {
	t := time.NewTicker(resendInterval)
	defer t.Stop()
	for {
		before := d.outboxSig()
		if err := d.m.Deliver(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("outbox", "err", err)
		}
		if after := d.outboxSig(); after != before {
			d.notifyUI("outbox")
		}
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-t.C:
		}
	}
}

func (d *Daemon) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Daemon) pollLoop(ctx context.Context) {
	pause := PollInterval
	if s := d.cl.SlotInterval(); s > 0 {
		pause = min(s, PollInterval)
	}
	t := time.NewTicker(pause)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		hellos, tasks := d.m.Hellos(), d.m.Tasks()
		msgs, err := d.m.Receive(pctx)
		cancel()
		if d.m.Hellos() != hellos || d.m.Tasks() != tasks {
			d.wake() // messages waiting for that hello can leave; reports and re-writes of lost boxes too
		}
		if len(msgs) > 0 {
			d.notifyUI("chat")
		}
		d.mu.Lock()
		d.received += len(msgs)
		d.lastPoll = time.Now()
		d.pollErr = ""
		if err != nil && ctx.Err() == nil {
			d.pollErr = err.Error()
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// introLoop scans the intro set for friend requests every introEvery. It
// runs beside the poll loop, so that a scan (a round trip through the mix
// network) never delays the next mailbox poll.
func (d *Daemon) introLoop(ctx context.Context) {
	t := time.NewTicker(introEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		n, err := d.m.CheckRequests(pctx)
		cancel()
		if n > 0 {
			d.log.Info("new friend requests; see `komrade contact requests`", "count", n)
		}
		d.mu.Lock()
		d.introErr = ""
		if err != nil && ctx.Err() == nil {
			d.introErr = err.Error()
		}
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// InboxMessage is one received text in the API.
type InboxMessage struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"` // when it arrived
	// Sent is when the sender says they wrote it (their clock).
	Sent *time.Time `json:"sent,omitempty"`
}

// Loops is the client's cover traffic in the API.
type Loops struct {
	Sent      uint64  `json:"sent"`
	Returned  uint64  `json:"returned"`
	MeanRTTMs float64 `json:"mean_rtt_ms"` // mean round trip of returned loops
	// Departures counts packets sent, by kind: "real", "fill" (an empty λP
	// slot), "drop", "loop".
	Departures map[string]uint64 `json:"departures"`
	Queued     int               `json:"queued"` // real packets waiting for a slot
}

// Status is the daemon's state in the API.
type Status struct {
	Gateway     string            `json:"gateway"`
	Epoch       uint64            `json:"epoch"`
	Nodes       int               `json:"nodes"`
	Loops       Loops             `json:"loops"`
	Unread      map[string]int    `json:"unread"`
	Contacts    map[string]string `json:"contacts"`
	LastPoll    time.Time         `json:"last_poll"`
	PollError   string            `json:"poll_error,omitempty"`
	Received    int               `json:"received"`
	Fingerprint string            `json:"fingerprint"`
	Address     string            `json:"address"`
	Requests    int               `json:"requests"`  // friend requests waiting for an answer
	Outbox      map[string]int    `json:"outbox"`    // messages by delivery state
	Failovers   int               `json:"failovers"` // gateway changes since start
	// Skipped counts, by contact, boxes that could not be read.
	Skipped map[string]uint64 `json:"skipped,omitempty"`
	// Lost counts, by contact, messages the network lost after they were
	// acknowledged (a later one arrived; the conversation went on) and that
	// the sender could not write again.
	Lost map[string]uint64 `json:"lost,omitempty"`
	// Missing counts, by contact, their messages the network lost that we
	// asked them to write again, and still wait for.
	Missing map[string]uint64 `json:"missing,omitempty"`
	// LostSent counts, by contact, our messages they never got (lost by
	// the network, not written again); `komrade outbox` marks them.
	LostSent map[string]uint64 `json:"lost_sent,omitempty"`
	// OfflineSince is when the gateway link went down (absent while up).
	OfflineSince *time.Time `json:"offline_since,omitempty"`
	// Watch counts the live alerts and pins of the watched areas, those
	// seen since the daemon started, and pins waiting for publication.
	Watch *pin.Stats `json:"watch,omitempty"`
}

func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /invite", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Name string }
		if !decode(w, r, &req) {
			return
		}
		code, err := d.m.Invite(req.Name)
		reply(w, map[string]string{"code": code}, err)
	})
	mux.HandleFunc("POST /accept", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Code, Name string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.m.Accept(r.Context(), req.Code, req.Name))
	})
	mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) {
		c, err := d.m.Contacts()
		reply(w, c, err)
	})
	mux.HandleFunc("POST /send", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			To, Text string
			Wait     bool
		}
		if !decode(w, r, &req) {
			return
		}
		id, err := d.m.Queue(req.To, req.Text)
		if err != nil {
			reply(w, nil, err)
			return
		}
		d.wake()
		out := &messenger.Outgoing{ID: id, To: req.To, Text: req.Text, State: messenger.Queued}
		if req.Wait {
			// If the caller gives up, the message stays queued.
			if o, err := d.m.Wait(r.Context(), id); err == nil {
				out = o
			}
		}
		reply(w, out, nil)
	})
	mux.HandleFunc("GET /outbox", func(w http.ResponseWriter, r *http.Request) {
		o, err := d.m.Outbox()
		reply(w, o, err)
	})
	mux.HandleFunc("POST /retry", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID uint64 }
		if !decode(w, r, &req) {
			return
		}
		err := d.m.Retry(req.ID)
		if err == nil {
			d.wake()
		}
		reply(w, map[string]string{}, err)
	})
	mux.HandleFunc("POST /request", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Address, Name, From, Note string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.m.Request(r.Context(), req.Address, req.Name, req.From, req.Note))
	})
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		// Look for new ones now rather than at the next scheduled scan; if
		// the network does not answer, list the ones already known.
		if _, err := d.m.CheckRequests(r.Context()); err != nil {
			d.log.Warn("intro set scan", "err", err)
		}
		reqs, err := d.m.Requests()
		if reqs == nil {
			reqs = []messenger.FriendRequest{}
		}
		reply(w, reqs, err)
	})
	mux.HandleFunc("POST /requests/accept", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID, Name string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.m.AcceptRequest(r.Context(), req.ID, req.Name))
	})
	mux.HandleFunc("POST /requests/ignore", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.m.IgnoreRequest(req.ID))
	})
	mux.HandleFunc("POST /contacts/remove", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Name string }
		if !decode(w, r, &req) {
			return
		}
		n, err := d.m.RemoveContact(req.Name)
		if err == nil {
			err = d.dropHistory(req.Name)
		}
		reply(w, map[string]int{"dropped": n}, err)
	})
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ From string }
		if r.ContentLength > 0 && !decode(w, r, &req) {
			return
		}
		msgs, err := d.takeInbox(req.From)
		reply(w, msgs, err)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		s, err := d.status()
		reply(w, s, err)
	})
	d.historyRoutes(mux)
	d.uiRoutes(mux)        // ui.go: the web interface's login codes
	d.socialPubRoutes(mux) // social_pub.go: posts and profiles
	d.feedRoutes(mux)
	d.eventRoutes(mux) // organize_event.go
	d.panicRoutes(mux) // panic.go: komrade panic
	d.pinRoutes(mux)   // organize_pin.go: pins, alerts, the watch
	return mux
}

// takeInbox returns the unread messages (of contact from, or of everyone),
// oldest first per contact, and marks them read (moves them from the inbox
// to the history, or deletes them when keep_read is 0) in the same
// transaction.
func (d *Daemon) takeInbox(from string) ([]InboxMessage, error) {
	var out []InboxMessage
	var keys []string
	var raws [][]byte
	err := d.st.Update(func(tx *store.Tx) error {
		if err := tx.List("inbox", func(k string, v []byte) error {
			m, err := messenger.DecodeInboxEntry(v)
			if err != nil {
				return err
			}
			if from != "" && m.From != from {
				return nil
			}
			keys = append(keys, k)
			raws = append(raws, v)
			im := InboxMessage{From: m.From, Text: m.Text, At: m.At}
			if !m.Sent.IsZero() {
				im.Sent = &m.Sent
			}
			out = append(out, im)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete("inbox", k); err != nil {
				return err
			}
		}
		return d.keepRead(tx, keys, raws)
	})
	// Keys are contact/index: sorting them gives each conversation in order.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]InboxMessage, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, err
}

// unreadCounts returns how many unread messages the inbox holds from each
// contact, by name (inbox keys are contact/index).
func (d *Daemon) unreadCounts() (map[string]int, error) {
	unread := map[string]int{}
	if err := d.st.View(func(tx *store.Tx) error {
		return tx.List("inbox", func(k string, _ []byte) error {
			name, _, _ := strings.Cut(k, "/")
			unread[name]++
			return nil
		})
	}); err != nil {
		return nil, fmt.Errorf("daemon: inbox: %w", err)
	}
	return unread, nil
}

func (d *Daemon) status() (*Status, error) {
	c, err := d.m.Contacts()
	if err != nil {
		return nil, err
	}
	unread, err := d.unreadCounts()
	if err != nil {
		return nil, err
	}
	reqs, err := d.m.Requests()
	if err != nil {
		return nil, err
	}
	outbox := map[string]int{}
	out, err := d.m.Outbox()
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		outbox[string(o.State)]++
	}
	skipped, lost, err := d.m.Skipped()
	if err != nil {
		return nil, err
	}
	missing, lostSent, err := d.m.Gaps()
	if err != nil {
		return nil, err
	}
	ws, err := d.pins.Stats()
	if err != nil {
		return nil, err
	}
	dir := d.cl.Directory()
	d.mu.Lock()
	defer d.mu.Unlock()
	ls := d.cl.LoopStats()
	loops := Loops{Sent: ls.Sent, Returned: ls.Returned, MeanRTTMs: float64(ls.MeanRTT.Microseconds()) / 1000,
		Departures: ls.Departures, Queued: ls.Queued}
	s := &Status{Gateway: d.cl.Gateway().String(), Loops: loops, Unread: unread, Contacts: c,
		LastPoll: d.lastPoll, PollError: strings.TrimSpace(d.pollErr + " " + d.introErr), Received: d.received, Fingerprint: d.m.Fingerprint(),
		Address: d.m.Address(), Requests: len(reqs), Outbox: outbox, Failovers: d.cl.Failovers(), Skipped: skipped, Lost: lost,
		Missing: missing, LostSent: lostSent, Watch: &ws}
	if dir != nil {
		s.Epoch, s.Nodes = dir.Epoch, len(dir.Nodes)
	}
	if off := d.cl.Offline(); !off.IsZero() {
		s.OfflineSince = &off
		s.Gateway = ""
	}
	return s, err
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}
