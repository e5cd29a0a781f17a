package setitem

import (
	"fmt"
	"time"

	"github.com/komrade-net/komrade/wire"
)

// Rules are a namespace's limits. Storage nodes enforce them on every item
// they accept (appended or replicated), except MaxItemsPerKeyPerHour, which
// they enforce on appends only; readers check the item rules again on every
// item a replica returns.
type Rules struct {
	// MaxItemSize is the largest encoded item, at most ItemSizeCap.
	MaxItemSize int
	// TTL is the longest lifetime: Expires may be at most now+TTL (plus
	// MaxClockSkew).
	TTL time.Duration
	// PoWBits is the proof-of-work difficulty (see Item.Solve); 0 for none.
	// Namespaces that anonymous writers use need it.
	PoWBits int
	// Dedup allows a Nullifier: the item with the latest expiry replaces the
	// others with the same nullifier. Without Dedup, items with a nullifier
	// are invalid.
	Dedup bool
	// MaxItemsPerKey caps a set; an append to a full set fails with ErrQuota
	// (a replacement by nullifier does not count). 0 means no cap.
	MaxItemsPerKey int
	// MaxItemsPerKeyPerHour caps the items a storage node accepts into one
	// set by append in one hour (UTC hours of the node's clock); beyond it an
	// append fails with ErrQuota until the next hour. Every item the append
	// stores counts, a replacement by nullifier included; an item already
	// held does not. Items that replication pushes are not counted nor
	// refused by it: another replica accepted them within its own hour, and
	// refusing them would keep the replicas apart. 0 means no cap.
	MaxItemsPerKeyPerHour int
	// Check, if set, is called on every item that passed the other rules; a
	// non-nil error rejects it (wrap wire.ErrInvalid to keep the wire code). Use
	// it for namespace-specific proofs, e.g. that a vote's body is signed by
	// the key its nullifier commits to. (Nullifiers themselves are always
	// authenticated: Verify checks that the nullifier key signed the item.)
	Check func(*Item) error
}

// DefaultPoWBits is the library's difficulty of anonymous namespaces. A
// network's own (pki.Params, 16 bits by default) replaces it: nodes and
// clients use pki.Params.SetRules, never these rules directly.
const DefaultPoWBits = 12

// DefaultRules returns the namespaces Komrade uses, the template of a
// network's set parameters (pki.DefaultParams):
//
//	intro  first-contact introductions (encrypted to the recipient), anonymous
//	vote   votes, anonymous, deduplicated by nullifier
//	area   local-area feed index entries, anonymous
//	world  world feed index entries, anonymous
//	reply  replies to a post (feed entries keyed by the parent), anonymous
//	rsvp   event RSVPs (sealed to the event's host), anonymous, deduplicated
//	pin    danger pins, protest alerts and pin confirmations (client/pin),
//	       anonymous, deduplicated (one confirmation per identity per pin)
//
// The hourly caps (MaxItemsPerKeyPerHour) keep one writer from filling a
// set's total cap within minutes and bound what a reader of the set must
// fetch, through the mix network, for an hour of it; docs/protocol.md
// ("Limits") gives the reason for each number.
func DefaultRules() map[string]Rules {
	const day = 24 * time.Hour
	return map[string]Rules{
		"intro": {MaxItemSize: 4096, TTL: 14 * day, PoWBits: DefaultPoWBits, MaxItemsPerKey: 1000, MaxItemsPerKeyPerHour: 60},
		"vote":  {MaxItemSize: 1024, TTL: 30 * day, PoWBits: DefaultPoWBits, Dedup: true, MaxItemsPerKey: 10000},
		"area":  {MaxItemSize: 2048, TTL: 7 * day, PoWBits: DefaultPoWBits, MaxItemsPerKey: 5000, MaxItemsPerKeyPerHour: 600},
		"world": {MaxItemSize: 1024, TTL: 2 * day, PoWBits: DefaultPoWBits, MaxItemsPerKey: 10000, MaxItemsPerKeyPerHour: 2000},
		"reply": {MaxItemSize: 1024, TTL: 30 * day, PoWBits: DefaultPoWBits, MaxItemsPerKey: 5000, MaxItemsPerKeyPerHour: 300},
		"rsvp":  {MaxItemSize: 1024, TTL: 30 * day, PoWBits: DefaultPoWBits, Dedup: true, MaxItemsPerKey: 2000, MaxItemsPerKeyPerHour: 300},
		"pin":   {MaxItemSize: 1024, TTL: day, PoWBits: DefaultPoWBits, Dedup: true, MaxItemsPerKey: 5000, MaxItemsPerKeyPerHour: 300},
	}
}

// validate checks that the rules themselves are usable.
func (r Rules) Validate(ns string) error {
	switch {
	case !ValidNamespace(ns):
		return fmt.Errorf("setitem: namespace %q: must be 1..%d of [a-z0-9]", ns, MaxNamespaceLen)
	case r.MaxItemSize <= 0 || r.MaxItemSize > ItemSizeCap:
		return fmt.Errorf("setitem: namespace %q: MaxItemSize %d, want 1..%d", ns, r.MaxItemSize, ItemSizeCap)
	case r.TTL < time.Second:
		return fmt.Errorf("setitem: namespace %q: TTL %v, want at least 1s", ns, r.TTL)
	case r.PoWBits < 0 || r.PoWBits > wire.MaxPoWBits:
		return fmt.Errorf("setitem: namespace %q: PoWBits %d, want 0..%d", ns, r.PoWBits, wire.MaxPoWBits)
	case r.MaxItemsPerKey < 0:
		return fmt.Errorf("setitem: namespace %q: negative MaxItemsPerKey", ns)
	case r.MaxItemsPerKeyPerHour < 0:
		return fmt.Errorf("setitem: namespace %q: negative MaxItemsPerKeyPerHour", ns)
	}
	return nil
}

// verify checks an item against the rules; size is its encoded size.
// Cheap checks come first, proof-of-work and the Check hook last.
func (r Rules) Verify(it *Item, size int, now time.Time) error {
	if size > r.MaxItemSize {
		return fmt.Errorf("setitem: %s item of %d bytes exceeds %d: %w", it.Namespace, size, r.MaxItemSize, wire.ErrTooLarge)
	}
	if it.Expires <= now.Unix() {
		return fmt.Errorf("setitem: %s item expired: %w", it.Namespace, wire.ErrExpired)
	}
	if limit := now.Add(r.TTL + MaxClockSkew).Unix(); it.Expires > limit {
		return fmt.Errorf("setitem: %s item expires %ds beyond the namespace's lifetime: %w", it.Namespace, it.Expires-limit, wire.ErrInvalid)
	}
	if len(it.Nullifier) > 0 && !r.Dedup {
		return fmt.Errorf("setitem: namespace %s takes no nullifier: %w", it.Namespace, wire.ErrInvalid)
	}
	if !it.CheckPoW(r.PoWBits) {
		return fmt.Errorf("setitem: %s item needs %d bits of proof-of-work: %w", it.Namespace, r.PoWBits, wire.ErrPoW)
	}
	// After the work: checking it costs one hash, a signature far more.
	if !it.checkSig() {
		return fmt.Errorf("setitem: %s item is not signed by its nullifier key: %w", it.Namespace, wire.ErrInvalid)
	}
	if r.Check != nil {
		if err := r.Check(it); err != nil {
			if !wire.IsFinal(err) {
				return fmt.Errorf("setitem: %s item rejected: %v: %w", it.Namespace, err, wire.ErrInvalid)
			}
			return fmt.Errorf("setitem: %s item rejected: %w", it.Namespace, err)
		}
	}
	return nil
}
