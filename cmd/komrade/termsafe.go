package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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

// printMessage prints one received message: its sender's name is the
// user's own choice, its text is the sender's.
func printMessage(m daemon.InboxMessage) {
	fmt.Printf("[%s] %s: %s\n", m.At.Local().Format("15:04"), termSafe(m.From, "  "), termSafe(m.Text, "        "))
}
