// Package termsafe makes text that other people control (messages, names,
// pin notes, errors relayed from the network) safe to print on a terminal.
// Control characters could move the cursor and rewrite what is already
// shown, such as a fingerprint, or talk to the terminal itself;
// bidirectional controls reorder what is shown. Both are printed as \u
// escapes. Widths are counted in terminal columns, erring wide.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clipperhouse/uax29/v2/graphemes"
	"github.com/mattn/go-runewidth"
)

// Text makes s safe to print: control and bidirectional characters become
// \u escapes, bytes that are not UTF-8 become U+FFFD. A newline stays but
// the next line is indented by indent, so that a message cannot pass a
// line of its own for another message or sender.
func Text(s, indent string) string {
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
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Line is Text for one line of a table: newlines and tabs are escaped too
// (\u000a, \u0009), so the text can neither start a line of its own nor
// jump to another column.
func Line(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(r)
		case r == '\n' || r == '\t' || unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports whether r acts on a terminal or on the order of what
// it shows: C0 and C1 controls, bidirectional controls, the line and
// paragraph separators.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Wrap is Text for a terminal of width columns (0: not a terminal): after
// prefix, the text is broken into lines that fit, each continuation
// indented by indent. Left to the terminal, a line padded to its width
// would go on at column 0 and could pass for a line of its own. The text
// is broken between grapheme clusters (a letter and its combining marks, an
// emoji sequence), each counted by columns, which errs wide so that lines
// break early rather than late.
func Wrap(prefix, text, indent string, width int) string {
	safe := Text(text, "")
	if width <= 0 {
		return prefix + strings.ReplaceAll(safe, "\n", "\n"+indent)
	}
	var b strings.Builder
	b.WriteString(prefix)
	col := Columns(prefix)
	for i, line := range strings.Split(safe, "\n") {
		if i > 0 {
			b.WriteString("\n" + indent)
			col = Columns(indent)
		}
		for g := graphemes.FromString(line); g.Next(); {
			w := ClusterColumns(g.Value())
			if col+w > width && col > Columns(indent) {
				b.WriteString("\n" + indent)
				col = Columns(indent)
			}
			b.WriteString(g.Value())
			col += w
		}
	}
	return b.String()
}

// Truncate cuts s, already made safe, to at most width columns, between
// grapheme clusters, ending it with "…" when it was cut.
func Truncate(s string, width int) string {
	if Columns(s) <= width {
		return s
	}
	if width <= 0 {
		return ""
	}
	var b strings.Builder
	col := 0
	for g := graphemes.FromString(s); g.Next(); {
		w := ClusterColumns(g.Value())
		if col+w > width-1 {
			break
		}
		b.WriteString(g.Value())
		col += w
	}
	b.WriteString("…")
	return b.String()
}

// Columns is an upper bound of the terminal columns s takes.
func Columns(s string) int {
	n := 0
	for g := graphemes.FromString(s); g.Next(); {
		n += ClusterColumns(g.Value())
	}
	return n
}

// ClusterColumns is an upper bound of the columns one grapheme cluster
// takes, by the Unicode widths of go-runewidth: wide (CJK, emoji) two,
// combining marks and joiners none, East Asian ambiguous ones as the
// locale says. Terminals differ on sequences, so the widest reading is
// taken: a terminal that draws an emoji ZWJ sequence or a flag rune by rune
// needs the sum of their widths, and one that honours a variation selector
// 16 (emoji presentation) draws the character two columns wide.
func ClusterColumns(g string) int {
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
