package messenger

import (
	"crypto/ed25519"
	"testing"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/message"
)

// TestRekey: after the hello both sides hold the same chains, and they are
// not the chains anyone holding only the invite (its secret) can derive.
func TestRekey(t *testing.T) {
	alice, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	bob, err := client.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	ca, inv, err := (&Messenger{id: alice}).newInviterContact("bob")
	if err != nil {
		t.Fatal(err)
	}
	// Bob accepts: his incoming chain is re-keyed at once, his outgoing one
	// once the hello (box 0, sealed with the invite's chain) is stored.
	cb := &contact{}
	oc, _ := message.NewRatchet(inv.Secret, "invitee->inviter")
	ic, _ := message.NewRatchet(inv.Secret, "inviter->invitee")
	cb.OutChain, cb.InChain = *oc, *ic
	hello, err := inviteeRekey(bob.Sign.Public().(ed25519.PublicKey), inv, cb)
	if err != nil {
		t.Fatal(err)
	}
	peek := cb.OutChain
	_, helloKeyB := peek.Next()
	if err := cb.sent(); err != nil { // the hello is stored
		t.Fatal(err)
	}
	if cb.RekeyOut != nil {
		t.Fatal("the re-keying secret was kept")
	}
	// Alice reads the hello with the invite's chain, then re-keys.
	_, helloKeyA := ca.InChain.Next()
	if helloKeyA != helloKeyB {
		t.Fatal("the hello's key differs")
	}
	if err := ca.helloRekey(hello); err != nil {
		t.Fatal(err)
	}
	if ca.EphPriv != nil {
		t.Fatal("the ephemeral key was kept")
	}
	if ca.InChain != cb.OutChain || ca.OutChain != cb.InChain {
		t.Fatal("the two sides' chains differ after the hello")
	}
	// Someone who kept the invite derives the pre-hello chains only.
	eo, _ := message.NewRatchet(inv.Secret, "inviter->invitee")
	ei, _ := message.NewRatchet(inv.Secret, "invitee->inviter")
	ei.Next() // past the hello
	_, k1 := ca.OutChain.Next()
	_, e1 := eo.Next()
	_, k2 := ca.InChain.Next()
	_, e2 := ei.Next()
	if k1 == e1 || k2 == e2 {
		t.Fatal("message keys after the hello follow from the invite alone")
	}
	// A hello without an ephemeral key, or with a bad one, is refused.
	if err := (&contact{EphPriv: make([]byte, 32)}).helloRekey(hello[:32]); err == nil {
		t.Fatal("hello without ephemeral key accepted")
	}
	bad := append(append([]byte{}, hello[:32]...), make([]byte, 32)...) // low-order point
	c2, _, _ := (&Messenger{id: alice}).newInviterContact("x")
	if err := c2.helloRekey(bad); err == nil {
		t.Fatal("hello with a low-order ephemeral key accepted")
	}
}
