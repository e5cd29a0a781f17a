package webui

import (
	"context"
	"time"

	"github.com/komrade-net/komrade/client/social"
)

// Backend is what the interface shows and changes: the daemon's own Go
// functions (client/daemon/ui.go), never its socket API.
type Backend interface {
	// Status is the daemon's state: gateway, cover traffic, outbox.
	Status() (*Status, error)
	// Contacts lists the contacts, sorted by name.
	Contacts() ([]Contact, error)
	// Invite makes contact name and returns the invite code to give them.
	Invite(name string) (string, error)
	// Accept completes an invite code from someone who will be contact
	// name.
	Accept(ctx context.Context, code, name string) error
	// Conversation returns the messages with contact name, oldest first,
	// and marks the received ones read.
	Conversation(name string) ([]ChatMessage, error)
	// Send queues text for contact name.
	Send(name, text string) error
	// Feed reads a feed from the local copy.
	Feed(kind social.Kind, q social.FeedQuery) (*social.FeedPage, error)
	// Refresh runs one round of the feeds' refresher now.
	Refresh(ctx context.Context) error
	// Thumb returns the thumbnail (a JPEG from the network, checked by
	// client/social) of post id.
	Thumb(ctx context.Context, id social.PostID) ([]byte, error)
	// Post reads post id through the network.
	Post(ctx context.Context, id social.PostID) (*social.Post, error)
	// Image returns the full image of post id.
	Image(ctx context.Context, id social.PostID) ([]byte, error)
	// Publish posts; the image, if any, is a JPEG, PNG or GIF file that
	// client/photo prepares (upright, metadata gone, re-encoded).
	Publish(ctx context.Context, o social.PostOptions) (social.PostID, error)
	// Vote votes on post id and returns its tally as the local copy
	// counts it.
	Vote(ctx context.Context, id social.PostID, dir social.VoteDir) (social.Tally, error)
}

// Contact is one contact as the interface lists it.
type Contact struct {
	Name        string
	Fingerprint string
	Unread      int
}

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	Mine bool      // sent by the user
	Text string    // the text as written
	At   time.Time // when it arrived, or when the user queued it
	// State is the delivery state of a sent message (queued, sent,
	// acknowledged, failed).
	State string
}

// Status is the daemon's state as the status page shows it.
type Status struct {
	Gateway      string
	OfflineSince time.Time // zero while online
	Epoch        uint64
	Nodes        int
	LoopsSent    uint64
	LoopsBack    uint64
	MeanRTT      time.Duration
	Departures   map[string]uint64 // packets sent by kind: real, fill, drop, loop
	Queued       int               // real packets waiting for a slot
	Outbox       map[string]int    // messages by delivery state
	Address      string
	Fingerprint  string
	Requests     int // friend requests waiting
	LastPoll     time.Time
	PollError    string
	Received     int
}
