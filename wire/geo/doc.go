// Package geo is the geography of Komrade's local features (area posts,
// local profiles, danger pins, protest alerts): points, distances and
// bearings, the cells that area sets are named by, and the choice of the
// cells a reader fetches. It is pure computation on the standard library,
// used alike by clients and by storage nodes, and imports neither.
//
// # Points
//
// A Point is latitude and longitude in decimal degrees on a sphere of
// EarthRadiusM. ParsePoint reads "LAT,LON"; Distance (haversine, metres),
// Bearing (initial great-circle bearing, degrees) and Compass (N, NE, …)
// give a map pin's distance and direction.
//
// # Cells
//
// Cells are geohash cells: a geohash of n characters (level n, 1..12)
// names a rectangle of latitude and longitude, and a geohash extended by a
// character names one of its 32 parts. Levels alternate between squares in
// degrees (odd levels) and 2:1 rectangles (even levels); level 5 is about
// 4.9 km, level 7 about 150 m on the equator (CellSize), and east–west
// sizes shrink with the cosine of the latitude.
//
// An area entry for a circle is written to every cell of its Cover: the
// cells, of the finest level at which there are at most 12 of them, that
// meet the circle's bounding box. The box is exact on the sphere: a circle
// that holds a pole holds every longitude, and one that crosses the
// antimeridian takes cells on both sides. Readers filter what they read by
// true distance, since cells hold more than the circle.
//
// Sets of different levels are different sets: an entry written at level 7
// is not in any level-5 set. Cover's level depends on the circle's size,
// latitude and alignment to the cell grid, so two circles of the same
// radius may get different levels. A protocol on this package must make
// writers and readers agree on the level: derive it from an agreed radius
// alone (LevelFor) and use CoverAt, or have readers read every level that
// writers may use. Region takes its level from Cover; at a fixed level, a
// reader's region is the ancestors (Cell.Ancestor) of its CoverAt cells.
// The decoy functions work at any level.
//
// Pins are snapped (Snap) to the centre of a cell of about the size the
// user chooses, 150 m by default, so a published pin tells no more than its
// cell.
//
// # What storage nodes and exits learn
//
// The key of an area set is its cell (AreaKey, in the clear: hashing would
// not hide it, as every cell of the levels in use can be hashed in an
// afternoon; level 7 has 3.4·10^10), and a set lives on the
// storage nodes closest to the hash of its key. Storage nodes therefore
// learn the cells of every entry they hold and of every read they serve,
// and the exit of a read learns the cell it asks for; neither learns who
// reads, since reads come through the mix network. What reads betray is
// which places are watched, and how often: a fine cell read every few
// minutes says that someone near there uses Komrade, and a cell only one
// user reads links all of that user's reads.
//
// Region blunts this: a reader fetches the cells RegionUp (2) levels above
// its Cover, each 1024 times larger, so a reader watching 150 m around it
// reads 4.9 km cells, shared by every watcher in them. Decoy cells hide which
// places are watched at all, at the cost of one read each, and only if an
// observer cannot tell them from real reads:
//
//   - Decoys draws cells uniformly by area over the Earth. Most are sea or
//     empty land, so an observer with a population map discards them and
//     learns the real cell as if there were none. It is the fallback.
//   - SiblingDecoys draws cells within the real cells' ancestors (say two
//     levels further up). The observer learns the ancestor, a region of
//     about 156 km for a 4.9 km read, but not which of its cells is
//     watched; within it decoys are as plausible as the ancestor's land is
//     even.
//   - PoolDecoys draws from cells that other users published to (the cells
//     of entries the reader has seen). Such reads look like real ones,
//     because they are places people post about; the observer learns that
//     the reader watches one of n+1 live places.
//
// Decoys must be read like real cells: on the same schedule, in shuffled
// order (Shuffle), and the same decoys every time. Fresh decoys at every
// poll leave the real cells as the only ones read again and again, which
// any observer of read rates sees; so draw them once, keep them with the
// watched area, and draw again only when it changes (or pass a reader that
// is a keyed stream derived from a stored secret and the area).
package geo
