package webui

import (
	"testing"
	"time"
)

// TestChatLineIDs: a message has the same id in every rendering of its
// conversation (ui.js merges lists by it), whatever comes before it, and
// two messages never share one.
func TestChatLineIDs(t *testing.T) {
	at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	a := ChatMessage{Text: "hello", At: at}
	b := ChatMessage{Text: "hello", At: at, Mine: true, State: "queued"}
	c := ChatMessage{Text: "hello", At: at} // the same text at the same time, again
	first := chatLines([]ChatMessage{a})
	b.State = "acknowledged"
	later := chatLines([]ChatMessage{b, a, c})
	if first[0].ID != later[1].ID {
		t.Errorf("id of the same message %q then %q", first[0].ID, later[1].ID)
	}
	seen := map[string]bool{}
	for _, l := range later {
		if seen[l.ID] {
			t.Errorf("id %q twice", l.ID)
		}
		seen[l.ID] = true
	}
	if mine := chatLines([]ChatMessage{{Text: "hello", At: at, Mine: true, State: "queued"}}); mine[0].ID != later[0].ID {
		t.Errorf("a sent message's id changed with its state: %q then %q", mine[0].ID, later[0].ID)
	}
	if later[0].AtMS != at.UnixMilli() {
		t.Errorf("AtMS %d", later[0].AtMS)
	}
}
