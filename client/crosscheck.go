package client

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/dht/directory"
)

// A client takes its directory from its gateway, and a gateway that left
// out every honest node (descriptors are signed by their nodes, so it can
// only omit, not forge) would have the client build every path through
// nodes it chose. So once per epoch the client also fetches the directory
// of another gateway of its config and uses the union of both: an omission
// then needs every gateway asked to collude. A large difference is logged.
//
// Dial fetches the other view before it returns; at later epochs the fetch
// runs in the background (a refresh must not wait for a second gateway,
// perhaps over Tor) and the union replaces the directory when it arrives.

// crossRetry is how long the client waits before asking again after a
// cross-check failed within an epoch.
const crossRetry = 5 * time.Minute

// crossView is the other gateway's descriptors for one epoch.
type crossView struct {
	epoch uint64
	raws  [][]byte  // nil until a fetch succeeded
	tried time.Time // last attempt
}

// withCross returns dir merged with the other gateway's view of its epoch,
// if the client has one, or else dir.
func (c *Client) withCross(dir *directory.Directory, current peer.ID) *directory.Directory {
	c.mu.Lock()
	v := c.cross
	c.mu.Unlock()
	if v.epoch != dir.Epoch || v.raws == nil {
		return dir
	}
	return c.merge(dir, v.raws, current)
}

// claimCross reports whether the other gateway's view of epoch should be
// fetched now (none yet, and none tried within crossRetry), and if so
// records the attempt, so that one fetch runs at a time.
func (c *Client) claimCross(epoch uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.cross
	if c.closed || v.epoch == epoch && (v.raws != nil || time.Since(v.tried) < crossRetry) {
		return false
	}
	c.cross = crossView{epoch: epoch, tried: time.Now()}
	return true
}

// crossInBackground fetches the other gateway's view of the directory's
// epoch in the background, if it is due.
func (c *Client) crossInBackground() {
	c.mu.Lock()
	dir := c.dir
	c.mu.Unlock()
	if dir == nil || !c.claimCross(dir.Epoch) {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	current := c.Gateway()
	go func() {
		defer c.wg.Done()
		// Bounded by its timeout; Close also ends it by closing the host.
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout(c.cfg))
		defer cancel()
		c.fetchCross(ctx, dir.Epoch, current)
	}()
}

// merge returns the directory of dir's descriptors and raws.
func (c *Client) merge(dir *directory.Directory, raws [][]byte, current peer.ID) *directory.Directory {
	merged, err := directory.Build(dir.Epoch, append(slices.Clone(dir.Raw), raws...), c.allow)
	if err != nil {
		return dir
	}
	if missing := len(merged.Nodes) - len(dir.Nodes); missing > 0 {
		lvl := slog.LevelDebug
		if missing >= 3 && missing*4 >= len(merged.Nodes) {
			lvl = slog.LevelWarn // more than churn explains
		}
		c.log.Log(context.Background(), lvl, "gateway's directory lacks nodes another gateway lists; using both",
			"gateway", current.ShortString(), "missing", missing, "nodes", len(merged.Nodes))
	}
	return merged
}

// fetchCross fetches the directory of a gateway other than current for
// epoch, keeps its descriptors, and merges them into the client's
// directory if that is still of epoch. It reports whether it succeeded.
func (c *Client) fetchCross(ctx context.Context, epoch uint64, current peer.ID) bool {
	var others []peer.AddrInfo
	for _, gw := range c.gws {
		if gw.ID != current {
			others = append(others, gw)
		}
	}
	if len(others) == 0 {
		return false
	}
	gw := others[rand.IntN(len(others))]
	err := c.host.Connect(ctx, gw)
	var dir *directory.Directory
	if err == nil {
		dir, err = FetchDirectory(ctx, c.host, gw.ID, c.clock, c.allow)
	}
	if err != nil || dir.Epoch != epoch {
		c.log.Warn("cannot cross-check the directory with another gateway", "gateway", gw.ID.ShortString(), "err", err)
		return false
	}
	c.mu.Lock()
	if c.cross.epoch == epoch {
		c.cross.raws = dir.Raw
	}
	cur := c.dir
	c.mu.Unlock()
	if cur == nil || cur.Epoch != epoch {
		return true
	}
	merged := c.merge(cur, dir.Raw, current)
	c.mu.Lock()
	if c.dir == cur {
		c.dir = merged
	}
	c.mu.Unlock()
	return true
}
