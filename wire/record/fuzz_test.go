package record

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"
)

// The fuzz targets feed arbitrary bytes to every record decoder and
// validator that storage nodes run on network input: none may panic.

func FuzzProfile(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	v, _ := SignProfile(NewProfile(1, time.Hour, []byte("x")), priv)
	f.Add(ProfileKey(priv.Public().(ed25519.PublicKey)), v)
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		val := ProfileValidator{}
		if val.Validate(key, b) == nil {
			if _, err := val.Select(key, [][]byte{b, b}); err != nil {
				t.Fatalf("valid profile not selectable: %v", err)
			}
		}
		DecodeProfile(b)
	})
}

func FuzzPost(f *testing.F) {
	p := &Post{Created: 1, Expires: time.Now().Add(time.Hour).Unix(), Body: []byte("x")}
	v, _ := StampPost(context.Background(), p, 4)
	f.Add(PostKey(v), v)
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		val := PostValidator{PoWBits: 4}
		val.Validate(key, b)
		val.Select(key, [][]byte{b})
		DecodePost(b, 0)
	})
}

func FuzzBox(f *testing.F) {
	wc, _ := bacap.NewWriteCap(rand.Reader)
	id, v, _ := SealBox(wc, wc.GetFirstMessageBoxIndex(), []byte("c"), []byte("blob"), time.Hour)
	f.Add(BoxKey(id), v)
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		val := BoxValidator{}
		val.Validate(key, b)
		val.Select(key, [][]byte{b, b})
		var id [32]byte
		copy(id[:], b)
		DecodeBox(id, b)
	})
}
