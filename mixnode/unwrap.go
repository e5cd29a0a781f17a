package mixnode

import (
	"context"
	"fmt"
	"time"

	"github.com/katzenpost/katzenpost/core/sphinx/commands"

	"github.com/komrade-net/komrade/internal/testseam"
	"github.com/komrade-net/komrade/wire"
)

// inbound is a frame read from a link, waiting to be unwrapped.
type inbound struct {
	pkt []byte
}

// submit hands a received packet to the unwrap workers without ever
// blocking the link reader: when the workers are saturated it is dropped.
func (n *Node) submit(pkt []byte) {
	select {
	case n.inbox <- inbound{pkt: pkt}:
	default:
		n.metrics.drop(DropOverload)
	}
}

func (n *Node) unwrapWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-n.inbox:
			n.process(in.pkt)
		case in := <-n.fromCl:
			n.process(in.pkt)
		}
	}
}

// unwrapped is the result of opening one Sphinx layer.
type unwrapped struct {
	epoch   uint64
	payload []byte
	cmds    []commands.RoutingCommand
}

// unwrap opens pkt (in place) with the first live epoch key that
// authenticates it. A panic inside the Sphinx library (a malformed group
// element can trigger one) is turned into an error: no packet may crash the
// node.
//
// A Sphinx header does not say which epoch's key opens it, so each key tried
// costs a key exchange, and a junk packet costs one for every key tried. The
// keys of the next and the previous epoch are tried only within keyGrace of
// the boundary with that epoch (for clocks a little ahead, and packets built
// or delayed across the boundary): for the rest of an epoch a packet costs
// one key exchange, whatever it holds. Every exchange is counted
// (komrade_unwrap_key_trials_total).
func (n *Node) unwrap(pkt []byte) (u unwrapped, tag []byte, err error) {
	cur, into := n.clock.Position()
	grace := keyGrace(n.clock.Period)
	for _, k := range n.keys.live() {
		switch {
		case k.epoch == cur:
		case k.epoch == cur+1 && n.clock.Period-into <= grace:
		case k.epoch+1 == cur && into <= grace:
		default:
			continue
		}
		n.metrics.KeyTrials.Add(1)
		payload, t, cmds, e := n.safeUnwrap(k, pkt)
		if e == nil {
			return unwrapped{epoch: k.epoch, payload: payload, cmds: cmds}, t, nil
		}
		err = e
	}
	if err == nil {
		err = fmt.Errorf("no live epoch key")
	}
	return u, nil, err
}

// keyGrace is how close to an epoch boundary the key of the epoch on its
// other side is still (or already) tried: a quarter of the epoch, at most
// two minutes.
func keyGrace(period time.Duration) time.Duration { return min(period/4, 2*time.Minute) }

func (n *Node) safeUnwrap(k liveKey, pkt []byte) (payload, tag []byte, cmds []commands.RoutingCommand, err error) {
	defer func() {
		if n.panicky {
			return
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("sphinx: malformed packet: %v", r)
		}
	}()
	return n.sphinx.Unwrap(k.priv, pkt)
}

// process runs one packet through unwrap, the replay check and into the
// delay queue.
func (n *Node) process(pkt []byte) {
	if len(pkt) != wire.PacketLength {
		n.metrics.drop(DropUnwrap)
		return
	}
	if testseam.Drop() { // tests of the ARQ inject loss; never set otherwise
		n.metrics.drop("injected")
		return
	}
	if wire.CheckHeader(pkt) != nil {
		n.metrics.drop(DropUnwrap) // no key could open it: spend no key exchange
		return
	}
	u, tag, err := n.unwrap(pkt)
	if err != nil {
		n.metrics.drop(DropUnwrap)
		return
	}
	if n.replay.seen(u.epoch, tag) {
		n.metrics.Replays.Add(1)
		n.metrics.drop(DropReplay)
		return
	}
	var (
		next      *commands.NextNodeHop
		delay     *commands.NodeDelay
		recipient *commands.Recipient
		surbReply *commands.SURBReply
	)
	for _, c := range u.cmds {
		switch c := c.(type) {
		case *commands.NextNodeHop:
			next = c
		case *commands.NodeDelay:
			if delay != nil {
				n.metrics.drop(DropBadCommands)
				return
			}
			delay = c
		case *commands.Recipient:
			recipient = c
		case *commands.SURBReply:
			surbReply = c
		}
	}
	if delay == nil {
		n.metrics.drop(DropBadCommands) // every Komrade hop carries a delay
		return
	}
	d := time.Duration(delay.Delay) * time.Millisecond
	if d > n.cfg.Network.MaxDelay {
		n.metrics.drop(DropDelayTooLong)
		return
	}
	now := time.Now()
	a := &action{release: now.Add(d), queued: now}
	switch {
	case next != nil:
		if recipient != nil || surbReply != nil {
			n.metrics.drop(DropBadCommands)
			return
		}
		a.kind, a.pkt, a.next = actForward, pkt, next.ID
	case recipient != nil && surbReply != nil:
		a.kind, a.pkt, a.next, a.surbID = actDeliver, u.payload, recipient.ID, surbReply.ID
	case recipient == nil && surbReply == nil:
		a.kind, a.pkt = actExit, u.payload
	default:
		n.metrics.drop(DropBadCommands)
		return
	}
	if !n.queue.push(a) {
		n.metrics.drop(DropQueueFull)
		return
	}
	n.metrics.QueueLength.Add(1)
}

// release is called by the delay queue when a packet's delay is over.
func (n *Node) release(a *action) {
	n.metrics.QueueLength.Add(-1)
	if f := n.opts.OnRelease; f != nil {
		f(time.Since(a.queued), a.release.Sub(a.queued))
	}
	switch a.kind {
	case actForward:
		n.forward(a.next, a.pkt)
	case actDeliver:
		n.deliver(a.next, a.surbID, a.pkt)
	case actExit:
		n.exit(a.pkt)
	}
}
