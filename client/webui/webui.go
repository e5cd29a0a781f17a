// Package webui is Komrade's local web interface: chat, contacts, feeds
// with pictures, posting, votes, events, a map of danger pins drawn on the
// server (client/mapview), live protest alerts of the watched areas and
// the daemon's status, served by the daemon to a browser on the same
// machine.
//
// Pages are rendered on the server with html/template and work without
// JavaScript; one small same-origin script (static/ui.js) adds live
// updates through server-sent events (/events) and sends forms without a
// reload. Everything the browser loads comes from the binary (go:embed):
// no request leaves the machine.
//
// A loopback web server is reachable by every web page the user opens, so
// the package defends itself as docs/ui.md explains: it listens on
// 127.0.0.1 or [::1] only; a request whose Host is not the address it
// listens on gets 403 (DNS rebinding); every route but /login needs the
// session cookie (401), which a one-time login code from the daemon's
// socket (`komrade ui`) opens; changes are POSTs, accepted only from the
// same origin (Sec-Fetch-Site, Origin and http.CrossOriginProtection);
// every response carries a strict Content-Security-Policy and the other
// headers of secureHeaders; images are served only re-encoded, as JPEG or
// PNG with their exact type.
package webui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/ui.css static/ui.js
var staticFS embed.FS

// CSP is the Content-Security-Policy of every response: nothing but the
// interface's own script, style, images (and blob: previews of a picture
// about to be posted), forms and connections; never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// LoginCodeTTL is how long a login code from the daemon's socket may be
// used (once).
const LoginCodeTTL = 60 * time.Second

// SessionTTL is how long a session lasts after its login.
const SessionTTL = 24 * time.Hour

// Limits on what the server keeps in memory.
const (
	maxCodes    = 8  // login codes waiting to be used
	maxSessions = 16 // logged-in browsers
	maxQR       = 16 // invite codes whose QR image can still be shown
	qrTTL       = 10 * time.Minute
	maxSubs     = 64 // live-event streams
)

// ErrNotLoopback is returned by Listen for an address other than
// 127.0.0.1 or [::1].
var ErrNotLoopback = errors.New("webui: the interface listens on 127.0.0.1 or [::1] only")

// Listen opens the interface's listener on addr ("127.0.0.1:P" or
// "[::1]:P"; port 0 picks a free one). Any other address, a host name
// included, is refused: the interface must never be reachable from
// another machine.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webui: listen address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !(ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
		return nil, fmt.Errorf("%w (not %q)", ErrNotLoopback, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webui: listen: %w", err)
	}
	return ln, nil
}

// Server is the web interface of one daemon.
type Server struct {
	b      Backend
	log    *slog.Logger
	ln     net.Listener
	port   string
	url    string          // what `komrade ui` opens
	hosts  map[string]bool // the Host values accepted
	cookie string          // the session cookie's name: carries the port
	pages  map[string]*template.Template
	srv    *http.Server
	ctx    context.Context // ends the live-event streams at Close
	cancel context.CancelFunc
	done   chan struct{}
	now    func() time.Time // time.Now; tests move it

	mu       sync.Mutex
	codes    map[[32]byte]time.Time // SHA-256 of a login code → its expiry
	sessions map[[32]byte]time.Time // SHA-256 of a session token → its expiry
	qr       map[string]qrEntry     // random id → invite code to draw
	subs     map[chan string]struct{}
}

type qrEntry struct {
	code    string
	session [32]byte // only the session that made the invite may draw it
	expires time.Time
}

// New returns the interface for b on ln (from Listen). Serve it with
// Serve.
func New(b Backend, ln net.Listener, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !ta.IP.IsLoopback() {
		return nil, ErrNotLoopback
	}
	port := fmt.Sprint(ta.Port)
	s := &Server{b: b, log: log, ln: ln, port: port,
		hosts:  map[string]bool{"127.0.0.1:" + port: true, "localhost:" + port: true, "[::1]:" + port: true},
		cookie: "komrade-session-" + port,
		codes:  map[[32]byte]time.Time{}, sessions: map[[32]byte]time.Time{}, qr: map[string]qrEntry{},
		subs: map[chan string]struct{}{}, done: make(chan struct{}), now: time.Now}
	if ta.IP.To4() != nil {
		s.url = "http://127.0.0.1:" + port + "/"
	} else {
		s.url = "http://[::1]:" + port + "/"
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return s.ctx }, MaxHeaderBytes: 64 << 10}
	return s, nil
}

// URL is the interface's address, e.g. http://127.0.0.1:40123/.
func (s *Server) URL() string { return s.url }

// Serve serves the interface until Close; it returns nil then.
func (s *Server) Serve() error {
	defer close(s.done)
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webui: %w", err)
	}
	return nil
}

// Close ends the live-event streams and the server, and waits for Serve
// to return if it runs.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	return err
}

// Wait returns once Serve has returned.
func (s *Server) Wait() { <-s.done }

// LoginCode makes a login code: it opens one session, once, within
// LoginCodeTTL. The daemon hands it out over its 0600 socket only.
func (s *Server) LoginCode() (string, error) {
	code, err := randomHex(16)
	if err != nil {
		return "", err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.codes {
		if now.After(exp) {
			delete(s.codes, k)
		}
	}
	if len(s.codes) >= maxCodes {
		return "", errors.New("webui: too many login codes waiting; use one or wait a minute")
	}
	s.codes[sha256.Sum256([]byte(code))] = now.Add(LoginCodeTTL)
	return code, nil
}

// LoginURL is the address that logs a browser in with code.
func (s *Server) LoginURL(code string) string { return s.url + "login?code=" + code }

// Notify tells the live pages that something changed: "chat" (a message
// arrived), "outbox" (a sent message moved on), "feed" (the local copy
// of the feeds), "alert" (a new protest alert of a watched area: every
// page updates its alert bar) or "pins" (new pins: map pages redraw).
func (s *Server) Notify(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- event:
		default: // a slow page misses one; it reloads on the next
		}
	}
}

// LoginPage is the redirect file `komrade ui` writes (mode 0600) and
// opens in the browser: it moves on to loginURL (from the daemon's socket)
// at once, and links to it for a browser that does not follow the
// refresh. The code is never on a command line, where other users of the
// machine could read it.
func LoginPage(loginURL string) []byte {
	u := html.EscapeString(loginURL)
	return []byte("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n" +
		"<meta name=\"referrer\" content=\"no-referrer\">\n" +
		"<meta http-equiv=\"refresh\" content=\"0;url=" + u + "\">\n" +
		"<title>Opening Komrade</title></head>\n<body><p><a href=\"" + u + "\">Open Komrade</a> (this link works once, within a minute)</p></body></html>\n")
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webui: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// secureHeaders are set on every response, errors included.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "geolocation=(), camera=(), microphone=(), display-capture=(), usb=(), serial=(), bluetooth=(), payment=()")
	h.Set("Cache-Control", "no-store")
}

// Handler is the interface's whole HTTP handler, checks included.
func (s *Server) Handler() http.Handler {
	mux := s.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	inner := cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A page on another loopback port is same-site and gets the
		// SameSite=Strict cookie: even a GET from it (a link, an image)
		// could open a conversation, which takes its messages from the
		// inbox, or make the daemon read through the network. Cross-site
		// pages get no cookie (401); the interface's own pages are
		// same-origin, a typed address is none.
		if r.Header.Get("Sec-Fetch-Site") == "same-site" {
			http.Error(w, "request from another site on this machine refused", http.StatusForbidden)
			return
		}
		if !safeMethod(r.Method) && !s.sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		if r.URL.Path == "/login" {
			s.login(w, r)
			return
		}
		sess, ok := s.session(r)
		if !ok {
			s.unauthorized(w)
			return
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w.Header())
		if !s.hosts[r.Host] {
			// DNS rebinding: a page of another site resolved its own name to
			// 127.0.0.1; its requests carry that name.
			http.Error(w, "wrong Host", http.StatusForbidden)
			return
		}
		inner.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// sameOrigin reports whether a changing request comes from a page of the
// interface itself: Sec-Fetch-Site same-origin (the interface's pages) or
// none (the user typed it); a browser without Sec-Fetch-Site must send
// the interface's own Origin. Other loopback ports are same-site, so
// same-site is not enough. (With Referrer-Policy: no-referrer a browser
// sends a form's Origin as "null"; Sec-Fetch-Site, which no page can set,
// then says where it came from.)
func (s *Server) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		o := r.Header.Get("Origin")
		return o == "" || o == "null" || o == "http://"+r.Host
	case "":
		return r.Header.Get("Origin") == "http://"+r.Host
	}
	return false
}

type sessionKey struct{}

// session returns the hash of the request's valid session token.
func (s *Server) session(r *http.Request) ([32]byte, bool) {
	c, err := r.Cookie(s.cookie)
	if err != nil || len(c.Value) != 64 {
		return [32]byte{}, false
	}
	h := sha256.Sum256([]byte(c.Value))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.sessions[h]
	if !ok || s.now().After(exp) {
		delete(s.sessions, h)
		return [32]byte{}, false
	}
	return h, true
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, "Not logged in. Run `komrade ui` on this machine to open the interface.")
}

// login turns a login code into a session cookie. The code is used up
// whether or not the rest succeeds.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	code := r.URL.Query().Get("code")
	h := sha256.Sum256([]byte(code))
	now := s.now()
	s.mu.Lock()
	exp, ok := s.codes[h]
	delete(s.codes, h)
	s.mu.Unlock()
	if code == "" || !ok || now.After(exp) {
		s.unauthorizedLogin(w)
		return
	}
	token, err := randomHex(32)
	if err != nil {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	for k, e := range s.sessions {
		if now.After(e) {
			delete(s.sessions, k)
		}
	}
	for len(s.sessions) >= maxSessions { // the one expiring first goes
		var first [32]byte
		var at time.Time
		for k, e := range s.sessions {
			if at.IsZero() || e.Before(at) {
				first, at = k, e
			}
		}
		delete(s.sessions, first)
	}
	s.sessions[sha256.Sum256([]byte(token))] = now.Add(SessionTTL)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	// A page of our own moves on to the interface: the login came from a
	// file (another site), and a SameSite=Strict cookie is not sent on a
	// redirect that another site started.
	w.Header().Set("Refresh", "0; url=/feed/world")
	s.renderView(w, http.StatusOK, "loggedin.html", &view{Title: "Logged in"})
}

func (s *Server) unauthorizedLogin(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, "This login code is used up or expired (codes last a minute). Run `komrade ui` again.")
}

// logout ends the session and asks the browser to forget everything of
// this origin.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, _ := r.Context().Value(sessionKey{}).([32]byte)
	s.mu.Lock()
	delete(s.sessions, sess)
	for id, q := range s.qr {
		if q.session == sess {
			delete(s.qr, id)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	s.renderView(w, http.StatusOK, "loggedout.html", &view{Title: "Logged out"})
}

// subscribe registers a live-event stream; the returned func ends it.
func (s *Server) subscribe() (chan string, func(), bool) {
	ch := make(chan string, 8)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.subs) >= maxSubs {
		return nil, nil, false
	}
	s.subs[ch] = struct{}{}
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}, true
}

// events is the live-event stream (server-sent events) of the pages.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if f := r.Header.Get("Sec-Fetch-Site"); f != "" && f != "same-origin" {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, unsub, ok := s.subscribe()
	if !ok {
		http.Error(w, "too many live pages", http.StatusServiceUnavailable)
		return
	}
	defer unsub()
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	t := time.NewTicker(25 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-ch:
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev, ev)
		case <-t.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		fl.Flush()
	}
}

// staticFile serves one embedded file with its exact type.
func staticFile(name, ctype string) http.HandlerFunc {
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write(b)
	}
}

// safeBack is a path of the interface to return to after a form, from
// the form's own field: anything but a plain local path is "/".
func safeBack(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
}
