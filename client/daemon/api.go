package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"syscall"

	"github.com/komrade-net/komrade/client/messenger"
	"github.com/komrade-net/komrade/client/social"
)

// API talks to a running daemon over its socket.
type API struct {
	sock string
	hc   *http.Client
}

// ErrNotRunning is returned when no daemon listens on the socket.
var ErrNotRunning = errors.New("no komrade daemon is running for this home: start one with `komrade daemon`")

// ErrDaemonDied is returned when the daemon went away while it handled a
// request.
var ErrDaemonDied = errors.New("the komrade daemon stopped while handling this command (it may have crashed; see its log). " +
	"Nothing saved is lost: a message you sent is in the outbox and goes out when the daemon runs again (`komrade daemon`, then `komrade outbox`)")

// Connect returns an API for the daemon of home.
func Connect(home string) *API {
	sock := filepath.Join(home, SocketFile)
	return &API{sock: sock, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}}
}

func (a *API) call(ctx context.Context, method, path string, req, resp any) error {
	var body io.Reader
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, "http://komrade"+path, body)
	if err != nil {
		return err
	}
	res, err := a.hc.Do(r)
	if err != nil {
		var op *net.OpError
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			return ErrDaemonDied
		case errors.As(err, &op):
			return fmt.Errorf("%w (%s)", ErrNotRunning, a.sock)
		}
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = res.Status
		}
		return errors.New(e.Error)
	}
	if resp != nil {
		return json.Unmarshal(b, resp)
	}
	return nil
}

// RemoveContact deletes a contact and its outgoing messages; it returns how
// many were dropped.
func (a *API) RemoveContact(ctx context.Context, name string) (int, error) {
	var resp struct{ Dropped int }
	err := a.call(ctx, "POST", "/contacts/remove", map[string]string{"Name": name}, &resp)
	return resp.Dropped, err
}

// Invite creates a contact and returns the invite code.
func (a *API) Invite(ctx context.Context, name string) (string, error) {
	var r struct{ Code string }
	err := a.call(ctx, "POST", "/invite", map[string]string{"name": name}, &r)
	return r.Code, err
}

// Accept completes an invite as contact name.
func (a *API) Accept(ctx context.Context, code, name string) error {
	return a.call(ctx, "POST", "/accept", map[string]string{"code": code, "name": name}, nil)
}

// Contacts lists contacts and fingerprints.
func (a *API) Contacts(ctx context.Context) (map[string]string, error) {
	var r map[string]string
	err := a.call(ctx, "GET", "/contacts", nil, &r)
	return r, err
}

// Send queues text for contact to. With wait it returns once the message is
// acknowledged or failed (or ctx ends: the message stays queued), without
// it at once; the result says which state the message is in.
func (a *API) Send(ctx context.Context, to, text string, wait bool) (*messenger.Outgoing, error) {
	var o messenger.Outgoing
	err := a.call(ctx, "POST", "/send", map[string]any{"to": to, "text": text, "wait": wait}, &o)
	return &o, err
}

// Outbox lists the messages in the outbox with their delivery states.
func (a *API) Outbox(ctx context.Context) ([]messenger.Outgoing, error) {
	var r []messenger.Outgoing
	err := a.call(ctx, "GET", "/outbox", nil, &r)
	return r, err
}

// Retry queues failed message id again.
func (a *API) Retry(ctx context.Context, id uint64) error {
	return a.call(ctx, "POST", "/retry", map[string]uint64{"id": id}, nil)
}

// PublishProfile publishes the user's profile with display name name
// (keeping its other fields; an empty name keeps the current one) and
// returns the user's address.
func (a *API) PublishProfile(ctx context.Context, name string) (string, error) {
	req := &ProfileSetRequest{}
	if name != "" {
		req.Name = &name
	}
	return a.SetProfile(ctx, req)
}

// Request sends a friend request to address; the contact will be called
// name, from is the name shown to them, note a short message.
func (a *API) Request(ctx context.Context, address, name, from, note string) error {
	return a.call(ctx, "POST", "/request", map[string]string{"address": address, "name": name, "from": from, "note": note}, nil)
}

// Requests lists the friend requests waiting for an answer.
func (a *API) Requests(ctx context.Context) ([]messenger.FriendRequest, error) {
	var r []messenger.FriendRequest
	err := a.call(ctx, "GET", "/requests", nil, &r)
	return r, err
}

// AcceptRequest accepts friend request id as contact name.
func (a *API) AcceptRequest(ctx context.Context, id, name string) error {
	return a.call(ctx, "POST", "/requests/accept", map[string]string{"id": id, "name": name}, nil)
}

// IgnoreRequest drops friend request id.
func (a *API) IgnoreRequest(ctx context.Context, id string) error {
	return a.call(ctx, "POST", "/requests/ignore", map[string]string{"id": id}, nil)
}

// Inbox returns the unread messages (of contact from, or all when from is
// empty) and marks them read.
func (a *API) Inbox(ctx context.Context, from string) ([]InboxMessage, error) {
	var r []InboxMessage
	err := a.call(ctx, "POST", "/inbox", map[string]string{"from": from}, &r)
	return r, err
}

// Status returns the daemon's status.
func (a *API) Status(ctx context.Context) (*Status, error) {
	var s Status
	err := a.call(ctx, "GET", "/status", nil, &s)
	return &s, err
}

// Post publishes a post and returns its id.
func (a *API) Post(ctx context.Context, req *PostRequest) (string, error) {
	var r struct{ ID string }
	err := a.call(ctx, "POST", "/post", req, &r)
	return r.ID, err
}

// ShowPost reads post id through the network; image is "", "thumb" or
// "full": which of its image to fetch too.
func (a *API) ShowPost(ctx context.Context, id, image string) (*PostView, error) {
	var v PostView
	path := "/post/" + url.PathEscape(id)
	if image != "" {
		path += "?image=" + url.QueryEscape(image)
	}
	err := a.call(ctx, "GET", path, nil, &v)
	return &v, err
}

// SetProfile changes and publishes the user's profile and returns the
// user's address.
func (a *API) SetProfile(ctx context.Context, req *ProfileSetRequest) (string, error) {
	var r struct{ Address string }
	err := a.call(ctx, "POST", "/profile/set", req, &r)
	return r.Address, err
}

// ShowProfile reads the profile of who (a contact's name or an address;
// empty: the user's own) through the network, with its full photo if
// photo is set.
func (a *API) ShowProfile(ctx context.Context, who string, photo bool) (*ProfileView, error) {
	var v ProfileView
	err := a.call(ctx, "POST", "/profile/show", map[string]any{"who": who, "photo": photo}, &v)
	return &v, err
}

// Feed returns a feed from the daemon's local copy (no network round trip).
func (a *API) Feed(ctx context.Context, req FeedRequest) (*social.FeedPage, error) {
	var p social.FeedPage
	err := a.call(ctx, "POST", "/feed", req, &p)
	return &p, err
}

// Thumbs returns the thumbnails (JPEG) the local copy holds for the given
// post ids, by id.
func (a *API) Thumbs(ctx context.Context, ids []string) (map[string][]byte, error) {
	var r map[string][]byte
	err := a.call(ctx, "POST", "/feed/thumbs", map[string][]string{"ids": ids}, &r)
	return r, err
}

// Follow follows the author at address.
func (a *API) Follow(ctx context.Context, address string) error {
	return a.call(ctx, "POST", "/follow", map[string]string{"address": address}, nil)
}

// Unfollow stops following the author at address.
func (a *API) Unfollow(ctx context.Context, address string) error {
	return a.call(ctx, "POST", "/unfollow", map[string]string{"address": address}, nil)
}

// Following lists the authors the user follows.
func (a *API) Following(ctx context.Context) ([]social.Followed, error) {
	var r []social.Followed
	err := a.call(ctx, "GET", "/following", nil, &r)
	return r, err
}

// Vote votes up, down or clear on post (a 64-hex id) and returns the
// post's tally as the local copy counts it.
func (a *API) Vote(ctx context.Context, post, dir string) (*social.Tally, error) {
	var t social.Tally
	err := a.call(ctx, "POST", "/vote", map[string]string{"post": post, "dir": dir}, &t)
	return &t, err
}

// Mute hides an author (address) or a thread (post id) from the feeds.
func (a *API) Mute(ctx context.Context, target string) (*social.Muted, error) {
	var m social.Muted
	err := a.call(ctx, "POST", "/mute", map[string]string{"target": target}, &m)
	return &m, err
}

// Unmute shows a muted author or thread again.
func (a *API) Unmute(ctx context.Context, target string) error {
	return a.call(ctx, "POST", "/unmute", map[string]string{"target": target}, nil)
}

// Mutes lists the muted authors and threads.
func (a *API) Mutes(ctx context.Context) ([]social.Muted, error) {
	var r []social.Muted
	err := a.call(ctx, "GET", "/mutes", nil, &r)
	return r, err
}

// AddArea adds an area the daemon keeps fresh.
func (a *API) AddArea(ctx context.Context, near string, radiusKM float64) (*social.WatchedArea, error) {
	var w social.WatchedArea
	err := a.call(ctx, "POST", "/areas/add", AreaRequest{Near: near, RadiusKM: radiusKM}, &w)
	return &w, err
}

// RemoveArea removes one of the user's areas.
func (a *API) RemoveArea(ctx context.Context, near string, radiusKM float64) error {
	return a.call(ctx, "POST", "/areas/remove", AreaRequest{Near: near, RadiusKM: radiusKM}, nil)
}

// Areas lists the user's areas.
func (a *API) Areas(ctx context.Context) ([]social.WatchedArea, error) {
	var r []social.WatchedArea
	err := a.call(ctx, "GET", "/areas", nil, &r)
	return r, err
}
