package sets

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
	"github.com/libp2p/go-libp2p/core/peer"
)

// fuzzRules accept any well-formed item that is not expired at the fuzz
// clock, so that mutated items reach the store; the hourly cap is below the
// set cap so that both refusals are reached.
func fuzzRules() setitem.Rules {
	return setitem.Rules{MaxItemSize: setitem.ItemSizeCap, TTL: 365 * 24 * time.Hour, Dedup: true, MaxItemsPerKey: 8, MaxItemsPerKeyPerHour: 6}
}

func seedItems(tb testing.TB) [][]byte {
	var out [][]byte
	vote := setitem.Item{Namespace: "test", Key: []byte("k"), Body: []byte("vote"), Expires: t0.Unix() + 70}
	signAs(&vote, "n")
	vote.Nonce = 42
	vote2 := setitem.Item{Namespace: "test", Key: []byte("k"), Body: []byte("vote2"), Expires: t0.Unix() + 80}
	signAs(&vote2, "n")
	for _, it := range []setitem.Item{
		{Namespace: "test", Key: []byte("k"), Body: []byte("hello"), Expires: t0.Unix() + 60},
		vote,
		vote2,
		{Namespace: "other", Key: bytes.Repeat([]byte{7}, setitem.MaxKeySize), Body: nil, Expires: t0.Unix() + 90},
	} {
		b, err := setitem.Encode(&it)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeItem feeds arbitrary bytes to DecodeItem and stores what it
// accepts in a fresh store (so that no input's outcome depends on the ones
// before it). Nothing may panic; an accepted item re-encodes to the same
// bytes and leaves the store consistent.
func FuzzDecodeItem(f *testing.F) {
	for _, b := range seedItems(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0x01, 0x64, 't', 'e', 's', 't', 0xff})
	f.Add([]byte{0xa1, 0x03, 0x5a, 0xff, 0xff, 0xff, 0xff})
	r := fuzzRules()
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := setitem.Decode(b)
		if err != nil {
			if it != nil {
				t.Fatal("DecodeItem returned an item with an error")
			}
			return
		}
		again, err := setitem.Encode(it)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		id, err := it.ID()
		if err != nil || id != sha256.Sum256(b) {
			t.Fatalf("ID differs from the hash of the encoding: %v", err)
		}
		now := time.Unix(it.Expires-1, 0)
		s := openTestStore(t)
		if _, err := s.Put(*it, r, now); err != nil && !wire.IsFinal(err) {
			t.Fatalf("Put: %v", err)
		}
		if _, _, err := s.Scan(it.Namespace, it.Key, nil, 10, now); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		checkStore(t, s)
	})
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame reader and to both
// frame decoders. Nothing may panic; whatever decodes re-encodes to the
// same bytes.
func FuzzDecodeFrame(f *testing.F) {
	items := seedItems(f)
	frames := []any{
		&request{Op: uint8(opAppend), Items: items[:1]},
		&request{Op: uint8(opPush), Items: items},
		&request{Op: uint8(opScan), NS: "test", Key: []byte("k"), Limit: 10},
		&request{Op: uint8(opScan), NS: "test", Key: []byte("k"), Cursor: make([]byte, cursorLen)},
		&request{Op: uint8(opHave), NS: "test", Key: []byte("k"), IDs: [][]byte{make([]byte, 32), bytes.Repeat([]byte{1}, 32)}},
		&response{},
		&response{Code: wire.StatusQuota, Msg: "set full"},
		&response{Items: items, Next: make([]byte, cursorLen)},
		&response{Missing: []uint32{0, 3}},
		&response{Stored: 2},
	}
	for _, fr := range frames {
		var body []byte
		var err error
		switch v := fr.(type) {
		case *request:
			body, err = encodeFrame(v)
		case *response:
			body, err = encodeFrame(v)
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body)
	}
	f.Add([]byte{0, 0, 0, 0}, []byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, []byte{0xa0})
	f.Add([]byte{0, 0, 0, 3}, []byte{0xa1, 0x01, 0x01})

	f.Fuzz(func(t *testing.T, hdr, body []byte) {
		raw := append(bytes.Clone(hdr), body...)
		fr, err := readFrame(bytes.NewReader(raw))
		if err == nil && (len(fr) == 0 || len(fr) > MaxFrameSize) {
			t.Fatalf("readFrame returned %d bytes", len(fr))
		}
		for _, b := range [][]byte{fr, body} {
			if req, err := decodeRequest(b); err == nil {
				again, err := encodeFrame(req)
				if err != nil || !bytes.Equal(again, b) {
					t.Fatalf("request re-encoding differs: %v", err)
				}
			} else if req != nil {
				t.Fatal("request with an error")
			}
			if resp, err := decodeResponse(b); err == nil {
				again, err := encodeFrame(resp)
				if err != nil || !bytes.Equal(again, b) {
					t.Fatalf("response re-encoding differs: %v", err)
				}
				var re error = &RemoteError{Status: resp.Code, Msg: resp.Msg}
				_ = re.Error()
			} else if resp != nil {
				t.Fatal("response with an error")
			}
		}
	})
}

// FuzzServeRequest serves arbitrary request frames against a store, as a
// storage node would. Nothing may panic, every answer must be a valid
// response frame, and the store must stay consistent. Each input starts
// from the same store, a copy of one holding the seed items, so that an
// input's outcome does not depend on the inputs before it.
func FuzzServeRequest(f *testing.F) {
	items := seedItems(f)
	for _, req := range []*request{
		{Op: uint8(opAppend), Items: items[:1]},
		{Op: uint8(opAppend), Items: items[1:2]},
		{Op: uint8(opPush), Items: items},
		{Op: uint8(opScan), NS: "test", Key: []byte("k")},
		{Op: uint8(opHave), NS: "test", Key: []byte("k"), IDs: [][]byte{make([]byte, 32)}},
	} {
		b, err := encodeFrame(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0x09})
	rules := map[string]setitem.Rules{"test": fuzzRules(), "other": fuzzRules()}
	service := func(store *Store) *Service {
		svc := &Service{
			store: store, rules: rules,
			opt: Options{
				AppendRate: -1, PushRate: -1, ReadRate: -1,
				Now:    func() time.Time { return t0 },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}.withDefaults(),
			limits: map[peer.ID]*peerLimits{},
		}
		svc.log = svc.opt.Logger
		return svc
	}
	// The seed store: the seed items reach it.
	seedPath := filepath.Join(f.TempDir(), "seed.db")
	seeded, err := Open(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	if resp := service(seeded).serve("fuzzer", &request{Op: uint8(opPush), Items: items}); resp.Code != 0 || resp.Stored != 4 {
		f.Fatalf("seed push: %+v", resp)
	}
	if err := seeded.Close(); err != nil {
		f.Fatal(err)
	}
	image, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "sets.db")
		if err := os.WriteFile(path, image, 0o600); err != nil {
			t.Fatal(err)
		}
		store, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		store.db.NoSync = true
		var resp *response
		if req, err := decodeRequest(b); err != nil {
			resp = errResponse(err)
		} else {
			resp = service(store).serve("fuzzer", req)
		}
		enc, err := encodeFrame(resp)
		if err != nil {
			t.Fatalf("response does not encode: %v", err)
		}
		back, err := decodeResponse(enc)
		if err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		if again, err := encodeFrame(back); err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("response round trip differs: %v", err)
		}
		checkStore(t, store)
	})
}
