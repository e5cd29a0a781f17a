package main

import (
	"strings"
	"testing"
	"unicode"
)

func TestTermSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"hello, world", "hello, world"},
		{"grüße 👋", "grüße 👋"},
		{"tab\there", "tab\there"},
		{"clear\x1b[2Jscreen", `clear\u001b[2Jscreen`},
		{"back\rover", `back\u000dover`},
		{"bell\a", `bell\u0007`},
		{"c1\u009bcsi", `c1\u009bcsi`},
		{"abc\u202edcba", `abc\u202edcba`},
		{"iso\u2066late\u2069", `iso\u2066late\u2069`},
		{"line\u2028sep", `line\u2028sep`},
		{"two\nlines", "two\n    lines"},
		{"bad\xffbyte", "bad\ufffdbyte"},
		{"real \ufffd stays", "real \ufffd stays"},
	} {
		if got := termSafe(c.in, "    "); got != c.want {
			t.Errorf("termSafe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzTermSafe: whatever comes in, nothing the terminal would act on comes
// out, and every line after the first is indented.
func FuzzTermSafe(f *testing.F) {
	f.Add("hi\x1b]52;c;ZXZpbA==\a\n[12:00] alice: fake")
	f.Fuzz(func(t *testing.T, s string) {
		for i, line := range strings.Split(wrapSafe("[12:00] x: ", s, "  ", 24), "\n") {
			if columns(line) > 24 || i > 0 && !strings.HasPrefix(line, "  ") {
				t.Fatalf("wrapped line %d %q: %d columns or not indented", i, line, columns(line))
			}
		}
		out := termSafe(s, "  ")
		for i, line := range strings.Split(out, "\n") {
			if i > 0 && !strings.HasPrefix(line, "  ") {
				t.Fatalf("line %d not indented: %q", i, line)
			}
			for _, r := range line {
				if r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
					t.Fatalf("control %U passed in %q", r, out)
				}
			}
		}
	})
}

func TestWrapSafe(t *testing.T) {
	// Padded to wrap on a 40-column terminal right before a forged line.
	text := "hi" + strings.Repeat(" ", 25) + "[12:00] carol: forged"
	out := wrapSafe("[12:00] bob: ", text, "        ", 40)
	lines := strings.Split(out, "\n")
	if len(lines) < 2 {
		t.Fatalf("not wrapped: %q", out)
	}
	for i, l := range lines {
		if columns(l) > 40 {
			t.Errorf("line %d is %d columns: %q", i, columns(l), l)
		}
		if i > 0 && !strings.HasPrefix(l, "        ") {
			t.Errorf("line %d not indented: %q", i, l)
		}
	}
	if got := wrapSafe("> ", "a\nb", "  ", 0); got != "> a\n  b" {
		t.Errorf("no terminal: %q", got)
	}
	if got := wrapSafe("> ", "日本語テキスト", "  ", 8); got != "> 日本語\n  テキス\n  ト" {
		t.Errorf("wide characters: %q", got)
	}
}
