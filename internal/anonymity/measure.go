package anonymity

import (
	"math"
	"sort"
)

// Result are the figures of one trace.
type Result struct {
	// PerMix is the per-mix entropy (MixEntropy) of packets entering mixes.
	PerMix Stats
	// Packet is the end-to-end packet entropy: the observer's uncertainty
	// over the frames from clients that may have carried a packet that
	// reached an exit. Sender is the same grouped by client (H_S), and
	// Degree is H_S / log2(clients).
	Packet, Sender, Degree Stats
	// Epsilon is Loopix's unlinkability ε over the challenge pairs, and
	// EpsilonP95 its 95th percentile (infinite values, where a corrupt
	// node ruled a sender out, are counted in EpsilonInf, a share, and
	// left out of both).
	Epsilon    Stats
	EpsilonP95 float64
	EpsilonInf float64
	// EpsilonMean is |ln(Σp0/Σp1)| over all challenges: the observer's
	// systematic lean towards the true sender, where Epsilon is its lean
	// on one observation.
	EpsilonMean float64
	// Latency is the one-way latency (client to exit) in seconds: median
	// and 99th percentile (simulator only).
	LatencyP50, LatencyP99 float64
	// Rate is the mean frames per second a node writes.
	Rate float64
}

// Corrupt marks round(c·nodes) nodes, chosen evenly, as corrupt (nil for
// c = 0).
func Corrupt(nodes int, c float64) []bool {
	k := int(math.Round(c * float64(nodes)))
	if k == 0 {
		return nil
	}
	out := make([]bool, nodes)
	for i := range k {
		out[i*nodes/k] = true
	}
	return out
}

// Measure computes the figures of a simulated trace: per-mix entropy over
// perMix target packets, end-to-end entropy over targets packets reaching
// exits (four mixes back: L3, L2, L1, gateway), ε over the trace's
// challenge pairs, with the nodes of corrupt telling the observer what
// they see.
func Measure(tr *Trace, perMix, targets int, corrupt []bool) Result {
	r := Result{PerMix: Summarise(tr.PerMix(perMix, corrupt)), Rate: tr.Rate()}
	lo, hi := tr.Start+window*tr.MeanDelay, tr.End-window*tr.MeanDelay
	var exits []int
	for i, f := range tr.Frames {
		if f.To == Exit && f.T > lo && f.T < hi {
			if _, ok := tr.Sender[f.Pkt]; ok {
				exits = append(exits, i)
			}
		}
	}
	step := max(len(exits)/max(targets, 1), 1)
	var hp, hs, deg []float64
	logN := math.Log2(float64(tr.Clients))
	for k := 0; k < len(exits) && len(hp) < targets; k += step {
		b := tr.Backtrack(exits[k], 4, corrupt)
		hp = append(hp, PosteriorEntropy(b))
		h := PosteriorEntropy(tr.group(b))
		hs = append(hs, h)
		deg = append(deg, h/logN)
	}
	r.Packet, r.Sender, r.Degree = Summarise(hp), Summarise(hs), Summarise(deg)

	exitOf := map[int32]int{}
	first := map[int32]float64{}
	for i, f := range tr.Frames {
		if _, ok := tr.Sender[f.Pkt]; !ok {
			continue
		}
		if f.To == Exit {
			exitOf[f.Pkt] = i
		} else if _, ok := first[f.Pkt]; !ok {
			first[f.Pkt] = f.T
		}
	}
	var eps []float64
	var inf int
	var s0, s1 float64
	for _, ch := range tr.Challenges {
		post := tr.Posterior(exitOf[ch[0]], 4, corrupt)
		s0 += post[tr.Sender[ch[0]]]
		s1 += post[tr.Sender[ch[1]]]
		e := Epsilon(post[tr.Sender[ch[0]]], post[tr.Sender[ch[1]]])
		if math.IsInf(e, 1) {
			inf++
			continue
		}
		eps = append(eps, e)
	}
	r.Epsilon = Summarise(eps)
	r.EpsilonP95 = Quantile(eps, 0.95)
	r.EpsilonMean = Epsilon(s0, s1)
	if n := len(tr.Challenges); n > 0 {
		r.EpsilonInf = float64(inf) / float64(n)
	}
	var lat []float64
	for p, i := range exitOf {
		lat = append(lat, tr.Frames[i].T-first[p])
	}
	sort.Float64s(lat)
	if len(lat) > 0 {
		r.LatencyP50, r.LatencyP99 = lat[len(lat)/2], lat[int(0.99*float64(len(lat)-1))]
	}
	return r
}

// group sums a frame posterior by the client that wrote each frame.
func (tr *Trace) group(b map[int]float64) map[int32]float64 {
	out := map[int32]float64{}
	for fi, p := range b {
		out[tr.Frames[fi].From] += p
	}
	return out
}
