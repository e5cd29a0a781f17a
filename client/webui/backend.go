package webui

import (
	"context"
	"time"

	"github.com/komrade-net/komrade/client/event"
	"github.com/komrade-net/komrade/client/pin"
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

	// Events lists the events kept (hosted, invited to, read), after
	// taking new invitations; no request.
	Events() ([]event.View, error)
	// CreateEvent creates and publishes an event (and queues its
	// invitations).
	CreateEvent(ctx context.Context, o event.CreateOptions) (*event.Created, error)
	// ShowEvent reads event id (or an unambiguous prefix of it) through
	// the network; for its host, with the RSVPs counted.
	ShowEvent(ctx context.Context, id string) (*event.View, error)
	// RSVP answers event id.
	RSVP(ctx context.Context, id string, a event.Answer) error
	// UpdateEvent publishes a new version of a hosted event (o.Cancel
	// cancels it).
	UpdateEvent(ctx context.Context, id string, o event.UpdateOptions) (*event.View, error)

	// Pins returns the live pins and alerts of area a in the local copy,
	// and what the map page says of them; no request.
	Pins(a pin.Area) (*Pins, error)
	// ReadArea reads the cells of area a (and its decoys) once now.
	ReadArea(ctx context.Context, a pin.Area) error
	// Pin queues a pin; it is published after a random delay.
	Pin(o pin.PinOptions) (*pin.Pending, error)
	// ConfirmPin says that pin id is still there or gone.
	ConfirmPin(ctx context.Context, id string, say pin.Say) error
	// Alert publishes a protest alert at once.
	Alert(ctx context.Context, o pin.AlertOptions) (pin.ID, error)
	// Alerts lists the live alerts of the watched areas (local copy).
	Alerts() ([]pin.Marker, error)
	// WatchedAreas lists the watched areas: client.toml's, then the
	// interface's.
	WatchedAreas() []WatchedArea
	// Watch watches area a while the daemon runs (as `komrade watch`
	// does while it runs); new alerts and pins of it are told to the
	// pages (Server.Notify "alert", "pins").
	Watch(a pin.Area) error
	// Unwatch stops watching an area Watch added.
	Unwatch(a pin.Area) error
}

// Pins is what the map page shows of an area.
type Pins struct {
	Markers []pin.Marker // alerts first, then pins, nearest first
	// Watched reports whether the watch reads every cell of the area;
	// otherwise the markers are what the local copy holds from before.
	Watched       bool
	Confirmations int           // k: a pin is confirmed at k confirmers
	Pending       []pin.Pending // the user's pins not yet published
	DelayMin      time.Duration // the bounds of a pin's publication delay
	DelayMax      time.Duration
	WatchEvery    time.Duration // the watch's interval
}

// WatchedArea is an area the daemon watches.
type WatchedArea struct {
	Area pin.Area
	// Config is set for the [[watch]] areas of client.toml, which the
	// interface cannot remove.
	Config bool
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
