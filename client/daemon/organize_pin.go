package daemon

// Danger pins, confirmations, protest alerts and the watch over the API
// (package client/pin; docs/pins.md).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/wire/geo"
)

// pinConfig is the pin service's configuration from client.toml (its
// values were validated by config.LoadClient).
func pinConfig(cfg config.Client) pin.Config {
	pc := pin.Config{Confirmations: cfg.PinConfirmations}
	if cfg.PinDelayMin != nil && cfg.PinDelayMax != nil {
		pc.DelayMin, pc.DelayMax = cfg.PinDelayMin.Duration, cfg.PinDelayMax.Duration
	}
	if cfg.WatchEvery != nil {
		pc.WatchEvery = cfg.WatchEvery.Duration
	}
	for _, w := range cfg.Watch {
		pc.Areas = append(pc.Areas, pin.Area{Near: w.Point(), RadiusM: w.RadiusKM * 1000})
	}
	return pc
}

// PinRequest asks for a pin.
type PinRequest struct {
	Kind  string  `json:"kind"`
	At    string  `json:"at"` // "LAT,LON"
	Note  string  `json:"note,omitempty"`
	TTLS  int64   `json:"ttl_s,omitempty"`  // 0: the kind's default
	CellM float64 `json:"cell_m,omitempty"` // 0: about 150 m
}

// ConfirmRequest confirms a pin.
type ConfirmRequest struct {
	ID  string `json:"id"`  // the pin's id, or at least 8 hex digits of it
	Say string `json:"say"` // still or gone
}

// AlertRequest asks for an alert.
type AlertRequest struct {
	Near     string  `json:"near"` // "LAT,LON"
	RadiusKM float64 `json:"radius_km"`
	Text     string  `json:"text"`
	TTLS     int64   `json:"ttl_s,omitempty"` // 0: an hour
}

// PinsRequest asks for the live pins and alerts of an area (Near empty:
// of every watched area).
type PinsRequest struct {
	Near     string  `json:"near,omitempty"`
	RadiusKM float64 `json:"radius_km,omitempty"`
	// Fetch reads the area's cells (and its decoys) once now when the
	// watch does not read them.
	Fetch bool `json:"fetch,omitempty"`
}

// PinsReply is what a list or a map of pins shows.
type PinsReply struct {
	Markers []pin.Marker `json:"markers"`
	// Areas are the areas the markers are of: the request's, or every
	// watched one.
	Areas []pin.Area `json:"areas"`
	// Watched reports whether the watch reads every cell of the area
	// (without it and without Fetch, the list may be empty or old).
	Watched bool `json:"watched"`
	// Fetched reports that the area was read for this request.
	Fetched bool `json:"fetched,omitempty"`
	// Confirmations is k: markers are confirmed at k confirmers.
	Confirmations int           `json:"confirmations"`
	Pending       []pin.Pending `json:"pending,omitempty"` // the user's pins not yet published
	// Stats are the watch's numbers; its Alerts and Pins count Markers
	// (those of the request's area, when it names one).
	Stats pin.Stats `json:"stats"`
	Now   time.Time `json:"now"`
}

// AlertReply names a published alert.
type AlertReply struct {
	ID string `json:"id"`
}

func parseArea(near string, radiusKM float64) (*pin.Area, error) {
	if near == "" && radiusKM == 0 {
		return nil, nil
	}
	if near == "" || radiusKM == 0 {
		return nil, errors.New("--near and --radius go together")
	}
	p, err := geo.ParsePoint(near)
	if err != nil {
		return nil, err
	}
	a := &pin.Area{Near: p, RadiusM: radiusKM * 1000}
	return a, a.Check()
}

func (d *Daemon) pinRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /pin", func(w http.ResponseWriter, r *http.Request) {
		var req PinRequest
		if !decode(w, r, &req) {
			return
		}
		kind, err := pin.ParseKind(req.Kind)
		if err != nil {
			reply(w, nil, err)
			return
		}
		at, err := geo.ParsePoint(req.At)
		if err != nil {
			reply(w, nil, err)
			return
		}
		p, err := d.pins.Pin(pin.PinOptions{Kind: kind, At: at, Note: req.Note, TTL: time.Duration(req.TTLS) * time.Second, CellM: req.CellM})
		reply(w, p, err)
	})
	mux.HandleFunc("POST /pin/confirm", func(w http.ResponseWriter, r *http.Request) {
		var req ConfirmRequest
		if !decode(w, r, &req) {
			return
		}
		say, err := pin.ParseSay(req.Say)
		if err != nil {
			reply(w, nil, err)
			return
		}
		id, err := d.pins.Confirm(r.Context(), req.ID, say)
		reply(w, AlertReply{ID: id.String()}, err)
	})
	mux.HandleFunc("POST /alert", func(w http.ResponseWriter, r *http.Request) {
		var req AlertRequest
		if !decode(w, r, &req) {
			return
		}
		a, err := parseArea(req.Near, req.RadiusKM)
		if err == nil && a == nil {
			err = errors.New("an alert needs --near and --radius")
		}
		if err != nil {
			reply(w, nil, err)
			return
		}
		id, err := d.pins.Alert(r.Context(), pin.AlertOptions{Near: a.Near, RadiusM: a.RadiusM, Text: req.Text, TTL: time.Duration(req.TTLS) * time.Second})
		reply(w, AlertReply{ID: id.String()}, err)
	})
	mux.HandleFunc("POST /pins", func(w http.ResponseWriter, r *http.Request) {
		var req PinsRequest
		if !decode(w, r, &req) {
			return
		}
		out, err := d.pinsList(r.Context(), req)
		reply(w, out, err)
	})
	mux.HandleFunc("POST /watch", func(w http.ResponseWriter, r *http.Request) {
		var req PinsRequest
		if !decode(w, r, &req) {
			return
		}
		a, err := parseArea(req.Near, req.RadiusKM)
		if err != nil {
			reply(w, nil, err)
			return
		}
		// A stream of JSON lines, one marker each, flushed as they come;
		// the first line is an empty object: the watch has started.
		fl, ok := w.(http.Flusher)
		if !ok {
			reply(w, nil, errors.New("daemon: streaming not supported"))
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		if err := enc.Encode(struct{}{}); err != nil {
			return
		}
		fl.Flush()
		err = d.pins.Watch(r.Context(), a, func(m pin.Marker) error {
			if err := enc.Encode(m); err != nil {
				return err
			}
			fl.Flush()
			return nil
		})
		if err != nil && r.Context().Err() == nil {
			enc.Encode(map[string]string{"error": err.Error()})
		}
	})
}

func (d *Daemon) pinsList(ctx context.Context, req PinsRequest) (*PinsReply, error) {
	a, err := parseArea(req.Near, req.RadiusKM)
	if err != nil {
		return nil, err
	}
	out := &PinsReply{Confirmations: d.pins.Config().Confirmations, Watched: true}
	q := pin.Query{}
	if a != nil {
		q.Near, q.RadiusM = &a.Near, a.RadiusM
		out.Areas = []pin.Area{*a}
		out.Watched = d.pins.Covered(*a)
		if !out.Watched && req.Fetch {
			if err := d.pins.Fetch(ctx, *a); err != nil {
				return nil, fmt.Errorf("read the area: %w", err)
			}
			out.Fetched = true
		}
	} else {
		out.Areas = d.pins.Areas()
		out.Watched = len(out.Areas) > 0
	}
	if out.Markers, err = d.pins.List(q); err != nil {
		return nil, err
	}
	if out.Pending, err = d.pins.PendingPins(); err != nil {
		return nil, err
	}
	out.Stats = d.pins.StatsOf(out.Markers, out.Pending)
	out.Now = time.Now()
	return out, nil
}

// Pin queues a pin; it is published after its delay.
func (a *API) Pin(ctx context.Context, req PinRequest) (*pin.Pending, error) {
	var p pin.Pending
	err := a.call(ctx, "POST", "/pin", req, &p)
	return &p, err
}

// ConfirmPin says that a pin is still there or gone; it returns the pin's
// whole id.
func (a *API) ConfirmPin(ctx context.Context, id, say string) (string, error) {
	var r AlertReply
	err := a.call(ctx, "POST", "/pin/confirm", ConfirmRequest{ID: id, Say: say}, &r)
	return r.ID, err
}

// Alert publishes an alert and returns its id.
func (a *API) Alert(ctx context.Context, req AlertRequest) (string, error) {
	var r AlertReply
	err := a.call(ctx, "POST", "/alert", req, &r)
	return r.ID, err
}

// Pins lists the live pins and alerts of an area, or of the watched areas.
func (a *API) Pins(ctx context.Context, req PinsRequest) (*PinsReply, error) {
	var r PinsReply
	err := a.call(ctx, "POST", "/pins", req, &r)
	return &r, err
}

// Watch calls show with the live pins and alerts of an area (or of the
// watched areas), then with each new one, until ctx ends; started is
// called once the daemon watches.
func (a *API) Watch(ctx context.Context, req PinsRequest, started func(), show func(pin.Marker) error) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, "POST", "http://komrade/watch", bytes.NewReader(b))
	if err != nil {
		return err
	}
	res, err := a.hc.Do(r)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(res.Body).Decode(&e)
		return errors.New(e.Error)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	first := true
	for sc.Scan() {
		if first {
			first = false
			if started != nil {
				started()
			}
			continue
		}
		var m struct {
			pin.Marker
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if err := show(m.Marker); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return ErrDaemonDied
}
