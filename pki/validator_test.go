package pki

import (
	"strings"
	"testing"
	"time"
)

const testPeriod = 20 * time.Minute

// clockAt returns a clock whose current epoch is e, a little into it.
func clockAt(e uint64) Clock {
	now := time.Unix(0, int64(e)*int64(testPeriod)).Add(testPeriod / 3)
	return Clock{Period: testPeriod, Now: func() time.Time { return now }}
}

func TestClock(t *testing.T) {
	c := clockAt(1000)
	if got := c.Current(); got != 1000 {
		t.Fatalf("Current = %d", got)
	}
	if got := c.Start(1000); !got.Equal(time.Unix(0, 1000*int64(testPeriod))) {
		t.Fatalf("Start = %v", got)
	}
	if got, want := c.UntilNext(), testPeriod-testPeriod/3; got != want {
		t.Fatalf("UntilNext = %v, want %v", got, want)
	}
	if got := c.At(c.Start(1001)); got != 1001 {
		t.Fatalf("At(Start(1001)) = %d", got)
	}
	if got := c.At(c.Start(1001).Add(-1)); got != 1000 {
		t.Fatalf("At(Start(1001)-1ns) = %d", got)
	}
	for e, want := range map[uint64]bool{0: false, 998: false, 999: true, 1000: true, 1001: true, 1002: false} {
		if got := c.Fresh(e); got != want {
			t.Fatalf("Fresh(%d) = %v, want %v", e, got, want)
		}
	}
	if NewClock(time.Minute).Period != time.Minute {
		t.Fatal("NewClock period")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("At with a zero period did not panic")
			}
		}()
		Clock{}.At(time.Now())
	}()
}

func TestValidatorValidate(t *testing.T) {
	n, other := newTestNode(10), newTestNode(11)
	const cur = 500
	v := Validator{Clock: clockAt(cur)}

	for _, e := range []uint64{cur - 1, cur, cur + 1} {
		if err := v.Validate(RecordKey(n.id), n.signed(t, e, 1)); err != nil {
			t.Fatalf("epoch %d: %v", e, err)
		}
	}

	raw := n.signed(t, cur, 1)
	if err := v.Validate(RecordKey(other.id), raw); err == nil || !strings.Contains(err.Error(), "key does not match") {
		t.Fatalf("foreign key: %v", err)
	}
	if err := v.Validate("/kmix/"+strings.ToUpper(n.id.String()), raw); err == nil {
		t.Fatal("key in upper-case hex accepted")
	}
	if err := v.Validate("/other/"+n.id.String(), raw); err == nil {
		t.Fatal("key in another namespace accepted")
	}
	for _, e := range []uint64{0, cur - 2, cur + 2, cur + 100} {
		err := v.Validate(RecordKey(n.id), n.signed(t, e, 1))
		if err == nil || !strings.Contains(err.Error(), "not fresh") {
			t.Fatalf("epoch %d at %d: %v", e, cur, err)
		}
	}
	if err := v.Validate(RecordKey(n.id), []byte("junk")); err == nil {
		t.Fatal("junk accepted")
	}
}

func TestValidatorSelect(t *testing.T) {
	n, other := newTestNode(12), newTestNode(13)
	v := Validator{Clock: clockAt(100)}
	key := RecordKey(n.id)

	values := [][]byte{
		n.signed(t, 99, 500),       // 0: previous epoch, issued late
		[]byte("garbage"),          // 1
		n.signed(t, 100, 5),        // 2: newest: current epoch, latest issue
		n.signed(t, 100, 2),        // 3
		other.signed(t, 101, 9999), // 4: newer but for another key
	}
	i, err := v.Select(key, values)
	if err != nil || i != 2 {
		t.Fatalf("Select = %d, %v; want 2", i, err)
	}

	// Order does not matter.
	rev := [][]byte{values[4], values[3], values[2], values[1], values[0]}
	if i, err := v.Select(key, rev); err != nil || i != 2 {
		t.Fatalf("Select(reversed) = %d, %v; want 2", i, err)
	}

	// Later epoch wins over later issue time.
	vals := [][]byte{n.signed(t, 100, 1<<40), n.signed(t, 101, 1)}
	if i, err := v.Select(key, vals); err != nil || i != 1 {
		t.Fatalf("Select(epoch) = %d, %v; want 1", i, err)
	}

	// Equal descriptors: the first is kept.
	same := n.signed(t, 100, 7)
	if i, err := v.Select(key, [][]byte{same, same}); err != nil || i != 0 {
		t.Fatalf("Select(equal) = %d, %v; want 0", i, err)
	}

	if _, err := v.Select(key, [][]byte{[]byte("x"), values[4]}); err == nil {
		t.Fatal("Select without a valid value succeeded")
	}
	if _, err := v.Select(key, nil); err == nil {
		t.Fatal("Select of nothing succeeded")
	}
	if _, err := v.Select("/pk/"+n.id.String(), values); err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("Select in the wrong namespace: %v", err)
	}
}
