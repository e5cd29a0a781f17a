package anonymity

import (
	"math"
	"sort"

	"github.com/komrade-net/komrade/wire"
)

// Disclosure is one long-term disclosure game: Users clients, each with
// Contacts fixed contacts, write messages to them (Poisson, Rate a round,
// each to a contact drawn uniformly) for Rounds rounds.
type Disclosure struct {
	Users, Contacts, Rounds int
	Rate                    float64
	// Cover: with Komrade's cover traffic a client online sends at the same
	// Poisson rate whether it has messages or not (real packets take λP
	// slots; TestIdleBusyTwoSample checks the two cannot be told apart).
	// Without Timing the game is the ideal one: what the observer learns
	// of a sender in a round is only whether it was online. Without cover
	// it sees every message its client sends.
	Cover bool
	// Timing, with Cover, plays the game in continuous time on the
	// client's real cover stream (see Timing): the observer counts frames
	// and sees when messages land, which ties a landing to its sender's
	// slot.
	Timing *Timing
	// Offline is the probability that a client is offline in a round
	// (drawn independently per round). Messages written offline wait in
	// the outbox for the next round online.
	Offline float64
	// Targets is how many clients the observer attacks.
	Targets int
	// Checkpoints are the rounds at which success is measured.
	Checkpoints []int
}

// DisclosurePoint is the attack's success after some rounds: the mean
// fraction of a target's contacts among its top-Contacts ranked clients,
// and the fraction of targets with all of them there.
type DisclosurePoint struct {
	Rounds        int
	Success, All  float64
	ChanceSuccess float64
}

// Run plays the game against Danezis's statistical disclosure attack
// ("Statistical disclosure attacks", SEC 2003), in the worst case for the
// clients: the observer learns the recipient of every message delivered in
// a round (in Komrade a message goes to a mailbox box at an unlinkable DHT
// key, so it would need corrupt storage nodes that see the recipient's
// polls). For each target it ranks clients by v = (Σ_r s_r·o_r)/(Σ_r s_r)
// − (Σ_r o_r)/R, s_r what it saw the target send in round r, o_r the
// distribution of round r's recipients, R the number of rounds with
// deliveries (the sums run over those).
func (d Disclosure) Run() []DisclosurePoint {
	contacts := make([][]int, d.Users)
	for u := range contacts {
		seen := map[int]bool{u: true}
		for len(contacts[u]) < d.Contacts {
			c := int(wire.Uniform() * float64(d.Users))
			if !seen[c] {
				seen[c] = true
				contacts[u] = append(contacts[u], c)
			}
		}
	}
	targets := make([]int, d.Targets)
	for i := range targets {
		targets[i] = i * (d.Users / d.Targets)
	}
	if d.Cover && d.Timing != nil {
		return d.runTimed(contacts, targets)
	}
	tl := newTally(d.Targets, d.Users)
	queue := make([]int, d.Users) // messages waiting in each outbox
	var out []DisclosurePoint
	cp := 0
	sort.Ints(d.Checkpoints)
	recv := make([]float64, d.Users)
	var touched []int
	seen := make([]float64, d.Targets)
	for r := 1; r <= d.Rounds; r++ {
		for _, u := range touched {
			recv[u] = 0
		}
		touched = touched[:0]
		var total float64
		sent := make(map[int]int, d.Targets)
		online := make(map[int]bool, d.Targets)
		for u := range d.Users {
			queue[u] += poisson(d.Rate)
			on := wire.Uniform() >= d.Offline
			if isTarget(u, d) {
				online[u] = on
			}
			if !on {
				continue
			}
			for range queue[u] {
				c := contacts[u][int(wire.Uniform()*float64(d.Contacts))]
				if recv[c] == 0 {
					touched = append(touched, c)
				}
				recv[c]++
				total++
			}
			if isTarget(u, d) {
				sent[u] = queue[u]
			}
			queue[u] = 0
		}
		for i, u := range targets {
			switch {
			case d.Cover && online[u]:
				seen[i] = 1
			case !d.Cover:
				seen[i] = float64(sent[u])
			default:
				seen[i] = 0
			}
		}
		tl.add(seen, recv, touched, total)
		if cp < len(d.Checkpoints) && r == d.Checkpoints[cp] {
			out = append(out, d.score(r, targets, contacts, tl))
			cp++
		}
	}
	return out
}

func isTarget(u int, d Disclosure) bool {
	if d.Targets == 0 {
		return false
	}
	step := d.Users / d.Targets // as Run picks them
	return step > 0 && u%step == 0 && u/step < d.Targets
}

// tally holds the attack's sums over the rounds with deliveries: for each
// target i, acc[i] = Σ s_r·o_r and sw[i] = Σ s_r (s_r what the observer saw
// it send, o_r the round's recipient distribution); bg = Σ o_r; nr the
// number of those rounds.
type tally struct {
	acc    [][]float64
	sw, bg []float64
	nr     int
}

func newTally(targets, users int) *tally {
	return &tally{acc: make([][]float64, targets), sw: make([]float64, targets), bg: make([]float64, users)}
}

// add counts one round: seen[i] is what target i was seen to send, recv[c]
// the messages delivered to c (zero but at touched), total their sum. A
// round without deliveries has no recipient distribution and counts for
// nothing.
func (t *tally) add(seen, recv []float64, touched []int, total float64) {
	if total == 0 {
		return
	}
	t.nr++
	for _, c := range touched {
		t.bg[c] += recv[c] / total
	}
	for i, s := range seen {
		if s == 0 {
			continue
		}
		if t.acc[i] == nil {
			t.acc[i] = make([]float64, len(t.bg))
		}
		for _, c := range touched {
			t.acc[i][c] += s * recv[c] / total
		}
		t.sw[i] += s
	}
}

// score ranks each target's candidates after r rounds by their share of
// the target's rounds less the background, the mean recipient distribution
// over the rounds with deliveries, the rounds the target's sums run over.
// (Dividing the background by r ranked popular recipients first whenever
// a round had no delivery, and a target's contacts are more popular than
// most: they have at least one sender.)
func (d Disclosure) score(r int, targets []int, contacts [][]int, t *tally) DisclosurePoint {
	acc, sw, bg := t.acc, t.sw, t.bg
	var succ, all float64
	for i, u := range targets {
		v := make([]float64, d.Users)
		for c := range v {
			v[c] = bg[c] / float64(max(t.nr, 1))
			if acc[i] != nil && sw[i] > 0 {
				v[c] = acc[i][c]/sw[i] - v[c]
			} else {
				v[c] = 0
			}
		}
		v[u] = math.Inf(-1)
		// Ties (no information) are broken at random, as a guess would be.
		order := make([]int, d.Users)
		noise := make([]float64, d.Users)
		for c := range order {
			order[c] = c
			noise[c] = wire.Uniform()
		}
		sort.Slice(order, func(a, b int) bool {
			if v[order[a]] != v[order[b]] {
				return v[order[a]] > v[order[b]]
			}
			return noise[order[a]] < noise[order[b]]
		})
		var hit int
		for _, c := range order[:d.Contacts] {
			for _, k := range contacts[u] {
				if c == k {
					hit++
				}
			}
		}
		succ += float64(hit) / float64(d.Contacts)
		if hit == d.Contacts {
			all++
		}
	}
	n := float64(len(targets))
	return DisclosurePoint{Rounds: r, Success: succ / n, All: all / n, ChanceSuccess: float64(d.Contacts) / float64(d.Users-1)}
}

// poisson draws from Poisson(mean) (Knuth's method; means here are small).
func poisson(mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= wire.Uniform()
		if p <= l {
			return k
		}
		k++
	}
}

// Disclose runs the same statistical disclosure attack as Run on rounds an
// observer recorded: sent[r][u] is what it saw client u send in round r
// (its frames to its gateway), recv[r][u] how many messages it saw
// delivered to u in round r. Every client is a target; contacts[u] are u's
// true contacts (the same number for every client), used only to score the
// ranking.
func Disclose(sent, recv [][]float64, contacts [][]int) DisclosurePoint {
	users := len(contacts)
	d := Disclosure{Users: users, Contacts: len(contacts[0])}
	targets := make([]int, users)
	for u := range targets {
		targets[u] = u
	}
	tl := newTally(users, users)
	var touched []int
	for r := range sent {
		var total float64
		touched = touched[:0]
		for c, n := range recv[r] {
			if n > 0 {
				touched = append(touched, c)
				total += n
			}
		}
		tl.add(sent[r], recv[r], touched, total)
	}
	return d.score(len(sent), targets, contacts, tl)
}
