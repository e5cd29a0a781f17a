package webui_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/webui"
)

// TestListenLoopbackOnly: the interface listens on 127.0.0.1 or [::1]
// and refuses every other address, host names included.
func TestListenLoopbackOnly(t *testing.T) {
	for _, a := range []string{"0.0.0.0:0", "[::]:0", ":0", "localhost:0", "192.0.2.1:0", "127.0.0.2:0", "example.org:0"} {
		if ln, err := webui.Listen(a); !errors.Is(err, webui.ErrNotLoopback) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", a, err)
		}
	}
	ln, err := webui.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

// TestLoginCodeOnceAndExpires: a login code opens one session, once; a
// code older than LoginCodeTTL opens none; without a session every route
// is 401. (The server's backend is never reached by these requests.)
func TestLoginCodeOnceAndExpires(t *testing.T) {
	ln, err := webui.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := webui.New(nil, ln, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64
	s.SetClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	go s.Serve()
	t.Cleanup(func() {
		s.Close()
		s.Wait()
	})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string) *http.Response {
		t.Helper()
		res, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	code, err := s.LoginCode()
	if err != nil {
		t.Fatal(err)
	}
	res := get(s.LoginURL(code))
	if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
		t.Fatalf("first use of a login code: %v, cookies %v", res.Status, res.Cookies())
	}
	c := res.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != "komrade-session-"+s.URL()[len("http://127.0.0.1:"):len(s.URL())-1] {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, named for the port", c)
	}
	if res := get(s.LoginURL(code)); res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Errorf("second use of a login code: %v", res.Status)
	}
	if res := get(s.URL() + "status"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %v, want 401", res.Status)
	}
	late, err := s.LoginCode()
	if err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(webui.LoginCodeTTL + time.Second))
	if res := get(s.LoginURL(late)); res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Errorf("a login code after %v: %v, want 401", webui.LoginCodeTTL, res.Status)
	}
	if res := get(s.LoginURL("")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no code: %v", res.Status)
	}
}
