package messenger

import (
	"context"
	"errors"

	"github.com/komrade-net/komrade/client/store"
)

// entry reads message id.
func (m *Messenger) entry(id uint64) (*outEntry, error) {
	var e *outEntry
	err := m.st.View(func(tx *store.Tx) error {
		var err error
		e, err = getEntry(tx, id)
		return err
	})
	return e, err
}

// SealAndStoreForTest does what Deliver does for the first box of message
// id up to the moment its ACK arrives: the box is sealed, saved and stored,
// but the ACK is never recorded, as if the daemon crashed right then.
func SealAndStoreForTest(ctx context.Context, m *Messenger, id uint64) error {
	e, err := m.entry(id)
	if err != nil {
		return err
	}
	fs, err := e.frames()
	if err != nil {
		return err
	}
	if err := m.sealNext(e, fs[0]); err != nil {
		return err
	}
	return m.putWithRetry(ctx, *(*[32]byte)(e.PendingID), e.PendingVal)
}

// FailForTest marks message id failed, as ten unanswered tries would.
func FailForTest(m *Messenger, id uint64) error {
	e, err := m.entry(id)
	if err != nil {
		return err
	}
	return m.fail(e, errors.New("test: no acknowledgement"))
}
