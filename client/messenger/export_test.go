package messenger

import (
	"context"
	"errors"
	"time"

	"github.com/katzenpost/hpqc/bacap"
	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/client/store"
	"github.com/komrade-net/komrade/wire/record"
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

// PutBoxForTest writes the next box of m's stream to contact name out of
// band, as a hostile or broken contact could: with hello set, a signed
// hello frame whose body is body; otherwise body as the ciphertext itself
// (which will not open). The stream's position advances, as if a message
// had been sent.
func PutBoxForTest(ctx context.Context, m *Messenger, name string, hello bool, body []byte) error {
	var id [32]byte
	var val []byte
	err := m.st.Update(func(tx *store.Tx) error {
		c, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		wc, err := bacap.NewWriteCapFromBytes(c.OutWrite)
		if err != nil {
			return err
		}
		i, key := c.OutChain.Next()
		idx, err := boxIndex(wc, i)
		if err != nil {
			return err
		}
		boxID := *(*[32]byte)(idx.BoxIDForContext(wc.ReadCap(), boxContext).Bytes())
		ct := body
		if hello {
			pt, err := message.Encode(message.Frame{Kind: message.KindHello, Parts: 1, Body: body}, i, m.id.Sign)
			if err != nil {
				return err
			}
			if ct, err = message.Seal(key, boxID[:], pt); err != nil {
				return err
			}
		}
		if id, val, err = record.SealBox(wc, idx, boxContext, ct, boxTTL); err != nil {
			return err
		}
		return m.save(tx, c)
	})
	if err != nil {
		return err
	}
	return m.putWithRetry(ctx, id, val)
}

// SetTriesForTest sets how many tries a round of a request makes.
func SetTriesForTest(m *Messenger, n int) { m.tries = n }

// SetProbeEveryForTest sets how often a reader probes a contact's stream for
// a gap.
func SetProbeEveryForTest(m *Messenger, d time.Duration) { m.probeEvery = d }

// LastOutBoxKeyForTest returns the DHT key of the last box m wrote to
// contact name's stream.
func LastOutBoxKeyForTest(m *Messenger, name string) (string, error) {
	c, err := m.load(name)
	if err != nil {
		return "", err
	}
	wc, err := bacap.NewWriteCapFromBytes(c.OutWrite)
	if err != nil {
		return "", err
	}
	idx, err := boxIndex(wc, c.OutChain.Index-1)
	if err != nil {
		return "", err
	}
	return record.BoxKey(*(*[32]byte)(idx.BoxIDForContext(wc.ReadCap(), boxContext).Bytes())), nil
}

// SetHoldForTest sets how long a reader keeps the key of a missing box.
func SetHoldForTest(m *Messenger, d time.Duration) { m.holdFor = d }

// DropKeptForTest deletes the copies m keeps of its boxes to contact name,
// as if they had been pushed out or had expired: a box reported lost can
// no longer be written again.
func DropKeptForTest(m *Messenger, name string) error {
	return m.st.Update(func(tx *store.Tx) error {
		c, err := loadTx(tx, name)
		if err != nil {
			return err
		}
		for i := range c.OutChain.Index {
			if err := tx.Delete("kept", boxKey(name, i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// BoxWritesForTest is how many box writes m has sent since New: every try
// of every box (a box retried after a lost ACK counts again).
func BoxWritesForTest(m *Messenger) uint64 { return m.puts.Load() }
