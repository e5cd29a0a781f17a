package photo

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
)

var (
	bigOnce sync.Once
	bigJPEG []byte
)

// BenchmarkPrepare prepares what a phone camera gives: a 4000×3000 (12
// megapixel) JPEG at quality 90 with EXIF (orientation 6, GPS), made once.
func BenchmarkPrepare(b *testing.B) {
	bigOnce.Do(func() {
		bigJPEG = withSegments(encodeJPEG(b, photoLike(4000, 3000), 90), exifAPP1(binary.BigEndian, 6))
	})
	if len(bigJPEG) > MaxInput {
		b.Fatalf("the test image has %d bytes, over MaxInput", len(bigJPEG))
	}
	b.SetBytes(int64(len(bigJPEG)))
	b.ReportAllocs()
	var p *Prepared
	for b.Loop() {
		var err error
		if p, err = Prepare(bytes.NewReader(bigJPEG)); err != nil {
			b.Fatal(err)
		}
	}
	if p.FullWidth != 336 || p.FullHeight != 448 {
		b.Fatalf("full image %dx%d", p.FullWidth, p.FullHeight)
	}
	b.ReportMetric(float64(len(bigJPEG)), "in-bytes")
	b.ReportMetric(float64(len(p.Full)), "full-bytes")
	b.ReportMetric(float64(len(p.Thumb)), "thumb-bytes")
}
