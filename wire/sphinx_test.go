package wire

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/nike"
	"github.com/katzenpost/hpqc/nike/x25519"
	"github.com/katzenpost/katzenpost/core/sphinx/commands"
)

// testMix is a mix node's Sphinx identity for one epoch.
type testMix struct {
	id   NodeID
	pub  nike.PublicKey
	priv nike.PrivateKey
}

func newTestMixes(t *testing.T, n int) []testMix {
	t.Helper()
	scheme := x25519.Scheme(rand.Reader)
	out := make([]testMix, n)
	for i := range out {
		pub, priv, err := scheme.GenerateKeyPairFromEntropy(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		out[i].pub, out[i].priv = pub, priv
		if _, err := rand.Read(out[i].id[:]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func hopsOf(mixes []testMix, delays []time.Duration) []Hop {
	hops := make([]Hop, len(mixes))
	for i, m := range mixes {
		hops[i] = Hop{ID: m.id, Key: m.pub.Bytes(), Delay: delays[i]}
	}
	return hops
}

// hopCommands sorts the routing commands of one hop by type.
type hopCommands struct {
	delay     *commands.NodeDelay
	next      *commands.NextNodeHop
	recipient *commands.Recipient
	surbReply *commands.SURBReply
	other     []commands.RoutingCommand
}

func sortCommands(t *testing.T, cmds []commands.RoutingCommand) hopCommands {
	t.Helper()
	var h hopCommands
	for _, c := range cmds {
		switch c := c.(type) {
		case *commands.NodeDelay:
			if h.delay != nil {
				t.Fatal("two NodeDelay commands")
			}
			h.delay = c
		case *commands.NextNodeHop:
			h.next = c
		case *commands.Recipient:
			h.recipient = c
		case *commands.SURBReply:
			h.surbReply = c
		default:
			h.other = append(h.other, c)
		}
	}
	return h
}

// unwrapPath unwraps pkt hop by hop along mixes, checks the per-hop commands
// and returns the last hop's payload and commands.
func unwrapPath(t *testing.T, pkt []byte, mixes []testMix, wantDelays []uint32) ([]byte, hopCommands) {
	t.Helper()
	s := NewSphinx()
	tags := map[string]bool{}
	for i, m := range mixes {
		if len(pkt) != PacketLength {
			t.Fatalf("hop %d: packet of %d bytes", i, len(pkt))
		}
		// Every hop forwards exactly one frame on the wire.
		var onWire bytes.Buffer
		if err := WriteFrame(&onWire, pkt); err != nil {
			t.Fatal(err)
		}
		pkt = make([]byte, PacketLength)
		if err := ReadFrame(&onWire, pkt); err != nil {
			t.Fatal(err)
		}

		// Only this hop's key opens it.
		other := mixes[(i+1)%len(mixes)]
		if _, _, _, err := s.Unwrap(other.priv, append([]byte(nil), pkt...)); err == nil {
			t.Fatalf("hop %d: packet opened with hop %d's key", i, (i+1)%len(mixes))
		}

		payload, tag, cmds, err := s.Unwrap(m.priv, pkt)
		if err != nil {
			t.Fatalf("hop %d: Unwrap: %v", i, err)
		}
		if tags[string(tag)] {
			t.Fatalf("hop %d: replay tag repeats", i)
		}
		tags[string(tag)] = true
		h := sortCommands(t, cmds)
		if h.delay == nil {
			t.Fatalf("hop %d: no NodeDelay command", i)
		}
		if h.delay.Delay != wantDelays[i] {
			t.Fatalf("hop %d: delay %d ms, want %d", i, h.delay.Delay, wantDelays[i])
		}
		if len(h.other) != 0 {
			t.Fatalf("hop %d: unexpected commands %v", i, h.other)
		}
		if i == len(mixes)-1 {
			if h.next != nil {
				t.Fatalf("last hop has a NextNodeHop to %x", h.next.ID[:4])
			}
			return append([]byte(nil), payload...), h
		}
		if h.next == nil || h.next.ID != mixes[i+1].id {
			t.Fatalf("hop %d: next hop %v, want %x", i, h.next, mixes[i+1].id[:4])
		}
		if h.recipient != nil || h.surbReply != nil {
			t.Fatalf("hop %d: terminal commands on an intermediate hop", i)
		}
		if payload != nil {
			t.Fatalf("hop %d: intermediate hop returned a payload", i)
		}
	}
	panic("unreachable")
}

func TestSphinxForwardRoundTrip(t *testing.T) {
	mixes := newTestMixes(t, 4)
	delays := []time.Duration{0, 7*time.Millisecond + 400*time.Microsecond, 1500 * time.Microsecond, 3 * time.Second}
	wantDelays := []uint32{0, 7, 2, 3000}

	body := []byte("forward body: exit request")
	payload, err := EncodeForwardPayload(nil, OpDrop, body)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSphinx()
	pkt, err := NewForward(s, hopsOf(mixes, delays), payload)
	if err != nil {
		t.Fatalf("NewForward: %v", err)
	}
	if len(pkt) != PacketLength {
		t.Fatalf("packet of %d bytes", len(pkt))
	}
	if bytes.Contains(pkt, body) {
		t.Fatal("body visible in the packet")
	}

	got, h := unwrapPath(t, pkt, mixes, wantDelays)
	if h.recipient != nil || h.surbReply != nil {
		t.Fatal("forward packet's last hop has reply commands")
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("final payload differs (%d bytes, want %d)", len(got), len(payload))
	}
	surb, req, err := DecodeForwardPayload(got)
	if err != nil {
		t.Fatal(err)
	}
	if surb != nil || req.Op != OpDrop || !bytes.Equal(req.Body, body) {
		t.Fatalf("decoded %+v, surb %v", req, surb != nil)
	}
}

func TestSphinxTamperedPayload(t *testing.T) {
	mixes := newTestMixes(t, 3)
	payload, _ := EncodeForwardPayload(nil, OpDrop, []byte("x"))
	s := NewSphinx()
	pkt, err := NewForward(s, hopsOf(mixes, make([]time.Duration, 3)), payload)
	if err != nil {
		t.Fatal(err)
	}
	pkt[len(pkt)-1] ^= 1
	for i, m := range mixes {
		_, _, _, err = s.Unwrap(m.priv, pkt)
		if i < len(mixes)-1 && err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
	}
	if err == nil {
		t.Fatal("tampered payload passed the last hop")
	}

	// A tampered header fails at the first hop.
	pkt, _ = NewForward(s, hopsOf(mixes, make([]time.Duration, 3)), payload)
	pkt[40] ^= 1
	if _, _, _, err := s.Unwrap(mixes[0].priv, pkt); err == nil {
		t.Fatal("tampered header accepted")
	}
}

func TestSphinxSURBRoundTrip(t *testing.T) {
	// Forward path: gateway, three mixes (the last one the exit).
	fwd := newTestMixes(t, 4)
	// Reply path: three mixes, then the client's gateway.
	back := newTestMixes(t, 4)
	queue := QueueID("client-peer")
	s := NewSphinx()

	backDelays := []time.Duration{time.Millisecond, 0, 250 * time.Millisecond, 0}
	surb, err := NewSURB(s, hopsOf(back, backDelays), queue)
	if err != nil {
		t.Fatalf("NewSURB: %v", err)
	}
	if len(surb.Block) != Geometry.SURBLength {
		t.Fatalf("SURB block of %d bytes", len(surb.Block))
	}
	if surb.FirstHop != back[0].id {
		t.Fatal("FirstHop is not the first reply hop")
	}
	if surb.ID == ([16]byte{}) || len(surb.Keys) == 0 {
		t.Fatal("SURB without id or keys")
	}

	// The client sends an echo request with the SURB attached.
	body := []byte("ping 42")
	payload, err := EncodeForwardPayload(surb.Block, OpEcho, body)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := NewForward(s, hopsOf(fwd, make([]time.Duration, 4)), payload)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := unwrapPath(t, pkt, fwd, []uint32{0, 0, 0, 0})
	block, req, err := DecodeForwardPayload(got)
	if err != nil {
		t.Fatal(err)
	}
	if req.Op != OpEcho || !bytes.Equal(req.Body, body) || !bytes.Equal(block, surb.Block) {
		t.Fatal("exit did not get the request and SURB")
	}

	// The exit answers through the SURB.
	reply, err := EncodeReply(StatusOK, req.Body)
	if err != nil {
		t.Fatal(err)
	}
	rpkt, first, err := s.NewPacketFromSURB(block, reply)
	if err != nil {
		t.Fatalf("NewPacketFromSURB: %v", err)
	}
	if *first != back[0].id {
		t.Fatalf("reply goes first to %x, want %x", first[:4], back[0].id[:4])
	}
	if len(rpkt) != PacketLength {
		t.Fatalf("reply packet of %d bytes", len(rpkt))
	}

	delivered, h := unwrapPath(t, rpkt, back, []uint32{1, 0, 250, 0})
	if h.recipient == nil || h.recipient.ID != queue {
		t.Fatalf("last hop recipient %v, want the queue id", h.recipient)
	}
	if h.surbReply == nil || h.surbReply.ID != surb.ID {
		t.Fatalf("last hop SURBReply %v, want id %x", h.surbReply, surb.ID)
	}

	// The gateway hands the payload to the client in a delivery frame.
	frame, err := EncodeDelivery(h.surbReply.ID, delivered)
	if err != nil {
		t.Fatalf("EncodeDelivery: %v", err)
	}
	var link bytes.Buffer
	if err := WriteFrame(&link, frame); err != nil {
		t.Fatal(err)
	}
	in := make([]byte, PacketLength)
	if err := ReadFrame(&link, in); err != nil {
		t.Fatal(err)
	}
	id, dpayload, err := DecodeDelivery(in)
	if err != nil {
		t.Fatal(err)
	}
	if id != surb.ID {
		t.Fatal("delivery carries another SURB id")
	}

	pt, err := OpenReply(s, surb, dpayload)
	if err != nil {
		t.Fatalf("OpenReply: %v", err)
	}
	st, rbody, err := DecodeReply(pt)
	if err != nil {
		t.Fatalf("DecodeReply: %v", err)
	}
	if st != StatusOK || !bytes.Equal(rbody, body) {
		t.Fatalf("reply %d %q, want OK %q", st, rbody, body)
	}

	// OpenReply leaves the SURB's keys intact and the input unchanged.
	if pt2, err := OpenReply(s, surb, dpayload); err != nil || !bytes.Equal(pt2, pt) {
		t.Fatalf("second OpenReply: %v", err)
	}

	// Another SURB's keys do not open it.
	otherSURB, err := NewSURB(s, hopsOf(back, backDelays), queue)
	if err != nil {
		t.Fatal(err)
	}
	if otherSURB.ID == surb.ID {
		t.Fatal("two SURBs share an id")
	}
	if _, err := OpenReply(s, otherSURB, dpayload); err == nil {
		t.Fatal("reply opened with another SURB's keys")
	}
	if _, err := OpenReply(s, surb, dpayload[1:]); err == nil {
		t.Fatal("short reply payload accepted")
	}
}

func TestNewForwardRejects(t *testing.T) {
	s := NewSphinx()
	payload, _ := EncodeForwardPayload(nil, OpDrop, nil)
	mixes := newTestMixes(t, MaxHops+1)
	zero := make([]time.Duration, MaxHops+1)
	if _, err := NewForward(s, nil, payload); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, err := NewForward(s, hopsOf(mixes, zero), payload); err == nil {
		t.Fatalf("path of %d hops accepted", MaxHops+1)
	}
	if _, err := NewForward(s, hopsOf(mixes[:MaxHops], zero), payload); err != nil {
		t.Fatalf("path of %d hops: %v", MaxHops, err)
	}
	if _, err := NewForward(s, hopsOf(mixes[:1], zero), payload); err != nil {
		t.Fatalf("path of 1 hop: %v", err)
	}
	hops := hopsOf(mixes[:3], zero)
	hops[1].Key = hops[1].Key[:31]
	if _, err := NewForward(s, hops, payload); err == nil || !strings.Contains(err.Error(), "hop 1") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := NewForward(s, hopsOf(mixes[:3], zero), payload[1:]); err == nil {
		t.Fatal("short payload accepted")
	}
	if _, err := NewSURB(s, nil, [32]byte{}); err == nil {
		t.Fatal("SURB with an empty path accepted")
	}
}
