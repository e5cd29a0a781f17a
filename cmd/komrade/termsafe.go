package main

import (
	"fmt"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clipperhouse/uax29/v2/graphemes"
	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/komrade-net/komrade/client/daemon"
)

// termSafe makes text that other people control (messages, the note and
// name of a friend request, errors relayed from the network) safe to print
// on a terminal. Control characters could move the cursor and rewrite what
// is already shown, such as a fingerprint, or talk to the terminal itself;
// bidirectional controls reorder what is shown. Both are printed as \u
// escapes. A newline stays but the next line is indented by indent, so that
// a message cannot pass a line of its own for another message or sender.
// Bytes that are not UTF-8 become U+FFFD.
func termSafe(s, indent string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(r)
		case r == '\n':
			b.WriteString("\n" + indent)
		case r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wrapSafe is termSafe for a terminal of width columns (0: not a
// terminal): after prefix, the text is broken into lines that fit, each
// continuation indented by indent. Left to the terminal, a line padded to
// its width would go on at column 0 and could pass for a line of its own.
// The text is broken between grapheme clusters (a letter and its combining
// marks, an emoji sequence), each counted by columns, which errs wide so
// that lines break early rather than late.
func wrapSafe(prefix, text, indent string, width int) string {
	safe := termSafe(text, "")
	if width <= 0 {
		return prefix + strings.ReplaceAll(safe, "\n", "\n"+indent)
	}
	var b strings.Builder
	b.WriteString(prefix)
	col := columns(prefix)
	for i, line := range strings.Split(safe, "\n") {
		if i > 0 {
			b.WriteString("\n" + indent)
			col = columns(indent)
		}
		for g := graphemes.FromString(line); g.Next(); {
			w := clusterColumns(g.Value())
			if col+w > width && col > columns(indent) {
				b.WriteString("\n" + indent)
				col = columns(indent)
			}
			b.WriteString(g.Value())
			col += w
		}
	}
	return b.String()
}

// columns is an upper bound of the terminal columns s takes.
func columns(s string) int {
	n := 0
	for g := graphemes.FromString(s); g.Next(); {
		n += clusterColumns(g.Value())
	}
	return n
}

// clusterColumns is an upper bound of the columns one grapheme cluster
// takes, by the Unicode widths of go-runewidth: wide (CJK, emoji) two,
// combining marks and joiners none, East Asian ambiguous ones as the
// locale says. Terminals differ on sequences, so the widest reading is
// taken: a terminal that draws an emoji ZWJ sequence or a flag rune by rune
// needs the sum of their widths, and one that honours a variation selector
// 16 (emoji presentation) draws the character two columns wide.
func clusterColumns(g string) int {
	n := 0
	for _, r := range g {
		n += runewidth.RuneWidth(r)
	}
	n = max(n, runewidth.StringWidth(g))
	if strings.ContainsRune(g, '\uFE0F') {
		n = max(n, 2)
	}
	return n
}

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
