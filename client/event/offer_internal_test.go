package event

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestOfferBounds: before the first read, each sender's latest key is
// kept, at most maxReadKeys in all; Read's openWith keeps the key that
// opens the record whatever came before it; a key that opened it stays.
func TestOfferBounds(t *testing.T) {
	id, key, _, b := testEvent(t)
	good := bytes.Repeat([]byte{1}, 32)
	rec, err := build(key, 1, time.Now().Add(time.Hour), b, good)
	if err != nil {
		t.Fatal(err)
	}
	k := &knownRec{}
	for i := range 2 * maxReadKeys {
		k.offer(bytes.Repeat([]byte{byte(10 + i)}, 32), fmt.Sprint("c", i%3), int64(i))
	}
	if n := len(k.candidates()); n != 3 {
		t.Fatalf("%d keys kept from 3 senders", n)
	}
	k.offer(good, "host", 100)
	k.offer(bytes.Repeat([]byte{99}, 32), "late", 101) // over the bound: dropped
	if n := len(k.candidates()); n != maxReadKeys {
		t.Fatalf("%d keys kept", n)
	}
	r, c, err := openWith(id, rec, k.candidates(), 0)
	if err != nil || !r.Sealed || c.From != "host" || !bytes.Equal(c.ReadKey, good) {
		t.Fatalf("opened with %+v: %v", c, err)
	}
	read := &knownRec{ReadKey: good, InvitedBy: "host", Seq: 1}
	read.offer(bytes.Repeat([]byte{7}, 32), "other", 102)
	read.offer(bytes.Repeat([]byte{8}, 32), "host", 103)
	if cs := read.candidates(); len(cs) != 1 || !bytes.Equal(cs[0].ReadKey, good) {
		t.Fatalf("after the first read: %+v", cs)
	}
}
