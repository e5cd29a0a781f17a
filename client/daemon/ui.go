package daemon

// The web interface (client/webui): the daemon serves it on loopback and
// hands out its one-time login codes over the socket; the interface calls
// the daemon's own functions below, never the socket API.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/client/webui"
)

// UILogin is what the socket's POST /ui/login answers: where the
// interface is, and the address that logs a browser in once within
// webui.LoginCodeTTL.
type UILogin struct {
	URL      string `json:"url"`
	LoginURL string `json:"login_url"`
}

// startUI serves the web interface on addr (127.0.0.1 or [::1] only).
func (d *Daemon) startUI(ctx context.Context, addr string) error {
	ln, err := webui.Listen(addr)
	if err != nil {
		return err
	}
	srv, err := webui.New(uiBackend{d}, ln, d.log)
	if err != nil {
		ln.Close()
		return err
	}
	d.ui = srv
	d.startUIWatch(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := srv.Serve(); err != nil {
			d.log.Error("web interface", "err", err)
		}
	}()
	d.log.Info("web interface", "url", srv.URL())
	return nil
}

// notifyUI tells the interface's live pages that something changed.
func (d *Daemon) notifyUI(event string) {
	if d.ui != nil {
		d.ui.Notify(event)
	}
}

// outboxSig sums up the outbox's delivery states, so that the interface's
// chat pages are told when one changed ("" while the interface is off).
func (d *Daemon) outboxSig() string {
	if d.ui == nil {
		return ""
	}
	out, err := d.m.Outbox()
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, o := range out {
		fmt.Fprintf(&b, "%d:%s:%d;", o.ID, o.State, o.Done)
	}
	return b.String()
}

// UIURL is the web interface's address, "" when it is off.
func (d *Daemon) UIURL() string {
	if d.ui == nil {
		return ""
	}
	return d.ui.URL()
}

// UILoginURL makes a one-time login code and returns the address that
// uses it (tests; `komrade ui` asks over the socket).
func (d *Daemon) UILoginURL() (string, error) {
	if d.ui == nil {
		return "", errors.New("the web interface is off (ui_listen = \"off\" in the client config)")
	}
	code, err := d.ui.LoginCode()
	if err != nil {
		return "", err
	}
	return d.ui.LoginURL(code), nil
}

func (d *Daemon) uiRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /ui/login", func(w http.ResponseWriter, r *http.Request) {
		u, err := d.UILoginURL()
		reply(w, &UILogin{URL: d.UIURL(), LoginURL: u}, err)
	})
}

// UILogin asks the daemon for a one-time login address of its web
// interface.
func (a *API) UILogin(ctx context.Context) (*UILogin, error) {
	var l UILogin
	err := a.call(ctx, "POST", "/ui/login", nil, &l)
	return &l, err
}

// uiBackend is the daemon as the web interface sees it.
type uiBackend struct{ d *Daemon }

func (b uiBackend) Status() (*webui.Status, error) {
	s, err := b.d.status()
	if err != nil {
		return nil, err
	}
	out := &webui.Status{Gateway: s.Gateway, Epoch: s.Epoch, Nodes: s.Nodes, LoopsSent: s.Loops.Sent, LoopsBack: s.Loops.Returned,
		Departures: s.Loops.Departures, Queued: s.Loops.Queued, Outbox: s.Outbox, Address: s.Address, Fingerprint: s.Fingerprint,
		Requests: s.Requests, LastPoll: s.LastPoll, PollError: s.PollError, Received: s.Received}
	out.MeanRTT = b.d.cl.LoopStats().MeanRTT
	if s.OfflineSince != nil {
		out.OfflineSince = *s.OfflineSince
	}
	return out, nil
}

func (b uiBackend) Contacts() ([]webui.Contact, error) {
	cs, err := b.d.m.Contacts()
	if err != nil {
		return nil, err
	}
	unread, err := b.d.unreadCounts()
	if err != nil {
		return nil, err
	}
	out := make([]webui.Contact, 0, len(cs))
	for name, fp := range cs {
		out = append(out, webui.Contact{Name: name, Fingerprint: fp, Unread: unread[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (b uiBackend) Invite(name string) (string, error) { return b.d.m.Invite(name) }

func (b uiBackend) Accept(ctx context.Context, code, name string) error {
	return b.d.m.Accept(ctx, code, name)
}

// Conversation takes the contact's unread messages (marking them read as
// `komrade inbox` does), and merges the read ones still kept (history) and
// the outbox's messages to them, by time.
func (b uiBackend) Conversation(name string) ([]webui.ChatMessage, error) {
	cs, err := b.d.m.Contacts()
	if err != nil {
		return nil, err
	}
	if _, ok := cs[name]; !ok {
		return nil, fmt.Errorf("no contact %q", name)
	}
	taken, err := b.d.takeInbox(name)
	if err != nil {
		return nil, err
	}
	var out []webui.ChatMessage
	if b.d.hist.keep > 0 {
		h, err := b.d.readHistory(name, time.Time{})
		if err != nil {
			return nil, err
		}
		for _, m := range h.Messages {
			out = append(out, webui.ChatMessage{Text: m.Text, At: m.At})
		}
	} else { // nothing is kept: what was just taken is shown this once
		for _, m := range taken {
			out = append(out, webui.ChatMessage{Text: m.Text, At: m.At})
		}
	}
	sent, err := b.d.m.Outbox()
	if err != nil {
		return nil, err
	}
	for _, o := range sent {
		if o.To == name {
			out = append(out, webui.ChatMessage{Mine: true, Text: o.Text, At: o.Queued, State: string(o.State)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

func (b uiBackend) Send(name, text string) error {
	if _, err := b.d.m.Queue(name, text); err != nil {
		return err
	}
	b.d.wake()
	return nil
}

func (b uiBackend) Feed(kind social.Kind, q social.FeedQuery) (*social.FeedPage, error) {
	return b.d.s.Feed(kind, q)
}

func (b uiBackend) Refresh(ctx context.Context) error {
	_, err := b.d.s.Refresh(ctx)
	return err
}

func (b uiBackend) Thumb(ctx context.Context, id social.PostID) ([]byte, error) {
	th, err := b.d.s.Thumbs([]social.PostID{id})
	if err != nil {
		return nil, err
	}
	if jpg, ok := th[id]; ok {
		return jpg, nil
	}
	// Not in the local copy yet (the refresher fetches thumbnails of the
	// posts shown in its next round): through the network now.
	p, err := b.d.s.Fetch(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Image == nil {
		return nil, errors.New("the post has no image")
	}
	return b.d.s.Image(ctx, p.Image, false)
}

func (b uiBackend) Post(ctx context.Context, id social.PostID) (*social.Post, error) {
	return b.d.s.Fetch(ctx, id)
}

func (b uiBackend) Image(ctx context.Context, id social.PostID) ([]byte, error) {
	p, err := b.d.s.Fetch(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Image == nil {
		return nil, errors.New("the post has no image")
	}
	img, err := b.d.s.Image(ctx, p.Image, true)
	if errors.Is(err, social.ErrSealedImage) {
		return b.d.s.FriendsImage(ctx, p.Image)
	}
	return img, err
}

func (b uiBackend) Publish(ctx context.Context, o social.PostOptions) (social.PostID, error) {
	return b.d.s.Post(ctx, o)
}

func (b uiBackend) Vote(ctx context.Context, id social.PostID, dir social.VoteDir) (social.Tally, error) {
	if err := b.d.s.Vote(ctx, id, dir); err != nil {
		return social.Tally{}, err
	}
	return b.d.s.LocalTally(id)
}

var _ webui.Backend = uiBackend{}
