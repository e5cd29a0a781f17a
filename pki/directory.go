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

// maxForeign bounds the descriptors of other networks that Build checks
// and reports: enough to name the mismatch, not a cost anyone can inflate.
const maxForeign = 8

// Seniority reports, for a node id, in how many consecutive epochs up to
// now the caller has seen the node in its directory (0 for a node it does not
// know). A gateway keeps this count; a client has none.
type Seniority func(NodeID) uint64

// Build is BuildSelect without history: when more than MaxNodes nodes are
// usable, the tie-break rule alone (see BuildSelect) picks them. A client
// uses it on what gateways send.
func Build(network NetworkID, epoch uint64, raws [][]byte, allow map[NodeID]bool) (*Directory, error) {
	return BuildSelect(network, epoch, raws, allow, nil)
}

// BuildSelect assembles the directory of network for epoch from signed
// descriptors. A descriptor counts only if it is of network, carries a
// Sphinx key for epoch, names a node on allow (when allow is non-empty), is
// well formed and its signature verifies; for a node listed twice the newest
// valid descriptor wins. Descriptors of another network are left out and
// reported in Directory.Foreign (or the *TooFewError), their signatures
// checked for the first maxForeign of them only. The
// allow-list and the epoch are checked on the decoded body first, so
// descriptors of other nodes cost a decode, not a signature check.
//
// Too many usable nodes is not an error: the directory keeps MaxNodes of
// them, chosen by one rule every gateway applies alike: nodes of greater
// seniority first (nil means 0 for all), ties broken by
// SHA-256("komrade select v1" || epoch || node id), lowest first. Only the
// signatures of the nodes tried in that order are checked, so the cost is
// bounded by the nodes kept plus the invalid ones met on the way.
//
// Layers are assigned with AssignLayers. At least one node per layer is
// required (else a *TooFewError).
func BuildSelect(network NetworkID, epoch uint64, raws [][]byte, allow map[NodeID]bool, seniority Seniority) (*Directory, error) {
	// Cheap pass: decode, epoch, allow-list. No signature checked yet.
	type cand struct {
		raw []byte
		d   *Descriptor
	}
	byNode := map[NodeID][]cand{}
	var foreign []Foreign
	tried := 0 // signature checks spent on other networks' descriptors
	for _, raw := range raws {
		d, err := peek(raw)
		if err != nil {
			continue
		}
		if d.Network != network {
			if tried < maxForeign && !slices.ContainsFunc(foreign, func(f Foreign) bool { return f.Node == d.NodeID }) {
				tried++
				if v, err := Verify(raw); err == nil {
					foreign = append(foreign, Foreign{v.NodeID, v.Network})
				}
			}
			continue
		}
		if len(allow) > 0 && !allow[d.NodeID] {
			continue
		}
		if _, ok := d.KeyFor(epoch); !ok {
			continue
		}
		byNode[d.NodeID] = append(byNode[d.NodeID], cand{raw, d})
	}
	type ranked struct {
		id  NodeID
		sen uint64
		h   [32]byte
	}
	order := make([]ranked, 0, len(byNode))
	for id := range byNode {
		r := ranked{id: id, h: selectHash(epoch, id)}
		if seniority != nil {
			r.sen = seniority(id)
		}
		order = append(order, r)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].sen != order[j].sen {
			return order[i].sen > order[j].sen
		}
		return bytes.Compare(order[i].h[:], order[j].h[:]) < 0
	})
	dir := &Directory{Epoch: epoch, Foreign: foreign, byID: map[NodeID]int{}}
	raw := map[NodeID][]byte{}
	for _, r := range order {
		if len(dir.Nodes) == MaxNodes {
			break
		}
		cs := byNode[r.id]
		// Newest claim first; equal claims in byte order, so that the
		// choice does not depend on the order of raws.
		sort.Slice(cs, func(i, j int) bool {
			a, b := cs[i].d, cs[j].d
			if Newer(a, b) != Newer(b, a) {
				return Newer(a, b)
			}
			return bytes.Compare(cs[i].raw, cs[j].raw) < 0
		})
		for _, c := range cs {
			d, err := Verify(c.raw)
			if err != nil {
				continue
			}
			dir.Nodes = append(dir.Nodes, d)
			raw[d.NodeID] = c.raw
			break
		}
	}
	sortByID(dir.Nodes)
	for i, d := range dir.Nodes {
		dir.byID[d.NodeID] = i
		dir.Raw = append(dir.Raw, raw[d.NodeID])
	}
	dir.Layer = AssignLayers(epoch, dir.Nodes)
	for l := range dir.Layer {
		if len(dir.Layer[l]) == 0 {
			return nil, &TooFewError{Epoch: epoch, Usable: len(dir.Nodes), Network: network, Foreign: foreign}
		}
	}
	return dir, nil
}

// selectHash orders nodes of equal seniority when a directory is full. It
// changes every epoch; it is not secret, so whoever makes many keys can find
// ones that rank first (which is why seniority comes first).
func selectHash(epoch uint64, id NodeID) [32]byte {
	var eb [8]byte
	binary.BigEndian.PutUint64(eb[:], epoch)
	h := sha256.New()
	h.Write([]byte("komrade select v1"))
	h.Write(eb[:])
	h.Write(id[:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
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
