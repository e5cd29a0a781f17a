package social_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"testing"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/client/social"
	"github.com/komrade-net/komrade/config"
	"github.com/komrade-net/komrade/mixnode/testnet"
	"github.com/komrade-net/komrade/pki"
)

// BenchmarkPublishPostWithImage measures publishing a signed world post of
// 1000 CJK characters with a camera-like photo (1600×1200 JPEG) at the
// default Loopix rates and the network's default mixing delay (mu 50 ms)
// and proof-of-work (16 bits): the time per post and the real packets it
// sends (records, index entry, profile update, tries again included). It
// starts a 9-node testnet, so run it with a fixed count:
//
//	go test -run '^$' -bench PublishPostWithImage -benchtime 5x ./client/social/
func BenchmarkPublishPostWithImage(b *testing.B) {
	net, err := testnet.Start(context.Background(), testnet.Options{Nodes: 9, Mu: pki.DefaultMu, PoWBits: pki.DefaultPoWBits,
		LambdaM: -1, Dir: b.TempDir(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(net.Close)
	rates := client.Rates{LambdaP: config.DefaultLambdaP, LambdaL: config.DefaultLambdaL, LambdaD: config.DefaultLambdaD}
	u := newUser(b, net, &rates)
	pic := photoLike(b, 1600, 1200)
	text := cjkText(social.MaxChars)
	prep, err := photo.Prepare(bytes.NewReader(pic))
	if err != nil {
		b.Fatal(err)
	}
	_, chunks, err := prep.Split()
	if err != nil {
		b.Fatal(err)
	}
	_, more := social.SplitText(text)
	// Records, the world entry and the profile: the requests of a post
	// when none is lost.
	requests := len(chunks) + 2 + len(more) + 1 + 1 + 1
	ctx := context.Background()
	var packets uint64
	posts := 0
	for b.Loop() {
		before := u.c.LoopStats().Departures["real"]
		pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		_, err := u.s.Post(pctx, social.PostOptions{Text: text, Image: bytes.NewReader(pic), To: social.World})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		packets += u.c.LoopStats().Departures["real"] - before
		posts++
	}
	b.ReportMetric(float64(packets)/float64(posts), "packets/post")
	b.ReportMetric(float64(requests), "requests/post")
	b.ReportMetric(float64(len(prep.Full)), "full-image-bytes")
}

// photoLike is a w×h JPEG with smooth gradients and noise, as a camera's
// picture has, from a fixed seed.
func photoLike(b testing.TB, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	// Noise in blocks of 4×4 pixels, so that detail survives the scaling
	// down to 448 pixels as a real photo's does.
	noise := make([]int, (w/4+1)*(h/4+1))
	seed := uint32(1)
	for i := range noise {
		seed = seed*1664525 + 1013904223
		noise[i] = int(seed>>26) - 32
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := noise[(y/4)*(w/4+1)+x/4]
			i := m.PixOffset(x, y)
			m.Pix[i+0] = clamp(x*255/w + n)
			m.Pix[i+1] = clamp(y*255/h + n)
			m.Pix[i+2] = clamp((x+y)*255/(w+h) + n)
			m.Pix[i+3] = 0xFF
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }
