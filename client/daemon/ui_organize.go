package daemon

// The web interface's events, pins, alerts and watched areas: the
// daemon's own functions behind webui.Backend (ui.go has the rest).

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/client/pin"
	"github.com/komrade-net/komrade/client/webui"
)

// maxUIWatches bounds the areas the interface may watch at once (as
// client.toml's [[watch]]).
const maxUIWatches = 8

// uiWatches are the areas the interface watches: each a pin.Service.Watch
// running until it is removed or the daemon stops, as `komrade watch`
// runs until it is stopped. They are kept in memory only: watched while
// the daemon runs (client.toml's [[watch]] areas are the lasting ones).
type uiWatches struct {
	mu    sync.Mutex
	ctx   context.Context // the daemon's: ends every watch
	areas []*uiWatch      // in the order they were added
}

type uiWatch struct {
	a    pin.Area
	stop context.CancelFunc
}

// remove ends watch x and forgets it (when its Watch returned).
func (w *uiWatches) remove(x *uiWatch) {
	x.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, y := range w.areas {
		if y == x {
			w.areas = append(w.areas[:i], w.areas[i+1:]...)
			return
		}
	}
}

func sameArea(a, b pin.Area) bool {
	return fmt.Sprintf("%.6f,%.6f,%.0f", a.Near.Lat, a.Near.Lon, a.RadiusM) == fmt.Sprintf("%.6f,%.6f,%.0f", b.Near.Lat, b.Near.Lon, b.RadiusM)
}

// startUIWatch tells the interface's pages of every new alert and pin of
// client.toml's areas while the daemon runs.
func (d *Daemon) startUIWatch(ctx context.Context) {
	d.uiw.ctx = ctx
	if len(d.pins.Config().Areas) == 0 {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.pins.Watch(ctx, nil, d.showUI); err != nil && ctx.Err() == nil {
			d.log.Warn("web interface: watch of the configured areas", "err", err)
		}
	}()
}

// showUI tells the live pages of a new marker: "alert" (every page shows
// the live alerts) or "pins" (map pages).
func (d *Daemon) showUI(m pin.Marker) error {
	if m.Type == "alert" {
		d.notifyUI("alert")
	} else {
		d.notifyUI("pins")
	}
	return nil
}

func (b uiBackend) Events() ([]event.View, error) { return b.d.ev.List() }

func (b uiBackend) CreateEvent(ctx context.Context, o event.CreateOptions) (*event.Created, error) {
	cr, err := b.d.ev.Create(ctx, o)
	if cr != nil && len(cr.Invited) > 0 {
		b.d.wake() // the invitations go out now
	}
	return cr, err
}

func (b uiBackend) ShowEvent(ctx context.Context, id string) (*event.View, error) {
	eid, err := b.d.ev.Resolve(id)
	if err != nil {
		return nil, err
	}
	return b.d.ev.Show(ctx, eid)
}

func (b uiBackend) RSVP(ctx context.Context, id string, a event.Answer) error {
	eid, err := b.d.ev.Resolve(id)
	if err != nil {
		return err
	}
	return b.d.ev.RSVP(ctx, eid, a)
}

func (b uiBackend) UpdateEvent(ctx context.Context, id string, o event.UpdateOptions) (*event.View, error) {
	eid, err := b.d.ev.Resolve(id)
	if err != nil {
		return nil, err
	}
	return b.d.ev.Update(ctx, eid, o)
}

func (b uiBackend) Pins(a pin.Area) (*webui.Pins, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	cfg := b.d.pins.Config()
	out := &webui.Pins{Watched: b.d.pins.Covered(a), Confirmations: cfg.Confirmations,
		DelayMin: cfg.DelayMin, DelayMax: cfg.DelayMax, WatchEvery: cfg.WatchEvery}
	var err error
	if out.Markers, err = b.d.pins.List(pin.Query{Near: &a.Near, RadiusM: a.RadiusM}); err != nil {
		return nil, err
	}
	if out.Pending, err = b.d.pins.PendingPins(); err != nil {
		return nil, err
	}
	return out, nil
}

func (b uiBackend) ReadArea(ctx context.Context, a pin.Area) error {
	if err := b.d.pins.Fetch(ctx, a); err != nil {
		return err
	}
	b.d.notifyUI("pins")
	return nil
}

func (b uiBackend) Pin(o pin.PinOptions) (*pin.Pending, error) { return b.d.pins.Pin(o) }

func (b uiBackend) ConfirmPin(ctx context.Context, id string, say pin.Say) error {
	_, err := b.d.pins.Confirm(ctx, id, say)
	return err
}

func (b uiBackend) Alert(ctx context.Context, o pin.AlertOptions) (pin.ID, error) {
	return b.d.pins.Alert(ctx, o)
}

func (b uiBackend) Alerts() ([]pin.Marker, error) {
	ms, err := b.d.pins.List(pin.Query{})
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Type == "alert" {
			out = append(out, m)
		}
	}
	return out, nil
}

func (b uiBackend) WatchedAreas() []webui.WatchedArea {
	var out []webui.WatchedArea
	for _, a := range b.d.pins.Config().Areas {
		out = append(out, webui.WatchedArea{Area: a, Config: true})
	}
	w := &b.d.uiw
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.areas {
		out = append(out, webui.WatchedArea{Area: x.a})
	}
	return out
}

func (b uiBackend) Watch(a pin.Area) error {
	if err := a.Check(); err != nil {
		return err
	}
	d := b.d
	w := &d.uiw
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil {
		return errors.New("the daemon is stopping")
	}
	for _, x := range w.areas {
		if sameArea(x.a, a) {
			return nil
		}
	}
	for _, c := range d.pins.Config().Areas {
		if sameArea(c, a) {
			return nil
		}
	}
	if len(w.areas) >= maxUIWatches {
		return fmt.Errorf("at most %d areas watched from the interface: remove one first", maxUIWatches)
	}
	ctx, stop := context.WithCancel(w.ctx)
	x := &uiWatch{a: a, stop: stop}
	w.areas = append(w.areas, x)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer w.remove(x)
		if err := d.pins.Watch(ctx, &a, d.showUI); err != nil && ctx.Err() == nil {
			d.log.Warn("web interface: watch", "err", err)
		}
	}()
	return nil
}

func (b uiBackend) Unwatch(a pin.Area) error {
	w := &b.d.uiw
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.areas {
		if sameArea(x.a, a) {
			x.stop()
			w.areas = append(w.areas[:i], w.areas[i+1:]...)
			return nil
		}
	}
	return errors.New("this area is not watched from the interface (client.toml's [[watch]] areas stay until the config changes)")
}
