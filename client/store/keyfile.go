package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/chacha20poly1305"
)

// The key file: forward secrecy at rest.
//
// bbolt copies a page on every write and never clears the old copy, so a
// value replaced or deleted stays in the file's free pages until the page
// happens to be reused. Sealed under a key the passphrase derives, it would
// open again for whoever seizes the device and coerces the passphrase: an
// earlier ratchet chain key, a message already read.
//
// So every value is sealed under its own random key, and that key lives in
// one fixed-size slot of a separate file (the store's path + ".keys"),
// wrapped under a key the passphrase derives. When the value is replaced or
// deleted, its slot is overwritten with zeros in place (same offset, same
// length) and synced: the old ciphertext may linger in bbolt's free pages,
// but the key that opened it is gone from both files.
//
// Slot i sits at offset i*slotSize: a 24-byte nonce and the 32-byte key
// sealed with XChaCha20-Poly1305 under the wrapping key, with the slot
// number as associated data (a wrapped key moved to another slot does not
// open). A slot of zeros is free.
//
// Crash safety: a new value's slot is written and synced before the bbolt
// transaction commits; the replaced value's slot is zeroed after it. A crash
// between the two leaves slots that no committed value names, and Open
// zeroes every such slot (sweep).
const (
	slotKeyLen = chacha20poly1305.KeySize
	slotSize   = chacha20poly1305.NonceSizeX + slotKeyLen + chacha20poly1305.Overhead // 72
	slotRefLen = 4                                                                    // the slot number in front of a value
	maxSlots   = 1 << 28
)

var zeroSlot [slotSize]byte

// keyFile is the open key file. Its whole content is kept in img (a few
// hundred KiB for a large store), so reads cost no system call.
type keyFile struct {
	f    *os.File
	wrap cipher.AEAD

	mu    sync.Mutex
	img   []byte // the file's content
	inUse []bool // slot i is named by a value (committed or in the open transaction)

	// A slot freed by a commit is zeroed once no read transaction that
	// began before that commit is still running (it may read the old
	// value). gen counts commits; views counts running reads by the gen
	// they began in.
	gen     uint64
	views   map[uint64]int
	pending []pendingSlot

	destroyed atomic.Bool // by Store.Destroy: nothing is read or written any more
}

type pendingSlot struct {
	gen  uint64
	slot uint32
}

func keyPath(path string) string { return path + ".keys" }

// openKeyFile opens (create: makes, emptying any file left there) the key
// file at path.
func openKeyFile(path string, wrap cipher.AEAD, create bool) (*keyFile, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: its key file %s is missing (without it no value opens)", ErrDamaged, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	// A slot cut short (a crash while the file grew) was never committed.
	img = img[:len(img)/slotSize*slotSize]
	if err := f.Truncate(int64(len(img))); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	if create {
		if err := syncDir(path); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &keyFile{f: f, wrap: wrap, img: img, inUse: make([]bool, len(img)/slotSize), views: map[uint64]int{}}, nil
}

func slotAD(i uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("komrade store slot "), i)
}

// newKey makes a random key, stores it wrapped in a free slot (not yet
// synced) and returns both.
func (kf *keyFile) newKey() (uint32, []byte, error) {
	key := make([]byte, slotKeyLen)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := rand.Read(key); err != nil {
		return 0, nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return 0, nil, err
	}
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if kf.destroyed.Load() {
		return 0, nil, errDestroyed
	}
	i := 0
	for i < len(kf.inUse) && kf.inUse[i] {
		i++
	}
	if i >= maxSlots {
		return 0, nil, errors.New("store: key file full")
	}
	slot := uint32(i)
	wrapped := kf.wrap.Seal(nonce, nonce, key, slotAD(slot))
	if err := kf.write(slot, wrapped); err != nil {
		return 0, nil, err
	}
	kf.inUse[slot] = true
	return slot, key, nil
}

// write puts b (slotSize bytes) in slot i, in the file and in img. Holds mu.
func (kf *keyFile) write(i uint32, b []byte) error {
	if kf.destroyed.Load() {
		return errDestroyed
	}
	off := int(i) * slotSize
	if _, err := kf.f.WriteAt(b, int64(off)); err != nil {
		return fmt.Errorf("store: key file: %w", err)
	}
	for len(kf.img) < off+slotSize {
		kf.img = append(kf.img, zeroSlot[:]...)
		kf.inUse = append(kf.inUse, false)
	}
	copy(kf.img[off:], b)
	return nil
}

// key returns the key in slot i.
func (kf *keyFile) key(i uint32) ([]byte, error) {
	kf.mu.Lock()
	if kf.destroyed.Load() {
		kf.mu.Unlock()
		return nil, errDestroyed
	}
	off := int(i) * slotSize
	if off+slotSize > len(kf.img) {
		kf.mu.Unlock()
		return nil, errors.New("store: damaged record (no such key slot)")
	}
	w := bytes.Clone(kf.img[off : off+slotSize])
	kf.mu.Unlock()
	k, err := kf.wrap.Open(nil, w[:chacha20poly1305.NonceSizeX], w[chacha20poly1305.NonceSizeX:], slotAD(i))
	if err != nil {
		return nil, errors.New("store: damaged record (its key slot does not open)")
	}
	return k, nil
}

func (kf *keyFile) sync() error {
	if kf.destroyed.Load() {
		return errDestroyed
	}
	if err := kf.f.Sync(); err != nil {
		return fmt.Errorf("store: key file: %w", err)
	}
	return nil
}

// zero overwrites the slots with zeros and frees them. Holds mu.
func (kf *keyFile) zero(slots []uint32) error {
	var err error
	for _, i := range slots {
		if int(i) < len(kf.inUse) {
			err = errors.Join(err, kf.write(i, zeroSlot[:]))
			kf.inUse[i] = false
		}
	}
	return err
}

// abort zeroes the slots a transaction took and that no commit names.
func (kf *keyFile) abort(slots []uint32) error {
	if len(slots) == 0 {
		return nil
	}
	kf.mu.Lock()
	defer kf.mu.Unlock()
	return errors.Join(kf.zero(slots), kf.sync())
}

// retire takes the slots a commit freed: they are zeroed now, or when the
// last read transaction that may still use them ends.
func (kf *keyFile) retire(slots []uint32) error {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	kf.gen++
	for _, i := range slots {
		kf.pending = append(kf.pending, pendingSlot{gen: kf.gen, slot: i})
	}
	return kf.reclaim(false)
}

// enter registers a read transaction about to begin; leave ends it.
func (kf *keyFile) enter() uint64 {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	kf.views[kf.gen]++
	return kf.gen
}

func (kf *keyFile) leave(g uint64) error {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if kf.views[g]--; kf.views[g] == 0 {
		delete(kf.views, g)
	}
	return kf.reclaim(false)
}

// reclaim zeroes the pending slots no running read can need (all of them
// if all), then syncs. Holds mu.
func (kf *keyFile) reclaim(all bool) error {
	if len(kf.pending) == 0 {
		return nil
	}
	oldest := ^uint64(0)
	for g := range kf.views {
		oldest = min(oldest, g)
	}
	var done []uint32
	keep := kf.pending[:0]
	for _, p := range kf.pending {
		// Freed by commit p.gen: a read that began in gen p.gen-1 or
		// earlier may still read the old value.
		if all || p.gen <= oldest {
			done = append(done, p.slot)
		} else {
			keep = append(keep, p)
		}
	}
	kf.pending = keep
	if len(done) == 0 {
		return nil
	}
	return errors.Join(kf.zero(done), kf.sync())
}

// sweep zeroes every slot that no value names (used: the slots values
// name), as a crash between a commit and its slot writes leaves them.
func (kf *keyFile) sweep(used map[uint32]bool) error {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	var stale []uint32
	for i := range kf.inUse {
		slot := uint32(i)
		kf.inUse[i] = used[slot]
		if !used[slot] && !bytes.Equal(kf.img[i*slotSize:(i+1)*slotSize], zeroSlot[:]) {
			stale = append(stale, slot)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return errors.Join(kf.zero(stale), kf.sync())
}

// destroy wipes the keys held in memory and closes the file; from then on
// no key is read or written. Store.Destroy then destroys the file itself.
func (kf *keyFile) destroy() {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if kf.destroyed.Swap(true) {
		return
	}
	clear(kf.img)
	kf.img, kf.inUse, kf.pending = nil, nil, nil
	kf.f.Close()
}

func (kf *keyFile) close() error {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if kf.destroyed.Load() {
		return nil
	}
	err := kf.reclaim(true)
	return errors.Join(err, kf.f.Close())
}

// syncDir syncs the directory holding path, so a created or renamed file
// stays.
func syncDir(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync directory: %w", err)
	}
	return nil
}
