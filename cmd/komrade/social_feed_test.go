package main_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSocialFeedCLI drives the built binary: alice posts with an image,
// bob follows her and his daemon brings the post into his following feed
// by itself; bob saves its thumbnail, votes, mutes her and watches an area.
func TestSocialFeedCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs daemons and a testnet")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	_, lines := startProcess(t, bin, "--log-level", "warn", "testnet", "--nodes", "9", "--dir", filepath.Join(dir, "net"))
	waitLine(t, lines, regexp.MustCompile(`running until interrupted`), 90*time.Second)
	pf := filepath.Join(dir, "pass")
	os.WriteFile(pf, []byte("passphrase\n"), 0o600)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("komrade %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	homeA, homeB := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	for _, h := range []string{homeA, homeB} {
		run("init", "--home", h, "--passphrase-file", pf)
		_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", h, "--passphrase-file", pf, "--config", filepath.Join(dir, "net", "client.toml"))
		waitLine(t, dl, regexp.MustCompile(`daemon running`), 60*time.Second)
	}
	pub := run("profile", "publish", "--name", "Alice", "--home", homeA)
	addr := pub[strings.LastIndex(pub, "\n")+1:]
	m := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, m, &jpeg.Options{Quality: 80})
	pic := filepath.Join(dir, "pic.jpg")
	os.WriteFile(pic, buf.Bytes(), 0o600)
	var posted struct{ ID string }
	if err := json.Unmarshal([]byte(run("post", "hello", "followers", "--image", pic, "--json", "--home", homeA)), &posted); err != nil || len(posted.ID) != 64 {
		t.Fatalf("post --json: %+v %v", posted, err)
	}

	run("follow", addr, "--home", homeB)
	if out := run("following", "--home", homeB); !strings.Contains(out, addr) {
		t.Fatalf("following:\n%s", out)
	}
	type item struct {
		ID, Author, Address, Text, Thumb string
		Up, Down                         int
	}
	var page struct {
		Items []item
		Fresh map[string]time.Time
	}
	feed := func(kind string, args ...string) {
		t.Helper()
		page.Items = nil
		out := run(append([]string{"feed", kind, "--json", "--home", homeB}, args...)...)
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("feed --json: %v\n%s", err, out)
		}
	}
	// The daemon reads the profile of an author just followed, and the
	// post it lists, by itself.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		feed("following")
		if len(page.Items) == 1 && page.Items[0].ID == posted.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("following feed: %+v", page)
		}
	}
	if it := page.Items[0]; it.Text != "hello followers" || it.Address != addr || it.Thumb == "" || page.Fresh["following"].IsZero() {
		t.Fatalf("following feed: %+v", page)
	}
	if out := run("feed", "following", "--home", homeB); !strings.Contains(out, "following feed, refreshed: following") ||
		!strings.Contains(out, posted.ID[:12]) || !strings.Contains(out, "  hello followers") {
		t.Fatalf("feed following:\n%s", out)
	}
	// Shown once, its thumbnail comes with a later round.
	pics := filepath.Join(dir, "pics")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		run("feed", "following", "--save-images", pics, "--home", homeB)
		if b, err := os.ReadFile(filepath.Join(pics, posted.ID+".jpg")); err == nil {
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Fatalf("saved thumbnail: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the thumbnail never came")
		}
	}

	if out := run("vote", posted.ID, "up", "--home", homeB); !strings.Contains(out, "+1 -0") {
		t.Fatalf("vote:\n%s", out)
	}
	feed("following")
	if page.Items[0].Up != 1 {
		t.Fatalf("tally after voting: %+v", page.Items[0])
	}
	if out := run("mute", addr, "--home", homeB); !strings.Contains(out, "muted author") {
		t.Fatalf("mute:\n%s", out)
	}
	feed("following")
	if len(page.Items) != 0 {
		t.Fatalf("a muted author's post shows: %+v", page.Items)
	}
	run("unmute", addr, "--home", homeB)
	run("unfollow", addr, "--home", homeB)

	if out := run("area", "add", "--near", "52.52,13.405", "--radius", "5", "--home", homeB); !strings.Contains(out, "decoys each refresh") {
		t.Fatalf("area add:\n%s", out)
	}
	if out := run("area", "list", "--home", homeB); !strings.Contains(out, "52.520000,13.405000  5 km") {
		t.Fatalf("area list:\n%s", out)
	}
	run("area", "remove", "--near", "52.52,13.405", "--radius", "5", "--home", homeB)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"feed", "everything"}, "want world, friends, area or following"},
		{[]string{"feed", "area", "--near", "52.5,13.4"}, "go together"},
		{[]string{"vote", posted.ID, "sideways"}, "want up, down or clear"},
		{[]string{"follow", "nobody"}, "64 hex digits"},
		{[]string{"area", "add", "--near", "52.5,13.4", "--radius", "300"}, "25 km"},
	} {
		out, err := exec.Command(bin, append(c.args, "--home", homeB)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("komrade %v: %v %s, want %q", c.args, err, out, c.want)
		}
	}
}
