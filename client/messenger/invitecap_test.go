package messenger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/katzenpost/hpqc/bacap"

	"github.com/komrade-net/komrade/client/message"
	"github.com/komrade-net/komrade/internal/detcbor"
)

// TestInviteCapNotAPoint: an invite signed by a hostile inviter whose read
// capability's key is no curve point is refused when parsed; it used to be
// saved, and the first box id derived from it panicked the daemon.
func TestInviteCapNotAPoint(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wcb, err := wc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rcb, err := wc.ReadCap().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Find 32 bytes that are no point of the curve.
	bad := append([]byte(nil), rcb...)
	for i := 0; ; i++ {
		rand.Read(bad[:32])
		if message.CheckReadCap(bad) != nil {
			break
		}
		if i > 1000 {
			t.Fatal("no invalid key found")
		}
	}
	inv := &Invite{Identity: priv.Public().(ed25519.PublicKey), ReadCap: bad, WriteCap: wcb,
		Secret: make([]byte, 32), Eph: make([]byte, 32)}
	msg, err := inv.signedBytes()
	if err != nil {
		t.Fatal(err)
	}
	inv.Sig = ed25519.Sign(priv, msg)
	b, err := detcbor.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseInvite(invitePrefix + base64.RawURLEncoding.EncodeToString(b))
	if err == nil || !strings.Contains(err.Error(), "curve point") {
		t.Fatalf("ParseInvite = %v, want a refusal of the key", err)
	}
	// The same invite with the genuine capability parses.
	inv.ReadCap, inv.Sig = rcb, nil
	msg, _ = inv.signedBytes()
	inv.Sig = ed25519.Sign(priv, msg)
	b, _ = detcbor.Marshal(inv)
	if _, err := ParseInvite(invitePrefix + base64.RawURLEncoding.EncodeToString(b)); err != nil {
		t.Fatalf("genuine invite: %v", err)
	}
}
