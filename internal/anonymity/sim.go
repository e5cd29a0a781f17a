package anonymity

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/komrade-net/komrade/client"
	"github.com/komrade-net/komrade/pki"
	"github.com/komrade-net/komrade/wire"
)

// Setting is one network to simulate.
type Setting struct {
	Nodes, Clients int
	// Mu is the mean per-hop delay (pki.Params.Mu).
	Mu time.Duration
	// Rates are every client's cover rates (client.Rates; the daemon's
	// defaults are config.DefaultLambdaP/L/D).
	Rates client.Rates
	// LambdaM is each node's loop rate (config.Node.LambdaM).
	LambdaM float64
	// Duration is the virtual time simulated, seconds.
	Duration float64
	// Gateways is how many nodes serve as gateways: client c enters by
	// node c mod Gateways. Zero means every node (c mod Nodes).
	Gateways int
	// Challenges is how many pairs of challenge packets to inject for
	// Loopix's unlinkability game: at a random time two distinct clients
	// of one gateway each send one more packet (Trace.Challenges).
	Challenges int
}

// String names the setting in figures and logs.
func (s Setting) String() string {
	return fmt.Sprintf("%d nodes, %d clients, mu %v, λP/λL/λD %g/%g/%g, λM %g", s.Nodes, s.Clients, s.Mu, s.Rates.LambdaP, s.Rates.LambdaL, s.Rates.LambdaD, s.LambdaM)
}

// Simulate runs a discrete-event simulation of a network in virtual time
// and returns what a global observer sees. It draws with the code the real
// network runs: every client's events from its Rates (Rates.Interval,
// Rates.Event), every path with pki.RandomRoute (the gateway excluded, as
// client.buildRequest and dropPacket do) over layers from pki.AssignLayers,
// every hop's delay with pki.HopsFor, the node loops as mixnode's sendLoop
// builds them. A mix holds each packet for its delay; links are instant.
// Client c enters by node c mod Gateways (gateways spread evenly, as the
// real-network test spreads them over its gateways). Forward
// packets leave their exit as a frame to Exit; fillers and loops (echo
// requests) come back through a SURB path L1 → L2 → L3 → gateway to their
// sender, drops end at the exit.
func Simulate(s Setting) (*Trace, error) {
	if s.Nodes < 2*pki.Layers {
		return nil, fmt.Errorf("anonymity: %d nodes, want at least %d", s.Nodes, 2*pki.Layers)
	}
	if err := s.Rates.Validate(); err != nil {
		return nil, err
	}
	descs := make([]*pki.Descriptor, s.Nodes)
	index := map[pki.NodeID]int32{}
	for i := range descs {
		d := &pki.Descriptor{Keys: []pki.EpochKey{{Epoch: 0, Key: make([]byte, 32)}}}
		rand.Read(d.NodeID[:])
		descs[i] = d
		index[d.NodeID] = int32(i)
	}
	dir := &pki.Directory{Nodes: descs, Layer: pki.AssignLayers(0, descs)}
	tr := &Trace{Nodes: s.Nodes, Clients: s.Clients, Layer: make([]int, s.Nodes), MeanDelay: s.Mu.Seconds(), End: s.Duration}
	for l, nodes := range dir.Layer {
		for _, d := range nodes {
			tr.Layer[index[d.NodeID]] = l
		}
	}
	var pkt int32
	tr.Sender = map[int32]int32{}
	// path emits the frames of one packet that leaves from at t through
	// hops, and returns the time it leaves the last hop.
	path := func(from int32, t float64, hops []wire.Hop, id int32) float64 {
		prev := from
		for _, h := range hops {
			x := index[h.ID]
			tr.Frames = append(tr.Frames, Frame{T: t, From: prev, To: x, Pkt: id})
			t += h.Delay.Seconds()
			prev = x
		}
		return t
	}
	ng := s.Nodes
	if s.Gateways > 0 && s.Gateways < s.Nodes {
		ng = s.Gateways
	}
	gws := make([]*pki.Descriptor, s.Clients)
	for c := range gws {
		gws[c] = descs[c%ng]
	}
	// send emits one packet of client c at t and its reply, if it has one.
	send := func(c int, t float64, kind string) (int32, error) {
		cid, gw := int32(s.Nodes+c), gws[c]
		fwd, err := pki.RandomRoute(dir, gw.NodeID)
		if err != nil {
			return 0, err
		}
		hops, err := pki.HopsFor(0, s.Mu, gw, fwd[0], fwd[1], fwd[2])
		if err != nil {
			return 0, err
		}
		pkt++
		id := pkt
		tr.Sender[id] = cid
		exit := path(cid, t, hops, id)
		tr.Frames = append(tr.Frames, Frame{T: exit, From: index[fwd[2].NodeID], To: Exit, Pkt: id})
		if kind == client.EventDrop {
			return id, nil
		}
		back, err := pki.RandomRoute(dir, gw.NodeID)
		if err != nil {
			return 0, err
		}
		bhops, err := pki.HopsFor(0, s.Mu, back[0], back[1], back[2], gw)
		if err != nil {
			return 0, err
		}
		pkt++
		end := path(index[fwd[2].NodeID], exit, bhops, pkt)
		tr.Frames = append(tr.Frames, Frame{T: end, From: index[gw.NodeID], To: cid, Pkt: pkt})
		return id, nil
	}
	for c := 0; c < s.Clients; c++ {
		for t := s.Rates.Interval().Seconds(); t < s.Duration; t += s.Rates.Interval().Seconds() {
			if _, err := send(c, t, s.Rates.Event(wire.Uniform())); err != nil {
				return nil, err
			}
		}
	}
	for range s.Challenges {
		t := tr.Duration() * (0.25 + 0.5*wire.Uniform())
		// As in Loopix §4.3, both challenge senders enter by the same
		// gateway (Loopix: provider) at the same instant.
		c0 := int(wire.Uniform() * float64(s.Clients))
		var same []int
		for c := range s.Clients {
			if c != c0 && gws[c] == gws[c0] {
				same = append(same, c)
			}
		}
		if len(same) == 0 {
			continue
		}
		c1 := same[int(wire.Uniform()*float64(len(same)))]
		p0, err := send(c0, t, client.EventSlot)
		if err != nil {
			return nil, err
		}
		p1, err := send(c1, t, client.EventSlot)
		if err != nil {
			return nil, err
		}
		tr.Challenges = append(tr.Challenges, [2]int32{p0, p1})
	}
	if s.LambdaM > 0 {
		for n, self := range descs {
			for t := wire.ExpInterval(s.LambdaM).Seconds(); t < s.Duration; t += wire.ExpInterval(s.LambdaM).Seconds() {
				route, err := pki.RandomRoute(dir, self.NodeID)
				if err != nil {
					return nil, err
				}
				hops, err := pki.HopsFor(0, s.Mu, route[0], route[1], route[2], self)
				if err != nil {
					return nil, err
				}
				pkt++
				path(int32(n), t, hops, pkt)
			}
		}
	}
	tr.Index()
	return tr, nil
}
