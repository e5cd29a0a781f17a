package message

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"testing"
)

// TestReportRoundTrip: a report encodes, travels in a signed one-part frame
// and decodes to itself; malformed reports are refused both ways.
func TestReportRoundTrip(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r := Report{Op: ReportMissing, Indexes: []uint64{3, 4, 1 << 40}}
	body, err := EncodeReport(r)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Split(KindReport, body)
	if err != nil || len(fs) != 1 {
		t.Fatalf("split: %d frames, %v", len(fs), err)
	}
	b, err := Encode(fs[0], 9, priv)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b, 9, pub)
	if err != nil || f.Kind != KindReport {
		t.Fatalf("decode: %+v, %v", f, err)
	}
	got, err := DecodeReport(f.Body)
	if err != nil || got.Op != r.Op || !slices.Equal(got.Indexes, r.Indexes) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, r)
	}

	for _, bad := range []Report{
		{Op: 0, Indexes: []uint64{1}},
		{Op: ReportGone + 1, Indexes: []uint64{1}},
		{Op: ReportLost},
		{Op: ReportLost, Indexes: []uint64{2, 2}},
		{Op: ReportLost, Indexes: []uint64{3, 2}},
		{Op: ReportLost, Indexes: make([]uint64, MaxReport+1)},
	} {
		if _, err := EncodeReport(bad); err == nil {
			t.Errorf("encoded %+v", bad)
		}
	}
	for _, bad := range [][]byte{
		nil, {1}, {1, 0}, {4, 1, 0, 0, 0, 0, 0, 0, 0, 1},
		{1, 1, 0, 0, 0, 0, 0, 0, 0},                                              // short
		{1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0},                                        // long
		append([]byte{1, 2}, bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0, 5}, 2)...), // not increasing
		{1, MaxReport + 1},
	} {
		if _, err := DecodeReport(bad); err == nil {
			t.Errorf("decoded % x", bad)
		}
	}

	// A report spread over two frames is malformed.
	two := Frame{Kind: KindReport, Part: 0, Parts: 2, Body: body}
	b, err = Encode(two, 9, priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b, 9, pub); err == nil {
		t.Fatal("a report in two parts decoded")
	}
}

// FuzzDecodeReport: report bodies come from a contact (signed, but a
// contact may be hostile or broken). No panic, and whatever decodes encodes
// back to the same bytes.
func FuzzDecodeReport(f *testing.F) {
	good, _ := EncodeReport(Report{Op: ReportGone, Indexes: []uint64{7, 8}})
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Add([]byte{2, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReport(b)
		if err != nil {
			return
		}
		again, err := EncodeReport(*r)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v from % x, encodes to % x, %v", r, b, again, err)
		}
	})
}
