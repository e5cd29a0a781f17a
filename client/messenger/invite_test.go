package messenger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client/messenger"
)

// TestInviteUsedTwice: carol's invite answered by judy and then by kim: kim
// is told the invite is used and nothing is saved for him, and what judy
// and carol send each other still arrives.
func TestInviteUsedTwice(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	carol, judy, kim := newUser(t, net), newUser(t, net), newUser(t, net)
	code, err := carol.m.Invite("judy")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := judy.m.Accept(ctx, code, "carol"); err != nil {
		t.Fatal(err)
	}
	err = kim.m.Accept(ctx, code, "carol")
	if !errors.Is(err, messenger.ErrInviteUsed) {
		t.Fatalf("second use of an invite: %v, want ErrInviteUsed", err)
	}
	if cs, _ := kim.m.Contacts(); len(cs) != 0 {
		t.Fatalf("kim has contacts %v after a refused invite", cs)
	}
	if _, err := carol.m.Receive(ctx); err != nil { // judy's hello
		t.Fatal(err)
	}
	if err := judy.m.Send(ctx, "carol", "from judy"); err != nil {
		t.Fatal(err)
	}
	if err := carol.m.Send(ctx, "judy", "from carol"); err != nil {
		t.Fatal(err)
	}
	if got := carol.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "from judy" {
		t.Fatalf("carol received %q", got)
	}
	if got := judy.receive(t, 1, time.Minute); len(got) != 1 || got[0] != "from carol" {
		t.Fatalf("judy received %q", got)
	}
}

// TestCarelessInvites: a code with one character changed, and one's own
// code, are refused before anything is saved; the genuine code still works;
// an empty message is refused.
func TestCarelessInvites(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b := newUser(t, net), newUser(t, net)
	code, err := a.m.Invite("bob")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := len("komrade-invite:") + 5; i < len(code); i += 37 {
		c := []byte(code)
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		if err := b.m.Accept(ctx, string(c), "alice"); err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("code changed at %d: %v, want damaged", i, err)
		}
	}
	if err := a.m.Accept(ctx, code, "me"); err == nil || !strings.Contains(err.Error(), "your own invite") {
		t.Fatalf("own invite: %v", err)
	}
	if cs, _ := b.m.Contacts(); len(cs) != 0 {
		t.Fatalf("contacts %v saved by refused codes", cs)
	}
	if err := b.m.Accept(ctx, code, "alice"); err != nil {
		t.Fatalf("the genuine code after damaged ones: %v", err)
	}
	for _, text := range []string{"", "   ", "\n\t"} {
		if _, err := b.m.Queue("alice", text); err == nil {
			t.Fatalf("empty message %q queued", text)
		}
	}
}
