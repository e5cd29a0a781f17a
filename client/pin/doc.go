// Package pin is Komrade's organizing layer on the map: danger pins,
// their confirmations, protest alerts, and the daemon's watch of the areas
// its user cares about (docs/pins.md has the whole protocol).
//
// All three are items of the network's "pin" set namespace, in the set of
// the level-4 geohash cell (social.AreaLevel, the cells of area posts)
// they concern, keyed "geohash:" ‖ cell. One scan of a cell's set gives a
// watcher every pin, alert and confirmation of that cell.
//
//   - A pin (kind, a position snapped to a cell of about 150 m, a short
//     note, its minute of creation, its display lifetime, 16 random bytes)
//     is anonymous: no signature, no nullifier, only the set's
//     proof-of-work. It is published after a random delay (30 s – 2 min
//     by default) that a daemon restart does not lose.
//   - A confirmation (pin id, still or gone, its minute) is signed by a
//     nullifier key derived from the user's vote secret and the pin id:
//     storage nodes keep one per identity per pin, the latest.
//   - An alert (text, a snapped centre, a radius of at most 25 km, its
//     minute, its lifetime, 16 random bytes) is anonymous like a pin and
//     goes at once to every cell its circle meets.
//
// Readers check every item as storage nodes do, then the body strictly
// (format.go); items that fail are counted as skipped. What a reader
// shows follows the rules of rules.go (View): expiry per kind, extended by
// "still" and shortened by "gone", confirmed at k distinct confirmers.
package pin
