package record

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/katzenpost/hpqc/bacap"
)

func key(t testing.TB) ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func TestProfile(t *testing.T) {
	priv := key(t)
	v := ProfileValidator{}
	k := ProfileKey(priv.Public().(ed25519.PublicKey))
	r1, err := SignProfile(NewProfile(1, time.Hour, []byte("one")), priv)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := SignProfile(NewProfile(2, time.Hour, []byte("two")), priv)
	if err := v.Validate(k, r1); err != nil {
		t.Fatal(err)
	}
	if i, err := v.Select(k, [][]byte{r1, r2}); err != nil || i != 1 {
		t.Fatalf("select = %d, %v; want the higher sequence", i, err)
	}
	if i, _ := v.Select(k, [][]byte{r1, r1}); i != 0 {
		t.Fatal("a tie must go to the first value (re-storing refreshes)")
	}
	if err := v.Validate(ProfileKey(key(t).Public().(ed25519.PublicKey)), r1); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	bad := append([]byte(nil), r1...)
	bad[len(bad)-1] ^= 1
	if err := v.Validate(k, bad); err == nil {
		t.Fatal("tampered profile accepted")
	}
	old, _ := SignProfile(&Profile{Seq: 3, Expires: time.Now().Add(-time.Minute).Unix()}, priv)
	if err := v.Validate(k, old); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired profile: %v", err)
	}
	far, _ := SignProfile(&Profile{Seq: 3, Expires: time.Now().Add(2 * MaxTTL).Unix()}, priv)
	if err := v.Validate(k, far); !errors.Is(err, ErrExpired) {
		t.Fatalf("profile expiring too late: %v", err)
	}
	v.Clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := v.Validate(k, r1); !errors.Is(err, ErrExpired) {
		t.Fatal("validator clock ignored")
	}
}

func TestPost(t *testing.T) {
	v := PostValidator{PoWBits: 10}
	p := &Post{Created: time.Now().Unix(), Expires: time.Now().Add(time.Hour).Unix(), Body: []byte("anonymous")}
	anon, err := StampPost(context.Background(), p, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(PostKey(anon), anon); err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(PostKey([]byte("other")), anon); !errors.Is(err, ErrWrongHash) {
		t.Fatalf("wrong hash: %v", err)
	}
	weak := PostValidator{PoWBits: 30}
	if err := weak.Validate(PostKey(anon), anon); !errors.Is(err, ErrPoW) {
		t.Fatalf("insufficient work: %v", err)
	}
	signed, err := SignPost(&Post{Created: 1, Expires: time.Now().Add(time.Hour).Unix(), Body: []byte("me")}, key(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := weak.Validate(PostKey(signed), signed); err != nil {
		t.Fatalf("signed posts need no work: %v", err)
	}
	if len(Chunks(make([]byte, 3*ChunkSize+1))) != 4 {
		t.Fatal("chunking")
	}
}

func TestBox(t *testing.T) {
	wc, err := bacap.NewWriteCap(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	idx := wc.GetFirstMessageBoxIndex()
	id, val, err := SealBox(wc, idx, []byte("ctx"), []byte("blob"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v := BoxValidator{}
	if err := v.Validate(BoxKey(id), val); err != nil {
		t.Fatal(err)
	}
	next, _ := idx.NextIndex()
	id2, val2, _ := SealBox(wc, next, []byte("ctx"), []byte("blob"), time.Hour)
	if id2 == id {
		t.Fatal("consecutive boxes share an id")
	}
	if err := v.Validate(BoxKey(id), val2); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("value of another box: %v", err)
	}
	if _, _, err := SealBox(wc, idx, nil, make([]byte, MaxBoxBlob+1), time.Hour); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize blob: %v", err)
	}
	if i, err := v.Select(BoxKey(id), [][]byte{val, val}); err != nil || i != 0 {
		t.Fatal("box select tie")
	}
	if _, err := BoxID("/kprof/00"); err == nil {
		t.Fatal("non-box key accepted")
	}
}
