package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
)

// Default network parameters. They favour anonymity over latency; a testnet
// (mixnode/testnet) shortens them.
const (
	DefaultNetworkName = "komrade"
	DefaultEpochLength = 20 * time.Minute
	DefaultMu          = 50 * time.Millisecond
	DefaultMaxDelay    = 2 * time.Second
	DefaultPoWBits     = 16
	// DefaultWorldShards is the world feed's set keys per hour.
	DefaultWorldShards = 4
)

// MaxParamsSize bounds an encoded Params.
const MaxParamsSize = 4096

// paramsVersion is the only version of Params this code understands.
const paramsVersion = 1

// SetParams are one set namespace's limits: the serialisable part of
// setitem.Rules (its Check hook stays code).
type SetParams struct {
	MaxItemSize    int           `cbor:"1,keyasint"`
	TTL            time.Duration `cbor:"2,keyasint"`
	PoWBits        int           `cbor:"3,keyasint"`
	Dedup          bool          `cbor:"4,keyasint"`
	MaxItemsPerKey int           `cbor:"5,keyasint"`
	// MaxItemsPerKeyPerHour caps the appends one storage node accepts into
	// one set in one hour (setitem.Rules.MaxItemsPerKeyPerHour); 0 for none.
	MaxItemsPerKeyPerHour int `cbor:"6,keyasint"`
}

// Params are a network's parameters: everything every node and client of
// one network must agree on. They are defined once, in a network file
// (network.toml, see config.LoadNetwork); the SHA-256 of their deterministic
// CBOR encoding is the network id, which every signed descriptor carries and
// every client config names.
type Params struct {
	Version uint8 `cbor:"1,keyasint"`
	// Name tells networks with the same parameters apart.
	Name string `cbor:"2,keyasint"`
	// EpochLength is the Sphinx key epoch.
	EpochLength time.Duration `cbor:"3,keyasint"`
	// Mu is the mean per-hop delay senders draw (exponential).
	Mu time.Duration `cbor:"4,keyasint"`
	// MaxDelay is the largest per-hop delay a node honours.
	MaxDelay time.Duration `cbor:"5,keyasint"`
	// PoWBits is the proof-of-work difficulty of anonymous posts.
	PoWBits int `cbor:"6,keyasint"`
	// Sets holds the limits of every replicated-set namespace.
	Sets map[string]SetParams `cbor:"7,keyasint"`
	// WorldShards is how many set keys share each hour of the world feed
	// index (a post goes to shard PostID[0] mod WorldShards): as a network
	// grows, raising it keeps any one key's share of the posts, and so the
	// load on the storage nodes closest to it, bounded (docs/social.md).
	WorldShards int `cbor:"8,keyasint"`
}

// NetworkID is the SHA-256 of a network's encoded Params.
type NetworkID [32]byte

func (id NetworkID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 hex digits, for logs.
func (id NetworkID) Short() string { return hex.EncodeToString(id[:4]) }

// ParseNetworkID reads a hex network id.
func ParseNetworkID(s string) (NetworkID, error) {
	var id NetworkID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("network id %q: want 64 hex characters", s)
	}
	copy(id[:], b)
	return id, nil
}

// DefaultParams returns the parameters of a network built from defaults:
// the namespaces of setitem.DefaultRules, where every namespace with
// proof-of-work uses the network's PoWBits.
func DefaultParams() Params {
	p := Params{
		Version:     paramsVersion,
		Name:        DefaultNetworkName,
		EpochLength: DefaultEpochLength,
		Mu:          DefaultMu,
		MaxDelay:    DefaultMaxDelay,
		WorldShards: DefaultWorldShards,
	}
	p.SetPoW(DefaultPoWBits)
	return p
}

// SetPoW sets the difficulty of anonymous posts and of every anonymous set
// namespace (those of setitem.DefaultRules that ask for work) to bits.
func (p *Params) SetPoW(bits int) {
	p.PoWBits = bits
	if p.Sets == nil {
		p.Sets = map[string]SetParams{}
	}
	for ns, r := range setitem.DefaultRules() {
		sp := SetParams{MaxItemSize: r.MaxItemSize, TTL: r.TTL, PoWBits: r.PoWBits, Dedup: r.Dedup,
			MaxItemsPerKey: r.MaxItemsPerKey, MaxItemsPerKeyPerHour: r.MaxItemsPerKeyPerHour}
		if old, ok := p.Sets[ns]; ok {
			sp = old
		}
		if r.PoWBits > 0 {
			sp.PoWBits = bits
		}
		p.Sets[ns] = sp
	}
}

// SetRules returns the rules of every namespace, with the Check hooks of
// setitem.DefaultRules.
func (p Params) SetRules() map[string]setitem.Rules {
	code := setitem.DefaultRules()
	out := make(map[string]setitem.Rules, len(p.Sets))
	for ns, s := range p.Sets {
		out[ns] = setitem.Rules{MaxItemSize: s.MaxItemSize, TTL: s.TTL, PoWBits: s.PoWBits,
			Dedup: s.Dedup, MaxItemsPerKey: s.MaxItemsPerKey, MaxItemsPerKeyPerHour: s.MaxItemsPerKeyPerHour,
			Check: code[ns].Check}
	}
	return out
}

// ParamError names the network parameter that is wrong, by its name in the
// network file.
type ParamError struct {
	Field  string
	Reason string
}

func (e *ParamError) Error() string { return fmt.Sprintf("network: %s: %s", e.Field, e.Reason) }

func paramErr(field, format string, a ...any) error {
	return &ParamError{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Validate reports the first unusable parameter by its network-file name.
func (p Params) Validate() error {
	switch {
	case p.Version != paramsVersion:
		return paramErr("version", "%d, want %d", p.Version, paramsVersion)
	case len(p.Name) > 64:
		return paramErr("name", "at most 64 bytes")
	case p.EpochLength < time.Second || p.EpochLength > 7*24*time.Hour:
		return paramErr("epoch_length", "%v, want 1s..168h", p.EpochLength)
	case p.Mu < time.Millisecond || p.Mu > time.Hour:
		return paramErr("mu", "%v, want 1ms..1h (delays travel in whole milliseconds)", p.Mu)
	case p.MaxDelay < 20*p.Mu || p.MaxDelay > 24*time.Hour:
		// Senders cap each delay at 20 mu (wire.ExpDelay): all must pass.
		return paramErr("max_delay", "%v, want 20 × mu (%v)..24h", p.MaxDelay, 20*p.Mu)
	case p.PoWBits < 0 || p.PoWBits > wire.MaxPoWBits:
		return paramErr("pow_bits", "%d, want 0..%d", p.PoWBits, wire.MaxPoWBits)
	case p.WorldShards < 1 || p.WorldShards > 256:
		return paramErr("world_shards", "%d, want 1..256", p.WorldShards)
	case len(p.Sets) > detcbor.MaxMapPairs:
		return paramErr("sets", "%d namespaces, at most %d", len(p.Sets), detcbor.MaxMapPairs)
	}
	for _, ns := range slices.Sorted(maps.Keys(setitem.DefaultRules())) {
		if _, ok := p.Sets[ns]; !ok {
			return paramErr("sets."+ns, "missing (Komrade uses this namespace)")
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(p.Sets)) {
		s := p.Sets[ns]
		f := "sets." + ns + "."
		switch {
		case !setitem.ValidNamespace(ns):
			return paramErr("sets."+ns, "a namespace is 1..%d of [a-z0-9]", setitem.MaxNamespaceLen)
		case s.MaxItemSize <= 0 || s.MaxItemSize > setitem.ItemSizeCap:
			return paramErr(f+"max_item_size", "%d, want 1..%d", s.MaxItemSize, setitem.ItemSizeCap)
		case s.TTL < time.Second:
			return paramErr(f+"ttl", "%v, want at least 1s", s.TTL)
		case s.PoWBits < 0 || s.PoWBits > wire.MaxPoWBits:
			return paramErr(f+"pow_bits", "%d, want 0..%d", s.PoWBits, wire.MaxPoWBits)
		case s.MaxItemsPerKey < 0:
			return paramErr(f+"max_items_per_key", "%d, want 0 (no cap) or more", s.MaxItemsPerKey)
		case s.MaxItemsPerKeyPerHour < 0:
			return paramErr(f+"max_items_per_key_per_hour", "%d, want 0 (no cap) or more", s.MaxItemsPerKeyPerHour)
		}
	}
	return nil
}

// Encode returns the deterministic CBOR encoding of p.
func (p Params) Encode() ([]byte, error) {
	b, err := detcbor.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("network: encode: %w", err)
	}
	if len(b) > MaxParamsSize {
		return nil, fmt.Errorf("network: %d bytes exceeds %d", len(b), MaxParamsSize)
	}
	return b, nil
}

// ID returns the network id: SHA-256 of p's encoding.
func (p Params) ID() NetworkID {
	b, err := p.Encode()
	if err != nil {
		panic(err) // only oversized Params fail, and Validate refuses those
	}
	return sha256.Sum256(b)
}

var paramsDec = detcbor.NewDecoder(16, 4)

// DecodeParams decodes and validates an encoding of Params. Only the
// deterministic encoding is accepted, so the id names one byte string.
func DecodeParams(b []byte) (Params, error) {
	var p Params
	if len(b) > MaxParamsSize {
		return p, fmt.Errorf("network: %d bytes exceeds %d", len(b), MaxParamsSize)
	}
	if err := paramsDec.UnmarshalCanonical(b, &p); err != nil {
		return Params{}, fmt.Errorf("network: decode: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// ParamDiff is one parameter that differs between two Params.
type ParamDiff struct {
	Field string // network-file name, e.g. "sets.intro.pow_bits"
	A, B  string // its values
}

// Diff lists the parameters that differ between a and b, in a stable order.
func Diff(a, b Params) []ParamDiff {
	var out []ParamDiff
	add := func(field string, x, y any) {
		if xs, ys := fmt.Sprint(x), fmt.Sprint(y); xs != ys {
			out = append(out, ParamDiff{field, xs, ys})
		}
	}
	add("version", a.Version, b.Version)
	add("name", fmt.Sprintf("%q", a.Name), fmt.Sprintf("%q", b.Name))
	add("epoch_length", a.EpochLength, b.EpochLength)
	add("mu", a.Mu, b.Mu)
	add("max_delay", a.MaxDelay, b.MaxDelay)
	add("pow_bits", a.PoWBits, b.PoWBits)
	names := map[string]bool{}
	for ns := range a.Sets {
		names[ns] = true
	}
	for ns := range b.Sets {
		names[ns] = true
	}
	for _, ns := range slices.Sorted(maps.Keys(names)) {
		x, xok := a.Sets[ns]
		y, yok := b.Sets[ns]
		if !xok || !yok {
			add("sets."+ns, present(xok), present(yok))
			continue
		}
		f := "sets." + ns + "."
		add(f+"max_item_size", x.MaxItemSize, y.MaxItemSize)
		add(f+"ttl", x.TTL, y.TTL)
		add(f+"pow_bits", x.PoWBits, y.PoWBits)
		add(f+"dedup", x.Dedup, y.Dedup)
		add(f+"max_items_per_key", x.MaxItemsPerKey, y.MaxItemsPerKey)
		add(f+"max_items_per_key_per_hour", x.MaxItemsPerKeyPerHour, y.MaxItemsPerKeyPerHour)
	}
	return out
}

func present(ok bool) string {
	if ok {
		return "present"
	}
	return "absent"
}

// MismatchError says that two participants are on different networks,
// naming every differing parameter with both values when both sets of
// parameters are known, and both network ids otherwise.
type MismatchError struct {
	// Ours and Theirs are the two network ids.
	Ours, Theirs NetworkID
	// Here and There say whose values they are ("this node", "gateway
	// 12D3…", "the network file", "the config").
	Here, There string
	// Diffs is empty when only the ids are known.
	Diffs []ParamDiff
}

// Mismatch returns a MismatchError between ours (described by here) and
// theirs (described by there); theirs may be nil when only their id is
// known.
func Mismatch(ours NetworkID, oursP *Params, here string, theirs NetworkID, theirsP *Params, there string) *MismatchError {
	e := &MismatchError{Ours: ours, Theirs: theirs, Here: here, There: there}
	if oursP != nil && theirsP != nil {
		e.Diffs = Diff(*oursP, *theirsP)
	}
	return e
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	if len(e.Diffs) == 0 {
		fmt.Fprintf(&b, "network mismatch: %s is on network %s, %s on network %s", e.Here, e.Ours, e.There, e.Theirs)
		return b.String()
	}
	fmt.Fprintf(&b, "network parameters of %s (here) differ from those of %s (there): ", e.Here, e.There)
	for i, d := range e.Diffs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s is %s here, %s there", d.Field, d.A, d.B)
	}
	fmt.Fprintf(&b, " (network %s here, %s there)", e.Ours.Short(), e.Theirs.Short())
	return b.String()
}

// ErrNetworkMismatch matches every *MismatchError with errors.Is.
var ErrNetworkMismatch = errors.New("network mismatch")

// Is makes errors.Is(err, ErrNetworkMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrNetworkMismatch }
