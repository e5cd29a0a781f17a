package mixnode

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons, used as the "reason" label of dropped packets.
const (
	DropUnwrap          = "unwrap_failed"      // no live key opens it: garbage, tampering or an unknown epoch
	DropReplay          = "replay"             // replay tag already seen in its epoch
	DropDelayTooLong    = "delay_too_long"     // NodeDelay above max_delay
	DropQueueFull       = "queue_full"         // delay queue at queue_size
	DropOverload        = "overload"           // unwrap workers saturated
	DropUnknownHop      = "unknown_next_hop"   // next hop not in the directory
	DropLinkFull        = "link_full"          // outbound link buffer full
	DropNoClient        = "no_client"          // reply for a client not connected here
	DropClientFull      = "client_buffer_full" // client's delivery buffer full
	DropBadEnvelope     = "bad_envelope"       // exit payload malformed
	DropBadCommands     = "bad_commands"       // routing commands make no sense
	DropTruncated       = "truncated_frame"    // link closed mid-frame
	DropShuttingDown    = "shutting_down"
	DropUnknownPeer     = "unknown_peer"      // mix link from a peer not in the directory
	DropStorageBusy     = "storage_busy"      // exit storage queue full; the client got StatusBusy
	DropLinkError       = "link_error"        // the write to the next hop failed on a reopened link too, or the link could not be reopened
	DropClientQueueFull = "client_queue_full" // a client sent faster than its turn at a saturated gateway: only its own packets are dropped
)

// Metrics are a node's counters. All methods are safe for concurrent use.
// Metrics is a prometheus.Collector; a node registers its own on a registry
// of its own, never on the global one (several nodes share a test process).
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
	// KeyTrials counts Sphinx unwraps tried, one key exchange each: a
	// packet costs one per epoch key tried on it.
	KeyTrials atomic.Uint64

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
	KeyTrials                                         uint64
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
		KeyTrials:   m.KeyTrials.Load(),
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

// The node's metrics as Prometheus exports them. The names, labels and help
// texts are what dashboards use: change them only with docs/operations.md.
var (
	descReceived = prometheus.NewDesc("komrade_packets_received_total",
		"Frames received, by link type.", []string{"link"}, nil)
	descForwarded = prometheus.NewDesc("komrade_packets_forwarded_total",
		"Packets sent on to the next mix.", nil, nil)
	descDelivered = prometheus.NewDesc("komrade_packets_delivered_total",
		"Replies handed to connected clients.", nil, nil)
	descReplays = prometheus.NewDesc("komrade_replays_total",
		"Packets dropped as replays.", nil, nil)
	descExit = prometheus.NewDesc("komrade_exit_requests_total",
		"Exit requests served, by operation.", []string{"op"}, nil)
	descDropped = prometheus.NewDesc("komrade_packets_dropped_total",
		"Packets dropped, by reason.", []string{"reason"}, nil)
	descQueue = prometheus.NewDesc("komrade_queue_length",
		"Packets waiting in the delay queue.", nil, nil)
	descLoops = prometheus.NewDesc("komrade_loops_total",
		"Node loop cover packets, by outcome.", []string{"state"}, nil)
	descKeyTrials = prometheus.NewDesc("komrade_unwrap_key_trials_total",
		"Sphinx unwraps tried (one key exchange each; a packet costs one per epoch key tried).", nil, nil)
)

// dropReasons are the reasons a node can drop a packet for. Each is exported
// from the start, at 0 until its first drop, so that rates and alerts work
// on a fresh node. (Fault-injection tests add "injected", exported once
// seen.)
var dropReasons = []string{
	DropUnwrap, DropReplay, DropDelayTooLong, DropQueueFull, DropOverload,
	DropUnknownHop, DropLinkFull, DropNoClient, DropClientFull, DropBadEnvelope,
	DropBadCommands, DropTruncated, DropShuttingDown, DropUnknownPeer,
	DropStorageBusy, DropLinkError, DropClientQueueFull,
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descForwarded, descDelivered,
		descReplays, descExit, descDropped, descQueue, descLoops, descKeyTrials} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it exports a Snapshot of the
// counters. The counters stay plain atomics, so that the packet path pays
// no more than an atomic add for them.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.Snapshot()
	counter := func(d *prometheus.Desc, v uint64, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label...)
	}
	counter(descReceived, s.ReceivedMix, "mix")
	counter(descReceived, s.ReceivedClient, "client")
	counter(descForwarded, s.Forwarded)
	counter(descDelivered, s.Delivered)
	counter(descReplays, s.Replays)
	counter(descExit, s.ExitDrop, "drop")
	counter(descExit, s.ExitEcho, "echo")
	counter(descExit, s.ExitStorage, "storage")
	for _, r := range dropReasons {
		counter(descDropped, s.Dropped[r], r)
	}
	for r, v := range s.Dropped {
		if !slices.Contains(dropReasons, r) {
			counter(descDropped, v, r)
		}
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(s.QueueLength))
	counter(descLoops, s.LoopsSent, "sent")
	counter(descLoops, s.LoopsReturned, "returned")
	counter(descLoops, s.LoopsLost, "lost")
	counter(descKeyTrials, s.KeyTrials)
}
