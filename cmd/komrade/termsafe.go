package main

import (
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

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
// Wide characters are counted as two columns, others as one (combining
// marks too), so lines break early rather than late.
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
		for _, r := range line {
			w := columns(string(r))
			if col+w > width && col > columns(indent) {
				b.WriteString("\n" + indent)
				col = columns(indent)
			}
			b.WriteRune(r)
			col += w
		}
	}
	return b.String()
}

// columns is an upper bound of the terminal columns s takes.
func columns(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 {
			n += 2
		} else {
			n++
		}
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
	prefix := fmt.Sprintf("[%s] %s: ", m.At.Local().Format("15:04"), termSafe(m.From, "  "))
	fmt.Println(wrapSafe(prefix, m.Text, "        ", termWidth()))
}
