package pki

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func routeNodes(n int, epoch uint64) []*Descriptor {
	out := make([]*Descriptor, n)
	for i := range out {
		d := &Descriptor{Epoch: epoch}
		d.NodeID[0], d.NodeID[1] = byte(i), 0xee
		key := bytes.Repeat([]byte{byte(i)}, SphinxKeySize)
		d.Keys = []EpochKey{{Epoch: epoch, Key: key}, {Epoch: epoch + 1, Key: key}}
		out[i] = d
	}
	return out
}

func TestRandomRoute(t *testing.T) {
	nodes := routeNodes(9, 5)
	dir := &Directory{Epoch: 5, Nodes: nodes, Layer: AssignLayers(5, nodes)}
	seen := map[NodeID]bool{}
	for range 300 {
		route, err := RandomRoute(dir)
		if err != nil {
			t.Fatal(err)
		}
		for l, d := range route {
			found := false
			for _, n := range dir.Layer[l] {
				found = found || n == d
			}
			if !found {
				t.Fatalf("layer %d: picked a node from another layer", l)
			}
			seen[d.NodeID] = true
		}
	}
	// 300 routes over layers of three reach every node (miss probability
	// per node (2/3)^300).
	if len(seen) != len(nodes) {
		t.Fatalf("routes used %d of %d nodes", len(seen), len(nodes))
	}

	dir.Layer[1] = nil
	if _, err := RandomRoute(dir); err == nil {
		t.Fatal("route through an empty layer")
	}
}

func TestHopsFor(t *testing.T) {
	nodes := routeNodes(3, 10)
	hops, err := HopsFor(11, 5*time.Millisecond, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hops {
		k, _ := nodes[i].KeyFor(11)
		if h.ID != nodes[i].NodeID || !bytes.Equal(h.Key, k) {
			t.Fatalf("hop %d does not match its node", i)
		}
		if h.Delay < 0 || h.Delay > 20*5*time.Millisecond {
			t.Fatalf("hop %d delay %v", i, h.Delay)
		}
	}
	if _, err := HopsFor(12, time.Millisecond, nodes...); err == nil {
		t.Fatal("hop without a key for the epoch accepted")
	}
	if hops, err := HopsFor(10, time.Millisecond); err != nil || len(hops) != 0 {
		t.Fatalf("no nodes: %v, %v", hops, err)
	}
}

// TestRandomRouteExcludesGateway: over many routes no layer ever picks an
// excluded node, and a layer whose only node is excluded is an error that
// says why.
func TestRandomRouteExcludesGateway(t *testing.T) {
	nodes := routeNodes(9, 5)
	dir := &Directory{Epoch: 5, Nodes: nodes, Layer: AssignLayers(5, nodes)}
	for _, gw := range nodes {
		for range 200 {
			route, err := RandomRoute(dir, gw.NodeID)
			if err != nil {
				t.Fatal(err)
			}
			for l, d := range route {
				if d.NodeID == gw.NodeID {
					t.Fatalf("gateway %s picked as L%d", gw.NodeID.Short(), l+1)
				}
			}
		}
	}
	only := dir.Layer[2][0]
	dir.Layer[2] = dir.Layer[2][:1]
	if _, err := RandomRoute(dir, only.NodeID); err == nil || !strings.Contains(err.Error(), "no node but the gateway") {
		t.Fatalf("route with the gateway alone in L3: %v", err)
	}
}
