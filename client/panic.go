package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/komrade-net/komrade/client/store"
)

// LogFile is the daemon's log in a client home when it runs in the
// background.
const LogFile = "daemon.log"

// PanicReport says what Panic destroyed.
type PanicReport struct {
	store.Destroyed
	// Log is the daemon's log, overwritten and removed ("" if none).
	Log string `json:",omitempty"`
}

// Panic makes the client home unreadable: the encrypted store is destroyed
// (store.Destroy: its key file and every copy of its salt overwritten, both
// files removed, in well under a second) and the daemon's log, which names
// the identity's fingerprint, is overwritten and removed. st is the store
// if this process has it open (the daemon), or nil. Nothing there is not
// an error: the report then names nothing.
func Panic(home string, st *store.Store) (*PanicReport, error) {
	var d *store.Destroyed
	var err error
	if st != nil {
		d, err = st.Destroy()
	} else {
		d, err = store.Destroy(filepath.Join(home, StateFile))
	}
	r := &PanicReport{}
	if d != nil {
		r.Destroyed = *d
	}
	logPath := filepath.Join(home, LogFile)
	if lerr := wipe(logPath); lerr == nil {
		r.Log = logPath
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("client: wipe %s: %w", logPath, lerr))
	}
	return r, err
}

// wipe overwrites the file at path with zeros, syncs and removes it.
func wipe(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	for off := int64(0); off < fi.Size(); off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), fi.Size()-off)], off); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return os.Remove(path)
}
