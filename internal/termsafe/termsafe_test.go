package termsafe

import (
	"strings"
	"testing"
	"unicode"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain note", "plain note"},
		{"two\nlines", `two\u000alines`},
		{"tab\tcol", `tab\u0009col`},
		{"esc\x1b[31mred", `esc\u001b[31mred`},
		{"rtl\u202egniht", `rtl\u202egniht`},
		{"bad\xffbyte", "bad\ufffdbyte"},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("short", 10); got != "short" {
		t.Fatalf("Truncate short = %q", got)
	}
	if got := Truncate("a longer note", 6); got != "a lon…" || Columns(got) > 6 {
		t.Fatalf("Truncate = %q", got)
	}
	// Wide characters count two columns each.
	if got := Truncate("日本語の注意", 5); Columns(got) > 5 {
		t.Fatalf("Truncate wide = %q (%d columns)", got, Columns(got))
	}
}

// FuzzLine: nothing a terminal acts on, and no line break, comes out of
// Line; Truncate keeps to its width.
func FuzzLine(f *testing.F) {
	f.Add("note\x1b]52;c;ZXZpbA==\a\nP police 10 m", 12)
	f.Fuzz(func(t *testing.T, s string, w int) {
		out := Line(s)
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("control %U passed in %q", r, out)
			}
		}
		w = w%80 + 1
		if w < 1 {
			w = -w + 1
		}
		if tr := Truncate(out, w); Columns(tr) > w || strings.Contains(tr, "\n") {
			t.Fatalf("Truncate(%q, %d) = %q", out, w, tr)
		}
	})
}
