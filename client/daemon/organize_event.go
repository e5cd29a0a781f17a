package daemon

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/wire/geo"
)

// Events (client/event): create, list, show, RSVP, update and cancel.
// Times travel as RFC 3339; places as "LAT,LON".

// EventCreateRequest is what POST /event/create takes.
type EventCreateRequest struct {
	Title     string   `json:"title"`
	When      string   `json:"when"` // RFC 3339
	Where     string   `json:"where"`
	Near      string   `json:"near,omitempty"` // "LAT,LON"
	RadiusKM  float64  `json:"radius_km,omitempty"`
	Anonymous bool     `json:"anonymous,omitempty"`
	Public    bool     `json:"public,omitempty"`
	Invite    []string `json:"invite,omitempty"`
}

// EventCreated is what POST /event/create answers.
type EventCreated struct {
	ID           string   `json:"id"`
	Announcement string   `json:"announcement,omitempty"` // the feed post's id
	Invited      []string `json:"invited,omitempty"`
}

// EventUpdateRequest is what POST /event/update takes; absent fields keep
// their value.
type EventUpdateRequest struct {
	ID     string  `json:"id"`
	Title  *string `json:"title,omitempty"`
	When   *string `json:"when,omitempty"` // RFC 3339
	Where  *string `json:"where,omitempty"`
	Near   *string `json:"near,omitempty"` // "LAT,LON"
	NoNear bool    `json:"no_near,omitempty"`
}

func parseWhen(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--when %q: want a date and time such as 2026-12-05T18:00:00+01:00", s)
	}
	return t, nil
}

func parseNear(s string) (*geo.Point, error) {
	p, err := geo.ParsePoint(s)
	if err != nil {
		return nil, fmt.Errorf("--near: %w", err)
	}
	return &p, nil
}

func (d *Daemon) eventRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /event/create", func(w http.ResponseWriter, r *http.Request) {
		var req EventCreateRequest
		if !decode(w, r, &req) {
			return
		}
		o := event.CreateOptions{Title: req.Title, Where: req.Where, RadiusM: req.RadiusKM * 1000,
			Anonymous: req.Anonymous, Public: req.Public, Invite: req.Invite}
		var err error
		if o.When, err = parseWhen(req.When); err != nil {
			reply(w, nil, err)
			return
		}
		if req.Near != "" {
			if o.Near, err = parseNear(req.Near); err != nil {
				reply(w, nil, err)
				return
			}
		}
		cr, err := d.ev.Create(r.Context(), o)
		if cr != nil && len(cr.Invited) > 0 {
			d.wake() // the invitations go out now
		}
		if err != nil {
			reply(w, nil, err)
			return
		}
		out := &EventCreated{ID: cr.ID.String(), Invited: cr.Invited}
		if cr.Announcement != nil {
			out.Announcement = cr.Announcement.String()
		}
		reply(w, out, nil)
	})
	mux.HandleFunc("GET /event/list", func(w http.ResponseWriter, r *http.Request) {
		l, err := d.ev.List()
		reply(w, l, err)
	})
	mux.HandleFunc("POST /event/show", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID string }
		if !decode(w, r, &req) {
			return
		}
		id, err := d.ev.Resolve(req.ID)
		if err != nil {
			reply(w, nil, err)
			return
		}
		v, err := d.ev.Show(r.Context(), id)
		reply(w, v, err)
	})
	mux.HandleFunc("POST /event/rsvp", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID, Answer string }
		if !decode(w, r, &req) {
			return
		}
		a, err := event.ParseAnswer(req.Answer)
		if err != nil {
			reply(w, nil, err)
			return
		}
		id, err := d.ev.Resolve(req.ID)
		if err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, map[string]string{"id": id.String(), "answer": a.String()}, d.ev.RSVP(r.Context(), id, a))
	})
	mux.HandleFunc("POST /event/update", func(w http.ResponseWriter, r *http.Request) {
		var req EventUpdateRequest
		if !decode(w, r, &req) {
			return
		}
		id, err := d.ev.Resolve(req.ID)
		if err != nil {
			reply(w, nil, err)
			return
		}
		o := event.UpdateOptions{Title: req.Title, Where: req.Where, ClearNear: req.NoNear}
		if req.When != nil {
			t, err := parseWhen(*req.When)
			if err != nil {
				reply(w, nil, err)
				return
			}
			o.When = &t
		}
		if req.Near != nil {
			if o.Near, err = parseNear(*req.Near); err != nil {
				reply(w, nil, err)
				return
			}
		}
		v, err := d.ev.Update(r.Context(), id, o)
		reply(w, v, err)
	})
	mux.HandleFunc("POST /event/invite", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     string
			Invite []string
		}
		if !decode(w, r, &req) {
			return
		}
		id, err := d.ev.Resolve(req.ID)
		if err != nil {
			reply(w, nil, err)
			return
		}
		done, err := d.ev.Invite(id, req.Invite)
		if len(done) > 0 {
			d.wake() // the invitations go out now
		}
		reply(w, done, err)
	})
	mux.HandleFunc("POST /event/cancel", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ID string }
		if !decode(w, r, &req) {
			return
		}
		id, err := d.ev.Resolve(req.ID)
		if err != nil {
			reply(w, nil, err)
			return
		}
		v, err := d.ev.Update(r.Context(), id, event.UpdateOptions{Cancel: true})
		reply(w, v, err)
	})
}

// CreateEvent creates an event.
func (a *API) CreateEvent(ctx context.Context, req *EventCreateRequest) (*EventCreated, error) {
	var out EventCreated
	err := a.call(ctx, "POST", "/event/create", req, &out)
	return &out, err
}

// Events lists the events kept (no request through the network).
func (a *API) Events(ctx context.Context) ([]event.View, error) {
	var out []event.View
	err := a.call(ctx, "GET", "/event/list", nil, &out)
	return out, err
}

// ShowEvent reads an event through the network (with its RSVPs, for its
// host).
func (a *API) ShowEvent(ctx context.Context, id string) (*event.View, error) {
	var out event.View
	err := a.call(ctx, "POST", "/event/show", map[string]string{"ID": id}, &out)
	return &out, err
}

// RSVP answers an event yes, no or maybe.
func (a *API) RSVP(ctx context.Context, id, answer string) error {
	return a.call(ctx, "POST", "/event/rsvp", map[string]string{"ID": id, "Answer": answer}, nil)
}

// UpdateEvent publishes a new version of an event you host.
func (a *API) UpdateEvent(ctx context.Context, req *EventUpdateRequest) (*event.View, error) {
	var out event.View
	err := a.call(ctx, "POST", "/event/update", req, &out)
	return &out, err
}

// CancelEvent cancels an event you host.
func (a *API) CancelEvent(ctx context.Context, id string) (*event.View, error) {
	var out event.View
	err := a.call(ctx, "POST", "/event/cancel", map[string]string{"ID": id}, &out)
	return &out, err
}

// InviteToEvent invites more contacts to an invite-only event you host
// and returns the names invited.
func (a *API) InviteToEvent(ctx context.Context, id string, names []string) ([]string, error) {
	var out []string
	err := a.call(ctx, "POST", "/event/invite", map[string]any{"ID": id, "Invite": names}, &out)
	return out, err
}
