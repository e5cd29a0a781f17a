package mixnode

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
)

func TestReplayCacheNeverMissesAReplay(t *testing.T) {
	c := newReplayCacheSize(1 << 16)
	tags := make([][]byte, 2000)
	for i := range tags {
		tags[i] = make([]byte, 32)
		rand.Read(tags[i])
		c.seen(7, tags[i])
	}
	for i, tag := range tags {
		if !c.seen(7, tag) {
			t.Fatalf("replay %d not seen", i)
		}
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	if c.seen(8, fresh) {
		t.Fatal("a fresh tag in an empty epoch was seen")
	}
	c.forgetBefore(8)
	if len(c.filters) != 1 {
		t.Fatalf("%d filters after forgetting epoch 7, want 1", len(c.filters))
	}
}

// TestReplayCacheFalsePositives fills a small filter to its design capacity
// and checks that fresh tags are called seen at about the stated rate.
func TestReplayCacheFalsePositives(t *testing.T) {
	const size = 1 << 16 // 512 Kibit
	c := newReplayCacheSize(size)
	capacity := replayCapacity * size / replayFilterBytes
	var tag [32]byte
	for i := range capacity {
		binary.BigEndian.PutUint64(tag[:], uint64(i))
		c.seen(1, tag[:])
	}
	var fp int
	const probes = 200000
	for i := range probes {
		binary.BigEndian.PutUint64(tag[:], uint64(capacity+i))
		if c.probe(c.filters[1], tag[:], false) {
			fp++
		}
	}
	// At capacity the rate is replayFPRate = 1e-6; 200000 probes expect
	// 0.2 false positives. More than 5 means the sizing is wrong.
	if fp > 5 {
		t.Fatalf("%d false positives in %d probes at capacity %d", fp, probes, capacity)
	}
}

// BenchmarkReplayFilter is one check of a full-size filter while it fills
// up to a node's rate over one epoch; it reports the filter's memory and
// the false-positive rate measured at the end.
func BenchmarkReplayFilter(b *testing.B) {
	c := newReplayCache()
	var tag [32]byte
	for i := range b.N {
		binary.BigEndian.PutUint64(tag[:], uint64(i))
		c.seen(1, tag[:])
	}
	b.StopTimer()
	var fp int
	const probes = 2000000 // at 5e-7, about 1 expected
	for i := range probes {
		binary.BigEndian.PutUint64(tag[:], uint64(b.N+i))
		if c.probe(c.filters[1], tag[:], false) {
			fp++
		}
	}
	b.ReportMetric(float64(replayFilterBytes)/(1<<20), "MiB/epoch")
	b.ReportMetric(float64(fp)/probes, "fp-rate")
}
