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
	"path/filepath"
)

// API talks to a running daemon over its socket.
type API struct {
	sock string
	hc   *http.Client
}

// ErrNotRunning is returned when no daemon listens on the socket.
var ErrNotRunning = errors.New("no komrade daemon is running for this home: start one with `komrade daemon`")

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
		if errors.As(err, &op) {
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

// Send sends text and returns once it is acknowledged.
func (a *API) Send(ctx context.Context, to, text string) error {
	return a.call(ctx, "POST", "/send", map[string]string{"to": to, "text": text}, nil)
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
