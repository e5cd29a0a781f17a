package pki

import (
	"errors"
	"fmt"
	"strings"
)

// Validator checks /kmix/ DHT records: the value must be a well-formed signed
// descriptor, the key must name its signer, and the epoch must be fresh. When
// several values exist the newest descriptor wins. It implements kad-dht's
// record.Validator.
type Validator struct {
	Clock Clock
}

// Validate implements record.Validator.
func (v Validator) Validate(key string, value []byte) error {
	d, err := Verify(value)
	if err != nil {
		return err
	}
	if key != RecordKey(d.NodeID) {
		return errors.New("descriptor: key does not match node id")
	}
	if !v.Clock.Fresh(d.Epoch) {
		return fmt.Errorf("descriptor: epoch %d is not fresh", d.Epoch)
	}
	return nil
}

// Select implements record.Validator: the index of the newest valid
// descriptor.
func (v Validator) Select(key string, values [][]byte) (int, error) {
	if !strings.HasPrefix(key, "/kmix/") {
		return 0, errors.New("descriptor: wrong namespace")
	}
	best, bestIdx := (*Descriptor)(nil), -1
	for i, raw := range values {
		d, err := Verify(raw)
		if err != nil || key != RecordKey(d.NodeID) {
			continue
		}
		if best == nil || Newer(d, best) {
			best, bestIdx = d, i
		}
	}
	if bestIdx < 0 {
		return 0, errors.New("descriptor: no valid value")
	}
	return bestIdx, nil
}
