package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/komrade-net/komrade/client/daemon"
	"github.com/komrade-net/komrade/internal/termsafe"
)

// termSafe makes text that other people control (messages, the note and
// name of a friend request, errors relayed from the network) safe to print
// on a terminal: see termsafe.Text.
func termSafe(s, indent string) string { return termsafe.Text(s, indent) }

// wrapSafe is termSafe for a terminal of width columns (0: not a
// terminal): see termsafe.Wrap.
func wrapSafe(prefix, text, indent string, width int) string {
	return termsafe.Wrap(prefix, text, indent, width)
}

// columns is an upper bound of the terminal columns s takes.
func columns(s string) int { return termsafe.Columns(s) }

// clusterColumns is an upper bound of the columns one grapheme cluster
// takes: see termsafe.ClusterColumns.
func clusterColumns(g string) int { return termsafe.ClusterColumns(g) }

// termWidth is the width of the terminal on standard output, or 0.
func termWidth() int {
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
		return w
	}
	return 0
}

// printMessage prints one received message: its sender's name is the
// user's own choice, its text is the sender's.
func printMessage(m daemon.InboxMessage) {
	// The arrival time is ours; the sender's claim is shown when it
	// differs by more than a minute (delays, or a sender's clock).
	when := m.At.Local().Format("15:04")
	if m.Sent != nil && (m.At.Sub(*m.Sent) > time.Minute || m.Sent.Sub(m.At) > time.Minute) {
		when += ", sent " + m.Sent.Local().Format("Jan 2 15:04")
	}
	prefix := fmt.Sprintf("[%s] %s: ", when, termSafe(m.From, "  "))
	fmt.Println(wrapSafe(prefix, m.Text, "        ", termWidth()))
}
