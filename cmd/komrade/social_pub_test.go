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

// TestSocialPublishCLI drives the built binary: profile set with a photo
// and show (by address and by contact, saving the photo), profile publish
// as before, post with an image, post show saving the image, an anonymous
// area post and a reply.
func TestSocialPublishCLI(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("runs daemons and a testnet")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	pf := startTestnet(t, bin, dir)
	run := runner(t, bin)
	homeA, homeB := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	for _, h := range []string{homeA, homeB} {
		run("init", "--home", h, "--passphrase-file", pf)
		_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", h, "--passphrase-file", pf, "--config", filepath.Join(dir, "net", "client.toml"))
		waitLine(t, dl, regexp.MustCompile(`daemon running`), 60*time.Second)
	}
	code := run("contact", "invite", "bob", "--home", homeA)
	run("contact", "add", code, "--name", "alice", "--home", homeB)

	m := image.NewRGBA(image.Rect(0, 0, 600, 300))
	for i := range m.Pix {
		m.Pix[i] = byte(i*13 + i/2400)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, m, &jpeg.Options{Quality: 80})
	pic := filepath.Join(dir, "pic.jpg")
	os.WriteFile(pic, buf.Bytes(), 0o600)

	set := run("profile", "set", "--name", "Alice", "--bio", "gardens", "--photo", pic, "--home", homeA)
	addr := set[strings.LastIndex(set, "\n")+1:]
	if len(addr) != 64 {
		t.Fatalf("profile set: %s", set)
	}
	// `profile publish` as the README has it: the bio and photo stay.
	pub := run("profile", "publish", "--name", "Alice A.", "--home", homeA)
	if pub[strings.LastIndex(pub, "\n")+1:] != addr {
		t.Fatalf("profile publish: %s", pub)
	}
	saved := filepath.Join(dir, "photo.jpg")
	show := run("profile", "show", addr, "--save-photo", saved, "--home", homeB)
	if !strings.Contains(show, "name:        Alice A.") || !strings.Contains(show, "bio:         gardens") ||
		!strings.Contains(show, "contact:     alice") || !strings.Contains(show, "photo:       448×224") {
		t.Fatalf("profile show:\n%s", show)
	}
	if b, err := os.ReadFile(saved); err != nil || bytes.Contains(b, []byte("Exif")) {
		t.Fatalf("saved photo: %v", err)
	} else if cfg, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 448 {
		t.Fatalf("saved photo: %+v %v", cfg, err)
	}
	var pv struct {
		Address, Name, Contact string
		Recent                 []string
	}
	if err := json.Unmarshal([]byte(run("profile", "show", "alice", "--json", "--home", homeB)), &pv); err != nil || pv.Address != addr || pv.Contact != "alice" {
		t.Fatalf("profile show CONTACT --json: %+v %v", pv, err)
	}

	var posted struct{ ID string }
	if err := json.Unmarshal([]byte(run("post", "hello", "world", "--image", pic, "--json", "--home", homeA)), &posted); err != nil || len(posted.ID) != 64 {
		t.Fatalf("post --json: %+v %v", posted, err)
	}
	img := filepath.Join(dir, "post.jpg")
	out := run("post", "show", posted.ID, "--save-image", img, "--home", homeB)
	if !strings.Contains(out, "from alice (") || !strings.Contains(out, "to world") || !strings.Contains(out, "  hello world") || !strings.Contains(out, "saved to "+img) {
		t.Fatalf("post show:\n%s", out)
	}
	if _, err := os.Stat(img); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(run("profile", "show", "--json", "--home", homeA)), &pv); err != nil || len(pv.Recent) == 0 || pv.Recent[0] != posted.ID {
		t.Fatalf("own profile after posting: %+v %v", pv, err)
	}

	anon := run("post", "--anonymous", "--near", "52.52,13.405", "--radius", "2", "--reply", posted.ID, "--home", homeB, "--", "--not a flag")
	anonID := anon[strings.LastIndex(anon, "\n")+1:]
	var v struct {
		Text, To, Reply, Author string
		Anonymous               bool
		Area                    struct {
			RadiusM int `json:"radius_m"`
		}
	}
	if err := json.Unmarshal([]byte(run("post", "show", anonID, "--json", "--home", homeA)), &v); err != nil ||
		v.Text != "--not a flag" || v.To != "area" || !v.Anonymous || v.Author != "" || v.Reply != posted.ID || v.Area.RadiusM != 2000 {
		t.Fatalf("anonymous area reply: %+v %v", v, err)
	}

	// Refused with a reason.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"post", strings.Repeat("x", 1001)}, "at most 1000"},
		{[]string{"post", "x", "--to", "friends", "--anonymous"}, "never anonymous"},
		{[]string{"post", "x", "--image", filepath.Join(dir, "pass")}, "not a JPEG, PNG or GIF"},
		{[]string{"profile", "set", "--visibility", "local"}, "--near"},
	} {
		out, err := exec.Command(bin, append(c.args, "--home", homeA)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("komrade %v: %v %s, want %q", c.args[0], err, out, c.want)
		}
	}
}
