package sets

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/komrade-net/komrade/wire"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors: the package reports wire's sentinel errors (wire.ErrInvalid,
// wire.ErrQuota, wire.ErrReplicas, ...) wrapped with context, and answers a
// remote peer with the error's wire.Status. A replica's refusal arrives as a
// *[RemoteError] that unwraps to the same sentinel, so errors.Is works the
// same whether the check failed locally or on a storage node.

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
	// Status is the refusal's status; Msg the node's (untrusted,
	// shortened) reason.
	Status wire.Status
	Msg    string
}

// Error implements error.
func (e *RemoteError) Error() string {
	msg := strings.TrimPrefix(e.Msg, "sets: ")
	if !utf8.ValidString(msg) || len(msg) > maxMsgLen {
		msg = "(unprintable reason)"
	}
	return fmt.Sprintf("sets: peer %s rejected the request: %s", e.Peer.ShortString(), msg)
}

// Unwrap returns the sentinel error of the status.
func (e *RemoteError) Unwrap() error {
	if err := e.Status.Err(); err != nil {
		return err
	}
	return wire.ErrUnavailable // a refusal that says OK
}
