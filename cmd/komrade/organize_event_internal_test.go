package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhenFlag(t *testing.T) {
	want := time.Date(2026, 12, 5, 18, 0, 0, 0, time.Local).Format(time.RFC3339)
	for _, s := range []string{"2026-12-05 18:00", "2026-12-05T18:00", " 2026-12-05 18:00:00 ", want} {
		got, err := parseWhenFlag(s)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", s, got, err, want)
		}
	}
	for _, s := range []string{"", "tomorrow", "2026-12-05", "18:00", "2026-13-05 18:00"} {
		if _, err := parseWhenFlag(s); err == nil || !strings.Contains(err.Error(), "--when") {
			t.Errorf("%q: %v, want an error naming --when", s, err)
		}
	}
}
