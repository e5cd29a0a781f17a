// Package setitem is the format of an item of a replicated set (votes,
// introductions, feed index entries, RSVPs, pins) and the rules of each
// namespace: what a client builds and signs and solves proof-of-work for,
// and what every storage node checks before it stores an item. The set
// protocol between storage nodes is dht/sets; clients reach sets only
// through an exit (wire.OpAppend, wire.OpScan).
//
// An Item is deterministic CBOR; its id is the SHA-256 of that encoding.
// Each namespace has Rules: an item size limit, a maximum lifetime (every
// item carries its own expiry), proof-of-work for anonymous namespaces, an
// optional deduplication key (the nullifier: among items of a set with the
// same nullifier only the one with the latest expiry is kept, so a voter can
// change a vote; it is an Ed25519 public key that signs the item, so nobody
// else can), a cap on items per set and a cap on the items a set takes by
// append in an hour. Refusals unwrap to wire's sentinel
// errors (wire.ErrTooLarge, wire.ErrPoW, ...).
package setitem
