package pki

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/komrade-net/komrade/internal/detcbor"
)

// Layers is the number of mix layers of the stratified topology.
const Layers = 3

// MaxNodes bounds the directory a gateway serves and a client accepts.
const MaxNodes = 4096

// MaxResponseSize bounds an encoded directory response.
const MaxResponseSize = MaxNodes * (MaxDescriptorSize + 16)

// Directory is a verified view of the mix nodes for one epoch, with every
// node's layer.
type Directory struct {
	Epoch uint64
	// Nodes are sorted by node id.
	Nodes []*Descriptor
	// Layer holds the nodes of each layer, sorted by node id.
	Layer [Layers][]*Descriptor
	// Raw are the signed descriptors the directory was built from, in Nodes
	// order, so a gateway can serve them on.
	Raw [][]byte
	// Foreign lists the valid descriptors that were left out because they
	// belong to another network (a node whose network file differs).
	Foreign []Foreign
	byID    map[NodeID]int
}

// Foreign is a node seen with another network's id.
type Foreign struct {
	Node    NodeID
	Network NetworkID
}

// TooFewError is Build's error when a layer would be empty. Foreign says
// which descriptors were left out for belonging to another network.
type TooFewError struct {
	Epoch   uint64
	Usable  int
	Network NetworkID
	Foreign []Foreign
}

func (e *TooFewError) Error() string {
	s := fmt.Sprintf("directory: epoch %d has %d usable nodes, need at least %d", e.Epoch, e.Usable, Layers)
	if len(e.Foreign) > 0 {
		f := e.Foreign[0]
		s += fmt.Sprintf(" (%d nodes of another network left out, e.g. node %s of network %s; ours is %s)",
			len(e.Foreign), f.Node.Short(), f.Network, e.Network)
	}
	return s
}

// Build assembles the directory of network for epoch from signed
// descriptors: each is verified, must be of network, must carry a Sphinx
// key for epoch, must be on allow (when allow is non-empty); for a node
// listed twice the newest wins. Layers are assigned with AssignLayers. At
// least one node per layer is required (else a *TooFewError).
func Build(network NetworkID, epoch uint64, raws [][]byte, allow map[NodeID]bool) (*Directory, error) {
	if len(raws) > MaxNodes {
		return nil, fmt.Errorf("directory: %d descriptors exceeds %d", len(raws), MaxNodes)
	}
	best := map[NodeID]int{}
	ds := make([]*Descriptor, len(raws))
	var foreign []Foreign
	for i, raw := range raws {
		d, err := Verify(raw)
		if err != nil {
			continue
		}
		if d.Network != network {
			if !slices.ContainsFunc(foreign, func(f Foreign) bool { return f.Node == d.NodeID }) {
				foreign = append(foreign, Foreign{d.NodeID, d.Network})
			}
			continue
		}
		if _, ok := d.KeyFor(epoch); !ok {
			continue
		}
		if len(allow) > 0 && !allow[d.NodeID] {
			continue
		}
		ds[i] = d
		if j, ok := best[d.NodeID]; !ok || Newer(d, ds[j]) {
			best[d.NodeID] = i
		}
	}
	dir := &Directory{Epoch: epoch, Foreign: foreign, byID: map[NodeID]int{}}
	for _, i := range best {
		dir.Nodes = append(dir.Nodes, ds[i])
	}
	sortByID(dir.Nodes)
	for i, d := range dir.Nodes {
		dir.byID[d.NodeID] = i
		dir.Raw = append(dir.Raw, raws[best[d.NodeID]])
	}
	dir.Layer = AssignLayers(epoch, dir.Nodes)
	for l := range dir.Layer {
		if len(dir.Layer[l]) == 0 {
			return nil, &TooFewError{Epoch: epoch, Usable: len(dir.Nodes), Network: network, Foreign: foreign}
		}
	}
	return dir, nil
}

// Lookup returns the descriptor of id.
func (d *Directory) Lookup(id NodeID) (*Descriptor, bool) {
	i, ok := d.byID[id]
	if !ok {
		return nil, false
	}
	return d.Nodes[i], true
}

// LayerOf returns the layer (0, 1, 2) of id, or -1.
func (d *Directory) LayerOf(id NodeID) int {
	for l := range d.Layer {
		for _, n := range d.Layer[l] {
			if n.NodeID == id {
				return l
			}
		}
	}
	return -1
}

// AssignLayers spreads nodes over the three layers for an epoch. Nodes are
// ordered by SHA-256(node id || epoch) and dealt round-robin, so the
// assignment is identical on every participant that sees the same set,
// changes every epoch, cannot be chosen by a node, and layer sizes differ by
// at most one.
func AssignLayers(epoch uint64, nodes []*Descriptor) [Layers][]*Descriptor {
	type ranked struct {
		h [32]byte
		d *Descriptor
	}
	rs := make([]ranked, len(nodes))
	var eb [8]byte
	binary.BigEndian.PutUint64(eb[:], epoch)
	for i, d := range nodes {
		h := sha256.New()
		h.Write([]byte("komrade layer v1"))
		h.Write(d.NodeID[:])
		h.Write(eb[:])
		copy(rs[i].h[:], h.Sum(nil))
		rs[i].d = d
	}
	sort.Slice(rs, func(i, j int) bool { return bytes.Compare(rs[i].h[:], rs[j].h[:]) < 0 })
	var out [Layers][]*Descriptor
	for i, r := range rs {
		out[i%Layers] = append(out[i%Layers], r.d)
	}
	for l := range out {
		sortByID(out[l])
	}
	return out
}

// Response is what a gateway's directory service sends a client.
type Response struct {
	Epoch       uint64   `cbor:"1,keyasint"`
	Descriptors [][]byte `cbor:"2,keyasint"`
	// Params is the encoding of the network's Params (Params.Encode): a
	// client checks that its SHA-256 is the network id its config names.
	Params []byte `cbor:"3,keyasint"`
}

var respDec = detcbor.NewDecoder(MaxNodes, 4)

// EncodeResponse encodes a directory response.
func EncodeResponse(r *Response) ([]byte, error) { return detcbor.Marshal(r) }

// DecodeResponse decodes a directory response, checking sizes first.
func DecodeResponse(b []byte) (*Response, error) {
	if len(b) > MaxResponseSize {
		return nil, errors.New("directory: response too large")
	}
	var r Response
	if err := respDec.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("directory: decode response: %w", err)
	}
	return &r, nil
}

// ErrNoDirectory is what ReadResponse returns when the gateway has no
// directory yet (a length of zero).
var ErrNoDirectory = errors.New("the gateway has no directory yet; retry in a moment")

// ReadResponse reads a directory response as a gateway writes it: a 4-byte
// big-endian length, then that many bytes of Response. Memory grows with the
// bytes that arrive, not with the length the gateway claims, so a gateway
// that announces MaxResponseSize and sends little costs little.
func ReadResponse(r io.Reader) (*Response, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size == 0 {
		return nil, ErrNoDirectory
	}
	if size > MaxResponseSize {
		return nil, fmt.Errorf("response of %d bytes exceeds %d", size, MaxResponseSize)
	}
	var body bytes.Buffer
	if n, err := io.CopyN(&body, r, int64(size)); err != nil {
		return nil, fmt.Errorf("response cut after %d of %d bytes: %w", n, size, err)
	}
	return DecodeResponse(body.Bytes())
}
