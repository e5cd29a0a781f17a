package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The binary the tests drive, built once for the package (a link of the
// whole binary costs seconds of CPU) into binDir, which TestMain removes.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildKomrade returns the built binary, compiling it at the first call.
func buildKomrade(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "komrade-test-bin"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "komrade")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startTestnet runs `komrade testnet` (9 nodes) in dir/net until the test
// ends and writes a passphrase file for the users; it returns that file.
func startTestnet(t *testing.T, bin, dir string) string {
	t.Helper()
	_, lines := startProcess(t, bin, "--log-level", "warn", "testnet", "--nodes", "9", "--dir", filepath.Join(dir, "net"))
	waitLine(t, lines, regexp.MustCompile(`running until interrupted`), 90*time.Second)
	pf := filepath.Join(dir, "pass")
	if err := os.WriteFile(pf, []byte("passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return pf
}

// runner returns a function that runs bin with args, fails the test if it
// fails, and returns its output, trimmed.
func runner(t *testing.T, bin string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("komrade %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

// startProcess starts bin with args and returns a channel of its stdout
// lines; the process is interrupted and reaped at cleanup.
func startProcess(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd, lines
}

// waitLine returns the first line matching re, failing after timeout.
func waitLine(t *testing.T, lines <-chan string, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("process exited before printing %q", re)
			}
			t.Log(l)
			if re.MatchString(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %q", re)
		}
	}
}

// TestTestnetAndPing runs `komrade testnet` and `komrade ping` as separate
// processes, then has a node made by `komrade mixnode init` join the testnet
// by its bootstrap address and shows up in the directory ping sees.
func TestTestnetAndPing(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	_, lines := startProcess(t, bin, "--log-level", "warn", "testnet", "--nodes", "9", "--dir", dir, "--epoch", "2m")
	waitLine(t, lines, regexp.MustCompile(`running until interrupted`), 90*time.Second)
	cfg := filepath.Join(dir, "client.toml")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "ping", "--config", cfg, "--count", "10").CombinedOutput()
	t.Logf("ping:\n%s", out)
	if err != nil {
		t.Fatalf("ping failed: %v", err)
	}
	if !strings.Contains(string(out), "10/10 replies") {
		t.Fatal("ping did not report 10/10 replies")
	}

	// A node set up with `mixnode init` joins the running testnet.
	boot := firstNodeAddr(t, dir)
	nodeDir := filepath.Join(t.TempDir(), "node")
	out, err = exec.Command(bin, "mixnode", "init", "--datadir", nodeDir,
		"--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", boot, "--network", filepath.Join(dir, "network.toml")).CombinedOutput()
	if err != nil {
		t.Fatalf("mixnode init: %v\n%s", err, out)
	}
	fi, err := os.Stat(filepath.Join(nodeDir, "identity.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity key: %v, mode %v", err, fi.Mode().Perm())
	}
	_, nlines := startProcess(t, bin, "--log-level", "warn", "mixnode", "run", "--config", filepath.Join(nodeDir, "komrade-node.toml"))
	waitLine(t, nlines, regexp.MustCompile(`running; addresses`), 60*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err = exec.CommandContext(ctx, bin, "ping", "--config", cfg, "--count", "3").CombinedOutput()
		if err == nil && strings.Contains(string(out), ", 10 nodes") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new node never appeared in the directory:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("after join:\n%s", out)
}

// firstNodeAddr reads a node address from the client config's gateways.
func firstNodeAddr(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "client.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"(/ip4/[^"]+/p2p/[^"]+)"`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no gateway address in client.toml:\n%s", b)
	}
	return m[1]
}

// TestPingErrors checks the messages a user sees for a missing or bad
// config and an unreachable gateway.
func TestPingErrors(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil {
			t.Fatalf("komrade %v succeeded, want failure:\n%s", args, out)
		}
		return string(out)
	}
	if out := run("ping", "--config", filepath.Join(dir, "nope.toml")); !strings.Contains(out, "no such file") {
		t.Errorf("missing config: %s", out)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("gateways = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg\"]\ncolour = 1\n"), 0o600)
	if out := run("ping", "--config", bad); !strings.Contains(out, "colour") {
		t.Errorf("unknown key not named: %s", out)
	}
	bad2 := filepath.Join(dir, "bad2.toml")
	os.WriteFile(bad2, []byte("gateways = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg\"]\nnetwork = \"abc\"\n"), 0o600)
	if out := run("ping", "--config", bad2); !strings.Contains(out, "config: network:") {
		t.Errorf("invalid field not named: %s", out)
	}
	// A network parameter in a client config says where it went.
	os.WriteFile(bad2, []byte("gateways = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg\"]\nmu = \"50ms\"\n"), 0o600)
	if out := run("ping", "--config", bad2); !strings.Contains(out, "mu: moved to the network file") {
		t.Errorf("old key: %s", out)
	}
	unreachable := filepath.Join(dir, "unreachable.toml")
	os.WriteFile(unreachable, []byte("gateways = [\"/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHWRkn53ARB4Mbt4xBdFRwyrgsGXWnxcHW1au8Z7peNeg\"]\n"), 0o600)
	if out := run("ping", "--config", unreachable); !strings.Contains(out, "no gateway usable") {
		t.Errorf("unreachable gateway: %s", out)
	}
	if out := run("mixnode", "run", "--config", unreachable); !strings.Contains(out, "unknown key") {
		t.Errorf("client config given to mixnode run: %s", out)
	}
}

// TestInit creates an identity with the binary: a fingerprint is printed,
// the store is 0600, and a second init refuses to overwrite it.
func TestInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	pf := filepath.Join(dir, "pass")
	os.WriteFile(pf, []byte("a long passphrase\n"), 0o600)
	home := filepath.Join(dir, "home")
	out, err := exec.Command(bin, "init", "--home", home, "--passphrase-file", pf).CombinedOutput()
	if err != nil || !regexp.MustCompile(`fingerprint: ([0-9a-f]{4} ){7}[0-9a-f]{4}`).Match(out) {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(home, "state.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v", err)
	}
	out, err = exec.Command(bin, "init", "--home", home, "--passphrase-file", pf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already exists") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
}

// TestDemo runs `komrade demo`: a network, two users, an invite and
// messages both ways, exit status 0.
func TestDemo(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("runs the demo")
	}
	bin := buildKomrade(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--log-level", "error", "demo", "--messages", "2").CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "demo complete") || strings.Count(string(out), "received") != 4 {
		t.Fatalf("demo: %v", err)
	}
}

// TestMessagingCLI drives the built binary as a person would: init, two
// daemons on a testnet, contact invite and add, send both ways, inbox.
func TestMessagingCLI(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("runs daemons and a testnet")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	pf := startTestnet(t, bin, dir)
	run := runner(t, bin)
	homeA, homeB := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	// Without a daemon the commands say how to start one.
	if out, err := exec.Command(bin, "inbox", "--home", homeA).CombinedOutput(); err == nil || !strings.Contains(string(out), "komrade daemon") {
		t.Fatalf("inbox without daemon: %v %s", err, out)
	}
	for _, h := range []string{homeA, homeB} {
		run("init", "--home", h, "--passphrase-file", pf)
		_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", h, "--passphrase-file", pf, "--config", filepath.Join(dir, "net", "client.toml"))
		waitLine(t, dl, regexp.MustCompile(`daemon running`), 60*time.Second)
	}
	checkUICommand(t, run("ui", "--no-browser", "--home", homeA), homeA)
	code := run("contact", "invite", "bob", "--home", homeA)
	run("contact", "add", code, "--name", "alice", "--home", homeB)
	run("send", "alice", "hello", "from", "bob", "--home", homeB)
	// Alice's text tries to clear Bob's screen and forge a line from
	// someone else: Bob's terminal gets neither.
	run("send", "--home", homeA, "bob", "hi bob\x1b[2J\n[12:00] carol: forged")
	waitInbox := func(home, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		var all string
		for time.Now().Before(deadline) {
			all += run("inbox", "--home", home) + "\n"
			if strings.Contains(all, want) {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("inbox of %s never showed %q:\n%s", home, want, all)
	}
	waitInbox(homeA, "bob: hello from bob")
	waitInbox(homeB, "alice: hi bob\\u001b[2J\n        [12:00] carol: forged")
	if out := run("inbox", "--home", homeA); !strings.Contains(out, "no unread") {
		t.Fatalf("messages not marked read: %s", out)
	}
	// Read messages are kept (keep_read defaults to 24h) and shown again.
	if out := run("history", "bob", "--home", homeA); !strings.Contains(out, "kept for 24h (keep_read in client.toml)") ||
		!regexp.MustCompile(`(?m)^-- .* --\n\[\d\d:\d\d\] bob: hello from bob$`).MatchString(out) {
		t.Fatalf("history: %s", out)
	}
	var hist struct {
		KeepRead string `json:"keep_read"`
		Messages []struct{ From, Text string }
	}
	if err := json.Unmarshal([]byte(run("history", "bob", "--json", "--home", homeA)), &hist); err != nil ||
		hist.KeepRead != "24h0m0s" || len(hist.Messages) != 1 || hist.Messages[0].Text != "hello from bob" {
		t.Fatalf("history --json: %v %+v", err, hist)
	}
	if out, err := exec.Command(bin, "history", "nobody", "--home", homeA).CombinedOutput(); err == nil || !strings.Contains(string(out), `no contact "nobody"`) {
		t.Fatalf("history of an unknown contact: %v %s", err, out)
	}
	if show := run("contact", "show", "--home", homeA); !regexp.MustCompile(`bob\s+([0-9a-f]{4} ){7}[0-9a-f]{4}`).MatchString(show) {
		t.Fatalf("contact show: %s", show)
	}
	if out := run("outbox", "--home", homeA); !regexp.MustCompile(`acknowledged\s+bob\s+1/1\s+"hi bob\\x1b\[2J\\n`).MatchString(out) {
		t.Fatalf("outbox: %s", out)
	}

	// Flags may follow the arguments, and after -- everything is text,
	// even words that are flag names.
	var sent struct{ Text, State string }
	if err := json.Unmarshal([]byte(run("send", "bob", "flags", "last", "--json", "--home", homeA)), &sent); err != nil ||
		sent.Text != "flags last" || sent.State != "acknowledged" {
		t.Fatalf("send with --json after the text: %v %+v", err, sent)
	}
	run("send", "--home", homeA, "bob", "--", "--weird", "--json")
	var outbox []struct{ Text string }
	if err := json.Unmarshal([]byte(run("outbox", "--home", homeA, "--json")), &outbox); err != nil ||
		!slices.ContainsFunc(outbox, func(o struct{ Text string }) bool { return o.Text == "--weird --json" }) {
		t.Fatalf("text after --: %v %+v", err, outbox)
	}
	waitInbox(homeB, "alice: --weird --json")
	var inv struct{ Code string }
	if err := json.Unmarshal([]byte(run("contact", "invite", "dave", "--json", "--home", homeA)), &inv); err != nil || inv.Code == "" {
		t.Fatalf("contact invite NAME --json: %v %+v", err, inv)
	}
	if out := run("--version"); !strings.Contains(out, "komrade version") {
		t.Fatalf("--version: %s", out)
	}

	// A friend request from Carol, who knows only Alice's address.
	pub := run("profile", "publish", "--name", "Alice", "--home", homeA)
	addr := pub[strings.LastIndex(pub, "\n")+1:]
	homeC := filepath.Join(dir, "carol")
	run("init", "--home", homeC, "--passphrase-file", pf)
	_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", homeC, "--passphrase-file", pf, "--config", filepath.Join(dir, "net", "client.toml"))
	waitLine(t, dl, regexp.MustCompile(`daemon running`), 60*time.Second)
	run("contact", "request", addr, "--name", "alice", "--as", "Carol", "--note", "from the march", "--home", homeC)
	var reqs []struct{ ID, From, Note, Fingerprint string }
	json.Unmarshal([]byte(run("contact", "requests", "--json", "--home", homeA)), &reqs)
	if len(reqs) != 1 || reqs[0].From != "Carol" || reqs[0].Note != "from the march" {
		t.Fatalf("requests: %+v", reqs)
	}
	run("contact", "accept", reqs[0].ID, "--name", "carol", "--home", homeA)
	if out := run("send", "alice", "hello from carol", "--no-wait", "--home", homeC); !regexp.MustCompile(`message \d+ queued`).MatchString(out) {
		t.Fatalf("send --no-wait: %s", out)
	}
	waitInbox(homeA, "carol: hello from carol")
	// Carol sees Alice confirmed once Alice's hello arrives.
	deadline := time.Now().Add(60 * time.Second)
	for {
		show := run("contact", "show", "--home", homeC)
		if regexp.MustCompile(`alice\s+([0-9a-f]{4} ){7}[0-9a-f]{4}`).MatchString(show) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("carol's contacts: %s", show)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// --background: the passphrase is read in the foreground (here from a
	// file), handed to a detached daemon, and the command returns once it
	// serves.
	homeE := filepath.Join(dir, "erin")
	run("init", "--home", homeE, "--passphrase-file", pf)
	out := run("daemon", "--background", "--home", homeE, "--passphrase-file", pf, "--config", filepath.Join(dir, "net", "client.toml"))
	m := regexp.MustCompile(`daemon running in the background \(pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("daemon --background: %s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Signal(syscall.SIGTERM)
		}
	})
	if st := run("status", "--home", homeE); !strings.Contains(st, "fingerprint") {
		t.Fatalf("status of the background daemon: %s", st)
	}
	// The code from standard input (not the command line); a used code is
	// refused; a contact can be removed, which cancels the invite.
	add := exec.Command(bin, "contact", "add", "--name", "alice", "--home", homeE)
	add.Stdin = strings.NewReader(inv.Code + "\n")
	if out, err := add.CombinedOutput(); err != nil || strings.Contains(string(out), "warning") {
		t.Fatalf("contact add from stdin: %v\n%s", err, out)
	}
	again := exec.Command(bin, "contact", "add", "--name", "dave2", "--home", homeA)
	again.Stdin = strings.NewReader(inv.Code + "\n")
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), "own invite") {
		t.Fatalf("own invite: %v\n%s", err, out)
	}
	if out := run("contact", "remove", "alice", "--home", homeE); !strings.Contains(out, "removed alice") {
		t.Fatalf("contact remove: %s", out)
	}
	if out, err := exec.Command(bin, "send", "bob", "   ", "--home", homeA).CombinedOutput(); err == nil || !strings.Contains(string(out), "empty") {
		t.Fatalf("blank message: %v %s", err, out)
	}
}

// TestDefaultNetwork builds a network only from `komrade mixnode init` with
// its defaults (no presets, no --network: 20 min epochs, μ 50 ms, 16 bits of
// proof-of-work), and a client config that names the network by the id init
// printed and nothing else of it. A friend request then crosses it end to
// end (the client solves the intro's work at the network's difficulty,
// which it learns from its gateway), a message follows, and an anonymous
// protest alert, with the pin set's work at 16 bits, reaches another user's
// map of the area.
func TestDefaultNetwork(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	if testing.Short() {
		t.Skip("runs six node processes and two daemons")
	}
	bin := buildKomrade(t)
	dir := t.TempDir()
	run := runner(t, bin)
	const nodes = 6 // two per layer
	var addrs []string
	var network string
	for i := range nodes {
		nd := filepath.Join(dir, fmt.Sprintf("node%d", i))
		args := []string{"mixnode", "init", "--datadir", nd, "--listen", "/ip4/127.0.0.1/tcp/0"}
		if i > 0 {
			args = append(args, "--bootstrap", addrs[0])
		}
		out := run(args...)
		m := regexp.MustCompile(`(?m)^network: ([0-9a-f]{64})$`).FindStringSubmatch(out)
		if m == nil || (network != "" && m[1] != network) {
			t.Fatalf("mixnode init printed no network id, or another one:\n%s", out)
		}
		network = m[1]
		_, lines := startProcess(t, bin, "--log-level", "warn", "mixnode", "run", "--config", filepath.Join(nd, "komrade-node.toml"))
		waitLine(t, lines, regexp.MustCompile(`running; addresses`), 60*time.Second)
		addrs = append(addrs, strings.TrimSpace(waitLine(t, lines, regexp.MustCompile(`^\s*/ip4/127\.0\.0\.1/tcp/\d+/p2p/`), 5*time.Second)))
	}
	cfg := filepath.Join(dir, "client.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("gateways = [%q, %q, %q]\nnetwork = %q\n", addrs[0], addrs[1], addrs[2], network)), 0o600)
	// Wait until the gateways' directories list every node.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := exec.Command(bin, "ping", "--config", cfg, "--count", "1").CombinedOutput()
		if err == nil && strings.Contains(string(out), fmt.Sprintf(", %d nodes", nodes)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the directory never listed all %d nodes:\n%s", nodes, out)
		}
		time.Sleep(2 * time.Second)
	}

	pf := filepath.Join(dir, "pass")
	os.WriteFile(pf, []byte("passphrase\n"), 0o600)
	homeA, homeC := filepath.Join(dir, "alice"), filepath.Join(dir, "carol")
	for _, h := range []string{homeA, homeC} {
		run("init", "--home", h, "--passphrase-file", pf)
		_, dl := startProcess(t, bin, "--log-level", "warn", "daemon", "--home", h, "--passphrase-file", pf, "--config", cfg)
		waitLine(t, dl, regexp.MustCompile(`daemon running`), 90*time.Second)
	}
	pub := run("profile", "publish", "--name", "Alice", "--home", homeA)
	addr := pub[strings.LastIndex(pub, "\n")+1:]
	run("contact", "request", addr, "--name", "alice", "--as", "Carol", "--note", "default network", "--home", homeC)
	var reqs []struct{ ID, From, Note string }
	json.Unmarshal([]byte(run("contact", "requests", "--json", "--home", homeA)), &reqs)
	if len(reqs) != 1 || reqs[0].From != "Carol" || reqs[0].Note != "default network" {
		t.Fatalf("requests: %+v", reqs)
	}
	run("contact", "accept", reqs[0].ID, "--name", "carol", "--home", homeA)
	run("send", "alice", "hello over the default network", "--home", homeC)
	deadline = time.Now().Add(2 * time.Minute)
	var all string
	for !strings.Contains(all, "carol: hello over the default network") {
		if time.Now().After(deadline) {
			t.Fatalf("alice's inbox never showed carol's message:\n%s", all)
		}
		time.Sleep(time.Second)
		all += run("inbox", "--home", homeA) + "\n"
	}

	const near = "48.8566,2.3522"
	if out := run("alert", "--near", near, "--radius", "1", "water cannon at the square", "--home", homeC); !strings.Contains(out, "alert") {
		t.Fatalf("alert:\n%s", out)
	}
	// Alice reads the area once (nobody watches it) at a common terminal
	// width: the alert's text must be there, not cut off behind its id.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		out, err := exec.Command(bin, "map", "--near", near, "--radius", "2", "--width", "120", "--home", homeA).CombinedOutput()
		if err == nil && strings.Contains(string(out), "water cannon at the square") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's map never showed carol's alert: %v\n%s", err, out)
		}
		if err != nil {
			t.Logf("map: %v: %s", err, out) // a read lost in the mix network; the next call reads again
		}
	}
}

// checkUICommand checks what `komrade ui --no-browser` printed: the
// interface's address and a 0600 login file whose one-time code logs in
// once.
func checkUICommand(t *testing.T, out, home string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^interface   (http://127\.0\.0\.1:\d+/)\nlogin file  (.+)$`).FindStringSubmatch(out)
	if m == nil || m[2] != filepath.Join(home, "ui-login.html") {
		t.Fatalf("komrade ui --no-browser printed:\n%s", out)
	}
	fi, err := os.Stat(m[2])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("login file: %v %v", fi, err)
	}
	page, _ := os.ReadFile(m[2])
	login := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/login\?code=[0-9a-f]{32})"`).FindSubmatch(page)
	if login == nil || !strings.HasPrefix(string(login[1]), m[1]) {
		t.Fatalf("login file:\n%s", page)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, want := range []int{200, 401} {
		res, err := hc.Get(string(login[1]))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("login code, use %d: %v, want %d", i+1, res.Status, want)
		}
	}
}
