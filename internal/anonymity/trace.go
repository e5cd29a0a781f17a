package anonymity

import (
	"math"
	"sort"
)

// Exit is the receiver of a frame that leaves the mixnet at an exit (a
// storage request, an alert, a dropped cover packet): what the observer
// sees of a message reaching its destination.
const Exit = -1

// Frame is one packet on one link, as the observer sees it: when, who wrote
// it, who read it. Nodes are 0..Nodes-1, clients Nodes..Nodes+Clients-1.
// Pkt is the packet's identity, known to the simulator only (and to
// corrupt nodes, which link a packet's arrival to its departure); -1 in a
// trace of the real network.
type Frame struct {
	T        float64 // seconds
	From, To int32
	Pkt      int32
}

// Trace is what a global passive observer records of a network.
type Trace struct {
	Nodes, Clients int
	// Layer of each node (0, 1, 2), from the public directory.
	Layer []int
	// MeanDelay is the mean per-hop delay (the network's mu), seconds.
	MeanDelay float64
	// Start and End bound the recording; targets are taken away from both.
	Start, End float64
	Frames     []Frame // sorted by T
	// Sender maps a forward packet to the client that sent it, and
	// Challenges lists pairs of packets two clients sent at one time
	// (simulator only: the ground truth the figures are checked against).
	Sender     map[int32]int32
	Challenges [][2]int32

	arrivals   [][]int     // per node: indexes into Frames of frames it read
	departures [][]float64 // per node: times of frames it wrote
}

// Duration is the length of the recording, seconds.
func (tr *Trace) Duration() float64 { return tr.End - tr.Start }

// IsClient reports whether id names a client.
func (tr *Trace) IsClient(id int32) bool { return int(id) >= tr.Nodes }

// Index sorts the frames and builds the per-node views the estimators use.
func (tr *Trace) Index() {
	sort.SliceStable(tr.Frames, func(i, j int) bool { return tr.Frames[i].T < tr.Frames[j].T })
	tr.arrivals = make([][]int, tr.Nodes)
	tr.departures = make([][]float64, tr.Nodes)
	for i, f := range tr.Frames {
		if f.To >= 0 && int(f.To) < tr.Nodes {
			tr.arrivals[f.To] = append(tr.arrivals[f.To], i)
		}
		if f.From >= 0 && int(f.From) < tr.Nodes {
			tr.departures[f.From] = append(tr.departures[f.From], f.T)
		}
	}
}

// Rate is the mean number of frames a node writes per second.
func (tr *Trace) Rate() float64 {
	var n int
	for _, d := range tr.departures {
		n += len(d)
	}
	return float64(n) / float64(tr.Nodes) / (tr.End - tr.Start)
}

// PerMix is the per-mix entropy (MixEntropy) of up to n target packets
// entering nodes, taken evenly over the frames a node read (from a client
// or a node) away from the ends of the trace. A corrupt node tells the
// observer which departure is the target: 0 bits.
func (tr *Trace) PerMix(n int, corrupt []bool) []float64 {
	lo, hi := tr.Start+window*tr.MeanDelay, tr.End-window*tr.MeanDelay
	var cand []int
	for i, f := range tr.Frames {
		if f.T > lo && f.T < hi && f.To >= 0 && int(f.To) < tr.Nodes {
			cand = append(cand, i)
		}
	}
	step := max(len(cand)/n, 1)
	var out []float64
	for k := 0; k < len(cand) && len(out) < n; k += step {
		f := tr.Frames[cand[k]]
		if corrupt != nil && corrupt[f.To] {
			out = append(out, 0)
			continue
		}
		out = append(out, MixEntropy(tr.departures[f.To], f.T, tr.MeanDelay))
	}
	return out
}

// Posterior is the observer's distribution over the clients that may have
// sent the packet of frame target, propagated back through hops mixes:
// the frame was written by a mix, which read it at most window mean delays
// earlier with a probability proportional to the delay density; that
// frame in turn was written by the mix before, and so on, until the last
// mix back, whose frames come from clients. The observer knows the
// topology: in every mix but the last, only frames from nodes count; in the
// last (the gateway), only frames from clients. A corrupt mix names the
// frame the packet arrived in (the simulator's Pkt). The result maps
// clients to probabilities summing to 1 (empty if no client fits).
func (tr *Trace) Posterior(target int, hops int, corrupt []bool) map[int32]float64 {
	return tr.group(tr.Backtrack(target, hops, corrupt))
}

// Backtrack is Posterior before the frames are grouped by client: the
// observer's distribution over the frames from clients that may have
// carried the packet (its entropy is the packet-level end-to-end entropy).
func (tr *Trace) Backtrack(target int, hops int, corrupt []bool) map[int]float64 {
	type dep struct {
		t, p float64
	}
	cur := map[int]float64{target: 1}
	m := tr.MeanDelay
	for h := 0; h < hops; h++ {
		last := h == hops-1
		next := map[int]float64{}
		byNode := map[int32][]dep{}
		for fi, p := range cur {
			f := tr.Frames[fi]
			x := f.From
			if x < 0 || int(x) >= tr.Nodes {
				continue
			}
			if corrupt != nil && corrupt[x] && f.Pkt >= 0 {
				for _, ai := range tr.inputsOf(x, f) {
					next[ai] += p
				}
				continue
			}
			byNode[x] = append(byNode[x], dep{f.T, p})
		}
		// For each mix, every departure's mass goes to the earlier
		// arrivals in proportion to e^-(t-a)/m, normalised per departure:
		// two sweeps over the mix's events in time order, one summing the
		// normalisers Z(t), one handing out Σ_t p_t·e^-(t-a)/m / Z(t).
		for x, deps := range byNode {
			sort.Slice(deps, func(i, j int) bool { return deps[i].t < deps[j].t })
			arr := tr.arrivals[x]
			lo := deps[0].t - window*m
			i0 := sort.Search(len(arr), func(i int) bool { return tr.Frames[arr[i]].T >= lo })
			type ev struct {
				t   float64
				arr int // frame index of an arrival, or -1
				dep int // index into deps, or -1
			}
			var evs []ev
			i, j := i0, 0
			for j < len(deps) {
				if i < len(arr) && tr.Frames[arr[i]].T <= deps[j].t {
					if a := tr.Frames[arr[i]]; tr.IsClient(a.From) == last {
						evs = append(evs, ev{a.T, arr[i], -1})
					}
					i++
					continue
				}
				evs = append(evs, ev{deps[j].t, -1, j})
				j++
			}
			z := make([]float64, len(deps))
			var acc, tau float64
			for k, e := range evs {
				if k > 0 {
					acc *= math.Exp(-(e.t - tau) / m)
				}
				tau = e.t
				if e.arr >= 0 {
					acc++
				} else {
					z[e.dep] = acc
				}
			}
			acc = 0
			for k := len(evs) - 1; k >= 0; k-- {
				e := evs[k]
				if k < len(evs)-1 {
					acc *= math.Exp(-(tau - e.t) / m)
				}
				tau = e.t
				if e.dep >= 0 {
					if z[e.dep] > 0 {
						acc += deps[e.dep].p / z[e.dep]
					}
				} else if acc > 1e-12 {
					next[e.arr] += acc
				}
			}
		}
		cur = next
	}
	out := map[int]float64{}
	var sum float64
	for fi, p := range cur {
		if tr.IsClient(tr.Frames[fi].From) {
			out[fi] += p
			sum += p
		}
	}
	for fi := range out {
		out[fi] /= sum
	}
	return out
}

// inputsOf returns the frame (one at most) in which the packet of f
// arrived at node x: what a corrupt x tells the observer.
func (tr *Trace) inputsOf(x int32, f Frame) []int {
	arr := tr.arrivals[x]
	j := sort.Search(len(arr), func(i int) bool { return tr.Frames[arr[i]].T > f.T })
	for k := j - 1; k >= 0; k-- {
		a := tr.Frames[arr[k]]
		if a.Pkt == f.Pkt {
			return []int{arr[k]}
		}
		if f.T-a.T > 21*tr.MeanDelay {
			break
		}
	}
	return nil
}

// PosteriorEntropy is the entropy, in bits, of a posterior.
func PosteriorEntropy[K comparable](p map[K]float64) float64 {
	w := make([]float64, 0, len(p))
	for _, x := range p {
		w = append(w, x)
	}
	return Entropy(w)
}

// Hide returns a copy of the trace without the frames hide selects (and
// indexed): what an observer sees when those frames are invisible, e.g. the
// exits of a real network, which leave no frame on a mix link.
func (tr *Trace) Hide(hide func(Frame) bool) *Trace {
	out := *tr
	out.Frames = nil
	for _, f := range tr.Frames {
		if !hide(f) {
			out.Frames = append(out.Frames, f)
		}
	}
	out.Index()
	return &out
}
