package daemon_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestSocialPublishAPI: through the daemon's API, a profile with a photo
// is set and read back, a post with an image goes out and is read back by
// its id with the image, and what the API refuses it refuses with a
// reason.
func TestSocialPublishAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("a network and a daemon")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	cfg := net.Client
	cfg.LambdaP = 20 // the test's time, not the default rates
	api := startDaemon(t, ctx, cfg, log)
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

	// A PNG photo (the daemon gets the file's bytes).
	m := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	m.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255})
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, m); err != nil {
		t.Fatal(err)
	}
	name, bio := "Alice", "hello"
	addr, err := api.SetProfile(ctx, &daemon.ProfileSetRequest{Name: &name, Bio: &bio, Photo: pngBuf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	// profile publish --name keeps the bio and the photo.
	if a2, err := api.PublishProfile(ctx, "Alice A."); err != nil || a2 != addr {
		t.Fatalf("publish: %s %v", a2, err)
	}
	p, err := api.ShowProfile(ctx, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Address != addr || p.Name != "Alice A." || p.Bio != "hello" || p.Visibility != "world" || len(p.Photo) == 0 {
		t.Fatalf("own profile: %+v", p)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.Photo)); err != nil || cfg.Width != 300 || cfg.Height != 200 {
		t.Fatalf("the photo as published: %+v %v", cfg, err)
	}
	if pa, err := api.ShowProfile(ctx, addr, false); err != nil || pa.Name != "Alice A." || len(pa.Photo) != 0 || len(pa.PhotoSize) != 2 {
		t.Fatalf("profile by address without the photo: %+v %v", pa, err)
	}

	id, err := api.Post(ctx, &daemon.PostRequest{Text: "a post with a picture", Image: pngBuf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := api.ShowPost(ctx, id, "full")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != id || v.Text != "a post with a picture" || v.Author != addr || v.Anonymous || v.To != "world" || len(v.Image) == 0 {
		t.Fatalf("post read back: %+v", v)
	}
	// The post is first among the profile's recent ones.
	if p, err := api.ShowProfile(ctx, "", false); err != nil || len(p.Recent) == 0 || p.Recent[0] != id {
		t.Fatalf("recent posts after posting: %+v %v", p, err)
	}
	area, err := api.Post(ctx, &daemon.PostRequest{Text: "near here", Near: "48.8566,2.3522", RadiusKM: 2, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := api.ShowPost(ctx, area, ""); err != nil || !v.Anonymous || v.Author != "" || v.To != "area" || v.Area == nil || v.Area.RadiusM != 2000 {
		t.Fatalf("anonymous area post read back: %+v %v", v, err)
	}

	for _, bad := range []struct {
		req  daemon.PostRequest
		want string
	}{
		{daemon.PostRequest{Text: strings.Repeat("a", 1001)}, "at most 1000"},
		{daemon.PostRequest{Text: "x", Image: []byte("not an image")}, "not a JPEG, PNG or GIF"},
		{daemon.PostRequest{Text: "x", To: "friends", Anonymous: true}, "never anonymous"},
		{daemon.PostRequest{Text: "x", Near: "1,2", RadiusKM: 26}, "at most 25 km"},
		{daemon.PostRequest{Text: "x", Reply: "abc"}, "64 hex"},
	} {
		if _, err := api.Post(ctx, &bad.req); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("post %+v: %v, want an error saying %q", bad.req.To, err, bad.want)
		}
	}
	if _, err := api.ShowProfile(ctx, "nobody", false); err == nil || !strings.Contains(err.Error(), "neither an address") {
		t.Errorf("profile of an unknown contact: %v", err)
	}
}
