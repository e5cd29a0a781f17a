package main

import (
	"strings"
	"testing"
	"time"
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

// TestWrapSafeWidths: columns follow the Unicode widths (CJK and emoji two
// columns, combining marks none) and lines break between grapheme
// clusters at the right column.
func TestWrapSafeWidths(t *testing.T) {
	const family = "👨\u200d👩\u200d👧" // one ZWJ sequence
	for _, c := range []struct {
		s    string
		want int
	}{
		{"abc", 3},
		{"日本語", 6},
		{"👋", 2},
		{"e\u0301", 1},      // e and a combining acute accent
		{"\u2764\ufe0f", 2}, // a heart in emoji presentation
		{family, 6},         // as wide as a terminal drawing it rune by rune
		{`\u001b`, 6},
	} {
		if got := columns(c.s); got != c.want {
			t.Errorf("columns(%q) = %d, want %d", c.s, got, c.want)
		}
	}
	for _, c := range []struct {
		name, text string
		width      int
		want       string
	}{
		{"CJK", "中文文本测试", 10, "> 中文文本\n  测试"},
		{"emoji", "👋👋👋", 6, "> 👋👋\n  👋"},
		{"ZWJ sequence kept whole", "ab" + family, 8, "> ab\n  " + family},
		{"combining marks take no column", "e\u0301e\u0301e\u0301e\u0301", 6, "> e\u0301e\u0301e\u0301e\u0301"},
		{"combining mark stays with its letter", "abcde\u0301", 6, "> abcd\n  e\u0301"},
		{"mixed", "ab日本👋e\u0301e\u0301x日", 10, "> ab日本👋\n  e\u0301e\u0301x日"},
	} {
		got := wrapSafe("> ", c.text, "  ", c.width)
		if got != c.want {
			t.Errorf("%s: wrapSafe(%q, %d) = %q, want %q", c.name, c.text, c.width, got, c.want)
		}
		for i, l := range strings.Split(got, "\n") {
			if columns(l) > c.width {
				t.Errorf("%s: line %d is %d columns: %q", c.name, i, columns(l), l)
			}
		}
	}
}

func TestShortDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{30 * time.Minute, "30m"},
		{90 * time.Second, "1m30s"},
		{time.Hour + 30*time.Second, "1h0m30s"},
		{8760 * time.Hour, "8760h"},
		{500 * time.Millisecond, "500ms"},
	} {
		if got := shortDuration(c.in); got != c.want {
			t.Errorf("shortDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
