package messenger_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/messenger"
)

// pairAs makes a and b contacts (a invites), a calling b bName and b
// calling a aName, and lets both friends capabilities cross.
func pairAs(t *testing.T, ctx context.Context, a, b *user, bName, aName string) {
	t.Helper()
	code, err := a.m.Invite(bName)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.m.Accept(ctx, code, aName); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
}

// friendsCaps returns the capabilities u holds from contact name.
func friendsCaps(t *testing.T, u *user, name string) [][]byte {
	t.Helper()
	all, err := u.m.FriendsCaps()
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range all {
		if fc.Contact == name {
			return fc.Caps
		}
	}
	return nil
}

func firstIndex(t *testing.T, rc []byte) uint64 {
	t.Helper()
	c, err := bacap.ReadCapFromBytes(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c.GetFirstMessageBoxIndex().Idx64
}

// TestFriendsCaps: confirmed contacts get each other's friends capability
// (starting at the stream's next box), never as a text; one who asks gets
// the current one again; removing a contact moves the stream to fresh keys
// that the remaining contact gets and the removed one does not.
func TestFriendsCaps(t *testing.T) {
	t.Parallel() // waits on the network most of the time
	net := startNet(t, nil)
	a, b, d := newUser(t, net), newUser(t, net), newUser(t, net)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pairAs(t, ctx, a, b, "bob", "alice")
	pairAs(t, ctx, a, d, "dave", "alice")

	if len(friendsCaps(t, a, "bob")) != 1 || len(friendsCaps(t, a, "dave")) != 1 {
		t.Fatal("alice lacks her contacts' friends capabilities")
	}
	fromA := friendsCaps(t, b, "alice")
	if len(fromA) != 1 || !bytes.Equal(fromA[0], friendsCaps(t, d, "alice")[0]) {
		t.Fatalf("bob and dave hold %d and %d capabilities from alice, or different ones", len(fromA), len(friendsCaps(t, d, "alice")))
	}
	out, err := a.m.FriendsStream()
	if err != nil {
		t.Fatal(err)
	}
	if firstIndex(t, fromA[0]) != out.Next {
		t.Fatalf("the capability starts at box %d, the stream's next box is %d", firstIndex(t, fromA[0]), out.Next)
	}
	for _, c := range []struct {
		u    *user
		from string
	}{{a, "bob"}, {a, "dave"}, {b, "alice"}, {d, "alice"}} {
		if got := c.u.inbox(t, c.from); len(got) != 0 {
			t.Fatalf("a friends capability shown as a text: %q", got)
		}
	}

	// Alice writes a box; Dave asks again and gets a capability from the
	// box after it.
	if err := a.m.FriendsWritten(out.Write, out.Next); err != nil {
		t.Fatal(err)
	}
	if err := d.m.AskFriendsCap("alice"); err != nil {
		t.Fatal(err)
	}
	if err := d.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	tasks := a.m.Tasks()
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if a.m.Tasks() == tasks {
		t.Fatal("the request gave alice's outbox nothing to do")
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	caps := friendsCaps(t, d, "alice")
	if len(caps) != 2 || firstIndex(t, caps[1]) != out.Next+1 || !bytes.Equal(caps[1][:32], fromA[0][:32]) {
		t.Fatalf("dave's capabilities after asking: %d", len(caps))
	}
	// Asking again at once (a hostile or broken contact) costs alice no
	// box: one answer a day.
	if err := d.m.AskFriendsCap("alice"); err != nil {
		t.Fatal(err)
	}
	if err := d.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	tasks = a.m.Tasks()
	if _, err := a.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if a.m.Tasks() != tasks {
		t.Fatal("a second request within a day was answered")
	}

	// Alice removes Bob: fresh keys for Dave, nothing for Bob.
	if _, err := a.m.RemoveContact("bob"); err != nil {
		t.Fatal(err)
	}
	now, err := a.m.FriendsStream()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(now.Write, out.Write) {
		t.Fatal("the friends stream kept its keys after a removal")
	}
	if err := a.m.FriendsWritten(out.Write, out.Next+1); !errors.Is(err, messenger.ErrFriendsRotated) {
		t.Fatalf("a box of the old stream recorded: %v", err)
	}
	if err := a.m.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	caps = friendsCaps(t, d, "alice")
	if len(caps) != 3 || bytes.Equal(caps[2][:32], fromA[0][:32]) || firstIndex(t, caps[2]) != now.Next {
		t.Fatalf("dave's capabilities after the removal: %d", len(caps))
	}
	if _, err := b.m.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if got := friendsCaps(t, b, "alice"); len(got) != 1 || !bytes.Equal(got[0], fromA[0]) {
		t.Fatalf("bob holds %d capabilities from alice after his removal", len(got))
	}
	sent, err := a.m.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sent {
		if o.To == "bob" {
			t.Fatalf("alice's outbox still holds %+v for bob", o)
		}
	}
}
