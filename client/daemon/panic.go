package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/komrade-net/komrade/client"
)

// panicRoutes serves POST /panic: `komrade panic`.
func (d *Daemon) panicRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) {
		rep, err := d.Panic()
		reply(w, rep, err)
	})
}

// Panic destroys the daemon's store (client.Panic: its key file and salt
// overwritten, its files removed) while it is open, stops the daemon's
// loops, and then closes Done: the daemon must stop (the command exits).
// The keys the daemon held in memory go with the process. A second call
// reports nothing more.
func (d *Daemon) Panic() (*client.PanicReport, error) {
	var rep *client.PanicReport
	var err error
	first := false
	d.panicOnce.Do(func() {
		first = true
		d.stop() // the loops end; what they still do with the store fails
		rep, err = client.Panic(d.home, d.st)
		close(d.panicked)
	})
	if !first {
		rep, err = &client.PanicReport{}, nil
	}
	return rep, err
}

// Done is closed when the daemon destroyed its store (Panic) and must be
// closed: whoever runs the daemon then calls Close and exits.
func (d *Daemon) Done() <-chan struct{} { return d.panicked }

// Panic asks the daemon to destroy its store (see Daemon.Panic); the
// daemon stops once it has answered.
func (a *API) Panic(ctx context.Context) (*client.PanicReport, error) {
	var r client.PanicReport
	err := a.call(ctx, "POST", "/panic", nil, &r)
	return &r, err
}

// shutdownWait is how long Close lets running API calls finish: a few
// seconds normally; after Panic a second at most, for the panic's own
// reply (the store is gone, so other calls fail at once). With none, the
// reply raced the closing connection and `komrade panic` could report a
// crash instead of what was destroyed.
func (d *Daemon) shutdownWait() time.Duration {
	select {
	case <-d.panicked:
		return time.Second
	default:
		return 5 * time.Second
	}
}
