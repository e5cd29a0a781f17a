package webui

// The organizing pages: events (list, create, show with the RSVPs for the
// host, RSVP, update, cancel), the map of danger pins around a place
// (drawn here by client/mapview, never from a tile server), placing and
// confirming pins, protest alerts (shown on every page, live) and the
// watched areas.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/client/mapview"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/wire/geo"
)

// defaultMapRadiusKM is the radius of a map whose form left it blank.
const defaultMapRadiusKM = 2

func (s *Server) organizeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /event", s.eventList)
	mux.HandleFunc("GET /event/new", func(w http.ResponseWriter, r *http.Request) { s.eventForm(w, http.StatusOK, &eventForm{}, "") })
	mux.HandleFunc("POST /event/create", s.eventCreate)
	mux.HandleFunc("GET /event/{id}", s.eventShow)
	mux.HandleFunc("POST /event/{id}/rsvp", s.eventRSVP)
	mux.HandleFunc("POST /event/{id}/update", s.eventUpdate)
	mux.HandleFunc("POST /event/{id}/cancel", s.eventCancel)

	mux.HandleFunc("GET /map", s.mapPage)
	mux.HandleFunc("GET /map.geojson", s.mapGeoJSON)
	mux.HandleFunc("POST /map/read", s.mapRead)
	mux.HandleFunc("POST /pins/place", s.pinPlace)
	mux.HandleFunc("POST /pins/confirm", s.pinConfirm)

	mux.HandleFunc("GET /alerts", s.alertsPage)
	mux.HandleFunc("GET /alerts/live", func(w http.ResponseWriter, r *http.Request) {
		s.renderPart(w, "alerts.html", "alertbar", &view{Alerts: s.liveAlerts()})
	})
	mux.HandleFunc("POST /alerts/send", s.alertSend)
	mux.HandleFunc("POST /watch/add", func(w http.ResponseWriter, r *http.Request) { s.watchChange(w, r, true) })
	mux.HandleFunc("POST /watch/remove", func(w http.ResponseWriter, r *http.Request) { s.watchChange(w, r, false) })
}

// liveAlerts are the live alerts of the watched areas, for the bar every
// page shows; an error is logged, not shown (the page itself still
// works).
func (s *Server) liveAlerts() []pin.Marker {
	a, err := s.b.Alerts()
	if err != nil {
		s.log.Warn("webui: live alerts", "err", err)
		return nil
	}
	return a
}

// ---- Events ----

// eventsData is the events page: hosted, invited to, read.
type eventsData struct {
	Hosted, Invited, Read []event.View
}

func (s *Server) eventList(w http.ResponseWriter, r *http.Request) {
	evs, err := s.b.Events()
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "events", err)
		return
	}
	d := &eventsData{}
	for _, v := range evs {
		switch {
		case v.Host == "you":
			d.Hosted = append(d.Hosted, v)
		case v.InvitedBy != "":
			d.Invited = append(d.Invited, v)
		default:
			d.Read = append(d.Read, v)
		}
	}
	s.renderView(w, http.StatusOK, "events.html", &view{Title: "Events", Nav: "events", Data: d})
}

// eventForm is the form of a new event (with what was typed, after an
// error) and the contacts one may invite.
type eventForm struct {
	Title, When, Where, Near, RadiusKM string
	Anonymous, Public                  bool
	Invite                             map[string]bool
	Contacts                           []Contact
}

func (s *Server) eventForm(w http.ResponseWriter, status int, f *eventForm, errText string) {
	var err error
	if f.Contacts, err = s.b.Contacts(); err != nil {
		s.fail(w, http.StatusInternalServerError, "events", err)
		return
	}
	s.renderView(w, status, "eventnew.html", &view{Title: "New event", Nav: "events", Err: errText, Data: f})
}

// dateTimeLocal is the format of an <input type="datetime-local">: the
// browser's local time, which is the daemon's (same machine).
const dateTimeLocal = "2006-01-02T15:04"

// parseWhen reads a time from a datetime-local input, or RFC 3339.
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(dateTimeLocal, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want a date and a time such as 2026-12-05T18:00", s)
}

func (s *Server) eventCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "events", err)
		return
	}
	f := &eventForm{Title: strings.TrimSpace(r.PostFormValue("title")), When: r.PostFormValue("when"),
		Where: strings.TrimSpace(r.PostFormValue("where")), Near: strings.TrimSpace(r.PostFormValue("near")),
		RadiusKM: strings.TrimSpace(r.PostFormValue("radius_km")), Anonymous: r.PostFormValue("as") == "anonymous",
		Public: r.PostFormValue("audience") == "public", Invite: map[string]bool{}}
	o := event.CreateOptions{Title: f.Title, Where: f.Where, Anonymous: f.Anonymous, Public: f.Public}
	for _, n := range r.PostForm["invite"] {
		f.Invite[n] = true
		if !f.Public {
			o.Invite = append(o.Invite, n)
		}
	}
	var err error
	if o.When, err = parseWhen(f.When); err != nil {
		s.eventForm(w, http.StatusUnprocessableEntity, f, err.Error())
		return
	}
	if f.Near != "" {
		p, err := geo.ParsePoint(f.Near)
		if err != nil {
			s.eventForm(w, http.StatusUnprocessableEntity, f, "place: "+err.Error())
			return
		}
		o.Near = &p
		if f.RadiusKM != "" {
			km, err := strconv.ParseFloat(f.RadiusKM, 64)
			if err != nil || !(km > 0) {
				s.eventForm(w, http.StatusUnprocessableEntity, f, "radius: want a number of kilometres")
				return
			}
			o.RadiusM = km * 1000
		}
	}
	if !o.Public && len(o.Invite) == 0 {
		s.eventForm(w, http.StatusUnprocessableEntity, f, "invite at least one contact, or make the event public")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Minute)
	defer cancel()
	cr, err := s.b.CreateEvent(ctx, o)
	if err != nil {
		s.eventForm(w, http.StatusUnprocessableEntity, f, err.Error())
		return
	}
	if cr.Announcement != nil {
		s.Notify("feed")
	}
	http.Redirect(w, r, "/event/"+cr.ID.String(), http.StatusSeeOther)
}

// eventData is an event's page.
type eventData struct {
	V *event.View
	// Offline is why the event could not be read now (the page shows the
	// local copy instead).
	Offline  string
	WhenForm string // the time for the update form's datetime-local input
	NearForm string
}

func (s *Server) eventShow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	d := &eventData{}
	v, err := s.b.ShowEvent(ctx, id)
	if err != nil {
		// The local copy, if the event is kept, and why it is not fresh.
		evs, lerr := s.b.Events()
		if lerr != nil {
			s.fail(w, http.StatusBadGateway, "events", err)
			return
		}
		for i := range evs {
			if evs[i].ID == id {
				v = &evs[i]
			}
		}
		if v == nil {
			s.fail(w, http.StatusNotFound, "events", err)
			return
		}
		d.Offline = err.Error()
	}
	d.V = v
	if !v.When.IsZero() {
		d.WhenForm = v.When.Local().Format(dateTimeLocal)
	}
	if v.Near != nil {
		d.NearForm = fmt.Sprintf("%.6f,%.6f", v.Near.Lat, v.Near.Lon)
	}
	title := v.Title
	if title == "" {
		title = "Invitation"
	}
	s.renderView(w, http.StatusOK, "event.html", &view{Title: title, Nav: "events", Data: d})
}

func (s *Server) eventRSVP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := event.ParseAnswer(r.PostFormValue("answer"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "events", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.b.RSVP(ctx, id, a); err != nil {
		s.fail(w, http.StatusBadGateway, "events", fmt.Errorf("RSVP: %w", err))
		return
	}
	http.Redirect(w, r, "/event/"+url.PathEscape(id), http.StatusSeeOther)
}

func (s *Server) eventUpdate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	title, where := strings.TrimSpace(r.PostFormValue("title")), strings.TrimSpace(r.PostFormValue("where"))
	o := event.UpdateOptions{Title: &title, Where: &where}
	when, err := parseWhen(r.PostFormValue("when"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "events", err)
		return
	}
	o.When = &when
	if near := strings.TrimSpace(r.PostFormValue("near")); near != "" {
		p, err := geo.ParsePoint(near)
		if err != nil {
			s.fail(w, http.StatusUnprocessableEntity, "events", fmt.Errorf("place: %w", err))
			return
		}
		o.Near = &p
	} else {
		o.ClearNear = true
	}
	s.eventChange(w, r, id, o)
}

func (s *Server) eventCancel(w http.ResponseWriter, r *http.Request) {
	s.eventChange(w, r, r.PathValue("id"), event.UpdateOptions{Cancel: true})
}

func (s *Server) eventChange(w http.ResponseWriter, r *http.Request, id string, o event.UpdateOptions) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if _, err := s.b.UpdateEvent(ctx, id, o); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "events", err)
		return
	}
	http.Redirect(w, r, "/event/"+url.PathEscape(id), http.StatusSeeOther)
}

// ---- The map of pins ----

// areaForm reads an area from a form or a query: near "LAT,LON" and
// radius_km (blank: defaultMapRadiusKM).
func areaForm(near, radiusKM string) (pin.Area, error) {
	p, err := geo.ParsePoint(strings.TrimSpace(near))
	if err != nil {
		return pin.Area{}, fmt.Errorf("place: %w", err)
	}
	km := float64(defaultMapRadiusKM)
	if rk := strings.TrimSpace(radiusKM); rk != "" {
		if km, err = strconv.ParseFloat(rk, 64); err != nil || math.IsNaN(km) {
			return pin.Area{}, errors.New("radius: want a number of kilometres")
		}
	}
	a := pin.Area{Near: p, RadiusM: km * 1000}
	if err := a.Check(); err != nil {
		return pin.Area{}, fmt.Errorf("area: %w", err)
	}
	return a, nil
}

// mapQuery is the address of the map of a.
func mapQuery(a pin.Area) string {
	return "/map?" + url.Values{"near": {pointString(a.Near)}, "radius_km": {kmString(a.RadiusM)}}.Encode()
}

func pointString(p geo.Point) string { return fmt.Sprintf("%.6f,%.6f", p.Lat, p.Lon) }

func kmString(m float64) string { return strconv.FormatFloat(m/1000, 'f', -1, 64) }

// mapData is the map page.
type mapData struct {
	Near, RadiusKM string
	Shown          bool // an area was given and read
	Area           pin.Area
	Pins           *Pins
	SVG            template.HTML // from mapview.SVG, which escapes every text
	GeoJSON        string        // the address of the GeoJSON download
	Back           string
	Kinds          []string
	Watched        []WatchedArea
}

func (s *Server) mapPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &mapData{Near: strings.TrimSpace(q.Get("near")), RadiusKM: strings.TrimSpace(q.Get("radius_km")),
		Back: r.URL.RequestURI(), Kinds: []string{"police", "danger", "medic", "water", "other"}, Watched: s.b.WatchedAreas()}
	v := &view{Title: "Map", Nav: "map", Map: "1", Data: d}
	if d.Near == "" { // the form alone
		s.renderView(w, http.StatusOK, "map.html", v)
		return
	}
	a, err := areaForm(d.Near, d.RadiusKM)
	if err != nil {
		v.Err = err.Error()
		s.renderView(w, http.StatusUnprocessableEntity, "map.html", v)
		return
	}
	if d.Pins, err = s.b.Pins(a); err != nil {
		v.Err = err.Error()
		s.renderView(w, http.StatusInternalServerError, "map.html", v)
		return
	}
	var svg bytes.Buffer
	if err := mapview.SVG(&svg, mapview.View{Center: a.Near, RadiusM: a.RadiusM}, pin.MapMarkers(d.Pins.Markers)); err != nil {
		v.Err = err.Error()
		s.renderView(w, http.StatusInternalServerError, "map.html", v)
		return
	}
	// mapview.SVG writes markup of its own only (numbers, colours, fixed
	// words); every text a marker brings is escaped character data, and
	// it carries no style attribute, script, link or reference outside
	// itself (see its doc comment).
	d.SVG = template.HTML(svg.String())
	d.Shown, d.Area = true, a
	d.GeoJSON = "/map.geojson?" + url.Values{"near": {pointString(a.Near)}, "radius_km": {kmString(a.RadiusM)}}.Encode()
	s.renderView(w, http.StatusOK, "map.html", v)
}

// mapGeoJSON is the map's markers as a GeoJSON file to download (for a
// maps app on the same device).
func (s *Server) mapGeoJSON(w http.ResponseWriter, r *http.Request) {
	a, err := areaForm(r.URL.Query().Get("near"), r.URL.Query().Get("radius_km"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	p, err := s.b.Pins(a)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := mapview.GeoJSON(&b, pin.MapMarkers(p.Markers)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Content-Disposition", `attachment; filename="komrade-pins.geojson"`)
	// Opened on its own, it is data: nothing in it may run.
	w.Header().Set("Content-Security-Policy", CSP+"; sandbox")
	w.Write(b.Bytes())
}

// mapRead reads an area nobody watches once now, and shows its map.
func (s *Server) mapRead(w http.ResponseWriter, r *http.Request) {
	a, err := areaForm(r.PostFormValue("near"), r.PostFormValue("radius_km"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "map", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.b.ReadArea(ctx, a); err != nil {
		s.fail(w, http.StatusBadGateway, "map", fmt.Errorf("read the area: %w", err))
		return
	}
	http.Redirect(w, r, mapQuery(a), http.StatusSeeOther)
}

func (s *Server) pinPlace(w http.ResponseWriter, r *http.Request) {
	kind, err := pin.ParseKind(r.PostFormValue("kind"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "map", err)
		return
	}
	at, err := geo.ParsePoint(strings.TrimSpace(r.PostFormValue("at")))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "map", fmt.Errorf("position: %w", err))
		return
	}
	o := pin.PinOptions{Kind: kind, At: at, Note: strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("note")), "\r\n", "\n")}
	if v := strings.TrimSpace(r.PostFormValue("ttl_min")); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || !(n > 0) || n > pin.MaxPinTTL.Minutes() {
			s.fail(w, http.StatusUnprocessableEntity, "map", fmt.Errorf("lifetime: want 1 to %.0f minutes", pin.MaxPinTTL.Minutes()))
			return
		}
		o.TTL = time.Duration(n * float64(time.Minute)).Round(time.Second)
	}
	if v := strings.TrimSpace(r.PostFormValue("cell_m")); v != "" {
		if o.CellM, err = strconv.ParseFloat(v, 64); err != nil || !(o.CellM > 0) {
			s.fail(w, http.StatusUnprocessableEntity, "map", errors.New("cell size: want a number of metres"))
			return
		}
	}
	if _, err := s.b.Pin(o); err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "map", err)
		return
	}
	// Back to the map around the pin: its place, the pending list with
	// the time it will be published.
	km := strings.TrimSpace(r.PostFormValue("radius_km"))
	if km == "" {
		km = strconv.Itoa(defaultMapRadiusKM)
	}
	http.Redirect(w, r, "/map?"+url.Values{"near": {pointString(at)}, "radius_km": {km}}.Encode(), http.StatusSeeOther)
}

func (s *Server) pinConfirm(w http.ResponseWriter, r *http.Request) {
	say, err := pin.ParseSay(r.PostFormValue("say"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "map", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := s.b.ConfirmPin(ctx, r.PostFormValue("id"), say); err != nil {
		s.fail(w, http.StatusBadGateway, "map", fmt.Errorf("confirm: %w", err))
		return
	}
	s.Notify("pins")
	http.Redirect(w, r, safeBack(r.PostFormValue("back")), http.StatusSeeOther)
}

// ---- Alerts and the watch ----

// alertsData is the alerts page: the form to send one, the watched areas
// (the live alerts of these are in the bar of every page).
type alertsData struct {
	Watched []WatchedArea
	Near    string // the form's values after an error
	Radius  string
	Text    string
	TTL     string
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) {
	s.renderAlerts(w, http.StatusOK, &alertsData{}, "")
}

func (s *Server) renderAlerts(w http.ResponseWriter, status int, d *alertsData, errText string) {
	d.Watched = s.b.WatchedAreas()
	s.renderView(w, status, "alerts.html", &view{Title: "Alerts", Nav: "alerts", Err: errText, Data: d})
}

func (s *Server) alertSend(w http.ResponseWriter, r *http.Request) {
	d := &alertsData{Near: strings.TrimSpace(r.PostFormValue("near")), Radius: strings.TrimSpace(r.PostFormValue("radius_km")),
		Text: strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("text")), "\r\n", "\n"), TTL: strings.TrimSpace(r.PostFormValue("ttl_min"))}
	if d.Radius == "" {
		s.renderAlerts(w, http.StatusUnprocessableEntity, d, "radius: how far around the place should people be told?")
		return
	}
	a, err := areaForm(d.Near, d.Radius)
	if err != nil {
		s.renderAlerts(w, http.StatusUnprocessableEntity, d, err.Error())
		return
	}
	o := pin.AlertOptions{Near: a.Near, RadiusM: a.RadiusM, Text: d.Text}
	if d.TTL != "" {
		n, err := strconv.ParseFloat(d.TTL, 64)
		if err != nil || !(n > 0) || n > pin.MaxAlertTTL.Minutes() {
			s.renderAlerts(w, http.StatusUnprocessableEntity, d, fmt.Sprintf("lifetime: want 1 to %.0f minutes", pin.MaxAlertTTL.Minutes()))
			return
		}
		o.TTL = time.Duration(n * float64(time.Minute)).Round(time.Second)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if _, err := s.b.Alert(ctx, o); err != nil {
		s.renderAlerts(w, http.StatusBadGateway, d, err.Error())
		return
	}
	s.Notify("alert")
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
}

func (s *Server) watchChange(w http.ResponseWriter, r *http.Request, add bool) {
	a, err := areaForm(r.PostFormValue("near"), r.PostFormValue("radius_km"))
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "alerts", err)
		return
	}
	if add {
		err = s.b.Watch(a)
	} else {
		err = s.b.Unwatch(a)
	}
	if err != nil {
		s.fail(w, http.StatusUnprocessableEntity, "alerts", err)
		return
	}
	http.Redirect(w, r, safeBack(r.PostFormValue("back")), http.StatusSeeOther)
}
