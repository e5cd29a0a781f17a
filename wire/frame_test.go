package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestGeometry(t *testing.T) {
	if PacketLength != 3130 {
		t.Fatalf("PacketLength = %d, want 3130 (documented)", PacketLength)
	}
	if Geometry.NrHops != MaxHops || Geometry.UserForwardPayloadLength != UserPayloadLength {
		t.Fatalf("geometry %+v", Geometry)
	}
	if 2+Geometry.SURBLength+UserPayloadLength != Geometry.ForwardPayloadLength {
		t.Fatalf("forward payload %d != 2 + SURB %d + user %d", Geometry.ForwardPayloadLength, Geometry.SURBLength, UserPayloadLength)
	}
	if MaxRequestBody != UserPayloadLength-4 || MaxReplyBody != MaxRequestBody {
		t.Fatalf("MaxRequestBody %d, MaxReplyBody %d", MaxRequestBody, MaxReplyBody)
	}
	if 17+DeliveryPayloadLength > PacketLength {
		t.Fatalf("delivery payload %d does not fit a frame of %d", DeliveryPayloadLength, PacketLength)
	}
	// A reply body length fits the 16-bit length field.
	if Geometry.ForwardPayloadLength-envelopeHeader > math.MaxUint16 {
		t.Fatal("envelope length field too small")
	}
}

func frame(b byte) []byte { return bytes.Repeat([]byte{b}, PacketLength) }

func TestWriteReadFrame(t *testing.T) {
	var buf bytes.Buffer
	a, b := frame(0xaa), frame(0x55)
	a[0], b[PacketLength-1] = 1, 2
	if err := WriteFrame(&buf, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(&buf, b); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 2*PacketLength {
		t.Fatalf("wrote %d bytes, want %d", buf.Len(), 2*PacketLength)
	}
	got := make([]byte, PacketLength)
	for _, want := range [][]byte{a, b} {
		if err := ReadFrame(&buf, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("frame differs")
		}
	}
	// End of stream between frames is a plain io.EOF.
	if err := ReadFrame(&buf, got); err != io.EOF {
		t.Fatalf("ReadFrame at end: %v, want io.EOF", err)
	}
}

func TestReadFrameSlowReader(t *testing.T) {
	want := frame(7)
	got := make([]byte, PacketLength)
	if err := ReadFrame(iotest.OneByteReader(bytes.NewReader(want)), got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("frame differs")
	}
	if err := ReadFrame(iotest.HalfReader(bytes.NewReader(want)), got); err != nil {
		t.Fatal(err)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	got := make([]byte, PacketLength)
	for _, n := range []int{1, 17, PacketLength / 2, PacketLength - 1} {
		err := ReadFrame(bytes.NewReader(frame(1)[:n]), got)
		if err == nil {
			t.Fatalf("%d bytes: no error", n)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("%d bytes: %v, want a truncated frame error", n, err)
		}
	}
	// Exactly one frame followed by a partial one.
	r := bytes.NewReader(append(frame(1), 2, 3))
	if err := ReadFrame(r, got); err != nil {
		t.Fatal(err)
	}
	if err := ReadFrame(r, got); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial second frame: %v", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	boom := errors.New("boom")
	if err := ReadFrame(iotest.ErrReader(boom), make([]byte, PacketLength)); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
	for _, n := range []int{0, PacketLength - 1, PacketLength + 1} {
		if err := ReadFrame(bytes.NewReader(frame(1)), make([]byte, n)); err == nil {
			t.Fatalf("buffer of %d bytes accepted", n)
		}
	}
	// A timeout mid-frame is reported as it is.
	r := io.MultiReader(bytes.NewReader(frame(1)[:10]), iotest.ErrReader(iotest.ErrTimeout))
	if err := ReadFrame(r, make([]byte, PacketLength)); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
}

// shortWriter accepts at most n bytes per call and (wrongly) reports no error.
type shortWriter struct {
	n   int
	got []byte
}

func (w *shortWriter) Write(p []byte) (int, error) {
	k := min(len(p), w.n)
	w.got = append(w.got, p[:k]...)
	return k, nil
}

type errWriter struct{ err error }

func (w errWriter) Write(p []byte) (int, error) { return 0, w.err }

func TestWriteFrameRejects(t *testing.T) {
	var buf bytes.Buffer
	for _, n := range []int{0, 1, PacketLength - 1, PacketLength + 1} {
		if err := WriteFrame(&buf, make([]byte, n)); err == nil {
			t.Fatalf("frame of %d bytes accepted", n)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written for rejected frames", buf.Len())
	}

	sw := &shortWriter{n: PacketLength - 1}
	err := WriteFrame(sw, frame(3))
	if err == nil {
		t.Fatal("short write not reported")
	}
	if !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("short write: %v, want io.ErrShortWrite", err)
	}

	boom := errors.New("boom")
	if err := WriteFrame(errWriter{boom}, frame(3)); !errors.Is(err, boom) {
		t.Fatalf("writer error: %v", err)
	}
}

func TestQueueID(t *testing.T) {
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	qa, qb := QueueID(a), QueueID(b)
	if qa == qb {
		t.Fatal("QueueID is the same for two peers")
	}
	if QueueID(a) != qa {
		t.Fatal("QueueID is not deterministic")
	}
	if qa == sha256.Sum256([]byte(a)) {
		t.Fatal("QueueID is not domain separated")
	}
	if qa == ([32]byte{}) {
		t.Fatal("QueueID is zero")
	}
	if QueueID("") == QueueID("\x00") {
		t.Fatal("QueueID collides on short ids")
	}
}

func TestExpDelayMean(t *testing.T) {
	const (
		mu    = 10 * time.Millisecond
		draws = 20000
	)
	var sum float64
	for range draws {
		d := ExpDelay(mu)
		if d < 0 || d > 20*mu {
			t.Fatalf("draw %v outside [0, 20·mu]", d)
		}
		sum += float64(d)
	}
	mean := sum / draws
	// The standard error of the mean is mu/sqrt(draws) ≈ 0.7% of mu, so a
	// 5% bound is more than seven standard errors: it does not flake.
	if rel := math.Abs(mean-float64(mu)) / float64(mu); rel > 0.05 {
		t.Fatalf("mean of %d draws = %v, want %v within 5%% (off by %.1f%%)", draws, time.Duration(mean), mu, 100*rel)
	}
}

func TestExpDelaySpread(t *testing.T) {
	// Exp(mu) exceeds mu with probability 1/e ≈ 0.37; of 20000 draws
	// between 30% and 44% do (many standard deviations either side).
	const mu = time.Second
	above := 0
	for range 20000 {
		if ExpDelay(mu) > mu {
			above++
		}
	}
	if frac := float64(above) / 20000; frac < 0.30 || frac > 0.44 {
		t.Fatalf("fraction above mu = %.3f, want ≈ 0.368", frac)
	}
	if d := ExpDelay(0); d != 0 {
		t.Fatalf("ExpDelay(0) = %v", d)
	}
}

func TestDelayCommand(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want uint32
	}{
		{0, 0},
		{-time.Second, 0},
		{499 * time.Microsecond, 0},
		{500 * time.Microsecond, 1},
		{1499 * time.Microsecond, 1},
		{1500 * time.Microsecond, 2},
		{2 * time.Second, 2000},
		{time.Duration(math.MaxUint32) * time.Millisecond, math.MaxUint32},
		{time.Duration(math.MaxUint32+10) * time.Millisecond, math.MaxUint32},
		{time.Duration(math.MaxInt64), math.MaxUint32},
	} {
		if got := delayCommand(tc.d).Delay; got != tc.want {
			t.Fatalf("delayCommand(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
