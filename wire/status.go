package wire

import (
	"context"
	"errors"
	"fmt"
)

// Status is a result code on the wire: in an exit's reply to a client, and
// in a storage node's answer to another node on the set protocol. It is the
// one error vocabulary of Komrade: every error a record, a set item, the DHT
// or an exit reports is (or wraps) one of the sentinel errors below, and
// StatusOf and Status.Err map between the two in one place.
type Status uint8

// Statuses. The numbers are part of the wire format.
const (
	StatusOK          Status = 0
	StatusBadOp       Status = 1  // unknown operation
	StatusInvalid     Status = 2  // malformed, or fails validation (signature, hash, key, shape)
	StatusQuota       Status = 3  // a per-key or per-source quota is exhausted
	StatusNotFound    Status = 4  // nothing stored under the key
	StatusTimeout     Status = 5  // the storage nodes did not answer in time
	StatusTooLarge    Status = 6  // the item or record exceeds its size limit
	StatusReplicas    Status = 7  // fewer than the quorum stored the write or answered
	StatusStale       Status = 8  // a newer record is already stored
	StatusBusy        Status = 9  // the exit is overloaded; try another path
	StatusExpired     Status = 10 // the expiry has passed, or lies too far ahead
	StatusPoW         Status = 11 // not enough proof-of-work for the namespace
	StatusUnavailable Status = 12 // a storage node failed internally, or is closing
	maxStatus                = StatusUnavailable
)

// The sentinel errors of the statuses; test with errors.Is. Errors returned
// by Komrade's packages wrap them with context, and more precise reasons
// (record.ErrBadSignature, say) unwrap to them.
var (
	ErrBadOp       = errors.New("unknown operation")
	ErrInvalid     = errors.New("invalid")
	ErrQuota       = errors.New("quota exceeded")
	ErrNotFound    = errors.New("not found")
	ErrTimeout     = errors.New("storage timed out")
	ErrTooLarge    = errors.New("too large")
	ErrReplicas    = errors.New("not enough replicas")
	ErrStale       = errors.New("a newer record is stored")
	ErrBusy        = errors.New("busy")
	ErrExpired     = errors.New("expired or expiry too far ahead")
	ErrPoW         = errors.New("insufficient proof of work")
	ErrUnavailable = errors.New("storage node unavailable")
)

var statusErrs = [...]error{
	StatusOK:          nil,
	StatusBadOp:       ErrBadOp,
	StatusInvalid:     ErrInvalid,
	StatusQuota:       ErrQuota,
	StatusNotFound:    ErrNotFound,
	StatusTimeout:     ErrTimeout,
	StatusTooLarge:    ErrTooLarge,
	StatusReplicas:    ErrReplicas,
	StatusStale:       ErrStale,
	StatusBusy:        ErrBusy,
	StatusExpired:     ErrExpired,
	StatusPoW:         ErrPoW,
	StatusUnavailable: ErrUnavailable,
}

// Err returns the sentinel error of a status, nil for StatusOK, and an error
// that unwraps to ErrUnavailable for a status this code does not know.
func (s Status) Err() error {
	if s <= maxStatus {
		return statusErrs[s]
	}
	return fmt.Errorf("unknown status %d: %w", uint8(s), ErrUnavailable)
}

// Known reports whether s is a status this code defines.
func (s Status) Known() bool { return s <= maxStatus }

// StatusOf returns the status of err: StatusOK for nil, the status of the
// first sentinel error err wraps, StatusTimeout for a context deadline, and
// StatusUnavailable for anything else (an internal failure).
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	for s := StatusBadOp; s <= maxStatus; s++ {
		if errors.Is(err, statusErrs[s]) {
			return s
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return StatusTimeout
	}
	return StatusUnavailable
}

// Final reports whether the status refuses the request itself, so that
// sending it again, or to another node, cannot change the answer (it would
// only go around a rule). Timeouts, missing replicas, a busy exit and
// unavailable nodes are not final.
func (s Status) Final() bool {
	switch s {
	case StatusBadOp, StatusInvalid, StatusQuota, StatusNotFound, StatusTooLarge, StatusStale, StatusExpired, StatusPoW:
		return true
	}
	return false
}

// IsFinal reports whether err is a final refusal (see Status.Final).
func IsFinal(err error) bool { return err != nil && StatusOf(err).Final() }

// Reason returns an error that says msg and unwraps to kind, one of the
// sentinel errors: a more precise cause that keeps its status.
func Reason(kind error, msg string) error { return &reason{msg: msg, kind: kind} }

type reason struct {
	msg  string
	kind error
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.kind }
