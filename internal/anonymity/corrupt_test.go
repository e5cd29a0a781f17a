package anonymity_test

import (
	"sort"
	"testing"

	"github.com/komrade-net/komrade/internal/anonymity"
)

// betray returns a copy of the real trace in which the nodes of corrupt
// tell the observer what they see: for each packet a corrupt node
// forwarded (its testseam.Forward report), the frame it arrived in and the
// frame it left in get one packet identity (Frame.Pkt), as the simulator
// gives them. A packet's identity carries on through every corrupt node
// on its path; a packet a corrupt node made itself (a node loop, a reply)
// gets an identity no arrival has, so the observer knows it came from no
// client. Frames no corrupt node handled keep Pkt = -1.
//
// A report is matched to its departure on the link: frames on one link
// are read in the order they were written, so the report belongs to the
// first frame on that link read at or after it that no earlier report
// took. It is matched to its arrival by the buffer: a node unwraps a packet
// in place, so it forwards the buffer it read the packet into.
func betray(o *observed, corrupt []bool) *anonymity.Trace {
	src := o.trace
	tr := *src
	tr.Frames = append([]anonymity.Frame(nil), src.Frames...)
	type link struct{ from, to int32 }
	reads := map[link][]int{}            // frames read on a link, in time order
	taken := map[link]int{}              // reads of the link already matched
	byBuf := map[int32]map[*byte][]int{} // frames a node read, by buffer
	for i, f := range tr.Frames {
		if f.To < 0 || int(f.To) >= tr.Nodes {
			continue
		}
		reads[link{f.From, f.To}] = append(reads[link{f.From, f.To}], i)
		if byBuf[f.To] == nil {
			byBuf[f.To] = map[*byte][]int{}
		}
		byBuf[f.To][o.bufs[i]] = append(byBuf[f.To][o.bufs[i]], i)
	}
	fwd := append([]report(nil), o.forwards...)
	sort.SliceStable(fwd, func(i, j int) bool { return fwd[i].t < fwd[j].t })
	next := int32(0)
	for _, r := range fwd {
		if corrupt == nil || !corrupt[r.node] {
			continue
		}
		l := link{r.node, r.next}
		rs := reads[l]
		k := taken[l]
		for k < len(rs) && tr.Frames[rs[k]].T < r.t {
			k++
		}
		if k == len(rs) {
			taken[l] = k
			continue // read after the recording ended
		}
		taken[l] = k + 1
		dep := rs[k]
		id := int32(-1)
		arr := byBuf[r.node][r.buf]
		if j := sort.Search(len(arr), func(j int) bool { return tr.Frames[arr[j]].T > r.t }); j > 0 {
			a := arr[j-1]
			if tr.Frames[a].Pkt < 0 {
				tr.Frames[a].Pkt = next
				next++
			}
			id = tr.Frames[a].Pkt
		}
		if id < 0 { // made by the node itself
			id = next
			next++
		}
		tr.Frames[dep].Pkt = id
	}
	tr.Index()
	return &tr
}

// corruptIn marks one node of each of layers as corrupt, never a node
// twice, and a node that is no client's gateway where the layer has one:
// the real network's gateways (its first nodes) are the simulator's, but
// their layers differ, and a corrupt gateway tells more than a corrupt mix.
func corruptIn(layerOf []int, gateways int, layers ...int) []bool {
	out := make([]bool, len(layerOf))
	order := make([]int, 0, len(layerOf))
	for n := gateways; n < len(layerOf); n++ {
		order = append(order, n)
	}
	for n := range gateways {
		order = append(order, n)
	}
	for _, l := range layers {
		for _, n := range order {
			if layerOf[n] == l && !out[n] {
				out[n] = true
				break
			}
		}
	}
	return out
}

// TestCorruptNodeEntropy: on the real network, the nodes that report to
// the observer which arrival each of their departures was (one of 9, one
// in each layer, all) leave the sender entropy the simulator predicts for
// the same corrupt layers, at least floorShare of it; fewer bits than with
// no corrupt node; and with every node corrupt, every packet traced to its
// one sender, which checks that the reports are matched right.
func TestCorruptNodeEntropy(t *testing.T) {
	o := observeReal(t)
	vis := simSmall(t, o)
	real0, _ := senderEntropy(o.trace, nil)
	all := make([]bool, o.trace.Nodes)
	for i := range all {
		all[i] = true
	}
	hAll, traced := senderEntropy(betray(o, all), all)
	t.Logf("every node corrupt: %.1f %% of %d packets traced to one client (mean %.3f bits)", 100*traced, hAll.N, hAll.Mean)
	if hAll.N < 100 || traced < 0.95 {
		t.Errorf("with every node corrupt %.1f %% of %d packets were traced to one client, want ≥ 95 %%: the reports are not matched to their frames", 100*traced, hAll.N)
	}
	for _, c := range []struct {
		name   string
		layers []int
	}{{"1 of 9 (an L1 node)", []int{0}}, {"1 of 9 (an L2 node)", []int{1}}, {"3 of 9 (one a layer)", []int{0, 1, 2}}} {
		rc := corruptIn(o.trace.Layer, o.gateways, c.layers...)
		sc := corruptIn(vis.Layer, o.gateways, c.layers...)
		rh, rt := senderEntropy(betray(o, rc), rc)
		sh, st := senderEntropy(vis, sc)
		t.Logf("%s: sender entropy real %.3f bits (p5 %.3f, %.1f %% traced), simulated %.3f (p5 %.3f, %.1f %% traced); none corrupt: real %.3f",
			c.name, rh.Mean, rh.P5, 100*rt, sh.Mean, sh.P5, 100*st, real0.Mean)
		if rh.N < 100 {
			t.Fatalf("%s: only %d targets", c.name, rh.N)
		}
		if rh.Mean < floorShare*sh.Mean {
			t.Errorf("%s: real %.3f bits below %.0f %% of the simulated %.3f", c.name, rh.Mean, 100*floorShare, sh.Mean)
		}
		if rh.Mean >= real0.Mean {
			t.Errorf("%s: %.3f bits, not below the %.3f with no corrupt node: the reports told the observer nothing", c.name, rh.Mean, real0.Mean)
		}
	}
}
