package pki

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire/setitem"
)

func TestParamsRoundTripAndID(t *testing.T) {
	p := DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeParams(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(Diff(p, q)) != 0 || q.ID() != p.ID() || p.ID() != DefaultParams().ID() {
		t.Fatalf("round trip changed the params: %v", Diff(p, q))
	}
	// The intro namespace asks for the network's work, not setitem's 12 bits.
	if got := p.SetRules()["intro"].PoWBits; got != DefaultPoWBits {
		t.Fatalf("intro pow_bits %d, want %d", got, DefaultPoWBits)
	}
	// RSVPs are anonymous items (sealed to the host): they ask for work too.
	if got := p.SetRules()["rsvp"].PoWBits; got != DefaultPoWBits {
		t.Fatalf("rsvp pow_bits %d, want %d", got, DefaultPoWBits)
	}
	for ns, want := range setitem.DefaultRules() {
		got, ok := p.SetRules()[ns]
		if !ok {
			t.Fatalf("namespace %s missing", ns)
		}
		if got.MaxItemsPerKey != want.MaxItemsPerKey || got.MaxItemsPerKeyPerHour != want.MaxItemsPerKeyPerHour {
			t.Fatalf("namespace %s: caps %d, %d/h, want %d, %d/h", ns, got.MaxItemsPerKey, got.MaxItemsPerKeyPerHour, want.MaxItemsPerKey, want.MaxItemsPerKeyPerHour)
		}
	}
	// The hourly cap is a parameter of its own: it changes the id, and Diff
	// names it.
	h := p
	h.Sets = maps.Clone(p.Sets)
	area := h.Sets["area"]
	area.MaxItemsPerKeyPerHour++
	h.Sets["area"] = area
	if d := Diff(p, h); h.ID() == p.ID() || len(d) != 1 || d[0].Field != "sets.area.max_items_per_key_per_hour" {
		t.Fatalf("hourly cap changed: same id %v, diff %v", h.ID() == p.ID(), d)
	}
	// Any change is another network.
	q.Mu++
	if q.ID() == p.ID() {
		t.Fatal("id did not change with mu")
	}
	// A re-encoded (non-deterministic) form is refused.
	if _, err := DecodeParams(append(enc, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestParamsValidateNamesField(t *testing.T) {
	for _, c := range []struct {
		field string
		mod   func(*Params)
	}{
		{"epoch_length", func(p *Params) { p.EpochLength = time.Millisecond }},
		{"mu", func(p *Params) { p.Mu = 0 }},
		{"max_delay", func(p *Params) { p.MaxDelay = p.Mu - 1 }},
		{"pow_bits", func(p *Params) { p.PoWBits = 99 }},
		{"sets.intro.pow_bits", func(p *Params) { s := p.Sets["intro"]; s.PoWBits = -1; p.Sets["intro"] = s }},
		{"sets.vote.ttl", func(p *Params) { s := p.Sets["vote"]; s.TTL = 0; p.Sets["vote"] = s }},
		{"sets.area.max_item_size", func(p *Params) { s := p.Sets["area"]; s.MaxItemSize = 0; p.Sets["area"] = s }},
		{"sets.pin", func(p *Params) { delete(p.Sets, "pin") }},
		{"sets.rsvp.max_items_per_key", func(p *Params) { s := p.Sets["rsvp"]; s.MaxItemsPerKey = -1; p.Sets["rsvp"] = s }},
		{"sets.area.max_items_per_key_per_hour", func(p *Params) { s := p.Sets["area"]; s.MaxItemsPerKeyPerHour = -1; p.Sets["area"] = s }},
		{"version", func(p *Params) { p.Version = 9 }},
	} {
		p := DefaultParams()
		c.mod(&p)
		err := p.Validate()
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

func TestMismatchNamesParameterAndValues(t *testing.T) {
	a, b := DefaultParams(), DefaultParams()
	b.EpochLength = 2 * time.Minute
	b.SetPoW(8)
	err := error(Mismatch(a.ID(), &a, "this node", b.ID(), &b, "the gateway"))
	msg := err.Error()
	for _, want := range []string{"of this node (here) differ from those of the gateway (there)", "epoch_length is 20m0s here, 2m0s there", "; pow_bits is 16 here, 8 there", "sets.intro.pow_bits is 16 here, 8 there"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, ErrNetworkMismatch) {
		t.Error("not ErrNetworkMismatch")
	}
	// Without their parameters, both ids.
	msg = Mismatch(a.ID(), &a, "the config", b.ID(), nil, "the gateway").Error()
	if !strings.Contains(msg, a.ID().String()) || !strings.Contains(msg, b.ID().String()) {
		t.Errorf("id-only error %q lacks an id", msg)
	}
}

// TestBuildLeavesOutOtherNetworks: descriptors of another network are not
// in the directory, and the directory (or the error) says which they are.
func TestBuildLeavesOutOtherNetworks(t *testing.T) {
	const epoch = 7
	var raws [][]byte
	for i := range 4 {
		raws = append(raws, newTestNode(uint64(900+i)).signed(t, epoch, 1))
	}
	other := DefaultParams()
	other.EpochLength = 2 * time.Minute
	stranger := newTestNode(999)
	d := stranger.descriptor(t, epoch, 1)
	d.Network = other.ID()
	raw, err := Sign(d, stranger.priv)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Build(testNet, epoch, append(raws, raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dir.Lookup(stranger.id); ok || len(dir.Nodes) != 4 {
		t.Fatalf("directory of %d nodes includes the stranger: %v", len(dir.Nodes), ok)
	}
	if len(dir.Foreign) != 1 || dir.Foreign[0].Node != stranger.id || dir.Foreign[0].Network != other.ID() {
		t.Fatalf("foreign: %+v", dir.Foreign)
	}
	// Alone with nodes of another network: the error names both networks.
	_, err = Build(other.ID(), epoch, raws, nil)
	var tf *TooFewError
	if !errors.As(err, &tf) || len(tf.Foreign) != 4 || !strings.Contains(err.Error(), testNet.String()) || !strings.Contains(err.Error(), other.ID().String()) {
		t.Fatalf("got %v", err)
	}
}
