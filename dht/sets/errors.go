package sets

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors returned by the package. They are sentinel values for errors.Is;
// returned errors wrap them with context. A replica's rejection arrives as a
// *[RemoteError] that unwraps to the same sentinel, so errors.Is works the
// same whether the check failed locally or on a storage node.
var (
	// ErrInvalid: malformed item, request or response, unknown namespace,
	// bad cursor, expiry beyond the namespace's lifetime.
	ErrInvalid = errors.New("sets: invalid")
	// ErrTooLarge: an item or frame exceeds its size limit.
	ErrTooLarge = errors.New("sets: too large")
	// ErrQuota: the set is full, or the sending peer exceeded its rate.
	ErrQuota = errors.New("sets: quota exceeded")
	// ErrExpired: the item's expiry has passed.
	ErrExpired = errors.New("sets: expired")
	// ErrPoW: the item lacks the namespace's proof-of-work.
	ErrPoW = errors.New("sets: insufficient proof of work")
	// ErrNotEnoughReplicas: fewer replicas than required acknowledged a
	// write or answered a read.
	ErrNotEnoughReplicas = errors.New("sets: not enough replicas")
	// ErrUnavailable: a replica failed internally (for example a storage
	// error) or the service is closed.
	ErrUnavailable = errors.New("sets: replica unavailable")
)

// code is an error's number on the wire.
type code uint8

const (
	codeOK code = iota
	codeInvalid
	codeTooLarge
	codeQuota
	codeExpired
	codePoW
	codeUnavailable
	codeMax = codeUnavailable
)

// codeErrs maps wire codes to sentinels; index 0 (OK) is nil.
var codeErrs = [...]error{
	codeOK:          nil,
	codeInvalid:     ErrInvalid,
	codeTooLarge:    ErrTooLarge,
	codeQuota:       ErrQuota,
	codeExpired:     ErrExpired,
	codePoW:         ErrPoW,
	codeUnavailable: ErrUnavailable,
}

// codeOf returns the wire code of err: the first sentinel it wraps, or
// codeUnavailable.
func codeOf(err error) code {
	if err == nil {
		return codeOK
	}
	for c := codeInvalid; c <= codeMax; c++ {
		if errors.Is(err, codeErrs[c]) {
			return c
		}
	}
	return codeUnavailable
}

// maxMsgLen bounds the human-readable message in a response.
const maxMsgLen = 200

// wireMsg shortens an error message for a response. Messages name sizes,
// counts and limits, never item contents.
func wireMsg(err error) string {
	s := err.Error()
	if len(s) > maxMsgLen {
		s = s[:maxMsgLen]
	}
	return strings.ToValidUTF8(s, "?")
}

// RemoteError is a rejection reported by a storage node. It unwraps to the
// sentinel error named by the response's code.
type RemoteError struct {
	// Peer is the node that rejected the request.
	Peer peer.ID
	// Code is the wire code; Msg the node's (untrusted, shortened) reason.
	Code uint8
	Msg  string
}

// Error implements error.
func (e *RemoteError) Error() string {
	msg := strings.TrimPrefix(e.Msg, "sets: ")
	if !utf8.ValidString(msg) || len(msg) > maxMsgLen {
		msg = "(unprintable reason)"
	}
	return fmt.Sprintf("sets: peer %s rejected the request: %s", e.Peer.ShortString(), msg)
}

// Unwrap returns the sentinel error of the code.
func (e *RemoteError) Unwrap() error {
	if int(e.Code) < len(codeErrs) && e.Code != uint8(codeOK) {
		return codeErrs[e.Code]
	}
	return ErrUnavailable
}

// isRejection reports whether err is a rule-based refusal (as opposed to a
// transport or storage failure): the item is not acceptable, so trying other
// nodes would only bypass the rule.
func isRejection(err error) bool {
	switch codeOf(err) {
	case codeInvalid, codeTooLarge, codeQuota, codeExpired, codePoW:
		return true
	}
	return false
}
