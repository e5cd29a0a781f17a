package dht

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	recpb "github.com/libp2p/go-libp2p-record/pb"
	"google.golang.org/protobuf/proto"

	"github.com/komrade-net/komrade/wire/record"
)

// The record index: Komrade's own list of the storage records a node holds,
// so that republishing never depends on how kad-dht lays out its datastore.
//
// kad-dht's value store writes every accepted PUT_VALUE record as a
// marshalled libp2p record (recpb.Record, the wire type of the protocol)
// through the datastore Komrade hands it. indexingStore wraps that datastore
// and, on every Put whose value is a record of a republished namespace,
// writes an index entry in the same batch (atomic in pebble); on every
// Delete it removes the entry. An entry is filed under indexPrefix plus the
// datastore key kad-dht chose, taken as an opaque string and never built
// here, and holds the record key, its expiry and the SHA-256 of its value.
// The value itself stays where kad-dht put it (not copied: boxes are most of
// the bytes a node stores, and a second copy would double them); republish
// reads it back by the datastore key the entry names and checks the hash.

// indexPrefix is the datastore subtree of the index. kad-dht files value
// records under their namespace ("/kprof", …) and providers under
// "/providers"; no record namespace is "komrade-index" (the validators
// accept none such), so the two never meet.
const indexPrefix = "/komrade-index"

// indexMarker records that the index was built, so the one-time scan of a
// store written before the index existed runs once.
var indexMarker = ds.NewKey("/komrade-index-built")

// republished are the namespaces the index tracks: the storage records.
// Descriptors (/kmix/) are republished by their own node.
var republished = map[string]bool{record.NSProfile: true, record.NSPost: true, record.NSBox: true}

// indexEntry is what the index knows of one held record.
type indexEntry struct {
	dsKey   ds.Key   // where kad-dht stored it
	key     string   // the record key
	expires int64    // Unix seconds; 0 when the value did not say
	hash    [32]byte // SHA-256 of the value
}

// encode: expires (8 bytes, big-endian) ‖ hash (32) ‖ record key.
func (e indexEntry) encode() []byte {
	out := make([]byte, 40, 40+len(e.key))
	binary.BigEndian.PutUint64(out, uint64(e.expires))
	copy(out[8:], e.hash[:])
	return append(out, e.key...)
}

func decodeIndexEntry(k string, b []byte) (indexEntry, error) {
	if len(b) < 41 || !strings.HasPrefix(k, indexPrefix+"/") {
		return indexEntry{}, errors.New("dht: malformed index entry")
	}
	e := indexEntry{dsKey: ds.RawKey(k[len(indexPrefix):]), expires: int64(binary.BigEndian.Uint64(b)), key: string(b[40:])}
	// The entry comes from disk: only a key of a republished namespace, of
	// a sane length, may become a PUT.
	if ns, _, err := record.SplitKey(e.key); err != nil || !republished[ns] || len(e.key) > maxIndexedKey {
		return indexEntry{}, errors.New("dht: malformed index entry")
	}
	copy(e.hash[:], b[8:40])
	return e, nil
}

// maxIndexedKey bounds a record key read back from the index.
const maxIndexedKey = 256

func indexKey(dsKey ds.Key) ds.Key { return ds.RawKey(indexPrefix + dsKey.String()) }

// expiresField reads the expiry of a storage record without verifying it
// (kad-dht validated it before storing): field 3 of a profile or post,
// field 1 of a box.
func expiresField(ns string, value []byte) int64 {
	switch ns {
	case record.NSProfile, record.NSPost:
		var v struct {
			Expires int64 `cbor:"3,keyasint"`
		}
		if cbor.Unmarshal(value, &v) == nil {
			return v.Expires
		}
	case record.NSBox:
		var v struct {
			Expires int64 `cbor:"1,keyasint"`
		}
		if cbor.Unmarshal(value, &v) == nil {
			return v.Expires
		}
	}
	return 0
}

// entryFor returns the index entry for a datastore write, or false when the
// value is not a record of a republished namespace.
func entryFor(k ds.Key, value []byte) (indexEntry, bool) {
	if strings.HasPrefix(k.String(), indexPrefix) || k == indexMarker {
		return indexEntry{}, false
	}
	rec := new(recpb.Record)
	if proto.Unmarshal(value, rec) != nil || len(rec.GetKey()) == 0 {
		return indexEntry{}, false
	}
	key := string(rec.GetKey())
	ns, _, err := record.SplitKey(key)
	if err != nil || !republished[ns] {
		return indexEntry{}, false
	}
	return indexEntry{dsKey: k, key: key, expires: expiresField(ns, rec.GetValue()), hash: sha256.Sum256(rec.GetValue())}, true
}

// indexingStore is the datastore kad-dht is given: the record store with the
// index kept beside it.
type indexingStore struct {
	ds.Batching
}

func (s indexingStore) Put(ctx context.Context, k ds.Key, value []byte) error {
	e, ok := entryFor(k, value)
	if !ok {
		return s.Batching.Put(ctx, k, value)
	}
	b, err := s.Batching.Batch(ctx)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, k, value); err != nil {
		return err
	}
	if err := b.Put(ctx, indexKey(k), e.encode()); err != nil {
		return err
	}
	return b.Commit(ctx)
}

func (s indexingStore) Delete(ctx context.Context, k ds.Key) error {
	if strings.HasPrefix(k.String(), indexPrefix) {
		return s.Batching.Delete(ctx, k)
	}
	b, err := s.Batching.Batch(ctx)
	if err != nil {
		return err
	}
	if err := b.Delete(ctx, k); err != nil {
		return err
	}
	if err := b.Delete(ctx, indexKey(k)); err != nil {
		return err
	}
	return b.Commit(ctx)
}

func (s indexingStore) Batch(ctx context.Context) (ds.Batch, error) {
	b, err := s.Batching.Batch(ctx)
	if err != nil {
		return nil, err
	}
	return indexingBatch{b}, nil
}

// indexingBatch keeps the index in step with batched writes too (kad-dht
// batches only provider records today; this does not rely on it).
type indexingBatch struct{ ds.Batch }

func (b indexingBatch) Put(ctx context.Context, k ds.Key, value []byte) error {
	if err := b.Batch.Put(ctx, k, value); err != nil {
		return err
	}
	if e, ok := entryFor(k, value); ok {
		return b.Batch.Put(ctx, indexKey(k), e.encode())
	}
	return nil
}

func (b indexingBatch) Delete(ctx context.Context, k ds.Key) error {
	if err := b.Batch.Delete(ctx, k); err != nil {
		return err
	}
	if strings.HasPrefix(k.String(), indexPrefix) {
		return nil
	}
	return b.Batch.Delete(ctx, indexKey(k))
}

// buildIndex indexes a store written before the index existed: it reads
// every entry once (any key: no layout assumed) and indexes those whose value
// is a storage record. It runs once per store.
func buildIndex(ctx context.Context, s indexingStore) error {
	if ok, err := s.Has(ctx, indexMarker); err != nil || ok {
		return err
	}
	res, err := s.Batching.Query(ctx, dsq.Query{})
	if err != nil {
		return err
	}
	var entries []indexEntry
	for r := range res.Next() {
		if r.Error != nil {
			res.Close()
			return r.Error
		}
		if e, ok := entryFor(ds.RawKey(r.Key), r.Value); ok {
			entries = append(entries, e)
		}
	}
	res.Close()
	b, err := s.Batching.Batch(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := b.Put(ctx, indexKey(e.dsKey), e.encode()); err != nil {
			return err
		}
	}
	if err := b.Put(ctx, indexMarker, []byte{1}); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return fmt.Errorf("dht: build record index: %w", err)
	}
	return nil
}

// heldRecords returns the index: every storage record the node holds.
func (s indexingStore) heldRecords(ctx context.Context) ([]indexEntry, error) {
	res, err := s.Batching.Query(ctx, dsq.Query{Prefix: indexPrefix})
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out []indexEntry
	for r := range res.Next() {
		if r.Error != nil {
			return out, r.Error
		}
		if e, err := decodeIndexEntry(r.Key, r.Value); err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// heldValue reads the value an entry names and checks it is the one indexed.
func (s indexingStore) heldValue(ctx context.Context, e indexEntry) ([]byte, error) {
	buf, err := s.Batching.Get(ctx, e.dsKey)
	if err != nil {
		return nil, err
	}
	rec := new(recpb.Record)
	if err := proto.Unmarshal(buf, rec); err != nil {
		return nil, err
	}
	if string(rec.GetKey()) != e.key || sha256.Sum256(rec.GetValue()) != e.hash {
		return nil, errors.New("dht: stored record does not match its index entry")
	}
	return rec.GetValue(), nil
}
