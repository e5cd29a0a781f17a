// Package store is the client's encrypted local state: one bbolt file in
// which every key and value is sealed with XChaCha20-Poly1305 under keys
// derived from the user's passphrase (argon2id once at Open, then HKDF).
// Contacts, capabilities, messages and queues all live here; nothing about
// them is readable on disk without the passphrase, not even key names.
//
// Each value is sealed under its own random key, kept in a separate key
// file (keyfile.go) and overwritten with zeros when the value is replaced or
// deleted: a seized store, passphrase and all, does not give back earlier
// ratchet keys or messages already read (once the daemon's history, kept
// for keep_read, has let them go).
//
// Writes go through Update, one bbolt transaction: several changes land
// together or not at all, so a crash never leaves half an update (a message
// marked sent but not queued, say). The file is created 0600.
package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"crypto/hkdf"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/komrade-net/komrade/internal/seal"
)

var (
	metaBucket = []byte("meta")
	metaSalt   = []byte("salt")
	metaParams = []byte("params")
	metaCheck  = []byte("check")
	// metaDuress holds the duress verifier (duress.go): a value derived
	// from the duress passphrase, or random bytes when there is none.
	metaDuress = []byte("duress")
	// metaFormat is absent in stores written before values had keys of
	// their own (Open migrates them); formatMigrated marks a store whose
	// values were migrated but whose file still holds the old values'
	// pages, to be scrubbed.
	metaFormat     = []byte("format")
	formatKeyed    = []byte("2")
	formatMigrated = []byte("2m")
)

// ErrWrongPassphrase means the passphrase does not open the store.
var ErrWrongPassphrase = errors.New("store: wrong passphrase")

// ErrNotFound means no value is stored under the key.
var ErrNotFound = errors.New("store: not found")

// Store is an open encrypted store.
type Store struct {
	db   *bolt.DB
	aead interface {
		Seal(dst, nonce, plaintext, ad []byte) []byte
		Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
	}
	macKey []byte
	wrap   cipher.AEAD // wraps the key file's slots
	keys   *keyFile
	path   string
	// duress is the verifier the passphrase given to Open or Create
	// derives (compared with the stored one when the check fails).
	duress []byte
	// destroyed is set by Destroy.
	destroyed atomic.Bool
}

// Create makes a new store at path (mode 0600); it fails if one exists.
func Create(path string, passphrase []byte, p seal.Params) (*Store, error) {
	return CreateWithDuress(path, passphrase, nil, p)
}

// CreateWithDuress is Create with a duress passphrase (none if empty):
// giving it to Open destroys the store (see Destroy), and Open then fails
// as for a wrong passphrase. Whether a store has one cannot be told from
// its files (duress.go); it can be set only here, at creation.
func CreateWithDuress(path string, passphrase, duress []byte, p seal.Params) (*Store, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("store: empty passphrase")
	}
	if len(duress) > 0 && bytes.Equal(duress, passphrase) {
		return nil, errors.New("store: the duress passphrase must differ from the passphrase")
	}
	// Created exclusively: of two inits racing, one gets the file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("store: %s already exists", path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	fail := func(err error) (*Store, error) {
		db.Close()
		os.Remove(path)
		os.Remove(keyPath(path))
		return nil, fmt.Errorf("store: initialise: %w", err)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return fail(err) // the file made above must not block the next init
	}
	s, err := newStore(db, passphrase, salt, p)
	if err != nil {
		return fail(err)
	}
	verifier := newDuressVerifier()
	if len(duress) > 0 {
		d, err := newStore(db, duress, salt, p)
		if err != nil {
			return fail(err)
		}
		verifier = d.duress
		clear(d.macKey)
	}
	s.path = path
	// The store file is ours (created exclusively): a key file left
	// beside it belongs to no store.
	if s.keys, err = openKeyFile(keyPath(path), s.wrap, true); err != nil {
		return fail(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		params := []byte{byte(p.Time), byte(p.Memory >> 24), byte(p.Memory >> 16), byte(p.Memory >> 8), byte(p.Memory), p.Threads}
		if err := b.Put(metaSalt, salt); err != nil {
			return err
		}
		if err := b.Put(metaParams, params); err != nil {
			return err
		}
		if err := b.Put(metaFormat, formatKeyed); err != nil {
			return err
		}
		if err := b.Put(metaDuress, verifier); err != nil {
			return err
		}
		return b.Put(metaCheck, s.seal([]byte("check"), []byte("komrade store v1")))
	})
	if err != nil {
		s.keys.f.Close()
		return fail(err)
	}
	return s, nil
}

// Open opens an existing store with its passphrase.
func Open(path string, passphrase []byte) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store: %s is in use (is a daemon already using it?)", path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("store: %s cannot be opened for writing: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("%w: open %s: %v", ErrDamaged, path, err)
	}
	if err := checkConsistency(db); err != nil {
		db.Close()
		return nil, err
	}
	var salt, params, check, format, verifier []byte
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(metaBucket)
		if b == nil {
			return errors.New("store: not a Komrade store")
		}
		salt = append([]byte(nil), b.Get(metaSalt)...)
		params = append([]byte(nil), b.Get(metaParams)...)
		check = append([]byte(nil), b.Get(metaCheck)...)
		format = append([]byte(nil), b.Get(metaFormat)...)
		verifier = append([]byte(nil), b.Get(metaDuress)...)
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(salt) != 16 || len(params) != 6 {
		db.Close()
		return nil, fmt.Errorf("%w: its header is damaged", ErrDamaged)
	}
	p := seal.Params{Time: uint32(params[0]), Memory: uint32(params[1])<<24 | uint32(params[2])<<16 | uint32(params[3])<<8 | uint32(params[4]), Threads: params[5]}
	if p.Validate() != nil {
		db.Close()
		return nil, fmt.Errorf("%w: its header is damaged", ErrDamaged)
	}
	s, err := newStore(db, passphrase, salt, p)
	if err != nil {
		db.Close()
		return nil, err
	}
	if pt, err := s.open([]byte("check"), check); err != nil || string(pt) != "komrade store v1" {
		db.Close()
		clear(s.macKey)
		if len(verifier) == duressLen && hmac.Equal(verifier, s.duress) {
			// The duress passphrase: destroy, then fail as a wrong
			// passphrase does.
			if _, err := Destroy(path); err != nil {
				return nil, errors.Join(duressError{}, err)
			}
			return nil, duressError{}
		}
		return nil, ErrWrongPassphrase
	}
	s.path = path
	if err := s.openKeys(format); err != nil {
		if s.db != nil { // scrub may have closed it
			s.db.Close()
		}
		return nil, err
	}
	if len(verifier) == 0 {
		// A store made before duress passphrases: give it random bytes in
		// their place, so that it looks like every other store.
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(metaBucket).Put(metaDuress, newDuressVerifier())
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return s, nil
}

func newStore(db *bolt.DB, passphrase, salt []byte, p seal.Params) (*Store, error) {
	master := argon2.IDKey(passphrase, salt, p.Time, p.Memory, p.Threads, 32)
	defer clear(master)
	derive := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "komrade store "+label, 32)
		if err != nil {
			panic(err) // only for lengths beyond 255 hashes
		}
		return k
	}
	encKey := derive("values")
	defer clear(encKey)
	aead, err := chacha20poly1305.NewX(encKey)
	if err != nil {
		return nil, err
	}
	wrapKey := derive("slots")
	defer clear(wrapKey)
	wrap, err := chacha20poly1305.NewX(wrapKey)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, aead: aead, macKey: derive("keys"), wrap: wrap, duress: derive("duress")}, nil
}

// Close closes the files; after Destroy it does nothing.
func (s *Store) Close() error {
	if s.destroyed.Load() {
		return nil
	}
	clear(s.macKey)
	clear(s.duress)
	err := s.db.Close()
	return errors.Join(err, s.keys.close())
}

// name hides a bucket or key name: an HMAC, so lookups work and names do
// not show on disk.
func (s *Store) name(parts ...string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s", len(p), p)
	}
	return m.Sum(nil)
}

func (s *Store) seal(ad, plaintext []byte) []byte {
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, ad)
}

func (s *Store) open(ad, sealed []byte) ([]byte, error) {
	if len(sealed) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, errors.New("store: damaged value")
	}
	return s.aead.Open(nil, sealed[:chacha20poly1305.NonceSizeX], sealed[chacha20poly1305.NonceSizeX:], ad)
}

// Tx is a read-write transaction on the store.
type Tx struct {
	s  *Store
	tx *bolt.Tx
	// The key slots this transaction took for new values, and those of
	// the values it replaced or deleted.
	took, freed []uint32
}

// Update runs f in one transaction: all its writes land, or none. The keys
// of the values it replaced or deleted are destroyed once it commits.
func (s *Store) Update(f func(*Tx) error) error {
	t := &Tx{s: s}
	err := s.db.Update(func(tx *bolt.Tx) error {
		t.tx = tx
		if err := f(t); err != nil {
			return err
		}
		if len(t.took) == 0 {
			return nil
		}
		// The new values' keys are on disk before the values are.
		return s.keys.sync()
	})
	if err != nil {
		return errors.Join(err, s.keys.abort(t.took))
	}
	return s.keys.retire(t.freed)
}

// View runs f in a read-only transaction.
func (s *Store) View(f func(*Tx) error) error {
	g := s.keys.enter()
	err := s.db.View(func(tx *bolt.Tx) error { return f(&Tx{s: s, tx: tx}) })
	return errors.Join(err, s.keys.leave(g))
}

// sealValue seals rec, the record of hidden key k, under a new key of its
// own: the value is the key's slot number ‖ nonce ‖ ciphertext, and the
// associated data k ‖ slot number (a value moved to another key, or given
// another slot, does not open).
func (t *Tx) sealValue(k, rec []byte) ([]byte, error) {
	slot, key, err := t.s.keys.newKey()
	if err != nil {
		return nil, err
	}
	defer clear(key)
	t.took = append(t.took, slot)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	v := make([]byte, slotRefLen+chacha20poly1305.NonceSizeX, slotRefLen+chacha20poly1305.NonceSizeX+len(rec)+chacha20poly1305.Overhead)
	binary.BigEndian.PutUint32(v, slot)
	if _, err := rand.Read(v[slotRefLen:]); err != nil {
		return nil, err
	}
	ad := append(bytes.Clone(k), v[:slotRefLen]...)
	return aead.Seal(v, v[slotRefLen:], rec, ad), nil
}

// slotOf is the key slot a stored value names.
func slotOf(v []byte) (uint32, bool) {
	if len(v) < slotRefLen+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// Put stores value under (bucket, key).
func (t *Tx) Put(bucket, key string, value []byte) error {
	b, err := t.tx.CreateBucketIfNotExists(t.s.name("bucket", bucket))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	k := t.s.name(bucket, key)
	old, had := slotOf(b.Get(k))
	// The sealed record carries its key name, so List can recover it; the
	// hidden name is the associated data, so records cannot be swapped.
	rec := append([]byte{byte(len(key) >> 8), byte(len(key))}, key...)
	rec = append(rec, value...)
	v, err := t.sealValue(k, rec)
	clear(rec)
	if err != nil {
		return err
	}
	if err := b.Put(k, v); err != nil {
		return err
	}
	if had {
		t.freed = append(t.freed, old)
	}
	return nil
}

// Get returns the value under (bucket, key), or ErrNotFound.
func (t *Tx) Get(bucket, key string) ([]byte, error) {
	b := t.tx.Bucket(t.s.name("bucket", bucket))
	if b == nil {
		return nil, ErrNotFound
	}
	k := t.s.name(bucket, key)
	v := b.Get(k)
	if v == nil {
		return nil, ErrNotFound
	}
	_, val, err := t.s.decode(k, v)
	return val, err
}

// Delete removes (bucket, key); a missing key is not an error.
func (t *Tx) Delete(bucket, key string) error {
	b := t.tx.Bucket(t.s.name("bucket", bucket))
	if b == nil {
		return nil
	}
	k := t.s.name(bucket, key)
	old, had := slotOf(b.Get(k))
	if err := b.Delete(k); err != nil {
		return err
	}
	if had {
		t.freed = append(t.freed, old)
	}
	return nil
}

// List calls f for every key and value of bucket, in no particular order.
func (t *Tx) List(bucket string, f func(key string, value []byte) error) error {
	b := t.tx.Bucket(t.s.name("bucket", bucket))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		key, val, err := t.s.decode(k, v)
		if err != nil {
			return err
		}
		return f(key, val)
	})
}

// decode opens the value v of hidden key k.
func (s *Store) decode(k, v []byte) (string, []byte, error) {
	slot, ok := slotOf(v)
	if !ok {
		return "", nil, errors.New("store: damaged record")
	}
	key, err := s.keys.key(slot)
	if err != nil {
		return "", nil, err
	}
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return "", nil, err
	}
	ad := append(bytes.Clone(k), v[:slotRefLen]...)
	rec, err := aead.Open(nil, v[slotRefLen:slotRefLen+chacha20poly1305.NonceSizeX], v[slotRefLen+chacha20poly1305.NonceSizeX:], ad)
	if err != nil {
		return "", nil, errors.New("store: damaged record")
	}
	defer clear(rec)
	return parseRecord(rec)
}

// parseRecord splits a record into its key name and value.
func parseRecord(rec []byte) (string, []byte, error) {
	if len(rec) < 2 {
		return "", nil, errors.New("store: damaged record")
	}
	n := int(rec[0])<<8 | int(rec[1])
	if len(rec) < 2+n {
		return "", nil, errors.New("store: damaged record")
	}
	return string(rec[2 : 2+n]), bytes.Clone(rec[2+n:]), nil
}

// Put stores one value in its own transaction.
func (s *Store) Put(bucket, key string, value []byte) error {
	return s.Update(func(t *Tx) error { return t.Put(bucket, key, value) })
}

// Get reads one value.
func (s *Store) Get(bucket, key string) (v []byte, err error) {
	err = s.View(func(t *Tx) error { v, err = t.Get(bucket, key); return err })
	return v, err
}
