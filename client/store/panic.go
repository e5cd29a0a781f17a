package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Panic: destroying a store in well under a second.
//
// Every value of the store is sealed under a random key of its own, and
// those keys exist only in the key file (keyfile.go), wrapped under a key
// the passphrase derives with the salt in the store's meta bucket. So the
// store is destroyed by destroying what is small, not by overwriting what
// is large:
//
//  1. The key file is overwritten with zeros in place, synced, and removed:
//     no value opens any more, with any passphrase (their keys were random,
//     not derived from it).
//  2. Every copy of the salt in the store file is overwritten with zeros in
//     place (bbolt copies a page whenever it changes, as the meta bucket's
//     does when a store is migrated or upgraded, and old copies linger in
//     free pages; the file is read through once to find them all by the key
//     "salt" that precedes each), and the file synced and removed. Without the salt the passphrase derives nothing: not the
//     check that tells a right passphrase, not the names of buckets and keys
//     (HMACs under a derived key), which would otherwise let someone with the
//     passphrase test guesses such as "is there a contact named alice".
//
// The same is done to the file a crash may leave while a migrated store is
// rewritten (path + ".scrub"). The limits of overwriting in place on
// copy-on-write file systems and flash storage (docs/threat-model.md, "Seized
// device") apply here too.

// ErrDuress is what Open returns (besides being ErrWrongPassphrase, with
// the same text) when the passphrase was the store's duress passphrase: the
// store has been destroyed. Callers that show errors should show it as a
// wrong passphrase.
var ErrDuress = errors.New("store: duress passphrase")

// duressError is ErrWrongPassphrase to anyone who prints it, and ErrDuress
// to a caller that asks.
type duressError struct{}

func (duressError) Error() string { return ErrWrongPassphrase.Error() }
func (duressError) Is(target error) bool {
	return target == ErrWrongPassphrase || target == ErrDuress
}

// errDestroyed is the error of a store used after Destroy.
var errDestroyed = errors.New("store: destroyed (komrade panic)")

// Destroyed says what Destroy destroyed.
type Destroyed struct {
	// KeyFile is the key file overwritten and removed ("" if there was
	// none), KeyBytes its size and KeySlots the value keys it could hold.
	KeyFile  string
	KeyBytes int64
	KeySlots int64
	// StoreFiles are the store files whose salt was overwritten and which
	// were removed, StoreBytes their total size, and SaltCopies how many
	// copies of the salt were overwritten in them.
	StoreFiles []string
	StoreBytes int64
	SaltCopies int
}

// Destroy makes the store at path unreadable with any passphrase: its key
// file is overwritten and removed, every copy of its salt in the store file
// is overwritten, and the store file is removed, each synced to disk. It
// needs no passphrase, and works while another process has the store open
// (that process's values stop opening). A store that is not there is not an
// error: the result then names nothing.
func Destroy(path string) (*Destroyed, error) {
	d := &Destroyed{}
	// The key file first: once it is gone, no value opens.
	kp := keyPath(path)
	n, err := overwriteAndRemove(kp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return d, fmt.Errorf("store: destroy the key file: %w", err)
	default:
		d.KeyFile, d.KeyBytes, d.KeySlots = kp, n, n/slotSize
	}
	for _, p := range []string{path, path + ".scrub"} {
		n, copies, err := destroySalt(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return d, fmt.Errorf("store: destroy %s: %w", p, err)
		default:
			d.StoreFiles = append(d.StoreFiles, p)
			d.StoreBytes += n
			d.SaltCopies += copies
		}
	}
	return d, syncDir(path)
}

// overwriteAndRemove overwrites the file at path with zeros, syncs it and
// removes it; it returns the file's size.
func overwriteAndRemove(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := zeroFile(f); err != nil {
		return 0, err
	}
	return fi.Size(), os.Remove(path)
}

// saltKey is the meta key in front of every copy of the salt: bbolt keeps a
// leaf's key and value side by side.
var saltKey = append([]byte(nil), metaSalt...)

const saltLen = 16

// destroySalt overwrites with zeros the saltLen bytes after every "salt" in
// the file at path, syncs and removes it; it returns the file's size and
// the number of copies overwritten. A "salt" that is not the meta key
// (2^-32 per position in random data) costs 16 bytes of a value that no
// longer opens anyway.
func destroySalt(path string) (int64, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	const chunk = 4 << 20
	keep := len(saltKey) + saltLen - 1 // carried over between chunks
	buf := make([]byte, chunk+keep)
	var zeros [saltLen]byte
	copies := 0
	var base int64 // file offset of buf[0]
	have := 0
	for {
		n, rerr := io.ReadFull(f, buf[have:])
		have += n
		data := buf[:have]
		for i := 0; ; {
			j := bytes.Index(data[i:], saltKey)
			if j < 0 {
				break
			}
			at := i + j + len(saltKey)
			if at+saltLen > have && rerr == nil {
				break // finished in the next chunk
			}
			if _, err := f.WriteAt(zeros[:min(saltLen, have-at)], base+int64(at)); err != nil {
				return 0, 0, err
			}
			clear(data[at:min(at+saltLen, have)])
			copies++
			i = at
		}
		if rerr != nil { // io.EOF or io.ErrUnexpectedEOF: the file is read
			if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
				return 0, 0, rerr
			}
			break
		}
		// Keep the tail: a "salt" and its value may straddle chunks.
		copy(buf, data[have-keep:])
		base += int64(have - keep)
		have = keep
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	return fi.Size(), copies, os.Remove(path)
}

// Destroy destroys the open store as the package's Destroy does, after
// making it unusable: the key file is wiped in memory and its slots can no
// longer be written or read, and the bbolt file is closed (once running
// transactions end, which they soon do: no value opens). Later calls on s
// fail; Close does nothing.
func (s *Store) Destroy() (*Destroyed, error) {
	if s.destroyed.Swap(true) {
		return &Destroyed{}, nil
	}
	if s.keys != nil {
		s.keys.destroy()
	}
	// The keys derived from the passphrase stay in memory: other
	// goroutines may be using them this instant (clearing would race),
	// and without the key file and the salt they open nothing on disk.
	// The process that holds them exits (komrade panic stops the daemon).
	var err error
	if s.db != nil {
		err = s.db.Close()
	}
	d, derr := Destroy(s.path)
	return d, errors.Join(derr, err)
}

// newDuressVerifier is what the meta bucket holds when no duress
// passphrase is set: random bytes, as long as a verifier.
func newDuressVerifier() []byte {
	v := make([]byte, duressLen)
	if _, err := rand.Read(v); err != nil {
		panic(err)
	}
	return v
}

// The duress passphrase.
//
// The meta bucket of every store holds duressLen bytes under "duress".
// With a duress passphrase they are HKDF(argon2id(duress passphrase, the
// store's salt), "komrade store duress"); without one, random bytes. HKDF's
// output looks random to whoever does not know its input, so the bytes on
// disk do not tell whether a duress passphrase exists, not even to someone
// who has the real passphrase (it derives other keys). Open derives the
// same value from whatever passphrase it is given, with the one argon2id
// derivation it makes anyway, and compares it when the check fails: a
// duress passphrase costs an unlock no extra time until it is used. Only
// guessing the duress passphrase itself (an argon2id per guess, as for the
// real one) would show that there is one.
const duressLen = 32
