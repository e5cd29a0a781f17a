package mixnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/komrade-net/komrade/internal/backoff"
	"github.com/komrade-net/komrade/pki"
)

// publish signs a descriptor for the current epoch (keys for it and the
// next) and publishes it: the /kmix/ record plus provider announcements for
// both epochs, so that a directory built at the start of the next epoch
// finds the node before it republishes.
func (n *Node) publish(ctx context.Context) error {
	e := n.clock.Current()
	n.keys.rotate(e)
	d := &pki.Descriptor{NodeID: n.id, Epoch: e, Issued: time.Now().UnixNano(), Addrs: n.descriptorAddrs(), Onion: n.onionID(), Network: n.netID}
	for _, ep := range []uint64{e, e + 1} {
		pk, ok := n.keys.public(ep)
		if !ok {
			return fmt.Errorf("mixnode: no key for epoch %d", ep)
		}
		d.Keys = append(d.Keys, pki.EpochKey{Epoch: ep, Key: pk})
	}
	raw, err := pki.Sign(d, n.priv)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.dht.PublishDescriptor(pctx, n.id, raw, e, e+1); err != nil {
		return err
	}
	n.lastPublish.Store(time.Now().UnixNano())
	n.log.Debug("descriptor published", "epoch", e)
	return nil
}

// epochLoop rotates keys and republishes at every epoch boundary, and retries
// a failed publication.
func (n *Node) epochLoop(ctx context.Context) {
	for {
		wait := n.clock.UntilNext() + 10*time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		e := n.clock.Current()
		n.keys.rotate(e)
		if e > 0 {
			n.replay.forgetBefore(e - 1)
		}
		bo := backoff.Backoff{Min: time.Second, Max: n.clock.Period / 4}
		for ctx.Err() == nil {
			err := n.publish(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			n.log.Warn("descriptor publication failed", "epoch", e, "err", err)
			if bo.Wait(ctx) != nil {
				return
			}
			if n.clock.Current() != e {
				break
			}
		}
		n.requestDirectoryRefresh()
	}
}

func (n *Node) requestDirectoryRefresh() {
	select {
	case n.dirRefr <- struct{}{}:
	default:
	}
}

// RefreshDirectory rebuilds the node's view of the directory now.
func (n *Node) RefreshDirectory(ctx context.Context) error {
	e := n.clock.Current()
	seniority := n.seniority(e)
	raws, err := n.dht.FindDescriptors(ctx, e, seniority)
	if err != nil {
		return err
	}
	// A lookup under load can miss a node. Nodes of the previous view that
	// the lookup missed stay while this node still has a live connection to
	// them; a stopped node's connections close, so it drops out.
	if prev := n.Directory(); prev != nil {
		found := map[string]bool{}
		for _, r := range raws {
			found[string(r)] = true
		}
		for i, d := range prev.Nodes {
			if found[string(prev.Raw[i])] {
				continue
			}
			pid, err := d.NodeID.PeerID()
			if err == nil && (d.NodeID == n.id || n.dht.Host.Network().Connectedness(pid) == network.Connected) {
				raws = append(raws, prev.Raw[i])
			}
		}
	}
	dir, err := pki.BuildSelect(n.netID, e, raws, n.allow, seniority)
	if tf := (*pki.TooFewError)(nil); errors.As(err, &tf) {
		n.warnForeign(e, tf.Foreign)
	}
	if err != nil {
		return err
	}
	n.warnForeign(e, dir.Foreign)
	// Encoded once here, served to every client that asks (gateway.go).
	resp, err := pki.EncodeResponse(&pki.Response{Epoch: dir.Epoch, Descriptors: dir.Raw, Params: n.netEnc})
	if err != nil {
		return fmt.Errorf("encode directory response: %w", err)
	}
	now := time.Now()
	known := map[pki.NodeID]knownNode{}
	n.dirMu.Lock()
	// Nodes seen in a recent view stay known (as next hops, and as peers
	// that may open mix links) for knownRetention: packets built from older
	// views are still in flight, and a lookup under load can miss a node
	// for a round or two.
	for _, d := range dir.Nodes {
		if ai, err := d.AddrInfo(); err == nil {
			known[d.NodeID] = knownNode{ai, now}
			n.dht.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.RecentlyConnectedAddrTTL)
		}
	}
	for id, k := range n.known {
		if _, ok := known[id]; !ok && now.Sub(k.seen) < n.knownRetention() {
			known[id] = k
		}
	}
	n.dir, n.dirResp = dir, resp
	n.known = known
	n.recordRuns(e, dir)
	n.dirMu.Unlock()
	n.links.prune(known)
	return nil
}

// run is a stretch of consecutive epochs, first to last, in which a node was
// in this node's directory.
type run struct{ first, last uint64 }

// seniority returns, for building the directory of epoch e, how many
// consecutive epochs up to e-1 or e each node has been in this node's
// directory (0 when it was not in that of e-1 or e). It is a snapshot:
// refreshes do not change it.
func (n *Node) seniority(e uint64) pki.Seniority {
	n.dirMu.RLock()
	sen := make(map[pki.NodeID]uint64, len(n.runs))
	for id, r := range n.runs {
		if r.last+1 >= e {
			sen[id] = r.last - r.first + 1
		}
	}
	n.dirMu.RUnlock()
	return func(id pki.NodeID) uint64 { return sen[id] }
}

// recordRuns extends the runs of the nodes of dir, the directory of epoch
// e, starts runs for new ones and forgets nodes absent since before e-1, so
// the table holds at most the nodes of two epochs' directories. Called with
// dirMu held.
func (n *Node) recordRuns(e uint64, dir *pki.Directory) {
	for _, d := range dir.Nodes {
		r, ok := n.runs[d.NodeID]
		if !ok || r.last+1 < e {
			r = run{first: e}
		}
		r.last = max(r.last, e)
		n.runs[d.NodeID] = r
	}
	for id, r := range n.runs {
		if r.last+1 < e {
			delete(n.runs, id)
		}
	}
}

// knownRetention is how long a node that left the directory stays known:
// two epochs (a packet may use a key for that long), at least a few
// directory refreshes.
func (n *Node) knownRetention() time.Duration {
	return max(2*n.clock.Period, 5*n.cfg.DirectoryRefresh.Duration)
}

// directoryLoop refreshes the directory every directory_refresh, and soon
// after each epoch boundary.
func (n *Node) directoryLoop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.DirectoryRefresh.Duration)
	defer tick.Stop()
	for {
		if err := n.RefreshDirectory(ctx); err != nil && ctx.Err() == nil {
			n.log.Debug("directory refresh", "err", err)
		}
		n.republishIfNeeded(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.dirRefr:
		}
	}
}

// Publish signs and publishes the node's descriptor now (it also happens at
// start and at every epoch boundary).
func (n *Node) Publish(ctx context.Context) error { return n.publish(ctx) }

// republishInterval keeps the /kmix/ record and provider announcements alive
// well inside kad-dht's 48 h record and provider expiry, whatever the epoch
// length.
const republishInterval = time.Hour

// republishIfNeeded publishes again when the node is missing from its own
// directory (it started alone, or its records were lost) or its last
// publication is old.
func (n *Node) republishIfNeeded(ctx context.Context) {
	if n.dht.DHT.RoutingTable().Size() == 0 {
		return
	}
	dir := n.Directory()
	listed := false
	if dir != nil {
		_, listed = dir.Lookup(n.id)
	}
	if listed && time.Since(time.Unix(0, n.lastPublish.Load())) < republishInterval {
		return
	}
	if err := n.publish(ctx); err != nil && ctx.Err() == nil {
		n.log.Debug("republish", "err", err)
		return
	}
	if !listed {
		if err := n.RefreshDirectory(ctx); err != nil && ctx.Err() == nil {
			n.log.Debug("directory refresh", "err", err)
		}
	}
}
