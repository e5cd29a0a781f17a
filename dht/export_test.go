package dht

import (
	"context"

	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	kb "github.com/libp2p/go-libp2p-kbucket"
	libp2precord "github.com/libp2p/go-libp2p-record"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// OldSchemeRound counts, without sending anything, what one round of the
// republishing this package did before the record index would send from n:
// every record the node held went through PutRecord again, that is one
// closest-peer lookup and one PUT_VALUE to each of the (up to 20) closest
// peers. The closest peers are taken from the routing table, which in the
// benchmark's network holds every peer, so the count is the one a lookup
// would give. Benchmarks only: sending those puts takes hours on a laptop.
func (n *Node) OldSchemeRound(ctx context.Context) (RepublishStats, error) {
	var st RepublishStats
	held, err := n.store.heldRecords(ctx)
	if err != nil {
		return st, err
	}
	st.Held = len(held)
	for _, e := range held {
		value, err := n.store.heldValue(ctx, e)
		if err != nil {
			continue
		}
		closest := n.DHT.RoutingTable().NearestPeers(kb.ConvertKey(e.key), 20)
		msg := kadpb.NewMessage(kadpb.Message_PUT_VALUE, []byte(e.key), 0)
		msg.Record = libp2precord.MakePutRecord(e.key, value)
		size := proto.Size(msg)
		size += protowire.SizeVarint(uint64(size))
		st.Lookups++
		st.Puts += len(closest)
		st.PutBytes += len(closest) * size
		st.Pushed++
	}
	return st, nil
}
