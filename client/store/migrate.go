package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openKeys opens the key file of a store just opened (format: the meta
// format value) and zeroes the slots no value names. A store written before
// values had keys of their own is migrated first: every value is sealed
// again under a key of its own, and the file is rewritten so that the old
// values, sealed under the passphrase's key, are not left in its free pages.
func (s *Store) openKeys(format []byte) error {
	var err error
	switch {
	case len(format) == 0:
		if s.keys, err = openKeyFile(keyPath(s.path), s.wrap, true); err != nil {
			return err
		}
		if err := s.migrate(); err != nil {
			s.keys.f.Close()
			return fmt.Errorf("store: migrate to per-value keys: %w", err)
		}
	case bytes.Equal(format, formatKeyed), bytes.Equal(format, formatMigrated):
		if s.keys, err = openKeyFile(keyPath(s.path), s.wrap, false); err != nil {
			return err
		}
	default:
		return fmt.Errorf("store: %s is of an unknown format %q (written by a newer Komrade?)", s.path, format)
	}
	if bytes.Equal(format, formatMigrated) || len(format) == 0 {
		if err := s.scrub(); err != nil {
			s.keys.f.Close()
			return fmt.Errorf("store: scrub after migrating: %w", err)
		}
	}
	used := map[uint32]bool{}
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if bytes.Equal(name, metaBucket) {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				if slot, ok := slotOf(v); ok {
					used[slot] = true
				}
				return nil
			})
		})
	})
	if err == nil {
		err = s.keys.sweep(used)
	}
	if err != nil {
		s.keys.f.Close()
		return err
	}
	return nil
}

// migrate seals every value of a format-1 store (sealed under the store
// key) again under a key of its own, in one transaction.
func (s *Store) migrate() error {
	return s.Update(func(t *Tx) error {
		type entry struct{ bucket, k, rec []byte }
		var all []entry
		err := t.tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if bytes.Equal(name, metaBucket) {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				rec, err := s.open(k, v)
				if err != nil {
					return fmt.Errorf("%w: a value does not open", ErrDamaged)
				}
				all = append(all, entry{bytes.Clone(name), bytes.Clone(k), rec})
				return nil
			})
		})
		if err != nil {
			return err
		}
		for _, e := range all {
			v, err := t.sealValue(e.k, e.rec)
			clear(e.rec)
			if err != nil {
				return err
			}
			if err := t.tx.Bucket(e.bucket).Put(e.k, v); err != nil {
				return err
			}
		}
		return t.tx.Bucket(metaBucket).Put(metaFormat, formatMigrated)
	})
}

// scrub rewrites the store into a fresh file (bbolt's Compact copies only
// the live values), puts it in place, and overwrites the old file with
// zeros before its last link goes. A crash before the rename leaves the old
// file, still marked to be scrubbed; after it, the old file's blocks go back
// to the file system unscrubbed.
func (s *Store) scrub() error {
	tmp := s.path + ".scrub"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, s.db, 0)
	if err == nil {
		err = dst.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(metaBucket).Put(metaFormat, formatKeyed)
		})
	}
	if err = errors.Join(err, dst.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	old, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	defer old.Close()
	err = s.db.Close()
	s.db = nil // closed: Open must not close it again
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	if err := syncDir(s.path); err != nil {
		return err
	}
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	s.db = db
	return zeroFile(old)
}

// zeroFile overwrites f with zeros, whole, and syncs it.
func zeroFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	for left := fi.Size(); left > 0; {
		n := min(left, int64(len(zeros)))
		if _, err := f.Write(zeros[:n]); err != nil {
			return err
		}
		left -= n
	}
	return f.Sync()
}
