package pki

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/komrade-net/komrade/wire"
)

// RandomRoute picks one node uniformly at random from each mix layer, in
// order L1, L2, L3.
func RandomRoute(dir *Directory) ([Layers]*Descriptor, error) {
	var out [Layers]*Descriptor
	for l := range dir.Layer {
		nodes := dir.Layer[l]
		if len(nodes) == 0 {
			return out, fmt.Errorf("packet: layer %d is empty", l+1)
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
			return nil, fmt.Errorf("packet: node %s has no key for epoch %d", d.NodeID.Short(), epoch)
		}
		hops[i] = wire.Hop{ID: d.NodeID, Key: k, Delay: wire.ExpDelay(mu)}
	}
	return hops, nil
}
