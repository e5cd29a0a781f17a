package social

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
)

func TestBodyRoundTrip(t *testing.T) {
	b := &Body{To: Local, Text: "hello", Area: &Area{LatE6: 52_520_000, LonE6: 13_405_000, RadiusM: 2000},
		Image: &ImageRef{W: 448, H: 300}, Salt: make([]byte, 16)}
	raw, err := EncodeBody(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "hello" || got.Area.RadiusM != 2000 || got.Image.W != 448 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range []*Body{
		{To: World, Text: "x"},                                        // no salt
		{To: Local, Text: "x", Salt: make([]byte, 16)},                // area post without area
		{To: World, Text: "x", Salt: make([]byte, 16), Area: &Area{}}, // world post with area
		{To: 9, Text: "x", Salt: make([]byte, 16)},                    // audience
		{To: World, Text: strings.Repeat("a", HeadText+1), Salt: make([]byte, 16)},
		{To: World, Text: "x", Salt: make([]byte, 16), Reply: []byte{1}}, // reply id length
		{To: World, Text: "x", Salt: make([]byte, 16), More: make([][32]byte, MaxMore+1)},
	} {
		if _, err := EncodeBody(bad); !errors.Is(err, wire.ErrInvalid) {
			t.Errorf("EncodeBody(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestEntrySignature(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	raw, err := SignEntry(&Entry{To: World, Created: 1, Preview: "hi"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.PublicKey(e.Author).Equal(priv.Public()) {
		t.Fatal("author lost")
	}
	// Any change breaks the signature.
	e.Preview = "ho"
	e.Sig = append([]byte(nil), e.Sig...)
	forged, err := encodeRaw(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeEntry(forged); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("forged entry: %v", err)
	}
	anon, err := SignEntry(&Entry{To: World, Created: 1, Preview: "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := DecodeEntry(anon); err != nil || len(e.Author) != 0 {
		t.Fatalf("anonymous entry: %v %+v", err, e)
	}
}

func TestSplitText(t *testing.T) {
	text := strings.Repeat("日本語", 333) + "x" // 1000 characters, 2998 bytes
	if err := CheckText(text); err != nil {
		t.Fatal(err)
	}
	head, more := SplitText(text)
	if len(head) > HeadText || len(more) > MaxMore || !utf8.ValidString(head) {
		t.Fatalf("head %d bytes, %d more", len(head), len(more))
	}
	if head+strings.Join(more, "") != text {
		t.Fatal("split lost text")
	}
	for _, m := range more {
		if len(m) > MoreText || !utf8.ValidString(m) {
			t.Fatalf("part of %d bytes", len(m))
		}
	}
	if err := CheckText(strings.Repeat("a", MaxChars+1)); err == nil {
		t.Fatal("1001 characters accepted")
	}
	if err := CheckText(" \n\t"); err == nil {
		t.Fatal("blank text accepted")
	}
	if p := Preview(strings.Repeat("é", 400)); len(p) > PreviewBytes || !utf8.ValidString(p) {
		t.Fatalf("preview of %d bytes", len(p))
	}
}

func FuzzDecodeBody(f *testing.F) {
	raw, _ := EncodeBody(&Body{To: World, Text: "seed", Salt: make([]byte, 16)})
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := DecodeBody(b)
		if err != nil {
			return
		}
		again, err := EncodeBody(body)
		if err != nil || string(again) != string(b) {
			t.Fatalf("accepted body does not re-encode to itself: %v", err)
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	raw, _ := SignEntry(&Entry{To: World, Created: 1, Preview: "seed"}, priv)
	f.Add(raw)
	anon, _ := SignEntry(&Entry{To: Local, Created: 1, Preview: "seed", Area: &Area{RadiusM: 5}}, nil)
	f.Add(anon)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if len(e.Preview) > PreviewBytes {
			t.Fatal("long preview accepted")
		}
	})
}

// encodeRaw encodes e as it is, without signing (to forge).
func encodeRaw(e *Entry) ([]byte, error) { return detcbor.Marshal(e) }
