package webui_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/client/webui"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/internal/secretfile"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/wire/geo"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the browser session's screenshot to docs/ui.png")

// chromium finds the browser the tests drive. Without one they skip, but
// under CI (CI=true) they fail: .ci/run installs Debian's chromium.
func chromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on the PATH: the browser tests must run under CI (.ci/run installs Debian's chromium)")
	}
	t.Skip("no chromium on the PATH (under CI=true this fails)")
	return ""
}

// recorder keeps what a browser tab did that the test checks: every
// request, the response status of each URL, dialogs and Content Security
// Policy violations.
type recorder struct {
	mu       sync.Mutex
	requests []string
	status   map[string]int64
	headers  map[string]map[string]string
	dialogs  []string
	csp      []string
}

func (r *recorder) listen(t *testing.T, tab context.Context) {
	r.status, r.headers = map[string]int64{}, map[string]map[string]string{}
	if err := chromedp.Listen(tab, func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			r.requests = append(r.requests, e.Request.URL)
		case *network.EventResponseReceived:
			r.status[e.Response.URL] = e.Response.Status
			h := map[string]string{}
			for k, v := range e.Response.Headers {
				h[strings.ToLower(k)] = fmt.Sprint(v)
			}
			r.headers[e.Response.URL] = h
		case *page.EventJavascriptDialogOpening:
			r.dialogs = append(r.dialogs, e.Message)
			go chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *cdplog.EventEntryAdded:
			if strings.Contains(e.Entry.Text, "Content Security Policy") {
				r.csp = append(r.csp, e.Entry.Text)
			}
		case *audits.EventIssueAdded:
			if e.Issue.Code == audits.InspectorIssueCodeContentSecurityPolicyIssue {
				r.csp = append(r.csp, "issue: "+string(e.Issue.Code))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

func (r *recorder) statusOf(u string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status[u]
}

func (r *recorder) headersOf(u string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.headers[u]
}

func (r *recorder) violations() (csp, dialogs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.csp...), append([]string(nil), r.dialogs...)
}

// user is one of the test's two people: a daemon, and a browser tab on
// its interface.
type user struct {
	name   string
	home   string
	d      *daemon.Daemon
	url    string // http://127.0.0.1:P/
	origin string // http://127.0.0.1:P
	tab    context.Context
	rec    *recorder
}

func startUser(t *testing.T, ctx context.Context, net *testnet.Network, name string, log *slog.Logger, opts ...func(*config.Client)) *user {
	home := t.TempDir()
	if _, err := client.Init(home, []byte("a passphrase")); err != nil {
		t.Fatal(err)
	}
	cfg := net.Client
	cfg.LambdaP = 20 // the test's time, not the default rates
	cfg.UIListen = "127.0.0.1:0"
	// Pins published a second after they are placed, areas read every 5 s
	// (the least a config may ask): the test's time, not the defaults.
	cfg.PinDelayMin, cfg.PinDelayMax = &config.Duration{Duration: time.Second}, &config.Duration{Duration: time.Second}
	cfg.WatchEvery = &config.Duration{Duration: config.MinWatchEvery}
	for _, o := range opts {
		o(&cfg)
	}
	d, err := daemon.Start(ctx, home, []byte("a passphrase"), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	u := &user{name: name, home: home, d: d, url: d.UIURL()}
	u.origin = strings.TrimSuffix(u.url, "/")
	if !strings.HasPrefix(u.url, "http://127.0.0.1:") {
		t.Fatalf("%s's interface at %q", name, u.url)
	}
	return u
}

func waitOnline(t *testing.T, ctx context.Context, u *user, nodes int) {
	api := daemon.Connect(u.home)
	for {
		if s, err := api.Status(ctx); err == nil && s.OfflineSince == nil && s.Nodes == nodes {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s's daemon never came online", u.name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// login logs u's tab in as `komrade ui` does: a one-time code from the
// daemon's socket, in a 0600 redirect file the browser opens.
func (u *user) login(t *testing.T, ctx context.Context) string {
	l, err := daemon.Connect(u.home).UILogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(u.home, "ui-login.html")
	if err := secretfile.Write(path, webui.LoginPage(l.LoginURL)); err != nil {
		t.Fatal(err)
	}
	run(t, u.tab, chromedp.Navigate("file://"+path), chromedp.WaitVisible(`body[data-feed="world"]`))
	return "file://" + path
}

// run runs browser steps, failing the test with the page's text on error.
func run(t *testing.T, tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, s := range steps {
		sctx, cancel := context.WithTimeout(tab, 2*time.Minute)
		start := time.Now()
		err := chromedp.Do(sctx, s)
		cancel()
		if testing.Verbose() {
			t.Logf("step %d: %v", i, time.Since(start).Round(time.Millisecond))
		}
		if err != nil {
			body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? location.href + "\n" + document.body.innerText : location.href`))
			t.Fatalf("browser step %d: %v\npage: %s", i, err, body)
		}
	}
}

// submit clicks a form's button and waits for the page it leads to.
func submit(t *testing.T, tab context.Context, button string) *network.Response {
	t.Helper()
	sctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	res, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? location.href + "\n" + document.body.innerText : location.href`))
		t.Fatalf("browser: submit %s: %v\npage: %s", button, err, body)
	}
	return res
}

func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// poll waits until js is true in the page, within d.
func poll(js string, d time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(d))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The payloads of the XSS checks: what another person may write as a
// name, a message or a post.
const (
	xssImg  = `<img src=x onerror=alert(1)>`
	xssSVG  = `"><svg onload=alert(2)>`
	xssLink = `javascript:alert(3)`
)

// TestBrowserSession drives a real browser (headless Chromium) through a
// session of two users of a real in-process network: each logs in through
// a redirect file, alice invites bob (the invite's QR image shows), bob
// pastes the code, they chat both ways with the pages updating live,
// alice posts a picture with GPS EXIF that is served without it, bob sees
// the post in his world feed and votes; alice hosts an event and invites
// bob, who reads it and answers, and alice sees his answer; bob watches an
// area, alice places a pin there that appears on bob's map (an SVG drawn
// by the daemon) and sends an alert that appears on bob's page without a
// reload (role="alert"). Every request the browser makes is logged and
// must go to one of the two interfaces (or blob:/data:); the browser's
// proxy fails the test if any request reaches it. What the other user
// wrote (names, messages, a post, an event's title, a pin's note, an
// alert) carries XSS payloads that must render as text: no dialog, no CSP
// violation. Then the checks a browser cannot make alone: wrong Host, no
// session, cross-site and other port's POSTs, GET on changing routes,
// framing, SVG uploads, the phone layout, and logout.
func TestBrowserSession(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("a network, two daemons and a browser")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), LambdaM: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	// alice keeps no read message (keep_read = "0s"): a message she
	// received is on her chat page only as long as the page keeps it.
	alice := startUser(t, ctx, net, "alice", log, func(c *config.Client) { c.KeepRead = &config.Duration{} })
	bob := startUser(t, ctx, net, "bob", log)

	// The browser's proxy: loopback bypasses it, so only a request that
	// would leave the machine reaches it.
	proxy, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	var proxied atomic.Int64
	var proxiedWhat sync.Map
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			proxied.Add(1)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line := make([]byte, 200)
			n, _ := c.Read(line)
			proxiedWhat.Store(string(line[:n]), true)
			c.Close()
		}
	}()
	t.Cleanup(func() { proxy.Close() })

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.ProxyServer("http://"+proxy.Addr().String()),
		chromedp.WindowSize(1000, 800),
		// Chromium's own calls home (component updates, network time,
		// optimization hints, Google account lookups) would reach the proxy:
		// they are not the interface's. They are turned off, or pointed at
		// a closed loopback port, so that the proxy sees nothing at all.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("component-updater", "url-source=http://127.0.0.1:9"),
		chromedp.Flag("gaia-url", "http://127.0.0.1:9"),
		chromedp.Flag("google-apis-url", "http://127.0.0.1:9"),
		chromedp.Flag("lso-url", "http://127.0.0.1:9"),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,NetworkTimeServiceQuerying,OptimizationHints,"+
			"OptimizationGuideModelDownloading,OptimizationHintsFetching,OptimizationTargetPrediction,AutofillServerCommunication,MediaRouter"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// One browser, one tab each: the session cookies of the two
	// interfaces (both on 127.0.0.1; cookies ignore ports) must not mix.
	for _, u := range []*user{alice, bob} {
		tab, cancelTab := chromedp.NewContext(browser)
		t.Cleanup(cancelTab)
		u.tab, u.rec = tab, &recorder{}
		u.rec.listen(t, tab)
	}
	waitOnline(t, ctx, alice, len(net.Nodes))
	waitOnline(t, ctx, bob, len(net.Nodes))
	files := map[string]bool{}
	for _, u := range []*user{alice, bob} {
		files[u.login(t, ctx)] = true
	}

	bobName := "bob " + xssImg     // alice's name for bob
	aliceName := "alice " + xssSVG // bob's name for alice

	var postID string
	t.Run("invite with QR, accept a pasted code", func(t *testing.T) {
		run(t, alice.tab, chromedp.Navigate(alice.url+"contacts"),
			chromedp.SetValue(chromedp.ID("invite-name"), bobName))
		submit(t, alice.tab, `form[action="/contacts/invite"] button`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.ID("invite-code")),
			poll(`document.querySelector('img.qr').complete && document.querySelector('img.qr').naturalWidth >= 100`, 10*time.Second))
		code, err := chromedp.Run(alice.tab, chromedp.Value(chromedp.ID("invite-code")))
		if err != nil || len(code) < 20 {
			t.Fatalf("invite code %q: %v", code, err)
		}
		// The QR image is the code: the page asked for it by a random id,
		// never with the code in its address.
		qrSrc := eval[string](t, alice.tab, `document.querySelector('img.qr').getAttribute('src')`)
		if strings.Contains(qrSrc, code) || !strings.HasPrefix(qrSrc, "/qr/") {
			t.Errorf("QR image address %q", qrSrc)
		}
		if got := eval[string](t, alice.tab, `document.querySelector('.list .name').textContent`); got != bobName {
			t.Errorf("contact name shown as %q, want the text %q", got, bobName)
		}
		run(t, bob.tab, chromedp.Navigate(bob.url+"contacts"),
			chromedp.SetValue(chromedp.ID("accept-code"), code),
			chromedp.SetValue(chromedp.ID("accept-name"), aliceName))
		submit(t, bob.tab, `form[action="/contacts/accept"] button`)
		run(t, bob.tab, chromedp.WaitVisible(chromedp.ID("send")))
		if got := eval[string](t, bob.tab, `document.querySelector('h1').textContent`); got != aliceName {
			t.Errorf("chat title %q, want the text %q", got, aliceName)
		}
	})

	t.Run("chat both ways live", func(t *testing.T) {
		run(t, alice.tab, chromedp.Navigate(alice.url+"chat/"+url.PathEscape(bobName)), chromedp.WaitVisible(chromedp.ID("send")))
		// Markers that a reload would lose: the messages must arrive in
		// the page as it is (server-sent events).
		for _, u := range []*user{alice, bob} {
			eval[bool](t, u.tab, `window.__still = true`)
		}
		say := func(from, to *user, text string) {
			t.Helper()
			run(t, from.tab, chromedp.SetValue(chromedp.ID("text"), text), chromedp.Click(chromedp.CSS("#send button")),
				poll(`document.getElementById('messages').textContent.includes(`+jsString(text)+`)`, 30*time.Second))
			run(t, to.tab, poll(`document.querySelector('#messages .theirs') && document.getElementById('messages').textContent.includes(`+jsString(text)+`)`, 90*time.Second))
			if !eval[bool](t, to.tab, `window.__still === true`) || !eval[bool](t, from.tab, `window.__still === true`) {
				t.Errorf("a page reloaded instead of updating live")
			}
		}
		say(bob, alice, "hello alice "+xssImg+" "+xssLink)
		say(alice, bob, "hi bob "+xssSVG)
		// Sending reloaded alice's list (the outbox event): bob's message,
		// taken out of her inbox by the page and kept nowhere else, is
		// still shown.
		if !eval[bool](t, alice.tab, `document.getElementById('messages').textContent.includes(`+jsString("hello alice")+`)`) {
			t.Errorf("with keep_read 0, bob's message left alice's page when she answered")
		}
		if n := eval[int](t, alice.tab, `document.querySelectorAll('#messages img, #messages svg, #messages a').length`); n != 0 {
			t.Errorf("%d elements made of message text", n)
		}
	})

	imgPath := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(imgPath, jpegWithGPS(t), 0o600); err != nil {
		t.Fatal(err)
	}
	postText := "march at noon " + xssSVG + " " + xssImg + " " + xssLink
	t.Run("post with a picture, published and served without its EXIF", func(t *testing.T) {
		run(t, alice.tab, chromedp.Navigate(alice.url+"compose"),
			chromedp.SetValue(chromedp.ID("post-text"), postText),
			chromedp.SetUploadFiles(chromedp.ID("post-image"), []string{imgPath}),
			// ui.js shows a preview from a blob: URL.
			poll(`document.getElementById('preview').src.startsWith('blob:') && document.getElementById('preview').naturalWidth > 0`, 10*time.Second))
		submit(t, alice.tab, `#compose button[type=submit]`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("img.full")),
			poll(`document.querySelector('img.full').complete && document.querySelector('img.full').naturalWidth > 0`, 60*time.Second))
		loc := eval[string](t, alice.tab, `location.pathname`)
		postID = strings.TrimPrefix(loc, "/post/")
		if len(postID) != 64 {
			t.Fatalf("after posting the page is %q", loc)
		}
		if got := eval[string](t, alice.tab, `document.querySelector('.post .text').textContent`); got != postText {
			t.Errorf("post text shown as %q", got)
		}
		// What the browser got for the picture: re-encoded, no EXIF.
		hc, cookie := sessionClient(t, alice)
		for _, p := range []string{"img/full/", "img/thumb/"} {
			req, _ := http.NewRequest("GET", alice.url+p+postID, nil)
			req.AddCookie(cookie)
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("%s: %v %q %q", p, res.Status, res.Header.Get("Content-Type"), res.Header.Get("Content-Security-Policy"))
			}
			if bytes.Contains(b, []byte("Exif")) || bytes.Contains(b, []byte(gpsMarker)) || bytes.Contains(b, []byte{0xff, 0xe1}) {
				t.Errorf("%s still carries EXIF", p)
			}
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
		// What went out to the network: the interface re-encodes what it
		// serves in any case, so only the bytes as published show that
		// client/photo dropped the EXIF. bob's daemon reads them through
		// the mix network.
		for _, size := range []string{"full", "thumb"} {
			v, err := daemon.Connect(bob.home).ShowPost(ctx, postID, size)
			if err != nil {
				t.Fatalf("bob reads the post's %s image: %v", size, err)
			}
			if len(v.Image) == 0 {
				t.Fatalf("the post's %s image came back empty", size)
			}
			if bytes.Contains(v.Image, []byte("Exif")) || bytes.Contains(v.Image, []byte(gpsMarker)) || bytes.Contains(v.Image, []byte{0xff, 0xe1}) {
				t.Errorf("the %s image published carries EXIF", size)
			}
		}
	})

	t.Run("the post in the other user's feed, vote", func(t *testing.T) {
		if postID == "" {
			t.Skip("no post")
		}
		run(t, bob.tab, chromedp.Navigate(bob.url+"feed/world"))
		item := "#p-" + postID
		deadline := time.Now().Add(90 * time.Second)
		for eval[bool](t, bob.tab, `document.querySelector(`+jsString(item)+`) === null`) {
			if time.Now().After(deadline) {
				t.Fatal("alice's post never showed in bob's world feed")
			}
			submit(t, bob.tab, `form[action="/feeds/refresh"] button`)
		}
		run(t, bob.tab, poll(`document.querySelector(`+jsString(item+" img")+`) && document.querySelector(`+jsString(item+" img")+`).complete && document.querySelector(`+jsString(item+" img")+`).naturalWidth > 0`, 60*time.Second))
		if got := eval[string](t, bob.tab, `document.querySelector(`+jsString(item+" .text")+`).textContent`); got != postText {
			t.Errorf("post shown to bob as %q", got)
		}
		if got := eval[string](t, bob.tab, `document.querySelector(`+jsString(item+" .author")+`).textContent`); got != aliceName {
			t.Errorf("author shown to bob as %q, want his name for her %q", got, aliceName)
		}
		run(t, bob.tab, chromedp.Click(chromedp.CSS(item+` button[value="up"]`)),
			poll(`document.querySelector(`+jsString(item+" .up")+`).textContent === "1"`, 90*time.Second))
		if eval[string](t, bob.tab, `document.querySelector(`+jsString(item+` button[value="up"]`)+`).getAttribute('aria-pressed')`) != "true" {
			t.Error("the up vote is not shown as pressed")
		}
		screenshot(t, bob.tab)
	})

	// Events, pins and alerts: alice hosts, places a pin and sends an
	// alert; bob is invited, answers, watches the area and sees the pin
	// on his map and the alert live. What alice writes (the event's
	// title, the pin's note, the alert's text) carries the XSS payloads.
	place := "52.520000,13.405000"
	mapPath := "map?" + url.Values{"near": {place}, "radius_km": {"2"}}.Encode()
	evTitle := "Strike meeting " + xssImg + " " + xssSVG
	pinNote := "kettle " + xssSVG + " " + xssImg
	alertText := "march moved " + xssImg + " " + xssLink
	var eventID string
	t.Run("event: invite, RSVP, the host sees it", func(t *testing.T) {
		// bob watches the area from now on (for the pin and the alert
		// below): the watch reads it while the rest goes on.
		run(t, bob.tab, chromedp.Navigate(bob.url+"alerts"),
			chromedp.SetValue(chromedp.ID("watch-near"), place), chromedp.SetValue(chromedp.ID("watch-radius"), "2"))
		submit(t, bob.tab, `#watch-form button[type=submit]`)
		run(t, bob.tab, chromedp.WaitVisible(chromedp.CSS("ul.watched li")))

		when := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
		run(t, alice.tab, chromedp.Navigate(alice.url+"event/new"),
			chromedp.SetValue(chromedp.ID("ev-title"), evTitle),
			chromedp.SetValue(chromedp.ID("ev-when"), when),
			chromedp.SetValue(chromedp.ID("ev-where"), "Union hall "+xssLink))
		// The invitee is chosen from the contact list.
		if !eval[bool](t, alice.tab, `(function () { var n = 0; document.querySelectorAll('input[name=invite]').forEach(function (c) { c.checked = c.value === `+jsString(bobName)+`; if (c.checked) { n++; } }); return n === 1; })()`) {
			t.Fatal("bob is not in the invite list")
		}
		submit(t, alice.tab, `#event-form button[type=submit]`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("h1.ev-title")))
		eventID = strings.TrimPrefix(eval[string](t, alice.tab, `location.pathname`), "/event/")
		if len(eventID) != 64 {
			t.Fatalf("after creating the event the page is %q", eventID)
		}
		if got := eval[string](t, alice.tab, `document.querySelector('h1.ev-title').textContent`); got != evTitle {
			t.Errorf("event title shown to its host as %q", got)
		}

		// bob: the invitation arrives with alice's messages.
		item := "#e-" + eventID
		deadline := time.Now().Add(90 * time.Second)
		for {
			run(t, bob.tab, chromedp.Navigate(bob.url+"event"), chromedp.WaitReady(chromedp.CSS("main")))
			if eval[bool](t, bob.tab, `document.querySelector(`+jsString(item)+`) !== null`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("alice's invitation never showed in bob's events")
			}
			time.Sleep(300 * time.Millisecond) // a poll with a deadline: the next look
		}
		run(t, bob.tab, chromedp.Navigate(bob.url+"event/"+eventID), chromedp.WaitVisible(chromedp.CSS("h1.ev-title")))
		if got := eval[string](t, bob.tab, `document.querySelector('h1.ev-title').textContent`); got != evTitle {
			t.Errorf("event title shown to bob as %q, want the text %q", got, evTitle)
		}
		if n := eval[int](t, bob.tab, `document.querySelectorAll('#event img, #event svg, .ev-where a').length`); n != 0 {
			t.Errorf("%d elements made of the event's text", n)
		}
		submit(t, bob.tab, `form.rsvp button[value="yes"]`)
		run(t, bob.tab, chromedp.WaitVisible(chromedp.CSS(".my-rsvp")))
		if got := eval[string](t, bob.tab, `document.querySelector('.my-rsvp').textContent`); got != "yes" {
			t.Errorf("bob's answer shown as %q", got)
		}

		// alice, the host, reads the answers: bob's, by her name for him.
		deadline = time.Now().Add(60 * time.Second)
		for {
			run(t, alice.tab, chromedp.Navigate(alice.url+"event/"+eventID), chromedp.WaitVisible(chromedp.CSS("h1.ev-title")))
			if eval[bool](t, alice.tab, `(function () { var l = document.querySelector('#rsvps .named li'); return !!l && l.querySelector('.name').textContent === `+jsString(bobName)+` && l.querySelector('.answer').textContent === 'yes'; })()`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("bob's RSVP never showed to alice")
			}
			time.Sleep(300 * time.Millisecond)
		}
		if got := eval[string](t, alice.tab, `document.querySelector('#rsvps .rsvp-yes').textContent`); got != "1 yes" {
			t.Errorf("alice counts %q", got)
		}

		// The host changes the place, then cancels: each a new version
		// read back from the network.
		run(t, alice.tab, chromedp.SetValue(chromedp.ID("up-where"), "Main station"))
		submit(t, alice.tab, `#update-form button[type=submit]`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("h1.ev-title")))
		if got := eval[string](t, alice.tab, `document.querySelector('.ev-where').textContent`); got != "Main station" {
			t.Errorf("after the update the place is %q", got)
		}
		submit(t, alice.tab, `#cancel-form button[type=submit]`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("h1.ev-title")))
		if !eval[bool](t, alice.tab, `document.querySelector('#event .error') !== null && document.getElementById('update-form') === null`) {
			t.Error("the cancelled event is not shown as cancelled")
		}
	})

	var pinID string
	t.Run("a pin on the other user's map", func(t *testing.T) {
		run(t, alice.tab, chromedp.Navigate(alice.url+mapPath),
			chromedp.SetValue(chromedp.ID("pin-kind"), "police"),
			chromedp.SetValue(chromedp.ID("pin-at"), place),
			chromedp.SetValue(chromedp.ID("pin-note"), pinNote))
		submit(t, alice.tab, `#pin-form button[type=submit]`)
		// The page says when it will be published (after a random delay).
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("#pending li.pending")))
		if got := eval[string](t, alice.tab, `document.querySelector('#pending li.pending').textContent`); !strings.Contains(got, "published at") {
			t.Errorf("pending pin shown as %q", got)
		}

		// alice does not watch the area: her map offers to read it once.
		if !eval[bool](t, alice.tab, `document.querySelector('form[action="/map/read"]') !== null`) {
			t.Error("no way to read an area nobody watches")
		}
		submit(t, alice.tab, `form[action="/map/read"] button`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS("figure.map svg")))

		// bob's map of the area he watches: the pin appears (live, or
		// already there).
		run(t, bob.tab, chromedp.Navigate(bob.url+mapPath), chromedp.WaitVisible(chromedp.CSS("figure.map svg")))
		run(t, bob.tab, poll(`document.querySelector('#map-live li.marker.pin .note') !== null`, 90*time.Second))
		if got := eval[string](t, bob.tab, `document.querySelector('#map-live li.marker.pin .note').textContent`); got != pinNote {
			t.Errorf("pin note shown to bob as %q, want the text %q", got, pinNote)
		}
		pinID = strings.TrimPrefix(eval[string](t, bob.tab, `document.querySelector('#map-live li.marker.pin').id`), "m-")
		// On the map: a marker whose hover text holds the note, as text.
		if !eval[bool](t, bob.tab, `document.querySelector('figure.map svg').textContent.includes(`+jsString(pinNote)+`)`) {
			t.Error("the note is not in the map's marker")
		}
		if n := eval[int](t, bob.tab, `document.querySelectorAll('#map-live img, #map-live svg svg, #map-live image, #map-live script, #map-live foreignObject, #map-live .note a').length`); n != 0 {
			t.Errorf("%d elements made of the note", n)
		}
		if n := eval[int](t, bob.tab, `document.querySelectorAll('figure.map svg [style]').length`); n != 0 {
			t.Errorf("%d style attributes in the map (the CSP blocks them)", n)
		}
		// A geo: link to the pin's snapped position (within its cell of
		// about 150 m).
		href := eval[string](t, bob.tab, `document.querySelector('#map-live li.marker.pin a[href^="geo:"]').getAttribute('href')`)
		if p, err := geo.ParsePoint(strings.TrimPrefix(href, "geo:")); err != nil || geo.Distance(p, geo.Point{Lat: 52.52, Lon: 13.405}) > 150 {
			t.Errorf("geo link %q, want one near %s", href, place)
		}
		// bob says it is still there: with alice's own confirmation that
		// makes k = 2, confirmed.
		submit(t, bob.tab, `#m-`+pinID+` button[value="still"]`)
		deadline := time.Now().Add(60 * time.Second)
		for !eval[bool](t, bob.tab, `(function () { var s = document.querySelector('#m-`+pinID+` .state'); return !!s && s.textContent === 'confirmed'; })()`) {
			if time.Now().After(deadline) {
				t.Fatal("the pin never showed as confirmed")
			}
			time.Sleep(300 * time.Millisecond)
			run(t, bob.tab, chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("main")))
		}
		// The GeoJSON download holds the pin, its note as a string.
		hc, cookie := sessionClient(t, bob)
		req, _ := http.NewRequest("GET", bob.url+strings.TrimPrefix(eval[string](t, bob.tab, `document.getElementById('geojson').getAttribute('href')`), "/"), nil)
		req.AddCookie(cookie)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Type     string
			Features []struct {
				ID         string
				Properties struct{ Kind, Note string }
			}
		}
		err = json.NewDecoder(res.Body).Decode(&fc)
		res.Body.Close()
		if err != nil || res.Header.Get("Content-Type") != "application/geo+json" || fc.Type != "FeatureCollection" {
			t.Fatalf("GeoJSON: %v %q %+v", err, res.Header.Get("Content-Type"), fc)
		}
		found := false
		for _, f := range fc.Features {
			found = found || (f.ID == pinID && f.Properties.Kind == "police" && f.Properties.Note == pinNote)
		}
		if !found {
			t.Errorf("the pin is not in the GeoJSON: %+v", fc.Features)
		}
	})

	t.Run("a live alert", func(t *testing.T) {
		run(t, bob.tab, chromedp.Navigate(bob.url+"event"), chromedp.WaitReady(chromedp.CSS("main")))
		eval[bool](t, bob.tab, `window.__still = true`)
		run(t, alice.tab, chromedp.Navigate(alice.url+"alerts"),
			chromedp.SetValue(chromedp.ID("alert-near"), place),
			chromedp.SetValue(chromedp.ID("alert-radius"), "1"),
			chromedp.SetValue(chromedp.ID("alert-text"), alertText))
		submit(t, alice.tab, `#alert-form button[type=submit]`)
		run(t, alice.tab, chromedp.WaitVisible(chromedp.ID("alert-form")))
		// bob's page, as it is: the alert comes in at the top, role="alert".
		run(t, bob.tab, poll(`document.querySelector('#alerts [role="alert"] .alert-text') !== null`, 90*time.Second))
		if !eval[bool](t, bob.tab, `window.__still === true`) {
			t.Error("bob's page reloaded instead of showing the alert live")
		}
		if got := eval[string](t, bob.tab, `document.querySelector('#alerts [role="alert"] .alert-text').textContent`); got != alertText {
			t.Errorf("alert shown to bob as %q, want the text %q", got, alertText)
		}
		if n := eval[int](t, bob.tab, `document.querySelectorAll('#alerts img, #alerts svg, #alerts .alert-text a').length`); n != 0 {
			t.Errorf("%d elements made of the alert's text", n)
		}
	})

	t.Run("SVG renamed .jpg refused", func(t *testing.T) {
		svg := filepath.Join(t.TempDir(), "holiday.jpg")
		if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(9)"><script>alert(10)</script></svg>`), 0o600); err != nil {
			t.Fatal(err)
		}
		run(t, alice.tab, chromedp.Navigate(alice.url+"compose"),
			chromedp.SetValue(chromedp.ID("post-text"), "a picture"),
			chromedp.SetUploadFiles(chromedp.ID("post-image"), []string{svg}))
		if res := submit(t, alice.tab, `#compose button[type=submit]`); res.Status != http.StatusUnsupportedMediaType {
			t.Errorf("POST /post with an SVG: %d, want 415", res.Status)
		}
		run(t, alice.tab, chromedp.WaitVisible(chromedp.CSS(".error")))
		if got := eval[string](t, alice.tab, `document.querySelector('.error').textContent`); !strings.Contains(got, "only JPEG, PNG or GIF") {
			t.Errorf("error shown: %q", got)
		}
	})

	t.Run("phone layout at 360x740", func(t *testing.T) {
		run(t, alice.tab, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
		defer run(t, alice.tab, chromedp.EmulateReset())
		pages := []string{"contacts", "chat/" + url.PathEscape(bobName), "feed/world", "feed/area", "compose", "status"}
		if postID != "" {
			pages = append(pages, "post/"+postID)
		}
		pages = append(pages, "event", "event/new", mapPath, "alerts")
		if eventID != "" {
			pages = append(pages, "event/"+eventID)
		}
		for _, p := range pages {
			run(t, alice.tab, chromedp.Navigate(alice.url+p), chromedp.WaitReady(chromedp.CSS("main")))
			problems := eval[[]string](t, alice.tab, layoutCheck)
			for _, pr := range problems {
				t.Errorf("/%s: %s", p, pr)
			}
		}
		// bob's pages carry the alert bar, and his event page the RSVP
		// buttons.
		run(t, bob.tab, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile))
		defer run(t, bob.tab, chromedp.EmulateReset())
		bobPages := []string{mapPath, "alerts"}
		if eventID != "" {
			bobPages = append(bobPages, "event/"+eventID)
		}
		for _, p := range bobPages {
			run(t, bob.tab, chromedp.Navigate(bob.url+p), chromedp.WaitReady(chromedp.CSS("main")))
			for _, pr := range eval[[]string](t, bob.tab, layoutCheck) {
				t.Errorf("bob's /%s: %s", p, pr)
			}
		}
	})

	t.Run("stop watching", func(t *testing.T) {
		run(t, bob.tab, chromedp.Navigate(bob.url+"alerts"), chromedp.WaitVisible(chromedp.CSS("ul.watched li")))
		submit(t, bob.tab, `form[action="/watch/remove"] button`)
		run(t, bob.tab, chromedp.WaitVisible(chromedp.ID("watch-form")))
		if n := eval[int](t, bob.tab, `document.querySelectorAll('ul.watched li').length`); n != 0 {
			t.Errorf("%d areas still listed", n)
		}
		// The watch itself ends: the daemon reads the area no more.
		api := daemon.Connect(bob.home)
		deadline := time.Now().Add(10 * time.Second)
		for {
			s, err := api.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Watch != nil && s.Watch.Areas == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("bob's daemon still watches %d areas", s.Watch.Areas)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("server checks", func(t *testing.T) { serverChecks(t, ctx, alice, bob, bobName) })

	t.Run("cross-site POST and framing from another loopback port", func(t *testing.T) {
		// A page of another local server: same site as the interface
		// (127.0.0.1), another origin. The browser sends it the session
		// cookie (SameSite counts sites, not ports); the interface must
		// refuse all the same.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			switch r.URL.Path {
			case "/post":
				fmt.Fprintf(w, `<form method="post" action="%sfeeds/refresh"><input name="back" value="/status"></form><script>document.forms[0].submit()</script>`, alice.url)
			case "/frame":
				fmt.Fprintf(w, `<iframe src="%sstatus" width="600" height="400"></iframe>`, alice.url)
			}
		}))
		defer evil.Close()
		tab, cancelTab := chromedp.NewContext(browser)
		defer cancelTab()
		rec := &recorder{}
		rec.listen(t, tab)
		run(t, tab, chromedp.Navigate(evil.URL+"/post"), poll(`location.href.startsWith(`+jsString(alice.url)+`) && document.readyState === "complete"`, 20*time.Second))
		if st := rec.statusOf(alice.url + "feeds/refresh"); st != http.StatusForbidden {
			t.Errorf("form POST from %s: %d, want 403", evil.URL, st)
		}
		run(t, tab, chromedp.Navigate(evil.URL+"/frame"), poll(`document.readyState === "complete"`, 20*time.Second))
		deadline := time.Now().Add(10 * time.Second)
		for {
			csp, _ := rec.violations()
			if slicesContain(csp, "frame-ancestors") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the interface was framed by %s (no frame-ancestors refusal; saw %q)", evil.URL, csp)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		tree, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tree.FrameTree.ChildFrames) != 1 {
			t.Fatalf("the framing page has %d frames", len(tree.FrameTree.ChildFrames))
		}
		if f := tree.FrameTree.ChildFrames[0].Frame; f.URL == alice.url+"status" || f.UnreachableURL != alice.url+"status" {
			t.Errorf("the frame holds %q (unreachable %q): the interface was shown in another port's page", f.URL, f.UnreachableURL)
		}
		// The session still works in alice's tab.
		run(t, alice.tab, chromedp.Navigate(alice.url+"status"), chromedp.WaitVisible(chromedp.CSS("dl.status")))
	})

	t.Run("the CSP check sees violations", func(t *testing.T) {
		// A positive control for the checks below: an image from elsewhere,
		// put in an interface page from outside it, is refused by the CSP
		// and reported (and never reaches the proxy).
		tab, cancelTab := chromedp.NewContext(browser)
		defer cancelTab()
		rec := &recorder{}
		rec.listen(t, tab)
		run(t, tab, chromedp.Navigate(alice.url+"status"), chromedp.WaitVisible(chromedp.CSS("dl.status")),
			chromedp.Evaluate[chromedp.Void](`var i = new Image(); i.src = "http://192.0.2.1/x.png"; document.body.appendChild(i)`))
		deadline := time.Now().Add(10 * time.Second)
		for {
			if csp, _ := rec.violations(); len(csp) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a CSP violation went unseen")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("logout clears the site", func(t *testing.T) {
		run(t, alice.tab, chromedp.Navigate(alice.url+"status"))
		submit(t, alice.tab, "form.logout button")
		run(t, alice.tab, chromedp.WaitVisible(chromedp.ID("loggedout")))
		res, err := chromedp.Call(alice.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{alice.url}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cookies {
			if strings.HasPrefix(c.Name, "komrade-session-") {
				t.Errorf("cookie %s still in the browser after logout", c.Name)
			}
		}
		run(t, alice.tab, chromedp.Navigate(alice.url+"status"))
		if st := alice.rec.statusOf(alice.url + "status"); st != http.StatusUnauthorized {
			t.Errorf("after logout: %d, want 401", st)
		}
	})

	// What the session's tabs did, all along.
	for _, u := range []*user{alice, bob} {
		u.rec.mu.Lock()
		reqs := append([]string(nil), u.rec.requests...)
		u.rec.mu.Unlock()
		if len(reqs) < 10 {
			t.Errorf("%s's tab: only %d requests logged", u.name, len(reqs))
		}
		for _, r := range reqs {
			if !(strings.HasPrefix(r, alice.origin+"/") || strings.HasPrefix(r, bob.origin+"/") ||
				strings.HasPrefix(r, "blob:") || strings.HasPrefix(r, "data:") || files[r]) {
				t.Errorf("%s's tab requested %s", u.name, r)
			}
		}
		csp, dialogs := u.rec.violations()
		if len(csp) > 0 {
			t.Errorf("%s's tab: CSP violations %q", u.name, csp)
		}
		if len(dialogs) > 0 {
			t.Errorf("%s's tab: dialogs opened %q", u.name, dialogs)
		}
	}
	if n := proxied.Load(); n > 0 {
		var what []string
		proxiedWhat.Range(func(k, _ any) bool { what = append(what, k.(string)); return true })
		t.Errorf("%d requests reached the proxy (left the machine): %q", n, what)
	}
}

func slicesContain(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// layoutCheck lists what is wrong with the page on a phone: a horizontal
// scroll, a control smaller than 44x44 px, an input without a label or
// under 16 px, zoom disabled, a javascript: link.
const layoutCheck = `(function () {
  var p = [], de = document.documentElement;
  if (de.scrollWidth > de.clientWidth) { p.push('horizontal scroll: ' + de.scrollWidth + ' > ' + de.clientWidth); }
  var vp = document.querySelector('meta[name=viewport]');
  if (!vp || /user-scalable\s*=\s*no|maximum-scale/i.test(vp.content)) { p.push('zoom disabled or no viewport'); }
  document.querySelectorAll('a[href], button, input, select, textarea').forEach(function (el) {
    if (el.type === 'hidden') { return; }
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) { return; }
    var name = el.tagName + ' ' + (el.id || el.name || el.textContent.trim().slice(0, 20));
    if (r.width < 44 || r.height < 44) { p.push(name + ' is ' + Math.round(r.width) + 'x' + Math.round(r.height)); }
    if (el.matches('input, select, textarea')) {
      if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) { p.push(name + ' has no label'); }
      if (parseFloat(getComputedStyle(el).fontSize) < 16) { p.push(name + ' font under 16px'); }
    }
    if (el.matches('a') && /^\s*javascript:/i.test(el.getAttribute('href'))) { p.push(name + ' is a javascript: link'); }
  });
  return p;
})()`

// serverChecks are the interface's checks a browser cannot be made to
// fail on its own: a Host that is not the interface's, no session, GETs
// on changing routes, POSTs marked cross-site or from another port, the
// live-event stream's Origin, the login code's single use, and the
// headers of every kind of response.
func serverChecks(t *testing.T, ctx context.Context, alice, bob *user, bobName string) {
	hc, cookie := sessionClient(t, alice)
	port := strings.TrimPrefix(alice.origin, "http://127.0.0.1:")
	do := func(method, path, host string, hdr map[string]string, session bool, body string) *http.Response {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, alice.url+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if session {
			req.AddCookie(cookie)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if method == "GET" && path == "events" && res.StatusCode == 200 {
			res.Body.Close() // a stream: its headers are enough
		} else {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		checkHeaders(t, method+" /"+path, res)
		return res
	}
	expect := func(res *http.Response, want int, what string) {
		t.Helper()
		if res.StatusCode != want {
			t.Errorf("%s: %v, want %d", what, res.Status, want)
		}
	}
	expect(do("GET", "status", "", nil, true, ""), 200, "a page with the session")
	expect(do("GET", "static/ui.js", "", nil, true, ""), 200, "the script")
	for _, h := range []string{"attacker.example:" + port, "attacker.example", "127.0.0.1:1", "127.0.0.1", "192.168.1.5:" + port} {
		expect(do("GET", "status", h, nil, true, ""), 403, "Host "+h)
	}
	expect(do("GET", "feed/world", "", nil, false, ""), 401, "no session")
	for _, p := range []string{"chat/" + url.PathEscape(bobName), "feed/world", "status"} {
		expect(do("GET", p, "", map[string]string{"Sec-Fetch-Site": "same-site"}, true, ""), 403, "GET /"+p+" from another loopback port's page")
	}
	expect(do("GET", "static/ui.css", "", nil, false, ""), 401, "no session, static file")
	for _, p := range []string{"logout", "vote", "post", "feeds/refresh", "contacts/invite", "contacts/accept", "chat/" + url.PathEscape(bobName) + "/send",
		"event/00/rsvp", "event/00/update", "event/00/cancel", "map/read", "pins/place", "pins/confirm", "alerts/send", "watch/add", "watch/remove"} {
		expect(do("GET", p, "", map[string]string{"Sec-Fetch-Site": "same-origin"}, true, ""), 405, "GET /"+p)
	}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "http://attacker.example"},
		{"Sec-Fetch-Site": "same-site", "Origin": bob.origin},
		{"Sec-Fetch-Site": "same-origin", "Origin": bob.origin},
		{"Origin": bob.origin},
		{"Origin": "null"},
		{},
	} {
		expect(do("POST", "feeds/refresh", "", h, true, "back=/status"), 403, fmt.Sprintf("POST with %v", h))
		expect(do("POST", "alerts/send", "", h, true, "near=52.52,13.405&radius_km=1&text=x"), 403, fmt.Sprintf("alert POST with %v", h))
	}
	// The same checks let the interface's own requests through.
	expect(do("POST", "vote", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": alice.origin}, true, "post=nothing&dir=up"), 422, "a same-origin POST")
	expect(do("GET", "events", "", map[string]string{"Origin": bob.origin}, true, ""), 403, "events from another port's page")
	expect(do("GET", "events", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, true, ""), 403, "events, cross-site")
	if res := do("GET", "events", "", map[string]string{"Sec-Fetch-Site": "same-origin"}, true, ""); res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("events: %v %q", res.Status, res.Header.Get("Content-Type"))
	}
	l, err := daemon.Connect(alice.home).UILogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(l.LoginURL, alice.url)
	fresh := do("GET", path, "", nil, false, "")
	if fresh.StatusCode != 200 || len(fresh.Cookies()) != 1 {
		t.Fatalf("a fresh login code: %v", fresh.Status)
	}
	expect(do("GET", path, "", nil, false, ""), 401, "a login code used twice")
	// Logout (with the session that code opened) asks the browser to
	// forget everything of the site.
	cookie = fresh.Cookies()[0]
	res := do("POST", "logout", "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": alice.origin}, true, "")
	if c := res.Header.Get("Clear-Site-Data"); res.StatusCode != 200 || !strings.Contains(c, `"cookies"`) || !strings.Contains(c, `"storage"`) {
		t.Errorf("logout: %v, Clear-Site-Data %q", res.Status, c)
	}
	expect(do("GET", "status", "", nil, true, ""), 401, "the session after logout")
}

// checkHeaders checks the headers every response carries, and that none
// is a CORS header.
func checkHeaders(t *testing.T, what string, res *http.Response) {
	t.Helper()
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	if csp != webui.CSP && csp != webui.CSP+"; sandbox" {
		t.Errorf("%s: CSP %q", what, csp)
	}
	for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store"} {
		if h.Get(k) != v {
			t.Errorf("%s: %s %q, want %q", what, k, h.Get(k), v)
		}
	}
	for _, p := range []string{"geolocation=()", "camera=()", "microphone=()"} {
		if !strings.Contains(h.Get("Permissions-Policy"), p) {
			t.Errorf("%s: Permissions-Policy %q lacks %s", what, h.Get("Permissions-Policy"), p)
		}
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("%s: CORS header %s", what, k)
		}
	}
}

// screenshot takes the picture of the interface the README shows (bob's
// feed on a phone-sized screen), checks it is a PNG of that size, and with
// -update-screenshot keeps it as docs/ui.png.
func screenshot(t *testing.T, tab context.Context) {
	t.Helper()
	run(t, tab, chromedp.EmulateViewport(420, 760), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	run(t, tab, chromedp.EmulateReset())
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || cfg.Width != 420 || cfg.Height != 760 {
		t.Fatalf("screenshot: %+v %v", cfg, err)
	}
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "ui.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// sessionClient returns an HTTP client and u's session cookie as the
// browser holds it.
func sessionClient(t *testing.T, u *user) (*http.Client, *http.Cookie) {
	t.Helper()
	res, err := chromedp.Call(u.tab, network.GetCookies, network.GetCookiesParams{URLs: []string{u.url}})
	if err != nil {
		t.Fatal(err)
	}
	want := "komrade-session-" + strings.TrimPrefix(u.origin, "http://127.0.0.1:")
	for _, c := range res.Cookies {
		if c.Name == want {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				t.Errorf("session cookie %+v", c)
			}
			return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
				&http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("no cookie %s in the browser", want)
	return nil, nil
}

// gpsMarker is in the test photo's EXIF, next to a GPS position.
const gpsMarker = "KOMRADE-GPS-48.8566N"

// jpegWithGPS makes a JPEG photo whose EXIF (APP1) has an image
// description and a GPS position, as a phone's camera writes them.
func jpegWithGPS(t *testing.T) []byte {
	m := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	desc := append([]byte(gpsMarker), 0) // 21 bytes
	tiff := []byte("II*\x00")
	tiff = le.AppendUint32(tiff, 8)
	// IFD0 at 8: two entries, then the description, then the GPS IFD.
	descAt := uint32(8 + 2 + 2*12 + 4)
	gpsAt := descAt + uint32(len(desc)) + 1 // even
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint16(tiff, 0x010e) // ImageDescription
	tiff = le.AppendUint16(tiff, 2)      // ASCII
	tiff = le.AppendUint32(tiff, uint32(len(desc)))
	tiff = le.AppendUint32(tiff, descAt)
	tiff = le.AppendUint16(tiff, 0x8825) // GPSInfo
	tiff = le.AppendUint16(tiff, 4)      // LONG
	tiff = le.AppendUint32(tiff, 1)
	tiff = le.AppendUint32(tiff, gpsAt)
	tiff = le.AppendUint32(tiff, 0)
	tiff = append(tiff, desc...)
	tiff = append(tiff, 0)
	ratAt := gpsAt + 2 + 2*12 + 4
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint16(tiff, 1) // GPSLatitudeRef
	tiff = le.AppendUint16(tiff, 2)
	tiff = le.AppendUint32(tiff, 2)
	tiff = append(tiff, 'N', 0, 0, 0)
	tiff = le.AppendUint16(tiff, 2) // GPSLatitude
	tiff = le.AppendUint16(tiff, 5) // RATIONAL
	tiff = le.AppendUint32(tiff, 3)
	tiff = le.AppendUint32(tiff, ratAt)
	tiff = le.AppendUint32(tiff, 0)
	for _, r := range [][2]uint32{{48, 1}, {51, 1}, {2376, 100}} {
		tiff = le.AppendUint32(tiff, r[0])
		tiff = le.AppendUint32(tiff, r[1])
	}
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(app1)+2))
	out = append(out, app1...)
	out = append(out, b.Bytes()[2:]...)
	if !bytes.Contains(out, []byte(gpsMarker)) {
		t.Fatal("test photo without its marker")
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("test photo: %v", err)
	}
	return out
}
