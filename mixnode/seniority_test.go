package mixnode

import (
	"testing"

	"github.com/komrade-net/komrade/pki"
)

// A node's seniority counts the consecutive epochs it has been in this
// node's directory; a gap resets it, and absent nodes are forgotten.
func TestSeniorityRuns(t *testing.T) {
	n := &Node{runs: map[pki.NodeID]run{}}
	a, b := pki.NodeID{1}, pki.NodeID{2}
	dir := func(ids ...pki.NodeID) *pki.Directory {
		d := &pki.Directory{}
		for _, id := range ids {
			d.Nodes = append(d.Nodes, &pki.Descriptor{NodeID: id})
		}
		return d
	}
	n.recordRuns(10, dir(a))
	n.recordRuns(10, dir(a)) // refreshes within an epoch count once
	n.recordRuns(11, dir(a, b))
	n.recordRuns(12, dir(a, b))
	sen := n.seniority(13)
	if sen(a) != 3 || sen(b) != 2 || sen(pki.NodeID{3}) != 0 {
		t.Fatalf("seniority a=%d b=%d, want 3 and 2", sen(a), sen(b))
	}
	// b misses epoch 13: in 14 it starts again from 1; a is kept.
	n.recordRuns(13, dir(a))
	n.recordRuns(14, dir(a, b))
	sen = n.seniority(14)
	if sen(a) != 5 || sen(b) != 1 {
		t.Fatalf("seniority a=%d b=%d, want 5 and 1", sen(a), sen(b))
	}
	// Two epochs without a: forgotten.
	n.recordRuns(15, dir(b))
	n.recordRuns(16, dir(b))
	if _, ok := n.runs[a]; ok || n.seniority(16)(a) != 0 {
		t.Fatal("a node absent for two epochs is still remembered")
	}
}
