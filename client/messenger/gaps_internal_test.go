package messenger

import (
	"slices"
	"testing"
)

// TestNewlyLost: a box of ours named lost again (a repeated report, or a
// hostile contact's) is counted and answered once; the memory is bounded.
func TestNewlyLost(t *testing.T) {
	var g gapState
	if got := g.newlyLost([]uint64{1, 2, 2}); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("first report: %v", got)
	}
	if got := g.newlyLost([]uint64{2, 3}); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("repeated report: %v, want only the new box", got)
	}
	for i := uint64(10); i < 10+2*maxMarked; i++ {
		g.newlyLost([]uint64{i})
	}
	if len(g.Marked) != maxMarked {
		t.Fatalf("%d boxes remembered, want at most %d", len(g.Marked), maxMarked)
	}
}
