package daemon_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/mixnode/testnet"
)

// TestFeedAPI: the daemon's refresher runs by itself (the world feed
// becomes fresh without being asked), and the API follows, mutes, watches
// areas and votes.
func TestFeedAPI(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	net, err := testnet.Start(ctx, testnet.Options{Nodes: 9, LambdaM: -1, Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Close)
	api := startDaemon(t, ctx, net.Client, log)

	for {
		page, err := api.Feed(ctx, daemon.FeedRequest{Kind: "world"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := page.Fresh["world"]; ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the refresher never refreshed the world feed: %+v", page)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if _, err := api.Feed(ctx, daemon.FeedRequest{Kind: "everything"}); err == nil {
		t.Fatal("a feed of an unknown kind")
	}

	pub, _, _ := ed25519.GenerateKey(nil)
	addr := hex.EncodeToString(pub)
	if err := api.Follow(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if fs, err := api.Following(ctx); err != nil || len(fs) != 1 || fs[0].Address != addr {
		t.Fatalf("following: %+v %v", fs, err)
	}
	if err := api.Unfollow(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if m, err := api.Mute(ctx, addr); err != nil || m.What != "author" {
		t.Fatalf("mute: %+v %v", m, err)
	}
	if ms, err := api.Mutes(ctx); err != nil || len(ms) != 1 {
		t.Fatalf("mutes: %+v %v", ms, err)
	}
	if err := api.Unmute(ctx, addr); err != nil {
		t.Fatal(err)
	}
	w, err := api.AddArea(ctx, "52.52,13.405", 5)
	if err != nil || w.Cells == 0 || w.Decoys == 0 {
		t.Fatalf("area add: %+v %v", w, err)
	}
	if ws, err := api.Areas(ctx); err != nil || len(ws) != 1 {
		t.Fatalf("areas: %+v %v", ws, err)
	}
	if _, err := api.AddArea(ctx, "52.52,13.405", 300); err == nil {
		t.Fatal("an area of 300 km")
	}
	page, err := api.Feed(ctx, daemon.FeedRequest{Kind: "area", Near: "48.85,2.35", RadiusKM: 2})
	if err != nil || page.Note == "" {
		t.Fatalf("a circle outside the areas: %+v %v", page, err)
	}
	if err := api.RemoveArea(ctx, "52.52,13.405", 5); err != nil {
		t.Fatal(err)
	}

	post := hex.EncodeToString(pub) // any 32 bytes name a vote set
	tl, err := api.Vote(ctx, post, "up")
	if err != nil || tl.Up != 1 || tl.Mine != "up" {
		t.Fatalf("vote: %+v %v", tl, err)
	}
	if _, err := api.Vote(ctx, post, "sideways"); err == nil {
		t.Fatal("a vote sideways")
	}
}
