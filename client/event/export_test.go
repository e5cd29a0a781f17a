package event

import "github.com/komrade-net/komrade/client/store"

// SetSeenSeq makes the reader believe it read version seq of event id
// (as after a newer version that the network then lost or rolled back).
func (e *Events) SetSeenSeq(id ID, seq uint64) error {
	return e.st.Update(func(tx *store.Tx) error {
		k, err := getLocal[knownRec](tx, bucketKnown, id)
		if err != nil || k == nil {
			return err
		}
		k.Seq = seq
		return putLocal(tx, bucketKnown, id, k)
	})
}

// ReadKey is the read key kept for event id (nil if none).
func (e *Events) ReadKey(id ID) ([]byte, error) {
	var key []byte
	err := e.st.View(func(tx *store.Tx) error {
		k, err := getLocal[knownRec](tx, bucketKnown, id)
		if k != nil {
			key = k.ReadKey
		}
		return err
	})
	return key, err
}
