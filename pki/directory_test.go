package pki

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/komrade-net/komrade/internal/detcbor"
)

// fakeNodes returns n descriptors with distinct, deterministic node ids; only
// the ids matter to AssignLayers.
func fakeNodes(n int) []*Descriptor {
	out := make([]*Descriptor, n)
	for i := range out {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		out[i] = &Descriptor{NodeID: NodeID(sha256.Sum256(b[:]))}
	}
	return out
}

func layerIDs(ls [Layers][]*Descriptor) [Layers][]NodeID {
	var out [Layers][]NodeID
	for l := range ls {
		for _, d := range ls[l] {
			out[l] = append(out[l], d.NodeID)
		}
	}
	return out
}

func TestAssignLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 3; n <= 50; n++ {
		nodes := fakeNodes(n)
		const epoch = 77
		got := AssignLayers(epoch, nodes)

		// Balanced, and every node in exactly one layer.
		seen := map[NodeID]int{}
		min, max := n, 0
		for l := range got {
			size := len(got[l])
			if size < min {
				min = size
			}
			if size > max {
				max = size
			}
			for i, d := range got[l] {
				seen[d.NodeID]++
				if i > 0 && bytes.Compare(got[l][i-1].NodeID[:], d.NodeID[:]) >= 0 {
					t.Fatalf("n=%d: layer %d not sorted by id", n, l)
				}
			}
		}
		if max-min > 1 || min < 1 {
			t.Fatalf("n=%d: layer sizes %d..%d", n, min, max)
		}
		if len(seen) != n {
			t.Fatalf("n=%d: %d distinct nodes assigned", n, len(seen))
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: node %s assigned %d times", n, id.Short(), c)
			}
		}

		// Deterministic.
		if again := AssignLayers(epoch, nodes); !reflect.DeepEqual(layerIDs(again), layerIDs(got)) {
			t.Fatalf("n=%d: second assignment differs", n)
		}

		// Independent of input order.
		shuffled := append([]*Descriptor(nil), nodes...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if s := AssignLayers(epoch, shuffled); !reflect.DeepEqual(layerIDs(s), layerIDs(got)) {
			t.Fatalf("n=%d: assignment depends on input order", n)
		}

		// The input is not reordered.
		for i, d := range fakeNodes(n) {
			if nodes[i].NodeID != d.NodeID {
				t.Fatalf("n=%d: AssignLayers reordered its input", n)
			}
		}
	}
}

func TestAssignLayersChangesAcrossEpochs(t *testing.T) {
	nodes := fakeNodes(30)
	base := layerIDs(AssignLayers(1000, nodes))
	changed := 0
	for e := uint64(1001); e < 1011; e++ {
		if !reflect.DeepEqual(layerIDs(AssignLayers(e, nodes)), base) {
			changed++
		}
	}
	// With 30 nodes two epochs agree with probability ~1e-13; the ids and
	// epochs are fixed, so this is deterministic anyway.
	if changed != 10 {
		t.Fatalf("only %d of 10 later epochs changed the assignment", changed)
	}

	// Layer membership, not just order, changes: some node moves.
	moved := false
	a, b := AssignLayers(1000, nodes), AssignLayers(1001, nodes)
	layerOf := func(ls [Layers][]*Descriptor, id NodeID) int {
		for l := range ls {
			for _, d := range ls[l] {
				if d.NodeID == id {
					return l
				}
			}
		}
		return -1
	}
	for _, d := range nodes {
		if layerOf(a, d.NodeID) != layerOf(b, d.NodeID) {
			moved = true
		}
	}
	if !moved {
		t.Fatal("no node changed layer between epochs")
	}
}

func TestAssignLayersSmall(t *testing.T) {
	for n := 0; n < 3; n++ {
		got := AssignLayers(1, fakeNodes(n))
		total := 0
		for l := range got {
			total += len(got[l])
		}
		if total != n {
			t.Fatalf("n=%d: %d assigned", n, total)
		}
	}
}

func TestBuild(t *testing.T) {
	const epoch = 200
	var nodes []testNode
	var raws [][]byte
	for i := range 6 {
		nd := newTestNode(uint64(100 + i))
		nodes = append(nodes, nd)
		raws = append(raws, nd.signed(t, epoch, 1))
	}
	// A node whose descriptor is from the previous epoch still has a key for
	// this one (Epoch+1).
	prev := newTestNode(200)
	raws = append(raws, prev.signed(t, epoch-1, 1))
	// A node with a descriptor that is too old: no key for epoch.
	stale := newTestNode(201)
	raws = append(raws, stale.signed(t, epoch-2, 1))
	// A node with a descriptor from the future: no key for epoch.
	future := newTestNode(202)
	raws = append(raws, future.signed(t, epoch+1, 1))
	// Garbage and a tampered descriptor are skipped.
	raws = append(raws, []byte("garbage"), nil)
	bad := nodes[0].signed(t, epoch, 1)
	bad[len(bad)-1] ^= 1
	raws = append(raws, bad)

	dir, err := Build(testNet, epoch, raws, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if dir.Epoch != epoch {
		t.Fatalf("Epoch %d", dir.Epoch)
	}
	want := map[NodeID]bool{prev.id: true}
	for _, nd := range nodes {
		want[nd.id] = true
	}
	checkDirectory(t, dir, want)
	for _, id := range []NodeID{stale.id, future.id} {
		if _, ok := dir.Lookup(id); ok {
			t.Fatalf("node %s without a key for the epoch is in the directory", id.Short())
		}
		if dir.LayerOf(id) != -1 {
			t.Fatalf("LayerOf(%s) != -1", id.Short())
		}
	}

	// Input order does not matter.
	rev := make([][]byte, len(raws))
	for i, r := range raws {
		rev[len(raws)-1-i] = r
	}
	dir2, err := Build(testNet, epoch, rev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dir2.Raw, dir.Raw) || !reflect.DeepEqual(layerIDs(dir2.Layer), layerIDs(dir.Layer)) {
		t.Fatal("Build depends on input order")
	}
}

// checkDirectory checks dir holds exactly the nodes in want and that its
// fields agree with each other.
func checkDirectory(t *testing.T, dir *Directory, want map[NodeID]bool) {
	t.Helper()
	if len(dir.Nodes) != len(want) || len(dir.Raw) != len(want) {
		t.Fatalf("directory has %d nodes, %d raw; want %d", len(dir.Nodes), len(dir.Raw), len(want))
	}
	total := 0
	for l := range dir.Layer {
		total += len(dir.Layer[l])
		if len(dir.Layer[l]) == 0 {
			t.Fatalf("layer %d empty", l)
		}
		for _, d := range dir.Layer[l] {
			if dir.LayerOf(d.NodeID) != l {
				t.Fatalf("LayerOf(%s) = %d, want %d", d.NodeID.Short(), dir.LayerOf(d.NodeID), l)
			}
		}
	}
	if total != len(want) {
		t.Fatalf("layers hold %d nodes, want %d", total, len(want))
	}
	if !reflect.DeepEqual(layerIDs(dir.Layer), layerIDs(AssignLayers(dir.Epoch, dir.Nodes))) {
		t.Fatal("layers differ from AssignLayers")
	}
	for i, d := range dir.Nodes {
		if !want[d.NodeID] {
			t.Fatalf("unexpected node %s", d.NodeID.Short())
		}
		if i > 0 && bytes.Compare(dir.Nodes[i-1].NodeID[:], d.NodeID[:]) >= 0 {
			t.Fatal("nodes not sorted by id")
		}
		if _, ok := d.KeyFor(dir.Epoch); !ok {
			t.Fatalf("node %s has no key for the epoch", d.NodeID.Short())
		}
		got, ok := dir.Lookup(d.NodeID)
		if !ok || got != d {
			t.Fatalf("Lookup(%s) = %v, %v", d.NodeID.Short(), got, ok)
		}
		v, err := Verify(dir.Raw[i])
		if err != nil || !reflect.DeepEqual(v, d) {
			t.Fatalf("Raw[%d] does not match Nodes[%d]: %v", i, i, err)
		}
	}
}

func TestBuildAllowList(t *testing.T) {
	const epoch = 9
	var raws [][]byte
	allow := map[NodeID]bool{}
	for i := range 8 {
		nd := newTestNode(uint64(300 + i))
		raws = append(raws, nd.signed(t, epoch, 1))
		if i%2 == 0 {
			allow[nd.id] = true
		}
	}
	dir, err := Build(testNet, epoch, raws, allow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	checkDirectory(t, dir, allow)

	// An empty allow-list allows everyone.
	dir, err = Build(testNet, epoch, raws, map[NodeID]bool{})
	if err != nil || len(dir.Nodes) != 8 {
		t.Fatalf("Build with an empty allow-list: %v", err)
	}

	// An allow-list that leaves too few nodes fails.
	small := map[NodeID]bool{}
	for id := range allow {
		small[id] = true
		if len(small) == 2 {
			break
		}
	}
	if _, err := Build(testNet, epoch, raws, small); err == nil {
		t.Fatal("Build with 2 allowed nodes succeeded")
	}
	// An allow-list entry set to false does not allow.
	notAllowed := map[NodeID]bool{}
	for id := range allow {
		notAllowed[id] = false
	}
	notAllowed[newTestNode(300).id] = true
	if _, err := Build(testNet, epoch, raws, notAllowed); err == nil {
		t.Fatal("Build honoured allow-list entries set to false")
	}
}

func TestBuildNewestWins(t *testing.T) {
	const epoch = 40
	a, b, c := newTestNode(400), newTestNode(401), newTestNode(402)
	aOld := a.signed(t, epoch, 10)
	aNew := a.signed(t, epoch, 20)
	aPrev := a.signed(t, epoch-1, 99) // older epoch, later issue
	for _, order := range [][][]byte{
		{aOld, aNew, aPrev, b.signed(t, epoch, 1), c.signed(t, epoch, 1)},
		{aPrev, aNew, aOld, b.signed(t, epoch, 1), c.signed(t, epoch, 1)},
		{b.signed(t, epoch, 1), aNew, c.signed(t, epoch, 1), aOld, aPrev},
	} {
		dir, err := Build(testNet, epoch, order, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := dir.Lookup(a.id)
		if !ok {
			t.Fatal("node a missing")
		}
		if d.Issued != 20 || d.Epoch != epoch {
			t.Fatalf("kept descriptor epoch %d issued %d, want epoch %d issued 20", d.Epoch, d.Issued, epoch)
		}
		k, _ := d.KeyFor(epoch)
		if !bytes.Equal(k, sphinxKey(a.id, epoch, 20)) {
			t.Fatal("kept key is not the newest")
		}
		for i, n := range dir.Nodes {
			if n.NodeID == a.id && !bytes.Equal(dir.Raw[i], aNew) {
				t.Fatal("Raw is not the newest descriptor")
			}
		}
		if len(dir.Nodes) != 3 {
			t.Fatalf("%d nodes, want 3", len(dir.Nodes))
		}
	}
}

func TestBuildTooFew(t *testing.T) {
	const epoch = 3
	a, b := newTestNode(500), newTestNode(501)
	for _, raws := range [][][]byte{
		nil,
		{a.signed(t, epoch, 1)},
		{a.signed(t, epoch, 1), b.signed(t, epoch, 1)},
		// the same node three times is one node
		{a.signed(t, epoch, 1), a.signed(t, epoch, 2), a.signed(t, epoch, 3)},
		// a third node without a key for the epoch
		{a.signed(t, epoch, 1), b.signed(t, epoch, 1), newTestNode(502).signed(t, epoch+5, 1)},
		{[]byte("x"), []byte("y"), []byte("z")},
	} {
		if dir, err := Build(testNet, epoch, raws, nil); err == nil || dir != nil || !strings.Contains(err.Error(), "usable nodes") {
			t.Fatalf("Build of %d descriptors: %v", len(raws), err)
		}
	}
	// Three is enough.
	if _, err := Build(testNet, epoch, [][]byte{a.signed(t, epoch, 1), b.signed(t, epoch, 1), newTestNode(502).signed(t, epoch, 1)}, nil); err != nil {
		t.Fatalf("Build of 3 nodes: %v", err)
	}
}

// manyNodes returns count signed descriptors of distinct nodes for epoch,
// made once per test binary (signing 5000 takes about a second).
var manyNodes = func() func(t testing.TB, count int) ([]testNode, [][]byte) {
	var (
		once  sync.Once
		nodes []testNode
		raws  [][]byte
	)
	const epoch, made = 60, 5000
	return func(t testing.TB, count int) ([]testNode, [][]byte) {
		t.Helper()
		once.Do(func() {
			nodes = make([]testNode, made)
			raws = make([][]byte, made)
			for i := range nodes {
				nodes[i] = newTestNode(100000 + uint64(i))
				raws[i] = nodes[i].signed(t, epoch, 1)
			}
		})
		if count > made {
			t.Fatalf("manyNodes: %d > %d", count, made)
		}
		return nodes[:count], raws[:count]
	}
}()

const manyEpoch = 60

func ids(dir *Directory) []NodeID {
	out := make([]NodeID, len(dir.Nodes))
	for i, d := range dir.Nodes {
		out[i] = d.NodeID
	}
	return out
}

// More valid descriptors than MaxNodes no longer make Build fail: the
// allow-list is applied first, and without one MaxNodes are kept.
func TestBuildManyWithAllowList(t *testing.T) {
	nodes, raws := manyNodes(t, 5000)
	allow := map[NodeID]bool{}
	var want []NodeID
	for i := 0; i < 5000; i += 500 {
		allow[nodes[i].id] = true
		want = append(want, nodes[i].id)
	}
	sortIDs(want)
	dir, err := Build(testNet, manyEpoch, raws, allow)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d nodes, want the 10 listed", len(got))
	}
}

func TestBuildManyKeepsMaxNodesByRule(t *testing.T) {
	nodes, raws := manyNodes(t, 5000)
	dir, err := Build(testNet, manyEpoch, raws, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Nodes) != MaxNodes || len(dir.Raw) != MaxNodes {
		t.Fatalf("%d nodes, %d raw, want %d", len(dir.Nodes), len(dir.Raw), MaxNodes)
	}
	// Without seniority: the MaxNodes lowest selection hashes.
	want := make([]NodeID, len(nodes))
	for i, n := range nodes {
		want[i] = n.id
	}
	sort.Slice(want, func(i, j int) bool {
		a, b := selectHash(manyEpoch, want[i]), selectHash(manyEpoch, want[j])
		return bytes.Compare(a[:], b[:]) < 0
	})
	want = want[:MaxNodes]
	sortIDs(want)
	if !reflect.DeepEqual(ids(dir), want) {
		t.Fatal("kept nodes are not the lowest selection hashes")
	}
	// The same on another call, from another order, with duplicates and junk.
	shuffled := append([][]byte{[]byte("junk")}, raws...)
	shuffled = append(shuffled, raws[:100]...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	dir2, err := Build(testNet, manyEpoch, shuffled, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids(dir2), want) || !reflect.DeepEqual(dir2.Raw, dir.Raw) {
		t.Fatal("another order chose other nodes")
	}
	if !reflect.DeepEqual(layerIDs(dir2.Layer), layerIDs(dir.Layer)) {
		t.Fatal("another order gave other layers")
	}
}

// Seniority comes before the hash: nodes the gateway has seen for longer
// stay, however low the hashes of newer keys.
func TestBuildSelectSeniorityFirst(t *testing.T) {
	nodes, raws := manyNodes(t, 5000)
	// The 3000 nodes with the highest hashes have been seen for 2 epochs,
	// 100 of the others for 1.
	byHash := make([]testNode, len(nodes))
	copy(byHash, nodes)
	sort.Slice(byHash, func(i, j int) bool {
		a, b := selectHash(manyEpoch, byHash[i].id), selectHash(manyEpoch, byHash[j].id)
		return bytes.Compare(a[:], b[:]) < 0
	})
	sen := map[NodeID]uint64{}
	for _, n := range byHash[2000:] {
		sen[n.id] = 2
	}
	for _, n := range byHash[:100] {
		sen[n.id] = 1
	}
	dir, err := BuildSelect(testNet, manyEpoch, raws, nil, func(id NodeID) uint64 { return sen[id] })
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Nodes) != MaxNodes {
		t.Fatalf("%d nodes", len(dir.Nodes))
	}
	// 3000 of seniority 2, 100 of seniority 1, then the 996 lowest hashes
	// of the rest (byHash[100:1096]).
	want := map[NodeID]bool{}
	for _, n := range byHash[2000:] {
		want[n.id] = true
	}
	for _, n := range byHash[:1096] {
		want[n.id] = true
	}
	for _, d := range dir.Nodes {
		if !want[d.NodeID] {
			t.Fatalf("node %s kept against the rule", d.NodeID.Short())
		}
	}
}

// A node's invalid descriptors (a bad signature claiming to be newer) do not
// take its place, nor the place of another node.
func TestBuildSelectSkipsForgeries(t *testing.T) {
	const epoch = 9
	a, b, c := newTestNode(700), newTestNode(701), newTestNode(702)
	good := a.signed(t, epoch, 1)
	s := decodeSigned(t, a.signed(t, epoch, 5))
	s.Sig[0] ^= 1
	forged := encodeSigned(t, s)
	dir, err := Build(testNet, epoch, [][]byte{forged, good, b.signed(t, epoch, 1), c.signed(t, epoch, 1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := dir.Lookup(a.id); !ok || d.Issued != 1 {
		t.Fatal("the valid descriptor of a was not kept")
	}
}

func sortIDs(ids []NodeID) {
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i][:], ids[j][:]) < 0 })
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []*Response{
		{Epoch: 0},
		{Epoch: 1 << 60, Descriptors: [][]byte{}},
		{Epoch: 42, Descriptors: [][]byte{newTestNode(1).signed(t, 42, 1), newTestNode(2).signed(t, 41, 1), {}, {0}}},
	} {
		b, err := EncodeResponse(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResponse(b)
		if err != nil {
			t.Fatalf("DecodeResponse: %v", err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

func TestResponseFromBuild(t *testing.T) {
	const epoch = 12
	var raws [][]byte
	for i := range 5 {
		raws = append(raws, newTestNode(uint64(600+i)).signed(t, epoch, 1))
	}
	dir, err := Build(testNet, epoch, raws, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeResponse(&Response{Epoch: dir.Epoch, Descriptors: dir.Raw})
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	dir2, err := Build(testNet, r.Epoch, r.Descriptors, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dir2.Raw, dir.Raw) || !reflect.DeepEqual(layerIDs(dir2.Layer), layerIDs(dir.Layer)) {
		t.Fatal("directory rebuilt from a response differs")
	}
}

func TestDecodeResponseRejects(t *testing.T) {
	type extra struct {
		Epoch uint64 `cbor:"1,keyasint"`
		X     int    `cbor:"3,keyasint"`
	}
	unknown, err := detcbor.Marshal(&extra{Epoch: 1, X: 2})
	if err != nil {
		t.Fatal(err)
	}
	tooMany, err := detcbor.Marshal(&Response{Epoch: 1, Descriptors: make([][]byte, MaxNodes+1)})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"garbage":       []byte("garbage"),
		"unknown field": unknown,
		"too large":     make([]byte, MaxResponseSize+1),
		"too many":      tooMany,
		"truncated":     tooMany[:len(tooMany)/2],
		"wrong type":    {0xa1, 0x01, 0x61, 'x'},
	} {
		if r, err := DecodeResponse(b); err == nil {
			t.Fatalf("%s: decoded %+v", name, r)
		}
	}
}

// TestReadResponseAllocatesWhatArrives: a gateway that announces the largest
// response and sends a few bytes makes the client allocate about what
// arrived, not the 16.8 MB it claimed.
func TestReadResponseAllocatesWhatArrives(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxResponseSize)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadResponse(io.MultiReader(bytes.NewReader(hdr[:]), bytes.NewReader(make([]byte, 100))))
	runtime.ReadMemStats(&after)
	if err == nil || !errors.Is(err, io.EOF) {
		t.Fatalf("cut response: %v, want an EOF error", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("reading 100 bytes of a claimed %d allocated %d bytes", MaxResponseSize, grew)
	}
	binary.BigEndian.PutUint32(hdr[:], 0)
	if _, err := ReadResponse(bytes.NewReader(hdr[:])); !errors.Is(err, ErrNoDirectory) {
		t.Fatalf("empty response: %v, want ErrNoDirectory", err)
	}
}
