package daemon

import (
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/store"
)

// SetPurgeEvery makes the daemons started by the test purge history every
// p instead of every minute.
func SetPurgeEvery(t *testing.T, p time.Duration) {
	old := purgeEvery
	purgeEvery = p
	t.Cleanup(func() { purgeEvery = old })
}

// Advance moves the daemon's history clock forward by dt.
func (d *Daemon) Advance(dt time.Duration) { d.hist.skew.Add(int64(dt)) }

// HistoryKeys lists the keys of the history bucket as they are in the
// store, whatever the API shows.
func (d *Daemon) HistoryKeys() ([]string, error) {
	var keys []string
	err := d.st.View(func(tx *store.Tx) error {
		return tx.List(historyBucket, func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	})
	return keys, err
}
