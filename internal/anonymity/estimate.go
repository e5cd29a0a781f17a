// Package anonymity measures what a global passive observer learns from
// Komrade's traffic: per-mix entropy, the posterior over a message's sender
// through every layer, Loopix's unlinkability ε, a statistical disclosure
// attack on long-term contacts, and two-sample tests of idle against busy
// clients. The estimators read a Trace: the frames on every link (time,
// sender, receiver; no keys, no contents). A Trace comes either from the
// discrete-event simulator of this package (Simulate), which draws paths,
// delays and cover with the project's own functions, or from a real
// in-process network watched through internal/testseam (see
// observer_test.go). docs/anonymity.md reports the figures.
package anonymity

import (
	"math"
	"sort"
)

// Entropy is the Shannon entropy, in bits, of the distribution w (weights,
// normalised here; non-positive weights count as zero).
func Entropy(w []float64) float64 {
	var sum float64
	for _, x := range w {
		if x > 0 {
			sum += x
		}
	}
	if sum == 0 {
		return 0
	}
	var h float64
	for _, x := range w {
		if x > 0 {
			p := x / sum
			h -= p * math.Log2(p)
		}
	}
	return h
}

// ClosedForm is Danezis's entropy of a continuous-time mix with
// exponential delays ("The traffic analysis of continuous-time mixes",
// PET 2004): log2(e·λ/μ) bits, for λ the rate of packets through the mix
// and μ = 1/mean delay; lambdaOverMu is λ times the mean delay.
func ClosedForm(lambdaOverMu float64) float64 { return math.Log2(math.E * lambdaOverMu) }

// window is how many mean delays back or forward the estimators look: the
// weight e^-window is below 1e-8.
const window = 20

// MixEntropy is the observer's uncertainty, in bits, about which packet
// leaving a mix is the one that entered it at tIn. The mix delays each
// packet by an independent exponential of mean meanDelay, so it is
// memoryless and the probability that the departure at t is the target is
// proportional to the delay density e^-(t-tIn)/meanDelay: Loopix's method
// (§4.1), whose expectation is ClosedForm. departures must be sorted.
func MixEntropy(departures []float64, tIn, meanDelay float64) float64 {
	i := sort.SearchFloat64s(departures, tIn)
	var w []float64
	for ; i < len(departures) && departures[i]-tIn < window*meanDelay; i++ {
		w = append(w, math.Exp(-(departures[i]-tIn)/meanDelay))
	}
	return Entropy(w)
}

// Stats are the mean and the 5th percentile of a sample.
type Stats struct {
	Mean, P5 float64
	N        int
}

// Summarise returns the mean and 5th percentile of xs (NaNs left out).
func Summarise(xs []float64) Stats {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stats{Mean: math.NaN(), P5: math.NaN()}
	}
	sort.Float64s(v)
	var sum float64
	for _, x := range v {
		sum += x
	}
	return Stats{Mean: sum / float64(len(v)), P5: v[int(0.05*float64(len(v)-1))], N: len(v)}
}

// Quantile returns the q-quantile of xs (sorted in place).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	return xs[int(q*float64(len(xs)-1))]
}

// Epsilon is Loopix's unlinkability measure (§4.3) for two challenge
// senders: |ln(p0/p1)|, p0 and p1 the observer's posterior probabilities
// that the target came from the first or the second. +Inf when the observer
// rules one out.
func Epsilon(p0, p1 float64) float64 {
	if p0 <= 0 || p1 <= 0 {
		if p0 == p1 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(math.Log(p0 / p1))
}

// KS2 is the two-sample Kolmogorov–Smirnov test of a and b: the statistic
// D (largest distance between the empirical distributions) and the critical
// value at alpha = 0.001 (c = 1.949); the samples differ when D exceeds it.
func KS2(a, b []float64) (d, critical float64) {
	a, b = append([]float64(nil), a...), append([]float64(nil), b...)
	sort.Float64s(a)
	sort.Float64s(b)
	na, nb := float64(len(a)), float64(len(b))
	if na == 0 || nb == 0 {
		return math.NaN(), math.NaN()
	}
	var i, j int
	for i < len(a) && j < len(b) {
		x := math.Min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/na-float64(j)/nb))
	}
	return d, 1.949 * math.Sqrt((na+nb)/(na*nb))
}

// Gaps returns the differences of consecutive sorted times.
func Gaps(ts []float64) []float64 {
	out := make([]float64, 0, max(len(ts)-1, 0))
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i]-ts[i-1])
	}
	return out
}

// PoolEntropy is the observer's uncertainty, in bits, about which departure
// of a memoryless mix is the packet that entered at tIn, counting the pool:
// the observer sees every arrival and departure of the mix, so knows how
// many packets it holds; each departure is any one of them with equal
// probability (exponential delays forget their age). This is the
// computation of Loopix's simulations (§4.1). arrivals and departures must
// be sorted, and include the target's own.
func PoolEntropy(arrivals, departures []float64, tIn float64) float64 {
	ia := sort.Search(len(arrivals), func(i int) bool { return arrivals[i] > tIn })
	id := sort.Search(len(departures), func(i int) bool { return departures[i] > tIn })
	n := ia - id // in the pool just after the target arrived, itself included
	if n < 1 {
		n = 1 // the observer missed the start of the trace: a lower bound
	}
	still := 1.0
	var p []float64
	for still > 1e-9 && id < len(departures) {
		if ia < len(arrivals) && arrivals[ia] < departures[id] {
			n++
			ia++
			continue
		}
		if n < 1 {
			n = 1
		}
		q := still / float64(n)
		p = append(p, q)
		still -= q
		n--
		id++
	}
	return Entropy(p)
}
