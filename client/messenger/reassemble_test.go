package messenger

import (
	"bytes"
	"testing"

	"github.com/komrade-net/komrade/client/message"
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
		if _, done, err := m.reassemble(c, &frames[i]); done || err != nil {
			t.Fatalf("part %d completed early: %v", i, err)
		}
	}
	got, done, err := m.reassemble(c, &frames[1])
	if !done || err != nil || !bytes.Equal(got, text) {
		t.Fatalf("reassembly: %v %v %d bytes", done, err, len(got))
	}
	if c.Partial != nil || c.PartialID != nil {
		t.Fatal("a finished message left state behind")
	}

	m.reassemble(c, &frames[0]) // unfinished
	other, _ := message.Split(message.KindText, []byte("short"))
	if got, done, err := m.reassemble(c, &other[0]); !done || err != nil || string(got) != "short" {
		t.Fatalf("a new message after an unfinished one: %q %v %v", got, done, err)
	}
	bad := frames[1]
	m.reassemble(c, &frames[0])
	bad.Parts = 2
	if _, _, err := m.reassemble(c, &bad); err == nil {
		t.Fatal("a changed part count was accepted")
	}
}
