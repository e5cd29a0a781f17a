package anonymity

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire"
)

// TestMixEntropyClosedForm: the meter is right. On a continuous-time mix
// (Poisson arrivals of rate λ, exponential delays of mean 1/μ, drawn with
// wire.ExpDelay as senders draw them) the pool estimator (PoolEntropy, the
// exact posterior) agrees with Danezis's closed form log2(e·λ/μ) within
// ±0.1 bit at λ/μ = 2, 10, 100 and 1000. The delay-density estimator
// (MixEntropy, which the trace figures use because it needs no pool count)
// agrees within ±0.1 bit from λ/μ = 10 and reads at most 0.3 bit high at 2.
func TestMixEntropyClosedForm(t *testing.T) {
	const mean = 0.1 // s
	for _, ratio := range []float64{2, 10, 100, 1000} {
		lambda := ratio / mean
		targets := 3000.0
		if ratio >= 1000 {
			targets = 300
		}
		horizon := targets/lambda + 2*window*mean
		var arr, dep []float64
		for t := 0.0; t < horizon; {
			t += wire.ExpInterval(lambda).Seconds()
			arr = append(arr, t)
			dep = append(dep, t+wire.ExpDelay(time.Duration(mean*float64(time.Second))).Seconds())
		}
		sort.Float64s(dep)
		var hs, hp []float64
		for _, a := range arr {
			if a < window*mean || a > horizon-window*mean {
				continue
			}
			hs = append(hs, MixEntropy(dep, a, mean))
			hp = append(hp, PoolEntropy(arr, dep, a))
		}
		s := Summarise(hs)
		sp := Summarise(hp)
		// The closed form at the rate drawn, not the nominal one: a run
		// with 3.5 % more arrivals than λ·horizon (it happens) reads
		// 0.05 bit more, and the test would fail about 4 % of the time.
		want := ClosedForm(float64(len(arr)) / horizon * mean)
		t.Logf("λ/μ=%v: %d targets, H mean %.3f bits (p5 %.3f), pool %.3f (p5 %.3f), closed form %.3f", ratio, s.N, s.Mean, s.P5, sp.Mean, sp.P5, want)
		if math.Abs(sp.Mean-want) > 0.1 {
			t.Errorf("λ/μ=%v: pool estimator %.3f bits, closed form %.3f", ratio, sp.Mean, want)
		}
		tol := 0.1
		if ratio < 10 {
			tol = 0.3
		}
		if math.Abs(s.Mean-want) > tol {
			t.Errorf("λ/μ=%v: delay-density estimator %.3f bits, closed form %.3f", ratio, s.Mean, want)
		}
	}
}

// TestKS2: the two-sample test accepts two samples of one distribution and
// rejects samples of rates 10 and 14 per second (10 against 12 was told
// apart in only 99 % of runs).
func TestKS2(t *testing.T) {
	draw := func(rate float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = wire.ExpInterval(rate).Seconds()
		}
		return out
	}
	if d, c := KS2(draw(10, 3000), draw(10, 3000)); d > c {
		t.Errorf("same distribution rejected: D=%.4f > %.4f", d, c)
	}
	if d, c := KS2(draw(10, 3000), draw(14, 3000)); d <= c {
		t.Errorf("rates 10 and 14 not told apart: D=%.4f <= %.4f", d, c)
	}
}

// TestEntropyAndEpsilon: uniform weights give log2(n) bits; ε is 0 for
// equal posteriors and ln 3 for 3:1.
func TestEntropyAndEpsilon(t *testing.T) {
	if h := Entropy([]float64{1, 1, 1, 1, 1, 1, 1, 1}); math.Abs(h-3) > 1e-12 {
		t.Errorf("entropy of 8 equal weights %v", h)
	}
	if e := Epsilon(0.3, 0.3); e != 0 {
		t.Errorf("ε of equal posteriors %v", e)
	}
	if e := Epsilon(0.75, 0.25); math.Abs(e-math.Log(3)) > 1e-12 {
		t.Errorf("ε of 3:1 %v", e)
	}
	if !math.IsInf(Epsilon(0.5, 0), 1) {
		t.Error("ε with one sender ruled out is not infinite")
	}
}
