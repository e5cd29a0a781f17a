// Package sets is Komrade's multi-writer replicated set service (design §6,
// "Sets"). A kad-dht record holds one value per key; a set holds many items
// under one key, written by many people: first-contact introductions, votes,
// local-area feeds, the world feed index, event RSVPs and map pins.
//
// # How it fits
//
// Every mix node runs a [Service] next to its kad-dht. A set is identified by
// a namespace and a key; it lives on the [Options.Replication] nodes closest
// to SHA-256("komrade/set/v1" ‖ namespace ‖ key) in the DHT's keyspace, found
// with kad-dht GetClosestPeers. Clients never talk to the DHT: the exit node
// of the mix network calls [Service.Append] and [Service.Scan] on a client's
// behalf, so storage nodes only ever see the exit node, never the client.
//
// # Items and rules
//
// Items and each namespace's rules are defined in wire/setitem, because
// clients build them too. Storage nodes check the rules on every item they
// accept and also rate-limit each remote peer. The hourly cap of a
// namespace (setitem.Rules.MaxItemsPerKeyPerHour) applies to appends only:
// the [Store] counts, per set and hour of the node's clock, the items
// appends stored (in the append's own bbolt transaction, so restarts keep
// the counts), while items that re-replication pushes were accepted by
// another replica within its own hour and pass, so that replicas converge.
// Only storage nodes re-replicate: a push from any other peer
// ([Options.Replica] says which) is counted and capped as an append.
// Refusals carry a wire.Status and keep their type across the wire.
//
// # Replication
//
// Append needs acknowledgements from Replication nodes (or from all nodes, if
// the network is smaller). Scan asks as many replicas, merges and
// deduplicates their answers, and returns items in a deterministic order
// (expiry, then id) with an opaque paging cursor. [Service.Run] sweeps expired
// items and periodically re-replicates: for each set a node holds, it looks up
// the current closest nodes, asks them which item ids they lack and pushes
// those, so the replication factor is restored when nodes leave or closer ones
// join. Items live in a bbolt file ([Store]).
//
// # Protocol
//
// The libp2p protocol [ProtocolID] carries one request and one response per
// stream. A frame is a big-endian uint32 length followed by that many bytes of
// deterministic CBOR, at most [MaxFrameSize]. Every decoder checks sizes
// before anything else and rejects non-canonical encodings.
package sets
