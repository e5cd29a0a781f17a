package pin

import (
	"testing"
	"time"
)

// The reader rules, on an injected clock: each check fails when its rule
// is broken.
func TestPinState(t *testing.T) {
	p := samplePin() // police, an hour
	t0 := time.Unix(p.Created, 0)
	setExp := t0.Add(23 * time.Hour).Unix()
	at := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	n := func(b byte) []byte { return []byte{b} }
	author := Conf{Nullifier: n(1), Say: Still, At: p.Created}

	// Expiry per kind.
	st := PinState(p, setExp, []Conf{author}, 2, t0.Add(59*time.Minute))
	if !st.Live || st.Confirmed || st.Still != 1 {
		t.Fatalf("at 59 min: %+v", st)
	}
	if st := PinState(p, setExp, []Conf{author}, 2, t0.Add(61*time.Minute)); st.Live {
		t.Fatalf("an hour's police pin alive at 61 min: %+v", st)
	}
	// Confirmed at k distinct, not before.
	two := []Conf{author, {Nullifier: n(2), Say: Still, At: at(10 * time.Minute)}}
	if st := PinState(p, setExp, two, 2, t0.Add(20*time.Minute)); !st.Confirmed || st.Still != 2 {
		t.Fatalf("two confirmers, k=2: %+v", st)
	}
	if st := PinState(p, setExp, two, 3, t0.Add(20*time.Minute)); st.Confirmed {
		t.Fatalf("two confirmers, k=3: %+v", st)
	}
	// "still" extends: the one at 50 min keeps it until 1 h 50.
	ext := []Conf{author, {Nullifier: n(2), Say: Still, At: at(50 * time.Minute)}}
	if st := PinState(p, setExp, ext, 2, t0.Add(100*time.Minute)); !st.Live || !st.Expires.Equal(t0.Add(110*time.Minute)) {
		t.Fatalf("extended: %+v", st)
	}
	// "gone" halves what is left: at 20 min, 40 min left become 20.
	gone := []Conf{author, {Nullifier: n(2), Say: Gone, At: at(20 * time.Minute)}}
	st = PinState(p, setExp, gone, 2, t0.Add(39*time.Minute))
	if !st.Live || !st.Expires.Equal(t0.Add(40*time.Minute)) || st.Gone != 1 {
		t.Fatalf("one gone: %+v", st)
	}
	// Within a minute "still" comes first, whatever the order held.
	tie := []Conf{{Nullifier: n(2), Say: Gone, At: p.Created}, author}
	if st := PinState(p, setExp, tie, 2, t0); !st.Expires.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("a gone and a still of one minute: %+v", st)
	}
	// k gones end it at the k-th.
	gone2 := append(gone, Conf{Nullifier: n(3), Say: Gone, At: at(25 * time.Minute)})
	if st := PinState(p, setExp, gone2, 2, t0.Add(26*time.Minute)); st.Live {
		t.Fatalf("two gones, k=2: %+v", st)
	}
	// Never beyond the set item, nor MaxPinTTL.
	if st := PinState(p, at(30*time.Minute), []Conf{author}, 2, t0.Add(31*time.Minute)); st.Live {
		t.Fatalf("alive past its set item: %+v", st)
	}
	var many []Conf
	for i := range 30 {
		many = append(many, Conf{Nullifier: n(byte(i + 2)), Say: Still, At: at(time.Duration(i) * time.Hour)})
	}
	if st := PinState(p, at(48*time.Hour), many, 2, t0.Add(MaxPinTTL+time.Minute)); st.Live {
		t.Fatalf("alive past MaxPinTTL: %+v", st)
	}
	// Confirmations before the pin or from the future do not count.
	odd := []Conf{author, {Nullifier: n(2), Say: Still, At: p.Created - 60}, {Nullifier: n(3), Say: Still, At: at(3 * time.Hour)}}
	if st := PinState(p, setExp, odd, 2, t0.Add(10*time.Minute)); st.Still != 1 || st.Confirmed {
		t.Fatalf("early and future confirmations counted: %+v", st)
	}
	// Alerts: their lifetime, at most their set item's.
	a := sampleAlert()
	if got := AlertExpiry(a, setExp); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("alert expiry %v", got)
	}
}
