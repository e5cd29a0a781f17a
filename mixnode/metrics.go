package mixnode

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
)

// Drop reasons, used as the "reason" label of dropped packets.
const (
	DropUnwrap       = "unwrap_failed"      // no live key opens it: garbage, tampering or an unknown epoch
	DropReplay       = "replay"             // replay tag already seen in its epoch
	DropDelayTooLong = "delay_too_long"     // NodeDelay above max_delay
	DropQueueFull    = "queue_full"         // delay queue at queue_size
	DropOverload     = "overload"           // unwrap workers saturated
	DropUnknownHop   = "unknown_next_hop"   // next hop not in the directory
	DropLinkFull     = "link_full"          // outbound link buffer full
	DropNoClient     = "no_client"          // reply for a client not connected here
	DropClientFull   = "client_buffer_full" // client's delivery buffer full
	DropBadEnvelope  = "bad_envelope"       // exit payload malformed
	DropBadCommands  = "bad_commands"       // routing commands make no sense
	DropTruncated    = "truncated_frame"    // link closed mid-frame
	DropShuttingDown = "shutting_down"
	DropUnknownPeer  = "unknown_peer" // mix link from a peer not in the directory
	DropStorageBusy  = "storage_busy" // exit storage queue full; the client got StatusBusy
	DropLinkError    = "link_error"   // the write to the next hop failed on a reopened link too, or the link could not be reopened
)

// Metrics are a node's counters. All methods are safe for concurrent use.
type Metrics struct {
	ReceivedMix    atomic.Uint64
	ReceivedClient atomic.Uint64
	Forwarded      atomic.Uint64
	Delivered      atomic.Uint64
	Replays        atomic.Uint64
	ExitDrop       atomic.Uint64
	ExitEcho       atomic.Uint64
	ExitStorage    atomic.Uint64
	LoopsSent      atomic.Uint64
	LoopsReturned  atomic.Uint64
	LoopsLost      atomic.Uint64
	QueueLength    atomic.Int64

	mu      sync.Mutex
	dropped map[string]*atomic.Uint64
}

func (m *Metrics) drop(reason string) {
	m.mu.Lock()
	if m.dropped == nil {
		m.dropped = map[string]*atomic.Uint64{}
	}
	c, ok := m.dropped[reason]
	if !ok {
		c = new(atomic.Uint64)
		m.dropped[reason] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// Dropped returns how many packets were dropped for reason.
func (m *Metrics) Dropped(reason string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.dropped[reason]; ok {
		return c.Load()
	}
	return 0
}

// Snapshot is a copy of the counters at one moment.
type Snapshot struct {
	ReceivedMix, ReceivedClient, Forwarded, Delivered uint64
	Replays, ExitDrop, ExitEcho, ExitStorage          uint64
	LoopsSent, LoopsReturned, LoopsLost               uint64
	QueueLength                                       int64
	Dropped                                           map[string]uint64
}

// Snapshot copies the counters.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{
		ReceivedMix: m.ReceivedMix.Load(), ReceivedClient: m.ReceivedClient.Load(),
		Forwarded: m.Forwarded.Load(), Delivered: m.Delivered.Load(),
		Replays: m.Replays.Load(), ExitDrop: m.ExitDrop.Load(), ExitEcho: m.ExitEcho.Load(), ExitStorage: m.ExitStorage.Load(),
		LoopsSent: m.LoopsSent.Load(), LoopsReturned: m.LoopsReturned.Load(), LoopsLost: m.LoopsLost.Load(),
		QueueLength: m.QueueLength.Load(),
		Dropped:     map[string]uint64{},
	}
	m.mu.Lock()
	for k, v := range m.dropped {
		s.Dropped[k] = v.Load()
	}
	m.mu.Unlock()
	return s
}

// WritePrometheus writes the counters in the Prometheus text exposition
// format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	s := m.Snapshot()
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("# HELP komrade_packets_received_total Frames received, by link type.\n# TYPE komrade_packets_received_total counter\n")
	p("komrade_packets_received_total{link=\"mix\"} %d\nkomrade_packets_received_total{link=\"client\"} %d\n", s.ReceivedMix, s.ReceivedClient)
	p("# HELP komrade_packets_forwarded_total Packets sent on to the next mix.\n# TYPE komrade_packets_forwarded_total counter\nkomrade_packets_forwarded_total %d\n", s.Forwarded)
	p("# HELP komrade_packets_delivered_total Replies handed to connected clients.\n# TYPE komrade_packets_delivered_total counter\nkomrade_packets_delivered_total %d\n", s.Delivered)
	p("# HELP komrade_replays_total Packets dropped as replays.\n# TYPE komrade_replays_total counter\nkomrade_replays_total %d\n", s.Replays)
	p("# HELP komrade_exit_requests_total Exit requests served, by operation.\n# TYPE komrade_exit_requests_total counter\n")
	p("komrade_exit_requests_total{op=\"drop\"} %d\nkomrade_exit_requests_total{op=\"echo\"} %d\nkomrade_exit_requests_total{op=\"storage\"} %d\n", s.ExitDrop, s.ExitEcho, s.ExitStorage)
	p("# HELP komrade_packets_dropped_total Packets dropped, by reason.\n# TYPE komrade_packets_dropped_total counter\n")
	reasons := make([]string, 0, len(s.Dropped))
	for r := range s.Dropped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		p("komrade_packets_dropped_total{reason=%q} %d\n", r, s.Dropped[r])
	}
	p("# HELP komrade_queue_length Packets waiting in the delay queue.\n# TYPE komrade_queue_length gauge\nkomrade_queue_length %d\n", s.QueueLength)
	p("# HELP komrade_loops_total Node loop cover packets, by outcome.\n# TYPE komrade_loops_total counter\n")
	p("komrade_loops_total{state=\"sent\"} %d\nkomrade_loops_total{state=\"returned\"} %d\nkomrade_loops_total{state=\"lost\"} %d\n", s.LoopsSent, s.LoopsReturned, s.LoopsLost)
	return err
}
