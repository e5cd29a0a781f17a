package packet

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/komrade-net/komrade/dht/directory"
)

// RandomRoute picks one node uniformly at random from each mix layer, in
// order L1, L2, L3.
func RandomRoute(dir *directory.Directory) ([directory.Layers]*directory.Descriptor, error) {
	var out [directory.Layers]*directory.Descriptor
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
func HopsFor(epoch uint64, mu time.Duration, nodes ...*directory.Descriptor) ([]Hop, error) {
	hops := make([]Hop, len(nodes))
	for i, d := range nodes {
		k, ok := d.KeyFor(epoch)
		if !ok {
			return nil, fmt.Errorf("packet: node %s has no key for epoch %d", d.NodeID.Short(), epoch)
		}
		hops[i] = Hop{ID: d.NodeID, Key: k, Delay: ExpDelay(mu)}
	}
	return hops, nil
}
