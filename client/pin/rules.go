package pin

import (
	"cmp"
	"slices"
	"time"
)

// The reader rules: what a reader shows of a pin, from the pin and the
// confirmations it holds. They are the same for every reader (all read the
// same sets), and docs/pins.md ("Reader rules") states them:
//
//   - A pin lives from its creation for its lifetime (its TTL).
//   - Confirmations are taken in the order of their minutes, "still"
//     before "gone" within a minute; of one nullifier only the latest
//     counts (storage nodes keep no other).
//   - A "still" at time t makes the pin live until at least t + its TTL.
//   - A "gone" at time t, while the pin lives, halves what is left of its
//     life from t on; once k distinct nullifiers said "gone" it ends at the
//     k-th.
//   - Nothing keeps a pin beyond its set item's expiry, nor beyond
//     MaxPinTTL after its creation.
//   - A pin is confirmed once k distinct nullifiers say "still" (its
//     author sends one with the pin, so the author counts as one).
//   - Confirmations dated before the pin, or more than the clock skew
//     ahead of the reader's clock, are not counted.
//
// An alert lives from its creation for its lifetime, at most until its set
// item's expiry.

// Conf is one nullifier's latest confirmation of a pin, as held.
type Conf struct {
	Nullifier []byte
	Say       Say
	At        int64 // its creation minute, Unix seconds
}

// State is what a reader shows of a pin at one time.
type State struct {
	Expires   time.Time
	Live      bool
	Still     int // distinct nullifiers whose latest says still
	Gone      int // … gone
	Confirmed bool
}

// clockSkew is how far ahead of the reader's clock a confirmation may be
// dated (setitem.MaxClockSkew).
const clockSkew = 5 * time.Minute

// PinState applies the reader rules: pin p, whose set item expires at
// setExp (Unix s), with confs (one per nullifier), for confirmation
// threshold k, at now.
func PinState(p *Pin, setExp int64, confs []Conf, k int, now time.Time) State {
	k = max(k, 1)
	ttl := int64(p.TTL)
	exp := p.Created + ttl
	valid := make([]Conf, 0, len(confs))
	for _, c := range confs {
		if c.At >= p.Created && c.At <= now.Add(clockSkew).Unix() {
			valid = append(valid, c)
		}
	}
	slices.SortStableFunc(valid, func(a, b Conf) int { return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Say, b.Say)) })
	var st State
	for _, c := range valid {
		switch c.Say {
		case Still:
			st.Still++
			exp = max(exp, c.At+ttl)
		case Gone:
			st.Gone++
			if c.At < exp {
				exp = c.At + (exp-c.At)/2
			}
			if st.Gone >= k {
				exp = min(exp, c.At)
			}
		}
	}
	exp = min(exp, setExp, p.Created+int64(MaxPinTTL/time.Second))
	st.Expires = time.Unix(exp, 0)
	st.Live = now.Unix() < exp
	st.Confirmed = st.Still >= k
	return st
}

// AlertExpiry is when alert a, whose set item expires at setExp, ends.
func AlertExpiry(a *Alert, setExp int64) time.Time {
	return time.Unix(min(a.Created+int64(a.TTL), setExp), 0)
}
