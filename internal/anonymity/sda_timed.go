package anonymity

import (
	"sort"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Timing makes a disclosure game with cover run in continuous time, as the
// real network does, instead of assuming that a client's frames carry no
// trace of its messages. Each online client sends at the events of its
// cover stream (Rates.Interval, Rates.Event: the client's own functions);
// a message written at a uniform time in a round leaves in the client's
// next λP slot and reaches its box pki.Hops mix delays later (wire.ExpDelay
// with mean Mu, as pki.HopsFor draws them). The observer counts each
// client's frames in windows of Window seconds (the rounds) and sees in
// which window each message lands.
//
// That is the tie the idealised game leaves out: a message landing in a
// window says its sender had a λP slot a mix path's delay earlier. Every
// client has such slots, so one message tells little, but the attack adds
// it up over rounds.
type Timing struct {
	Rates  client.Rates
	Mu     time.Duration
	Window float64 // seconds
}

// runTimed is Run for a game with cover and Timing.
func (d Disclosure) runTimed(contacts [][]int, targets []int) []DisclosurePoint {
	tm := d.Timing
	w := tm.Window
	tl := newTally(len(targets), d.Users)
	targetIdx := map[int]int{}
	for i, u := range targets {
		targetIdx[u] = i
	}
	// land[k] are the recipients of the messages landing k rounds ahead.
	var land [][]int
	outbox := make([][]float64, d.Users) // per client: write times waiting for a slot
	next := make([]float64, d.Users)     // per client: time of its next cover event
	for u := range next {
		next[u] = tm.Rates.Interval().Seconds()
	}
	sent := make([]float64, len(targets))
	recv := make([]float64, d.Users)
	var touched []int
	var out []DisclosurePoint
	cp := 0
	sort.Ints(d.Checkpoints)
	for r := 1; r <= d.Rounds; r++ {
		lo, hi := float64(r-1)*w, float64(r)*w
		for i := range sent {
			sent[i] = 0
		}
		for u := range d.Users {
			for range poisson(d.Rate) {
				outbox[u] = append(outbox[u], lo+wire.Uniform()*w)
			}
			sort.Float64s(outbox[u])
			on := d.Offline == 0 || wire.Uniform() >= d.Offline
			i, target := targetIdx[u]
			for ; next[u] < hi; next[u] += tm.Rates.Interval().Seconds() {
				if !on {
					continue // offline: no frames, messages wait
				}
				if target {
					sent[i]++
				}
				if tm.Rates.Event(wire.Uniform()) != client.EventSlot || len(outbox[u]) == 0 || outbox[u][0] > next[u] {
					continue
				}
				outbox[u] = outbox[u][1:]
				at := next[u]
				for range pki.Layers + 1 { // the gateway and the three layers
					at += wire.ExpDelay(tm.Mu).Seconds()
				}
				k := int(at/w) - (r - 1)
				for len(land) <= k {
					land = append(land, nil)
				}
				land[k] = append(land[k], contacts[u][int(wire.Uniform()*float64(d.Contacts))])
			}
		}
		for _, c := range touched {
			recv[c] = 0
		}
		touched = touched[:0]
		var total float64
		if len(land) > 0 {
			for _, c := range land[0] {
				if recv[c] == 0 {
					touched = append(touched, c)
				}
				recv[c]++
				total++
			}
			land = land[1:]
		}
		tl.add(sent, recv, touched, total)
		if cp < len(d.Checkpoints) && r == d.Checkpoints[cp] {
			out = append(out, d.score(r, targets, contacts, tl))
			cp++
		}
	}
	return out
}
