package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestEventAPI: through the daemon's API, a public event is created (and
// announced), listed, read with its RSVPs, answered, updated and
// cancelled; what the API refuses it refuses with a reason.
func TestEventAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("a network and a daemon")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	api := startDaemon(t, ctx, net.Client, log)
	for {
		if s, err := api.Status(ctx); err == nil && s.OfflineSince == nil && s.Nodes == len(net.Nodes) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the daemon never came online")
		case <-time.After(100 * time.Millisecond):
		}
	}
	when := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	for _, c := range []struct {
		req  daemon.EventCreateRequest
		want string
	}{
		{daemon.EventCreateRequest{Title: "x", When: when.Format(time.RFC3339), Where: "y", Public: true, Invite: []string{"bob"}}, "not both"},
		{daemon.EventCreateRequest{Title: "x", When: when.Format(time.RFC3339), Where: "y"}, "at least one contact"},
		{daemon.EventCreateRequest{Title: "x", When: when.Format(time.RFC3339), Where: "y", Invite: []string{"nobody"}}, "nobody"},
		{daemon.EventCreateRequest{Title: "x", When: "tomorrow", Where: "y", Public: true}, "--when"},
		{daemon.EventCreateRequest{Title: "x", When: time.Now().Add(-48 * time.Hour).Format(time.RFC3339), Where: "y", Public: true}, "past"},
		{daemon.EventCreateRequest{Title: " ", When: when.Format(time.RFC3339), Where: "y", Public: true}, "title is empty"},
		{daemon.EventCreateRequest{Title: "x", When: when.Format(time.RFC3339), Where: "y", Public: true, Near: "91,0"}, "--near"},
	} {
		if _, err := api.CreateEvent(ctx, &c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("create %+v: %v, want an error saying %q", c.req, err, c.want)
		}
	}

	cr, err := api.CreateEvent(ctx, &daemon.EventCreateRequest{Title: "Picnic", When: when.Format(time.RFC3339), Where: "the park",
		Near: "52.52,13.405", RadiusKM: 2, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cr.ID) != 64 || len(cr.Announcement) != 64 {
		t.Fatalf("created %+v", cr)
	}
	l, err := api.Events(ctx)
	if err != nil || len(l) != 1 || l[0].ID != cr.ID || l[0].Title != "Picnic" || l[0].Host != "you" || !l[0].Public {
		t.Fatalf("list: %+v, %v", l, err)
	}
	if err := api.RSVP(ctx, cr.ID[:10], "sure"); err == nil || !strings.Contains(err.Error(), "yes, no or maybe") {
		t.Fatalf("rsvp sure: %v", err)
	}
	if err := api.RSVP(ctx, cr.ID[:10], "yes"); err != nil {
		t.Fatal(err)
	}
	v, err := api.ShowEvent(ctx, cr.ID[:10])
	if err != nil {
		t.Fatal(err)
	}
	if v.RSVPs == nil || v.RSVPs.Yes != 1 || v.MyRSVP != "yes" || v.Near == nil || v.Announcement != cr.Announcement {
		t.Fatalf("show: %+v", v)
	}
	where := "the park, north gate"
	if v, err := api.UpdateEvent(ctx, &daemon.EventUpdateRequest{ID: cr.ID, Where: &where}); err != nil || v.Seq != 2 || v.Where != where {
		t.Fatalf("update: %+v, %v", v, err)
	}
	if _, err := api.CancelEvent(ctx, strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "do not host") {
		t.Fatalf("cancel of another's event: %v", err)
	}
	if _, err := api.CancelEvent(ctx, cr.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := api.ShowEvent(ctx, cr.ID); err != nil || !v.Cancelled || v.Seq != 3 {
		t.Fatalf("after cancel: %+v, %v", v, err)
	}
	if _, err := api.UpdateEvent(ctx, &daemon.EventUpdateRequest{ID: cr.ID, Where: &where}); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("update after cancel: %v", err)
	}
}
