package webui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/wire/geo"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"chat.html", "contacts.html", "feed.html", "compose.html", "post.html", "status.html",
	"loggedin.html", "loggedout.html", "error.html", "events.html", "eventnew.html", "event.html", "map.html", "alerts.html"}

var funcs = template.FuncMap{
	"pathEscape": url.PathEscape,
	"ago": func(t time.Time) string {
		d := time.Since(t).Round(time.Second)
		switch {
		case t.IsZero():
			return "never"
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h ago", int(d.Hours()))
		}
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	},
	"clock":    func(t time.Time) string { return t.Local().Format("Jan 2 15:04") },
	"itemView": func(it social.FeedItem, back string) itemView { return itemView{It: it, Back: back} },
	"km": func(m *float64) string {
		if m == nil {
			return ""
		}
		return fmt.Sprintf("%.1f km", *m/1000)
	},
	"dist": func(m float64) string {
		if m < 999.5 {
			return fmt.Sprintf("%.0f m", m)
		}
		return fmt.Sprintf("%.1f km", m/1000)
	},
	"deg": func(b float64) string { return fmt.Sprintf("%.0f°", math.Mod(math.Round(b), 360)) },
	"until": func(t time.Time) string {
		d := time.Until(t).Round(time.Second)
		if d <= 0 {
			return "now"
		}
		return "in " + d.String()
	},
	"secs": func(d time.Duration) string { return d.Round(time.Second).String() },
	// geoURL is a geo: link (RFC 5870) that hands a position to a maps
	// app; built from numbers only.
	"geoURL": func(lat, lon float64) template.URL { return template.URL(fmt.Sprintf("geo:%.6f,%.6f", lat, lon)) },
	"point":  func(lat, lon float64) string { return fmt.Sprintf("%.6f,%.6f", lat, lon) },
	"kmOf":   kmString,
	"areaMap": func(lat, lon, radiusM float64) string {
		return mapQuery(pin.Area{Near: geo.Point{Lat: lat, Lon: lon}, RadiusM: max(radiusM, 100)})
	},
	"localTime": func(t time.Time) string { return t.Local().Format("Mon Jan 2 2006, 15:04") },
}

func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/item.html")
	if err != nil {
		return nil, fmt.Errorf("webui: templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n)
		if err != nil {
			return nil, fmt.Errorf("webui: template %s: %w", n, err)
		}
		pages[n] = t
	}
	return pages, nil
}

// itemView is a feed item as item.html shows it, with the page to return
// to after a vote.
type itemView struct {
	It   social.FeedItem
	Back string
}

// view is what every page template gets.
type view struct {
	Title string
	Nav   string // the current section: chat, contacts, feeds, post, status
	Err   string
	Chat  string // the contact of a chat page (data-chat: live updates)
	Feed  string // the kind of a feed page (data-feed)
	Map   string // set on a map page (data-map: live updates)
	// Alerts are the live alerts of the watched areas, in the bar every
	// page of a session shows (role="alert").
	Alerts []pin.Marker
	Data   any
}

// renderView writes page name with v, in the layout.
func (s *Server) renderView(w http.ResponseWriter, status int, name string, v *view) {
	if v.Nav != "" && v.Alerts == nil {
		v.Alerts = s.liveAlerts()
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.Error("webui: render", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderPart writes one template of page name (a live part) alone.
func (s *Server) renderPart(w http.ResponseWriter, name, part string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, part, v); err != nil {
		s.log.Error("webui: render", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// fail shows err on the error page; its text is the backend's (never
// anything the page itself would run: templates escape it).
func (s *Server) fail(w http.ResponseWriter, status int, nav string, err error) {
	s.renderView(w, status, "error.html", &view{Title: "Error", Nav: nav, Err: err.Error()})
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/ui.css", staticFile("ui.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /static/ui.js", staticFile("ui.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/feed/world", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("POST /logout", s.logout)

	mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) { s.contacts(w, r, nil) })
	mux.HandleFunc("POST /contacts/invite", s.invite)
	mux.HandleFunc("POST /contacts/accept", s.accept)
	mux.HandleFunc("GET /qr/{id}", s.qrImage)

	mux.HandleFunc("GET /chat/{name}", func(w http.ResponseWriter, r *http.Request) { s.chat(w, r, false) })
	mux.HandleFunc("GET /chat/{name}/messages", func(w http.ResponseWriter, r *http.Request) { s.chat(w, r, true) })
	mux.HandleFunc("POST /chat/{name}/send", s.send)

	mux.HandleFunc("GET /feed/{kind}", s.feed)
	mux.HandleFunc("POST /feeds/refresh", s.refresh)
	mux.HandleFunc("POST /vote", s.vote)
	mux.HandleFunc("GET /compose", func(w http.ResponseWriter, r *http.Request) {
		s.renderView(w, http.StatusOK, "compose.html", &view{Title: "Post", Nav: "post", Data: composeData{Reply: r.URL.Query().Get("reply")}})
	})
	mux.HandleFunc("POST /post", s.publish)
	mux.HandleFunc("GET /post/{id}", s.showPost)
	mux.HandleFunc("GET /img/thumb/{id}", func(w http.ResponseWriter, r *http.Request) { s.image(w, r, false) })
	mux.HandleFunc("GET /img/full/{id}", func(w http.ResponseWriter, r *http.Request) { s.image(w, r, true) })

	mux.HandleFunc("GET /status", s.status)
	s.organizeRoutes(mux)
	return mux
}

// contactsData is the contacts page: the list, and after an invite its
// code and QR image.
type contactsData struct {
	Contacts   []Contact
	InviteName string
	InviteCode string
	QR         string // the QR image's id under /qr/
}

func (s *Server) contacts(w http.ResponseWriter, r *http.Request, d *contactsData) {
	if d == nil {
		d = &contactsData{}
	}
	var err error
	if d.Contacts, err = s.b.Contacts(); err != nil {
		s.fail(w, http.StatusInternalServerError, "contacts", err)
		return
	}
	s.renderView(w, http.StatusOK, "contacts.html", &view{Title: "Contacts", Nav: "contacts", Data: d})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	code, err := s.b.Invite(name)
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "contacts", err)
		return
	}
	id, err := randomHex(16)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "contacts", err)
		return
	}
	sess, _ := r.Context().Value(sessionKey{}).([32]byte)
	now := time.Now()
	s.mu.Lock()
	for k, q := range s.qr {
		if now.After(q.expires) {
			delete(s.qr, k)
		}
	}
	for len(s.qr) >= maxQR { // the one expiring first goes
		var first string
		var at time.Time
		for k, q := range s.qr {
			if at.IsZero() || q.expires.Before(at) {
				first, at = k, q.expires
			}
		}
		delete(s.qr, first)
	}
	s.qr[id] = qrEntry{code: code, session: sess, expires: now.Add(qrTTL)}
	s.mu.Unlock()
	s.contacts(w, r, &contactsData{InviteName: name, InviteCode: code, QR: id})
}

// qrImage draws an invite code just made as a QR code (PNG). The code
// stays on the server: the image's address is a random id of the session
// that made it, so no code is ever in a URL.
func (s *Server) qrImage(w http.ResponseWriter, r *http.Request) {
	sess, _ := r.Context().Value(sessionKey{}).([32]byte)
	s.mu.Lock()
	q, ok := s.qr[r.PathValue("id")]
	s.mu.Unlock()
	if !ok || q.session != sess || time.Now().After(q.expires) {
		http.NotFound(w, r)
		return
	}
	png, err := qrcode.Encode(q.code, qrcode.Medium, 320)
	if err != nil {
		http.Error(w, "QR code: "+err.Error(), http.StatusInternalServerError)
		return
	}
	imageHeaders(w.Header(), "image/png")
	w.Write(png)
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request) {
	code, name := strings.TrimSpace(r.PostFormValue("code")), strings.TrimSpace(r.PostFormValue("name"))
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.b.Accept(ctx, code, name); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "contacts", err)
		return
	}
	http.Redirect(w, r, "/chat/"+url.PathEscape(name), http.StatusSeeOther)
}

// chatData is a conversation page.
type chatData struct {
	Name     string
	Messages []chatLine
}

// chatLine is a message as a chat page shows it. ID names it on the page
// (the same message has the same ID in every rendering: ui.js keeps the
// messages already shown when it fetches the list again, since with
// keep_read = "0s" a received message is in one rendering only); AtMS is
// its time in milliseconds, by which ui.js puts a kept message in place.
type chatLine struct {
	ChatMessage
	ID   string
	AtMS int64
}

// chatLines names msgs: by a hash of who wrote it, its time and its text,
// and the number of earlier messages with the same hash.
func chatLines(msgs []ChatMessage) []chatLine {
	out := make([]chatLine, len(msgs))
	seen := map[string]int{}
	for i, m := range msgs {
		h := sha256.New()
		fmt.Fprintf(h, "%t\x00%d\x00%s", m.Mine, m.At.UnixNano(), m.Text)
		id := "m-" + hex.EncodeToString(h.Sum(nil)[:12])
		seen[id]++
		if n := seen[id]; n > 1 {
			id += "-" + strconv.Itoa(n)
		}
		out[i] = chatLine{ChatMessage: m, ID: id, AtMS: m.At.UnixMilli()}
	}
	return out
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request, part bool) {
	name := r.PathValue("name")
	msgs, err := s.b.Conversation(name)
	if err != nil {
		s.fail(w, http.StatusNotFound, "contacts", err)
		return
	}
	v := &view{Title: "Chat with " + name, Nav: "contacts", Chat: name, Data: &chatData{Name: name, Messages: chatLines(msgs)}}
	if part {
		s.renderPart(w, "chat.html", "messages", v)
		return
	}
	s.renderView(w, http.StatusOK, "chat.html", v)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	text := r.PostFormValue("text")
	if strings.TrimSpace(text) == "" {
		s.fail(w, http.StatusUnprocessableEntity, "contacts", errors.New("the message is empty"))
		return
	}
	if err := s.b.Send(name, text); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "contacts", err)
		return
	}
	s.Notify("outbox")
	if r.Header.Get("Accept") == "application/json" {
		// ui.js sent it: no redirect, whose GET would take the unread
		// messages out of the inbox into a page the script never shows.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/chat/"+url.PathEscape(name), http.StatusSeeOther)
}

// feedData is a feed page.
type feedData struct {
	Kind     string
	Kinds    []string
	Near     string
	RadiusKM string
	Page     *social.FeedPage
	Back     string
}

func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	kind, err := social.ParseKind(r.PathValue("kind"))
	if err != nil {
		s.fail(w, http.StatusNotFound, "feeds", err)
		return
	}
	q := social.FeedQuery{}
	d := &feedData{Kind: string(kind), Kinds: []string{"world", "friends", "area", "following"}, Back: r.URL.RequestURI()}
	if d.Near = strings.TrimSpace(r.URL.Query().Get("near")); d.Near != "" {
		p, err := geo.ParsePoint(d.Near)
		if err != nil {
			s.fail(w, http.StatusUnprocessableEntity, "feeds", fmt.Errorf("place: %w", err))
			return
		}
		q.Near = &p
		d.RadiusKM = r.URL.Query().Get("radius_km")
		if km, err := strconv.ParseFloat(d.RadiusKM, 64); err == nil && km > 0 {
			q.RadiusM = km * 1000
		}
	}
	if d.Page, err = s.b.Feed(kind, q); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "feeds", err)
		return
	}
	s.renderView(w, http.StatusOK, "feed.html", &view{Title: "Feed: " + string(kind), Nav: "feeds", Feed: string(kind), Data: d})
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.b.Refresh(ctx); err != nil {
		s.fail(w, http.StatusBadGateway, "feeds", fmt.Errorf("refresh: %w", err))
		return
	}
	s.Notify("feed")
	http.Redirect(w, r, safeBack(r.PostFormValue("back")), http.StatusSeeOther)
}

func (s *Server) vote(w http.ResponseWriter, r *http.Request) {
	id, err := social.ParsePostID(r.PostFormValue("post"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "feeds", err)
		return
	}
	dir, err := social.ParseVoteDir(r.PostFormValue("dir"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "feeds", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	t, err := s.b.Vote(ctx, id, dir)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "feeds", fmt.Errorf("vote: %w", err))
		return
	}
	if r.Header.Get("Accept") == "application/json" { // ui.js updates the counts in place
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(t)
		return
	}
	http.Redirect(w, r, safeBack(r.PostFormValue("back")), http.StatusSeeOther)
}

// composeData is the post form (with what was typed, after an error).
type composeData struct {
	Text      string
	To        string
	Near      string
	RadiusKM  string
	Anonymous bool
	Reply     string
}

// maxForm bounds a post's form: the image and a little text.
const maxForm = photo.MaxInput + 64<<10

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	f, img, err := readPostForm(r)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errUnsupportedImage) {
			status = http.StatusUnsupportedMediaType
		}
		s.renderView(w, status, "compose.html", &view{Title: "Post", Nav: "post", Err: err.Error(), Data: f})
		return
	}
	o := social.PostOptions{Text: f.Text, Anonymous: f.Anonymous, To: social.World}
	if f.To != "" {
		if o.To, err = social.ParseAudience(f.To); err != nil {
			s.renderView(w, http.StatusUnprocessableEntity, "compose.html", &view{Title: "Post", Nav: "post", Err: err.Error(), Data: f})
			return
		}
	}
	if f.Near != "" {
		p, err := geo.ParsePoint(f.Near)
		if err != nil {
			s.renderView(w, http.StatusUnprocessableEntity, "compose.html", &view{Title: "Post", Nav: "post", Err: "place: " + err.Error(), Data: f})
			return
		}
		o.Near = &p
		km, _ := strconv.ParseFloat(f.RadiusKM, 64)
		o.RadiusM = km * 1000
	}
	if f.Reply != "" {
		id, err := social.ParsePostID(f.Reply)
		if err != nil {
			s.renderView(w, http.StatusUnprocessableEntity, "compose.html", &view{Title: "Post", Nav: "post", Err: err.Error(), Data: f})
			return
		}
		o.Reply = &id
	}
	if img != nil {
		o.Image = bytes.NewReader(img)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Minute)
	defer cancel()
	id, err := s.b.Publish(ctx, o)
	if err != nil {
		s.renderView(w, http.StatusUnprocessableEntity, "compose.html", &view{Title: "Post", Nav: "post", Err: err.Error(), Data: f})
		return
	}
	s.Notify("feed")
	if o.To == social.Friends { // sealed to the friends stream: shown in that feed
		http.Redirect(w, r, "/feed/friends", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/post/"+id.String(), http.StatusSeeOther)
}

// readPostForm reads the post form (multipart) into memory: never a
// temporary file, since the picture may be private. The image, if any,
// passed checkUpload.
func readPostForm(r *http.Request) (*composeData, []byte, error) {
	f := &composeData{}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return f, nil, errors.New("the post form must be sent as multipart/form-data")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var img []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return f, nil, fmt.Errorf("reading the form (an image is at most 10 MiB): %w", err)
		}
		if p.FormName() == "image" {
			b, err := io.ReadAll(io.LimitReader(p, photo.MaxInput+1))
			if err != nil {
				return f, nil, fmt.Errorf("reading the image: %w", err)
			}
			if len(b) > photo.MaxInput {
				return f, nil, photo.ErrTooLarge
			}
			if len(b) > 0 {
				if err := checkUpload(b, p.FileName()); err != nil {
					return f, nil, err
				}
				img = b
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p, 16<<10))
		if err != nil {
			return f, nil, fmt.Errorf("reading the form: %w", err)
		}
		v := string(b)
		switch p.FormName() {
		case "text":
			f.Text = strings.ReplaceAll(v, "\r\n", "\n")
		case "to":
			f.To = v
		case "near":
			f.Near = strings.TrimSpace(v)
		case "radius_km":
			f.RadiusKM = strings.TrimSpace(v)
		case "as":
			f.Anonymous = v == "anonymous"
		case "reply":
			f.Reply = strings.TrimSpace(v)
		}
	}
	return f, img, nil
}

// postData is a post read through the network.
type postData struct {
	Post    *social.Post
	Item    social.FeedItem // the post as the local copy counts it (votes)
	ID      string
	Author  string
	Replies []social.FeedItem
	Back    string
}

func (s *Server) showPost(w http.ResponseWriter, r *http.Request) {
	id, err := social.ParsePostID(r.PathValue("id"))
	if err != nil {
		s.fail(w, http.StatusNotFound, "feeds", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	p, err := s.b.Post(ctx, id)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "feeds", fmt.Errorf("reading the post: %w", err))
		return
	}
	d := &postData{Post: p, ID: id.String(), Author: "anonymous", Back: r.URL.RequestURI()}
	// The author as the feeds name them (a contact's name, "you" or a
	// short fingerprint), and the replies the local copy holds.
	for _, k := range []social.Kind{social.KindWorld, social.KindFriends, social.KindArea, social.KindFollowing} {
		page, err := s.b.Feed(k, social.FeedQuery{Limit: social.MaxFeedLimit})
		if err != nil {
			continue
		}
		for _, it := range page.Items {
			if it.ID == d.ID {
				d.Item, d.Author = it, it.Author
			}
			if it.Reply == d.ID {
				d.Replies = append(d.Replies, it)
			}
		}
	}
	if d.Author == "anonymous" && p.Author != nil {
		d.Author = social.ShortFingerprint(p.Author)
	}
	s.renderView(w, http.StatusOK, "post.html", &view{Title: "Post", Nav: "feeds", Data: d})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.b.Status()
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "status", err)
		return
	}
	s.renderView(w, http.StatusOK, "status.html", &view{Title: "Status", Nav: "status", Data: st})
}
