package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
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
// Then, on the same network, organizing (organizeCLI): an event, a pin, an
// alert, the watch and the map.
func TestSocialFeedCLI(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("runs daemons and a testnet")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	pf := startTestnet(t, bin, dir)
	run := runner(t, bin)
	homeA, homeB := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	// The testnet's client config, with pins published 1–3 s after they
	// are made instead of 30 s – 2 min (organizeCLI); all else as a user
	// gets it.
	net, err := os.ReadFile(filepath.Join(dir, "net", "client.toml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "client.toml")
	os.WriteFile(conf, append(net, "\npin_delay_min = \"1s\"\npin_delay_max = \"3s\"\n"...), 0o600)
	for _, h := range []string{homeA, homeB} {
		run("init", "--home", h, "--passphrase-file", pf)
		_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", h, "--passphrase-file", pf, "--config", conf)
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

	organizeCLI(t, bin, dir, homeA, homeB, run)

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

// organizeCLI drives event, pin, alert, watch and map through the built
// binary: bob watches an area while alice announces a public event there,
// drops a pin and sends an alert; bob sees both arrive live, answers the
// event, confirms the pin and draws the map, also as GeoJSON.
func organizeCLI(t *testing.T, bin, dir, homeA, homeB string, run func(...string) string) {
	t.Helper()
	const near = "52.52,13.405"
	_, watch := startProcess(t, bin, "watch", "--near", near, "--radius", "3", "--home", homeB)
	waitLine(t, watch, regexp.MustCompile(`^watching 3 km around`), 30*time.Second)

	when := time.Now().Add(24 * time.Hour).Format("2006-01-02 15:04")
	var ev struct{ ID, Announcement string }
	out := run("event", "create", "--title", "Assembly", "--when", when, "--where", "the square", "--near", near, "--public", "--json", "--home", homeA)
	if err := json.Unmarshal([]byte(out), &ev); err != nil || len(ev.ID) != 64 || ev.Announcement == "" {
		t.Fatalf("event create --json: %+v %v\n%s", ev, err, out)
	}
	if out := run("event", "show", ev.ID, "--home", homeB); !strings.Contains(out, "title:      Assembly") || !strings.Contains(out, "the square") {
		t.Fatalf("event show (guest):\n%s", out)
	}
	if out := run("event", "rsvp", ev.ID, "yes", "--home", homeB); !strings.Contains(out, "answered yes") {
		t.Fatalf("event rsvp:\n%s", out)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		out := run("event", "show", ev.ID, "--home", homeA)
		if strings.Contains(out, "RSVPs:      1 yes, 0 maybe, 0 no") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event show (host) never counted the RSVP:\n%s", out)
		}
	}

	var p struct{ ID string }
	out = run("pin", "--kind", "police", "--at", "52.521,13.406", "--note", "two vans", "--json", "--home", homeA)
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.ID) != 64 {
		t.Fatalf("pin --json: %+v %v\n%s", p, err, out)
	}
	if out := run("alert", "--near", near, "--radius", "2", "kettle at the bridge", "--home", homeA); !strings.Contains(out, "alert") {
		t.Fatalf("alert:\n%s", out)
	}
	waitLine(t, watch, regexp.MustCompile(`^!!! ALERT `), 90*time.Second)
	waitLine(t, watch, regexp.MustCompile(`^    kettle at the bridge$`), 5*time.Second)
	waitLine(t, watch, regexp.MustCompile(`^pin police `+p.ID[:12]), 90*time.Second)

	if out := run("pin", "confirm", p.ID, "still", "--home", homeB); !strings.Contains(out, "still") {
		t.Fatalf("pin confirm:\n%s", out)
	}
	gj := filepath.Join(dir, "pins.geojson")
	var m string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(2 * time.Second) {
		m = run("map", "--near", near, "--radius", "3", "--width", "250", "--geojson", gj, "--home", homeB)
		if regexp.MustCompile(`(?m)^P police .* 2 conf, confirmed .*two vans$`).MatchString(m) {
			break // alice's own "still" and bob's: confirmed at 2
		}
		if time.Now().After(deadline) {
			t.Fatalf("map never showed the confirmed pin:\n%s", m)
		}
	}
	if !strings.Contains(m, "kettle at the bridge") {
		t.Fatalf("map without the alert:\n%s", m)
	}
	if fi, err := os.Stat(gj); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("geojson file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(gj)
	var fc struct {
		Type     string
		Features []struct {
			Type     string
			Geometry struct {
				Type        string
				Coordinates []float64
			}
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(b, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 2 {
		t.Fatalf("geojson: %v\n%s", err, b)
	}
	kinds := map[string]bool{}
	for _, f := range fc.Features {
		c := f.Geometry.Coordinates
		// RFC 7946: a Point, [longitude, latitude].
		if f.Type != "Feature" || f.Geometry.Type != "Point" || len(c) != 2 || c[0] < 13.3 || c[0] > 13.5 || c[1] < 52.4 || c[1] > 52.6 {
			t.Fatalf("geojson feature: %+v", f)
		}
		kinds[fmt.Sprint(f.Properties["kind"])] = true
	}
	if !kinds["police"] || !kinds["alert"] {
		t.Fatalf("geojson kinds: %v\n%s", kinds, b)
	}
	if out := run("status", "--home", homeB); !regexp.MustCompile(`watch .*1 live alerts, 1 live pins`).MatchString(out) {
		t.Fatalf("status:\n%s", out)
	}
}
