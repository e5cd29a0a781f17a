package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged means the store file is not a whole, consistent store: cut
// short, overwritten, or corrupted. Nothing is written to a damaged store.
var ErrDamaged = errors.New("store: the store is damaged")

// bbolt's file layout, as far as checkFile reads it: two meta pages at the
// start of the file, each a 16-byte page header and then the meta (magic,
// version, page size and flags, 4 bytes each; the root bucket, 16; the
// freelist page, high-water page id and transaction id, 8 each; and an
// FNV-64a checksum of the 56 bytes before it).
const (
	boltMagic    = 0xED0CDAED
	boltVersion  = 2
	pageHeader   = 16
	metaChecked  = 56 // bytes of meta covered by the checksum
	metaLength   = metaChecked + 8
	minPageSize  = 512
	maxPageSize  = 64 << 10
	metaPgidOff  = 40 // offset of the high-water page id in the meta
	metaTxidOff  = 48
	metaSizeOff  = 8
	metaMagicOff = 0
)

type boltMeta struct {
	pageSize   uint32
	pgid, txid uint64
}

// readMeta reads and checks the meta at file offset off.
func readMeta(f *os.File, off int64) (boltMeta, bool) {
	var b [pageHeader + metaLength]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return boltMeta{}, false
	}
	m := b[pageHeader:]
	le := binary.LittleEndian
	if le.Uint32(m[metaMagicOff:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaChecked])
	if h.Sum64() != le.Uint64(m[metaChecked:]) {
		return boltMeta{}, false
	}
	ps := le.Uint32(m[metaSizeOff:])
	if ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: ps, pgid: le.Uint64(m[metaPgidOff:]), txid: le.Uint64(m[metaTxidOff:])}, true
}

// checkFile looks at a store file before bbolt maps it into memory: bbolt
// trusts the file to be as long as its newest meta page says, and touching a
// page past the end of a cut file kills the process (SIGBUS). It returns
// ErrDamaged for a file that is not a whole bbolt file.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	size := fi.Size()
	m0, ok0 := readMeta(f, 0)
	var m1 boltMeta
	var ok1 bool
	for _, ps := range []int64{int64(m0.pageSize), int64(os.Getpagesize()), 4096} {
		if ps > 0 {
			if m1, ok1 = readMeta(f, ps); ok1 {
				break
			}
		}
	}
	best, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		best, ok = m1, true
	}
	switch {
	case !ok && size < 2*minPageSize:
		return fmt.Errorf("%w: %s is %d bytes, too short to be a store", ErrDamaged, path, size)
	case !ok:
		return fmt.Errorf("%w: %s has no valid header (not a Komrade store, or overwritten)", ErrDamaged, path)
	case best.pgid > uint64(size)/uint64(best.pageSize):
		return fmt.Errorf("%w: %s is cut short (%d bytes of %d)", ErrDamaged, path, size, best.pgid*uint64(best.pageSize))
	}
	return nil
}

// checkConsistency runs bbolt's consistency check on an open store: every
// page reachable once, no page both used and free.
func checkConsistency(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		return nil
	})
}
