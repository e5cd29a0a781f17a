package messenger

import (
	"bytes"
	"testing"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// TestReassemble: parts in any order make the text once; a new message
// drops an unfinished one; a changed part count is an error.
func TestReassemble(t *testing.T) {
	m, c := &Messenger{}, &contact{}
	text := bytes.Repeat([]byte("x"), 2*message.MaxBody+5)
	frames, err := message.Split(message.KindText, text)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{2, 0} {
		if _, done, err := m.reassemble(c, &frames[i], false); done || err != nil {
			t.Fatalf("part %d completed early: %v", i, err)
		}
	}
	got, done, err := m.reassemble(c, &frames[1], false)
	if !done || err != nil || !bytes.Equal(got, text) {
		t.Fatalf("reassembly: %v %v %d bytes", done, err, len(got))
	}
	if c.Partial != nil || c.PartialID != nil {
		t.Fatal("a finished message left state behind")
	}

	m.reassemble(c, &frames[0], false) // unfinished
	other, _ := message.Split(message.KindText, []byte("short"))
	if got, done, err := m.reassemble(c, &other[0], false); !done || err != nil || string(got) != "short" {
		t.Fatalf("a new message after an unfinished one: %q %v %v", got, done, err)
	}
	bad := frames[1]
	m.reassemble(c, &frames[0], false)
	bad.Parts = 2
	if _, _, err := m.reassemble(c, &bad, false); err == nil {
		t.Fatal("a changed part count was accepted")
	}
}

// TestReassembleAcrossGap: while a box is held (missing, asked for again),
// the parts around it are stashed instead of dropped, and the late box
// completes its message; the state survives the store's strict decoder.
func TestReassembleAcrossGap(t *testing.T) {
	m := &Messenger{}
	c := &contact{Gaps: &gapState{Held: []heldBox{{Index: 5, Key: make([]byte, 32), Since: 1}}}}
	long, err := message.Split(message.KindText, bytes.Repeat([]byte("y"), 2*message.MaxBody+1))
	if err != nil {
		t.Fatal(err)
	}
	next, _ := message.Split(message.KindText, []byte("next"))
	lostOne, _ := message.Split(message.KindText, []byte("the late one"))
	// The long message's part 1 is the missing box: 0 and 2 arrive, then
	// another message starts.
	for _, f := range []*message.Frame{&long[0], &long[2]} {
		if _, done, err := m.reassemble(c, f, false); done || err != nil {
			t.Fatalf("early: %v %v", done, err)
		}
	}
	if got, done, err := m.reassemble(c, &next[0], false); !done || err != nil || string(got) != "next" {
		t.Fatalf("next: %q %v %v", got, done, err)
	}
	if len(c.Gaps.Stash) != 2 {
		t.Fatalf("stash holds %d parts, want 2", len(c.Gaps.Stash))
	}
	b, err := detcbor.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var again contact
	if err := dec.Unmarshal(b, &again); err != nil {
		t.Fatalf("a contact with held keys and a stash does not decode: %v", err)
	}
	c = &again
	got, done, err := m.reassemble(c, &long[1], true)
	if !done || err != nil || len(got) != 2*message.MaxBody+1 {
		t.Fatalf("late part: %d bytes %v %v", len(got), done, err)
	}
	if len(c.Gaps.Stash) != 0 {
		t.Fatalf("a finished message left %d stashed parts", len(c.Gaps.Stash))
	}
	// A late one-part message completes at once and leaves the message in
	// progress alone.
	m.reassemble(c, &long[0], false)
	if got, done, err := m.reassemble(c, &lostOne[0], true); !done || err != nil || string(got) != "the late one" {
		t.Fatalf("late one-part message: %q %v %v", got, done, err)
	}
	if c.Partial == nil || c.Partial[0] == nil {
		t.Fatal("a late message dropped the message in progress")
	}
	// With no box held any more, the stash goes.
	c.stash(c.PartialID, c.Partial)
	if c.dropHeld([]uint64{5}); c.Gaps.Stash != nil || c.Gaps.Held != nil {
		t.Fatalf("after the last held box: %+v", c.Gaps)
	}
}
