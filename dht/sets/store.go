package sets

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
	bolt "go.etcd.io/bbolt"
)

// Store keeps set items in a bbolt file. It is safe for concurrent use.
//
// Layout (sk = set key, 32 bytes; exp = expiry, 8 bytes big-endian; id = item
// id, 32 bytes; nh = SHA-256 of a nullifier):
//
//	items   sk‖exp‖id → encoded item  (scan order: expiry, then id)
//	ids     sk‖id     → exp‖nh?       (membership)
//	nulls   sk‖nh     → exp‖id        (the item currently holding a nullifier)
//	expiry  exp‖sk‖id → ()            (sweep order)
//	sets    sk        → count(4)‖len(ns)(1)‖ns‖key
//	hourly  hour‖sk   → count(4)      (appends stored this hour, hour = Unix s / 3600, 8 bytes)
//
// The hourly counters (setitem.Rules.MaxItemsPerKeyPerHour) are written in
// the same transaction as the item they count, so a restart keeps them and
// a crash cannot lose one without its item; Sweep deletes those of past
// hours. Checking the cap costs one read and one write, never a scan.
type Store struct {
	db *bolt.DB
}

var (
	bucketItems  = []byte("items")
	bucketIDs    = []byte("ids")
	bucketNulls  = []byte("nulls")
	bucketExpiry = []byte("expiry")
	bucketSets   = []byte("sets")
	bucketHourly = []byte("hourly")
	bucketMeta   = []byte("meta")
	metaVersion  = []byte("version")
	storeVersion = []byte{1}
)

const (
	skLen        = 32
	idLen        = 32
	expLen       = 8
	cursorLen    = expLen + idLen
	itemKeyLen   = skLen + expLen + idLen
	sweepBatch   = 1000
	setRecHeader = 5
	hourLen      = 8
	hourKeyLen   = hourLen + skLen
	counterLen   = 4
)

// origin says how an item reached the store, which decides whether the
// hourly cap applies to it.
type origin uint8

const (
	// fromAppend: a writer's append (opAppend, or Service.Append's own
	// replica). The hourly cap applies and the item is counted.
	fromAppend origin = iota
	// fromPush: re-replication from another storage node, which accepted
	// the item by its own hourly cap. It is neither counted nor refused by
	// the cap: refusing it would keep the replicas apart for good.
	fromPush
)

// Open opens or creates the store at path (file mode 0600, its directory
// 0700). It fails after a few seconds if another process holds the file.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sets: store directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("sets: open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketItems, bucketIDs, bucketNulls, bucketExpiry, bucketSets, bucketHourly, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(metaVersion); {
		case v == nil:
			return meta.Put(metaVersion, storeVersion)
		case !bytes.Equal(v, storeVersion):
			return fmt.Errorf("unsupported store version %x", v)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sets: open store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sets: close store: %w", err)
	}
	return nil
}

// Put checks it against r at time now and stores it as an append. It returns
// stored=false without an error if the item is already held or a held item
// with the same nullifier supersedes it. A full set, or one that took
// r.MaxItemsPerKeyPerHour appends in now's hour, gives wire.ErrQuota.
func (s *Store) Put(it setitem.Item, r setitem.Rules, now time.Time) (stored bool, err error) {
	enc, err := setitem.Encode(&it)
	if err != nil {
		return false, err
	}
	if err := r.Verify(&it, len(enc), now); err != nil {
		return false, err
	}
	return s.put(&it, enc, r, now, fromAppend)
}

// Scan returns up to limit (1..MaxScanLimit) unexpired items of a set that
// sort after cursor (nil: from the start), ordered by expiry and then id, and
// the cursor of the next page (nil if there is none). Entries that fail to
// decode are skipped.
func (s *Store) Scan(ns string, key []byte, cursor []byte, limit int, now time.Time) (items []setitem.Item, next []byte, err error) {
	if err := checkScanArgs(ns, key, cursor); err != nil {
		return nil, nil, err
	}
	raws, next, err := s.scanRaw(setitem.SetKey(ns, key), cursor, clampLimit(limit), maxScanBytes, now)
	if err != nil {
		return nil, nil, err
	}
	for _, raw := range raws {
		it, err := setitem.Decode(raw)
		if err != nil {
			continue
		}
		items = append(items, *it)
	}
	return items, next, nil
}

// Sweep deletes every item that expired at or before now and returns how
// many it deleted. It works in batches so that writers are not held up long.
func (s *Store) Sweep(now time.Time) (removed int, err error) {
	limit := unixU64(now.Unix())
	for {
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := openBuckets(tx)
			var keys [][]byte
			c := b.expiry.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < sweepBatch; k, _ = c.Next() {
				if len(k) == itemKeyLen && binary.BigEndian.Uint64(k) > limit {
					break
				}
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if len(k) != itemKeyLen { // corrupt entry: drop it
					if err := b.expiry.Delete(k); err != nil {
						return err
					}
					continue
				}
				if err := b.deleteItem(k[expLen:expLen+skLen], k[:expLen], k[expLen+skLen:]); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		removed += n
		if err != nil {
			return removed, fmt.Errorf("sets: sweep: %w", err)
		}
		if n < sweepBatch {
			break
		}
	}
	if err := s.sweepCounters(now); err != nil {
		return removed, fmt.Errorf("sets: sweep: %w", err)
	}
	return removed, nil
}

// sweepCounters deletes the hourly counters of the hours before now's. They
// sort by hour, so the stale ones come first.
func (s *Store) sweepCounters(now time.Time) error {
	cur := hourOf(now)
	for {
		var keys [][]byte
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketHourly)
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < sweepBatch; k, _ = c.Next() {
				if len(k) == hourKeyLen && binary.BigEndian.Uint64(k) >= cur {
					break
				}
				keys = append(keys, bytes.Clone(k)) // past, or corrupt
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(keys) < sweepBatch {
			return nil
		}
	}
}

// hourOf is the hour of t that the hourly counters use: Unix seconds / 3600,
// so hours start on the hour, UTC.
func hourOf(t time.Time) uint64 { return unixU64(t.Unix()) / 3600 }

// buckets are the store's buckets within one transaction.
type buckets struct {
	items, ids, nulls, expiry, sets, hourly *bolt.Bucket
}

func openBuckets(tx *bolt.Tx) buckets {
	return buckets{
		items:  tx.Bucket(bucketItems),
		ids:    tx.Bucket(bucketIDs),
		nulls:  tx.Bucket(bucketNulls),
		expiry: tx.Bucket(bucketExpiry),
		sets:   tx.Bucket(bucketSets),
		hourly: tx.Bucket(bucketHourly),
	}
}

func cat(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func unixU64(t int64) uint64 {
	if t < 0 {
		return 0
	}
	return uint64(t)
}

// put stores an item that passed the rules; enc is its encoding. from says
// whether the hourly cap applies (see origin).
func (s *Store) put(it *setitem.Item, enc []byte, r setitem.Rules, now time.Time, from origin) (stored bool, err error) {
	id := sha256.Sum256(enc)
	sk := setitem.SetKey(it.Namespace, it.Key)
	exp := setitem.ExpiryBytes(it.Expires)
	var nh []byte
	if len(it.Nullifier) > 0 {
		h := sha256.Sum256(it.Nullifier)
		nh = h[:]
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := openBuckets(tx)
		if b.ids.Get(cat(sk[:], id[:])) != nil {
			return nil // already held
		}
		if err := b.purgeExpired(sk[:], now); err != nil {
			return err
		}
		if nh != nil {
			if v := b.nulls.Get(cat(sk[:], nh)); len(v) == cursorLen {
				var oldSig []byte // needed only to break a tie of expiries
				if bytes.Equal(exp, v[:expLen]) {
					if held, err := setitem.Decode(b.items.Get(cat(sk[:], v))); err == nil {
						oldSig = held.Sig
					}
				}
				if !setitem.Supersedes(exp, it.Sig, v[:expLen], oldSig) {
					return nil // a later item holds the nullifier
				}
				old := bytes.Clone(v)
				if err := b.deleteItem(sk[:], old[:expLen], old[expLen:]); err != nil {
					return err
				}
			}
		}
		count, _, _, _ := parseSetRec(b.sets.Get(sk[:]))
		if r.MaxItemsPerKey > 0 && count >= uint32(r.MaxItemsPerKey) {
			return fmt.Errorf("sets: %s set holds %d items, the most allowed: %w", it.Namespace, count, wire.ErrQuota)
		}
		if from == fromAppend && r.MaxItemsPerKeyPerHour > 0 {
			if err := b.countAppend(sk[:], it.Namespace, r.MaxItemsPerKeyPerHour, now); err != nil {
				return err
			}
		}
		if err := b.items.Put(cat(sk[:], exp, id[:]), enc); err != nil {
			return err
		}
		if err := b.ids.Put(cat(sk[:], id[:]), cat(exp, nh)); err != nil {
			return err
		}
		if err := b.expiry.Put(cat(exp, sk[:], id[:]), nil); err != nil {
			return err
		}
		if nh != nil {
			if err := b.nulls.Put(cat(sk[:], nh), cat(exp, id[:])); err != nil {
				return err
			}
		}
		if err := b.sets.Put(sk[:], setRec(count+1, it.Namespace, it.Key)); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil {
		if wire.IsFinal(err) {
			return false, err
		}
		return false, fmt.Errorf("sets: store item: %w", err)
	}
	return stored, nil
}

// countAppend counts one more append to set sk in now's hour, or refuses it
// with wire.ErrQuota if the set already took limit appends in that hour.
func (b buckets) countAppend(sk []byte, ns string, limit int, now time.Time) error {
	hour := hourOf(now)
	k := binary.BigEndian.AppendUint64(make([]byte, 0, hourKeyLen), hour)
	k = append(k, sk...)
	var n uint32
	if v := b.hourly.Get(k); len(v) == counterLen {
		n = binary.BigEndian.Uint32(v)
	}
	if n >= uint32(limit) {
		next := time.Unix(int64(hour+1)*3600, 0).UTC()
		return fmt.Errorf("sets: %s set took %d items this hour, its hourly cap (max_items_per_key_per_hour); it takes more from %s: %w",
			ns, n, next.Format("15:04 UTC"), wire.ErrQuota)
	}
	return b.hourly.Put(k, binary.BigEndian.AppendUint32(nil, n+1))
}

// purgeExpired deletes the expired items of one set; they sort first.
func (b buckets) purgeExpired(sk []byte, now time.Time) error {
	limit := unixU64(now.Unix())
	var keys [][]byte
	c := b.items.Cursor()
	for k, _ := c.Seek(sk); k != nil && bytes.HasPrefix(k, sk); k, _ = c.Next() {
		if len(k) != itemKeyLen || binary.BigEndian.Uint64(k[skLen:]) > limit {
			break
		}
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.deleteItem(sk, k[skLen:skLen+expLen], k[skLen+expLen:]); err != nil {
			return err
		}
	}
	return nil
}

// deleteItem removes an item and its index entries.
func (b buckets) deleteItem(sk, exp, id []byte) error {
	idKey := cat(sk, id)
	present := b.items.Get(cat(sk, exp, id)) != nil
	if v := b.ids.Get(idKey); len(v) == expLen+sha256.Size {
		nk := cat(sk, v[expLen:])
		if bytes.Equal(b.nulls.Get(nk), cat(exp, id)) {
			if err := b.nulls.Delete(nk); err != nil {
				return err
			}
		}
	}
	for _, del := range []struct {
		b *bolt.Bucket
		k []byte
	}{{b.items, cat(sk, exp, id)}, {b.ids, idKey}, {b.expiry, cat(exp, sk, id)}} {
		if err := del.b.Delete(del.k); err != nil {
			return err
		}
	}
	if !present {
		return nil
	}
	count, ns, key, ok := parseSetRec(b.sets.Get(sk))
	if !ok || count <= 1 {
		return b.sets.Delete(sk)
	}
	return b.sets.Put(sk, setRec(count-1, ns, key))
}

func setRec(count uint32, ns string, key []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, count)
	out = append(out, byte(len(ns)))
	out = append(out, ns...)
	return append(out, key...)
}

// parseSetRec reads a sets entry; ok is false if it is malformed.
func parseSetRec(v []byte) (count uint32, ns string, key []byte, ok bool) {
	if len(v) < setRecHeader {
		return 0, "", nil, false
	}
	count = binary.BigEndian.Uint32(v)
	n := int(v[4])
	rest := v[setRecHeader:]
	if n > len(rest) {
		return 0, "", nil, false
	}
	ns, key = string(rest[:n]), bytes.Clone(rest[n:])
	if !setitem.ValidNamespace(ns) || len(key) == 0 || len(key) > setitem.MaxKeySize {
		return 0, "", nil, false
	}
	return count, ns, key, true
}

// scanRaw returns encoded unexpired items of set sk after cursor, at most
// limit of them and maxBytes in total, and the next cursor.
func (s *Store) scanRaw(sk [32]byte, cursor []byte, limit, maxBytes int, now time.Time) (raws [][]byte, next []byte, err error) {
	nowU := unixU64(now.Unix())
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		start := cat(sk[:], cursor)
		k, v := c.Seek(start)
		if len(cursor) > 0 && bytes.Equal(k, start) {
			k, v = c.Next()
		}
		total := 0
		var last []byte
		for ; k != nil && bytes.HasPrefix(k, sk[:]); k, v = c.Next() {
			if len(k) != itemKeyLen || binary.BigEndian.Uint64(k[skLen:]) <= nowU {
				continue
			}
			if len(raws) >= limit || total+len(v) > maxBytes {
				next = bytes.Clone(last)
				return nil
			}
			raws = append(raws, bytes.Clone(v))
			total += len(v)
			last = k[skLen:]
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sets: scan: %w", err)
	}
	return raws, next, nil
}

// setRef names a set held by the store.
type setRef struct {
	sk  [32]byte
	ns  string
	key []byte
}

// listSets returns up to n sets after the set key after (nil: from the
// start), in set-key order.
func (s *Store) listSets(after []byte, n int) ([]setRef, error) {
	var out []setRef
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSets).Cursor()
		k, v := c.Seek(after)
		if after != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < n; k, v = c.Next() {
			_, ns, key, ok := parseSetRec(v)
			if !ok || len(k) != skLen {
				continue
			}
			r := setRef{ns: ns, key: key}
			copy(r.sk[:], k)
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sets: list sets: %w", err)
	}
	return out, nil
}

// itemIDs returns the ids of up to max unexpired items of set sk.
func (s *Store) itemIDs(sk [32]byte, now time.Time, max int) ([][]byte, error) {
	nowU := unixU64(now.Unix())
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		for k, _ := c.Seek(sk[:]); k != nil && bytes.HasPrefix(k, sk[:]) && len(out) < max; k, _ = c.Next() {
			if len(k) != itemKeyLen || binary.BigEndian.Uint64(k[skLen:]) <= nowU {
				continue
			}
			out = append(out, bytes.Clone(k[skLen+expLen:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sets: list items: %w", err)
	}
	return out, nil
}

// missing returns the indices of the ids that set sk does not hold.
func (s *Store) missing(sk [32]byte, ids [][]byte) ([]uint32, error) {
	var out []uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIDs)
		for i, id := range ids {
			if b.Get(cat(sk[:], id)) == nil {
				out = append(out, uint32(i))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sets: look up items: %w", err)
	}
	return out, nil
}

// get returns the encodings of the held items of set sk among ids.
func (s *Store) get(sk [32]byte, ids [][]byte) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := openBuckets(tx)
		for _, id := range ids {
			v := b.ids.Get(cat(sk[:], id))
			if len(v) < expLen {
				continue
			}
			if raw := b.items.Get(cat(sk[:], v[:expLen], id)); raw != nil {
				out = append(out, bytes.Clone(raw))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sets: read items: %w", err)
	}
	return out, nil
}
