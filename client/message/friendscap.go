package message

import (
	"fmt"

	"github.com/katzenpost/hpqc/bacap"
)

// Friends capabilities. Each user writes a friends stream (a BACAP stream
// whose boxes hold the posts and the profile that only their contacts may
// read, see client/social) and hands its read capability to every
// confirmed contact in their conversation, as the one-part body of a
// KindFriendsCap frame:
//
//	op 1 (FriendsCapGive) | read capability (bacap.ReadCapSize bytes)
//	op 2 (FriendsCapAsk), and nothing else
//
// A read capability given here starts at the stream's next box, not at its
// first: BACAP's index chain runs forward only, so the contact cannot read
// what was written before.

// FriendsCapOp is what a friends-capability frame says.
type FriendsCapOp uint8

// Friends-capability operations.
const (
	// FriendsCapGive hands over the read capability of the sender's
	// current friends stream (after a hello, or when the stream moved to
	// fresh keys because a contact was removed).
	FriendsCapGive FriendsCapOp = 1
	// FriendsCapAsk asks the reader for its current capability again: the
	// sender was away longer than boxes live and lost its place.
	FriendsCapAsk FriendsCapOp = 2
)

// FriendsCap is a decoded friends-capability body.
type FriendsCap struct {
	Op      FriendsCapOp
	ReadCap []byte // FriendsCapGive: a bacap.ReadCap, bacap.ReadCapSize bytes
}

// EncodeFriendsCap lays out c as a frame body.
func EncodeFriendsCap(c FriendsCap) ([]byte, error) {
	switch c.Op {
	case FriendsCapAsk:
		if len(c.ReadCap) != 0 {
			return nil, fmt.Errorf("message: a friends-capability request carries no capability")
		}
		return []byte{byte(c.Op)}, nil
	case FriendsCapGive:
		if err := CheckReadCap(c.ReadCap); err != nil {
			return nil, fmt.Errorf("message: friends capability: %w", err)
		}
		return append([]byte{byte(c.Op)}, c.ReadCap...), nil
	}
	return nil, fmt.Errorf("message: friends-capability op %d", c.Op)
}

// DecodeFriendsCap checks the size and operation of a friends-capability
// body, and that the capability parses, and returns it.
func DecodeFriendsCap(b []byte) (*FriendsCap, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty friends-capability body", ErrFrame)
	}
	switch op := FriendsCapOp(b[0]); op {
	case FriendsCapAsk:
		if len(b) != 1 {
			return nil, fmt.Errorf("%w: friends-capability request of %d bytes", ErrFrame, len(b))
		}
		return &FriendsCap{Op: op}, nil
	case FriendsCapGive:
		if len(b) != 1+bacap.ReadCapSize {
			return nil, fmt.Errorf("%w: friends capability of %d bytes", ErrFrame, len(b))
		}
		if err := CheckReadCap(b[1:]); err != nil {
			return nil, fmt.Errorf("%w: friends capability: %v", ErrFrame, err)
		}
		return &FriendsCap{Op: op, ReadCap: append([]byte(nil), b[1:]...)}, nil
	}
	return nil, fmt.Errorf("%w: friends-capability op %d", ErrFrame, b[0])
}

// CheckReadCap reports whether b is a usable BACAP read capability: the
// right size, and a root key that is a point of the curve. (bacap parses
// any 32 bytes as a key, and deriving a box id from one that is no point
// panics; a capability from another person must be checked first.)
func CheckReadCap(b []byte) (err error) {
	rc, err := bacap.ReadCapFromBytes(b)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the capability's key is not a curve point")
		}
	}()
	rc.GetFirstMessageBoxIndex().BoxIDForContext(rc, []byte("komrade read cap check"))
	return nil
}
