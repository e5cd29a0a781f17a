package mixnode

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/transport"
	"github.com/komrade-net/komrade/wire"
)

// TestMetricsEndpoint starts a node serving metrics, sends it over a mix
// link a packet it forwards, a frame no key opens and the first packet
// again (a replay), then scrapes /metrics over HTTP: the series carry
// exactly those counts, every komrade_ metric that docs/operations.md lists
// is exported, nothing that it does not list is, the resource manager's
// libp2p_rcmgr_ metrics are there, and no peer id appears.
func TestMetricsEndpoint(t *testing.T) {
	n := startPinnedNodeWith(t, func(cfg *config.Node) { cfg.MetricsAddr = "127.0.0.1:0" })
	if n.MetricsAddr() == nil {
		t.Fatal("node serves no metrics")
	}
	sink := startSink(t, n)

	senderPub, senderKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := transport.NewHost(senderKey, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	var senderID pki.NodeID
	copy(senderID[:], senderPub)
	n.dirMu.Lock()
	n.known[senderID] = knownNode{ai: peer.AddrInfo{ID: sender.ID()}}
	n.dirMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sender.Connect(ctx, peer.AddrInfo{ID: n.PeerID(), Addrs: n.dht.Host.Addrs()}); err != nil {
		t.Fatal(err)
	}
	stream, err := sender.NewStream(ctx, n.PeerID(), wire.MixProtocol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })

	nodePub, ok := n.keys.public(n.clock.Current())
	if !ok {
		t.Fatal("node has no key for the current epoch")
	}
	payload, err := wire.EncodeForwardPayload(nil, wire.OpDrop, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := wire.NewForward(n.sphinx, []wire.Hop{{ID: n.ID(), Key: nodePub}, sink.hop}, payload)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, wire.PacketLength)
	rand.Read(garbage)
	for _, f := range [][]byte{pkt, garbage, pkt} {
		if err := wire.WriteFrame(stream, f); err != nil {
			t.Fatal(err)
		}
	}
	if !sink.waitCount(1, time.Now().Add(20*time.Second)) {
		t.Fatalf("the packet never reached the sink; node metrics %+v", n.Metrics().Snapshot())
	}
	deadline := time.Now().Add(10 * time.Second)
	for m := n.Metrics(); m.Dropped(DropUnwrap) < 1 || m.Dropped(DropReplay) < 1 || m.Forwarded.Load() < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("the drops were never counted; node metrics %+v", m.Snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}

	body, families := scrape(t, "http://"+n.MetricsAddr().String()+"/metrics")

	value := func(name string, labels ...string) (float64, bool) {
		f := families[name]
		if f == nil {
			return 0, false
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			}
		}
		return 0, false
	}
	want := func(v float64, name string, labels ...string) {
		t.Helper()
		got, ok := value(name, labels...)
		if !ok {
			t.Errorf("%s%v: not exported", name, labels)
		} else if got != v {
			t.Errorf("%s%v = %v, want %v", name, labels, got, v)
		}
	}
	want(3, "komrade_packets_received_total", "link", "mix")
	want(0, "komrade_packets_received_total", "link", "client")
	want(1, "komrade_packets_forwarded_total")
	want(0, "komrade_packets_delivered_total")
	want(1, "komrade_replays_total")
	for _, op := range []string{"drop", "echo", "storage"} {
		want(0, "komrade_exit_requests_total", "op", op)
	}
	for _, r := range dropReasons {
		switch r {
		case DropUnwrap, DropReplay:
			want(1, "komrade_packets_dropped_total", "reason", r)
		default:
			want(0, "komrade_packets_dropped_total", "reason", r)
		}
	}
	want(0, "komrade_queue_length")
	for _, s := range []string{"sent", "returned", "lost"} {
		want(0, "komrade_loops_total", "state", s) // LambdaM is 0: no loops
	}
	// The mix stream from the sender is still open.
	want(1, "libp2p_rcmgr_streams", "dir", "inbound", "scope", "protocol", "protocol", string(wire.MixProtocol))
	if _, ok := families["libp2p_rcmgr_limit"]; !ok {
		t.Error("libp2p_rcmgr_limit: not exported")
	}

	documented := documentedMetrics(t)
	for name := range families {
		if !slices.Contains(documented, name) {
			t.Errorf("%s is exported but not listed in docs/operations.md", name)
		}
	}
	for _, name := range documented {
		if _, ok := families[name]; !ok && strings.HasPrefix(name, "komrade_") {
			t.Errorf("%s is listed in docs/operations.md but not exported", name)
		}
	}
	for _, id := range []peer.ID{n.PeerID(), sender.ID(), sink.host.ID()} {
		if strings.Contains(body, id.String()) {
			t.Errorf("the metrics name peer %s", id)
		}
	}
}

// TestMetricsRegistriesPerNode: two nodes serving metrics in one process
// each have their own registry; building the second does not panic on
// collectors the first registered, and each serves its own counters.
func TestMetricsRegistriesPerNode(t *testing.T) {
	withMetrics := func(cfg *config.Node) { cfg.MetricsAddr = "127.0.0.1:0" }
	a := startPinnedNodeWith(t, withMetrics)
	b := startPinnedNodeWith(t, withMetrics)
	a.metrics.drop(DropQueueFull)
	_, fa := scrape(t, "http://"+a.MetricsAddr().String()+"/metrics")
	_, fb := scrape(t, "http://"+b.MetricsAddr().String()+"/metrics")
	count := func(fs map[string]*dto.MetricFamily) float64 {
		for _, m := range fs["komrade_packets_dropped_total"].GetMetric() {
			if m.GetLabel()[0].GetValue() == DropQueueFull {
				return m.GetCounter().GetValue()
			}
		}
		return -1
	}
	if ca, cb := count(fa), count(fb); ca != 1 || cb != 0 {
		t.Fatalf("queue_full drops: node a %v, node b %v; want 1 and 0", ca, cb)
	}
}

// scrape fetches a Prometheus text page and parses it.
func scrape(t *testing.T, url string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var body strings.Builder
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(io.TeeReader(resp.Body, &body))
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return body.String(), families
}

// documentedMetrics returns the metric names in the Metrics section of
// docs/operations.md.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	start := strings.Index(s, "\n## Metrics\n")
	if start < 0 {
		t.Fatal("docs/operations.md has no Metrics section")
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	var names []string
	for _, m := range regexp.MustCompile("`((?:komrade|libp2p_rcmgr)_[a-z_]+)").FindAllStringSubmatch(s, -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}
