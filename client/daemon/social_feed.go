package daemon

// The reading half of the social layer over the API: feeds from the local
// copy, follows, votes, mutes and the user's areas.

import (
	"net/http"
	"time"

	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/wire/geo"
)

// FeedRequest asks for a feed.
type FeedRequest struct {
	Kind     string  `json:"kind"`                // world, friends, area or following
	Near     string  `json:"near,omitempty"`      // "LAT,LON" (area feed)
	RadiusKM float64 `json:"radius_km,omitempty"` // with Near
	SinceS   int64   `json:"since_s,omitempty"`   // only posts at most this old (seconds)
	Limit    int     `json:"limit,omitempty"`
}

// AreaRequest names one of the user's areas.
type AreaRequest struct {
	Near     string  `json:"near"` // "LAT,LON"
	RadiusKM float64 `json:"radius_km"`
}

func (d *Daemon) feedRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /feed", func(w http.ResponseWriter, r *http.Request) {
		var req FeedRequest
		if !decode(w, r, &req) {
			return
		}
		kind, err := social.ParseKind(req.Kind)
		if err != nil {
			reply(w, nil, err)
			return
		}
		q := social.FeedQuery{Since: time.Duration(req.SinceS) * time.Second, Limit: req.Limit, RadiusM: req.RadiusKM * 1000}
		if req.Near != "" {
			p, err := geo.ParsePoint(req.Near)
			if err != nil {
				reply(w, nil, err)
				return
			}
			q.Near = &p
		}
		page, err := d.s.Feed(kind, q)
		reply(w, page, err)
	})
	mux.HandleFunc("POST /feed/thumbs", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ IDs []string }
		if !decode(w, r, &req) {
			return
		}
		var ids []social.PostID
		for _, s := range req.IDs {
			id, err := social.ParsePostID(s)
			if err != nil {
				reply(w, nil, err)
				return
			}
			ids = append(ids, id)
		}
		thumbs, err := d.s.Thumbs(ids)
		out := map[string][]byte{}
		for id, jpg := range thumbs {
			out[id.String()] = jpg
		}
		reply(w, out, err)
	})
	mux.HandleFunc("POST /follow", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Address string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.s.Follow(req.Address))
	})
	mux.HandleFunc("POST /unfollow", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Address string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.s.Unfollow(req.Address))
	})
	mux.HandleFunc("GET /following", func(w http.ResponseWriter, r *http.Request) {
		f, err := d.s.Following()
		reply(w, f, err)
	})
	mux.HandleFunc("POST /vote", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Post, Dir string }
		if !decode(w, r, &req) {
			return
		}
		id, err := social.ParsePostID(req.Post)
		if err != nil {
			reply(w, nil, err)
			return
		}
		dir, err := social.ParseVoteDir(req.Dir)
		if err != nil {
			reply(w, nil, err)
			return
		}
		if err := d.s.Vote(r.Context(), id, dir); err != nil {
			reply(w, nil, err)
			return
		}
		t, err := d.s.LocalTally(id)
		reply(w, t, err)
	})
	mux.HandleFunc("POST /mute", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Target string }
		if !decode(w, r, &req) {
			return
		}
		m, err := d.s.Mute(req.Target)
		reply(w, m, err)
	})
	mux.HandleFunc("POST /unmute", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Target string }
		if !decode(w, r, &req) {
			return
		}
		reply(w, map[string]string{}, d.s.Unmute(req.Target))
	})
	mux.HandleFunc("GET /mutes", func(w http.ResponseWriter, r *http.Request) {
		m, err := d.s.Mutes()
		reply(w, m, err)
	})
	mux.HandleFunc("POST /areas/add", func(w http.ResponseWriter, r *http.Request) {
		var req AreaRequest
		if !decode(w, r, &req) {
			return
		}
		p, err := geo.ParsePoint(req.Near)
		if err != nil {
			reply(w, nil, err)
			return
		}
		a, err := d.s.AddArea(p, req.RadiusKM*1000)
		reply(w, a, err)
	})
	mux.HandleFunc("POST /areas/remove", func(w http.ResponseWriter, r *http.Request) {
		var req AreaRequest
		if !decode(w, r, &req) {
			return
		}
		p, err := geo.ParsePoint(req.Near)
		if err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, map[string]string{}, d.s.RemoveArea(p, req.RadiusKM*1000))
	})
	mux.HandleFunc("GET /areas", func(w http.ResponseWriter, r *http.Request) {
		a, err := d.s.Areas()
		if a == nil {
			a = []social.WatchedArea{}
		}
		reply(w, a, err)
	})
}
