// Package secretfile reads and writes the small files that hold secrets:
// identity keys, onion service keys, passphrase files and configs. Files are
// written with mode 0600 through a temporary file that is synced and then
// renamed (or linked) into place, so a crash leaves the old file or the new
// one, never a torn one; a file that group or others may read is refused.
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxSize is the largest secret file Read accepts.
const MaxSize = 1 << 20

// Read reads a file that holds a secret. It refuses a file that group or
// others may read, and anything but a regular file of at most MaxSize
// bytes. what names the file in errors, which wrap the os errors
// (fs.ErrNotExist and the like).
func Read(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s %s has mode %v: must not be readable by others (chmod 600)", what, path, fi.Mode().Perm())
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxSize {
		return nil, fmt.Errorf("%s %s: not a regular file of at most 1 MiB", what, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// Write replaces path with data, mode 0600, atomically.
func Write(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s: %w", path, err)
	}
	syncDir(path)
	return nil
}

// Create writes data to path, mode 0600, atomically and only if path does
// not exist: of two processes creating the same file, one wins and the other
// gets an error that wraps fs.ErrExist. Use it for keys, which must never be
// replaced.
func Create(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link fails if path exists, and makes the complete file appear
	// at once.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	syncDir(path)
	return nil
}

// writeTemp writes data to a new temporary file beside path (mode 0600,
// synced) and returns its name.
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(op string, err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("%s %s: %w", op, path, err)
	}
	// CreateTemp makes files 0600; say so explicitly against odd umasks.
	if err := f.Chmod(0o600); err != nil {
		return fail("write", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("close %s: %w", path, err)
	}
	return tmp, nil
}

// syncDir makes a rename or link in path's directory durable. Failure is
// ignored: the file itself is synced, and some file systems cannot sync a
// directory.
func syncDir(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
}
