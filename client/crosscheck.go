package client

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/komrade-net/komrade/pki"
)

// A client takes its directory from its gateway, and a gateway that left
// out every honest node (descriptors are signed by their nodes, so it can
// only omit, not forge) would have the client build every path through
// nodes it chose. So the client also fetches the directory of another
// gateway of its config and uses the union of both: an omission then needs
// every gateway asked to collude. A large difference is logged.
//
// Dial and RefreshDirectory fetch the other view before they return; the
// periodic refetch of the directory fetches it in the background (it must
// not wait for a second gateway, perhaps over Tor), and the union replaces
// the directory when it arrives. The other view is fetched again when it is
// DirectoryMaxAge old and used for at most crossMaxAge, so that nodes that
// left stay in the union no longer than in a gateway's own view.

const (
	// crossMaxAge is how long the other gateway's view is used.
	crossMaxAge = 2 * DirectoryMaxAge
	// crossRetry is how long the background refetch waits before asking
	// again after every other gateway failed.
	crossRetry = DirectoryMaxAge
)

// crossView is another gateway's view of the directory.
type crossView struct {
	dir     *pki.Directory // nil until a fetch succeeded
	from    peer.ID        // the gateway that served it
	fetched time.Time
	tried   time.Time // last attempt, successful or not
}

// usable reports whether v can be merged with current's view of epoch.
func (v crossView) usable(epoch uint64, current peer.ID) bool {
	return v.dir != nil && v.dir.Epoch == epoch && v.from != current && time.Since(v.fetched) < crossMaxAge
}

// withCross returns dir merged with another gateway's view of its epoch,
// if the client has one, or else dir.
func (c *Client) withCross(dir *pki.Directory, current peer.ID) *pki.Directory {
	c.mu.Lock()
	v := c.cross
	c.mu.Unlock()
	if !v.usable(dir.Epoch, current) {
		return dir
	}
	return c.merge(dir, v.dir, current)
}

// claimCross reports whether another gateway's view of epoch should be
// fetched now, and if so records the attempt. With force (Dial and
// RefreshDirectory) it always should; otherwise only when there is no
// usable view younger than DirectoryMaxAge and no attempt was made within
// crossRetry.
func (c *Client) claimCross(epoch uint64, current peer.ID, force bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.cross
	if c.closed {
		return false
	}
	if !force && (v.usable(epoch, current) && time.Since(v.fetched) < DirectoryMaxAge || time.Since(v.tried) < crossRetry) {
		return false
	}
	c.cross.tried = time.Now()
	return true
}

// crossInBackground fetches another gateway's view in the background, if
// one is due.
func (c *Client) crossInBackground() {
	c.mu.Lock()
	dir, current := c.dir, c.gateway.ID
	c.mu.Unlock()
	if dir == nil || !c.claimCross(dir.Epoch, current, false) {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1) // under mu, after the closed check: Close's Wait cannot miss it
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		// Each attempt is bounded by its timeout; Close ends them too, by
		// closing the host.
		c.fetchCross(context.Background(), dir.Epoch, current)
	}()
}

// fetchCross asks the gateways other than current, in random order, for
// their directory of epoch until one answers; it keeps that view and merges
// it into the client's directory. It reports whether one answered.
func (c *Client) fetchCross(ctx context.Context, epoch uint64, current peer.ID) bool {
	var others []peer.AddrInfo
	for _, gw := range c.gws {
		if gw.ID != current {
			others = append(others, gw)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	for _, gw := range others {
		dir, err := c.fetchFrom(ctx, gw)
		if err == nil && dir.Epoch != epoch {
			continue // an epoch boundary passed meanwhile
		}
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			c.log.Warn("cannot cross-check the directory with another gateway", "gateway", gw.ID.ShortString(), "err", err)
			continue
		}
		c.mu.Lock()
		c.cross = crossView{dir: dir, from: gw.ID, fetched: time.Now(), tried: time.Now()}
		c.mu.Unlock()
		// Merge with the gateway's own view the client holds now.
		for {
			c.mu.Lock()
			own, gwNow := c.gwDir, c.gateway.ID
			c.mu.Unlock()
			if own == nil || own.Epoch != epoch || gwNow == gw.ID {
				return true
			}
			merged := c.merge(own, dir, gwNow)
			c.mu.Lock()
			if c.gwDir == own {
				c.dir = merged
				c.mu.Unlock()
				return true
			}
			c.mu.Unlock()
		}
	}
	return false
}

// crossNow fetches another gateway's view before it returns (Dial,
// RefreshDirectory). If none answers, the client uses its gateway's view
// alone rather than an older one that may list nodes that left.
func (c *Client) crossNow(ctx context.Context, current peer.ID) {
	epoch := c.Directory().Epoch
	if !c.claimCross(epoch, current, true) || c.fetchCross(ctx, epoch, current) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cross.dir = nil
	if c.gwDir != nil {
		c.dir = c.gwDir
	}
}

func (c *Client) fetchFrom(ctx context.Context, gw peer.AddrInfo) (*pki.Directory, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout(c.cfg))
	defer cancel()
	if err := c.host.Connect(ctx, gw); err != nil {
		return nil, err
	}
	dir, _, err := FetchDirectory(ctx, c.host, gw.ID, c.netID, c.cfg.Params, c.allow)
	return dir, err
}

// merge returns the union of dir and other (the newer descriptor of a node
// both list). Should it exceed pki.MaxNodes, the nodes both list come
// first and each view's own fill the rest in turns.
func (c *Client) merge(dir, other *pki.Directory, current peer.ID) *pki.Directory {
	inOther := map[pki.NodeID]int{}
	for j, d := range other.Nodes {
		inOther[d.NodeID] = j
	}
	var both, onlyDir, onlyOther [][]byte
	for i, d := range dir.Nodes {
		j, ok := inOther[d.NodeID]
		switch {
		case !ok:
			onlyDir = append(onlyDir, dir.Raw[i])
		case pki.Newer(other.Nodes[j], d):
			both = append(both, other.Raw[j])
		default:
			both = append(both, dir.Raw[i])
		}
	}
	for j, d := range other.Nodes {
		if _, ok := dir.Lookup(d.NodeID); !ok {
			onlyOther = append(onlyOther, other.Raw[j])
		}
	}
	raws := both
	for i := 0; i < max(len(onlyDir), len(onlyOther)) && len(raws) < pki.MaxNodes; i++ {
		if i < len(onlyDir) {
			raws = append(raws, onlyDir[i])
		}
		if i < len(onlyOther) && len(raws) < pki.MaxNodes {
			raws = append(raws, onlyOther[i])
		}
	}
	merged, err := pki.Build(c.netID, dir.Epoch, raws, c.allow)
	if err != nil {
		c.log.Warn("cannot merge another gateway's directory; using the gateway's alone", "err", err)
		return dir
	}
	if len(onlyOther) > 0 {
		lvl := slog.LevelDebug
		if len(onlyOther) >= 3 && len(onlyOther)*4 >= len(merged.Nodes) {
			lvl = slog.LevelWarn // more than churn explains
		}
		c.log.Log(context.Background(), lvl, "gateway's directory lacks nodes another gateway lists; using both",
			"gateway", current.ShortString(), "missing", len(onlyOther), "nodes", len(merged.Nodes))
	}
	return merged
}
