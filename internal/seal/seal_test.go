package seal

import (
	"bytes"
	"errors"
	"testing"
)

var fast = Params{Time: 1, Memory: 64, Threads: 1}

func TestRoundTrip(t *testing.T) {
	s, err := SealWith(fast, []byte("pass"), []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(s) || bytes.Contains(s, []byte("secret")) {
		t.Fatal("not sealed")
	}
	got, err := Open([]byte("pass"), s)
	if err != nil || string(got) != "secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := Open([]byte("wrong"), s); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Changing the cost in the header breaks authentication.
	s[len(magic)+16+7] ^= 0x40 // memory 64 KiB -> 0 or 128
	if _, err := Open([]byte("pass"), s); err == nil {
		t.Fatal("tampered header accepted")
	}
	if _, err := SealWith(fast, nil, []byte("x")); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := SealWith(fast, []byte("pass"), []byte("secret"))
	f.Add(s)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > headerLen {
			// Keep the fuzzer off huge argon2 costs: it must not hang CI.
			off := len(magic)
			if len(b) >= off+25 {
				b = append([]byte(nil), b...)
				copy(b[off+16:], []byte{0, 0, 0, 1, 0, 0, 0, 64, 1})
			}
		}
		Open([]byte("pass"), b)
	})
}
