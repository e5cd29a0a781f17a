package wire

import (
	"bytes"
	"testing"

	"github.com/komrade-net/komrade/internal/golden"
)

// seq returns n bytes counting up from start: input that shows its place in
// an encoding.
func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// TestVectorsEnvelope checks the exit request, reply and delivery encodings
// against testdata/, both ways.
func TestVectorsEnvelope(t *testing.T) {
	surb := seq(Geometry.SURBLength, 1)
	body, err := EncodeBody(&RecordRequest{Key: "/kprof/00", Value: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := EncodeForwardPayload(surb, OpPutRecord, body)
	if err != nil {
		t.Fatal(err)
	}
	stored := golden.Check(t, "forward-put-record", fwd)
	gotSURB, req, err := DecodeForwardPayload(stored)
	if err != nil || !bytes.Equal(gotSURB, surb) || req.Op != OpPutRecord || !bytes.Equal(req.Body, body) {
		t.Fatalf("forward payload decodes to %v %v, err %v", req.Op, req.Body, err)
	}
	var rr RecordRequest
	if err := DecodeBody(req.Body, &rr); err != nil || rr.Key != "/kprof/00" || string(rr.Value) != "v" {
		t.Fatalf("record request decodes to %+v, %v", rr, err)
	}

	res, err := EncodeBody(&ScanResult{Items: [][]byte{{1, 2}, {3}}, Next: []byte{9}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EncodeReply(StatusOK, res)
	if err != nil {
		t.Fatal(err)
	}
	stored = golden.Check(t, "reply-scan-result", rep)
	st, b, err := DecodeReply(stored)
	if err != nil || st != StatusOK || !bytes.Equal(b, res) {
		t.Fatalf("reply decodes to %v %x, %v", st, b, err)
	}
	rep, err = EncodeReply(StatusPoW, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, err := DecodeReply(golden.Check(t, "reply-status-pow", rep)); err != nil || st != StatusPoW {
		t.Fatalf("status reply decodes to %v, %v", st, err)
	}

	var id [16]byte
	copy(id[:], seq(16, 0xa0))
	payload := seq(Geometry.PayloadTagLength+Geometry.ForwardPayloadLength, 7)
	del, err := EncodeDelivery(id, payload)
	if err != nil {
		t.Fatal(err)
	}
	gotID, gotPayload, err := DecodeDelivery(golden.Check(t, "delivery", del))
	if err != nil || gotID != id || !bytes.Equal(gotPayload, payload) {
		t.Fatalf("delivery decodes wrongly: %v", err)
	}
}

// TestVectorsPoW pins the proof-of-work stamp.
func TestVectorsPoW(t *testing.T) {
	nonce, err := SolvePoW(t.Context(), []byte("komrade test vector\x00"), 12)
	if err != nil {
		t.Fatal(err)
	}
	var nb [8]byte
	for i := range nb {
		nb[7-i] = byte(nonce >> (8 * i))
	}
	golden.Check(t, "pow-12-bits-nonce", nb[:])
	if PoWZeros([]byte("komrade test vector\x00"), nonce) < 12 {
		t.Fatal("solution does not verify")
	}
}
