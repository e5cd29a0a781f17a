package pki

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/komrade-net/komrade/wire"
)

// RandomRoute picks one node uniformly at random from each mix layer, in
// order L1, L2, L3, never one of exclude. A client excludes its gateway: a
// gateway that is also a mix of the same path (above all the exit) would see
// both the client and where its packet goes, which the layers exist to
// separate. A layer with no other node is an error, so a network needs at
// least two nodes per layer.
func RandomRoute(dir *Directory, exclude ...NodeID) ([Layers]*Descriptor, error) {
	var out [Layers]*Descriptor
	for l := range dir.Layer {
		nodes := make([]*Descriptor, 0, len(dir.Layer[l]))
		for _, d := range dir.Layer[l] {
			if !slices.Contains(exclude, d.NodeID) {
				nodes = append(nodes, d)
			}
		}
		if len(nodes) == 0 {
			if len(dir.Layer[l]) > 0 {
				return out, fmt.Errorf("pki: layer %d has no node but the gateway (a network needs at least two nodes per layer, %d in all)", l+1, 2*Layers)
			}
			return out, fmt.Errorf("pki: layer %d is empty", l+1)
		}
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(nodes))))
		if err != nil {
			return out, err
		}
		out[l] = nodes[n.Int64()]
	}
	return out, nil
}

// HopsFor turns descriptors into hops for a packet built in epoch, each with
// its own delay drawn from Exp(mu).
func HopsFor(epoch uint64, mu time.Duration, nodes ...*Descriptor) ([]wire.Hop, error) {
	hops := make([]wire.Hop, len(nodes))
	for i, d := range nodes {
		k, ok := d.KeyFor(epoch)
		if !ok {
			return nil, fmt.Errorf("pki: node %s has no key for epoch %d", d.NodeID.Short(), epoch)
		}
		hops[i] = wire.Hop{ID: d.NodeID, Key: k, Delay: wire.ExpDelay(mu)}
	}
	return hops, nil
}
