// Package social is Komrade's public half: profiles, posts, feeds, follows
// and anonymous votes, built on the storage the mix nodes run (signed
// /kpost/ and /kprof/ records, and the replicated sets "world", "area",
// "reply" and "vote").
//
// Every write and read goes through the mix network as a request of
// package client, inside the λP stream; feed refreshes are background
// requests (client.Background) so that messages and mailbox polls go
// first. The daemon keeps a local copy of what its user reads, so that
// `komrade feed` answers at once.
//
// What travels, in short (docs/social.md has the whole protocol):
//
//   - A post is a head record (/kpost/, key = hash of the record), signed
//     by its author or, anonymous, stamped with proof-of-work; its Body is
//     a Body: the text (or its first part; continuation records follow),
//     an ImageRef, the parent of a reply, the area it is for.
//   - Feeds are sets of Entry items: each carries what a feed line needs
//     (post id, author, time, a preview of the text, the thumbnail's key),
//     signed by the author (or anonymous: the set item's proof-of-work).
//   - Images (package client/photo) are a thumbnail record and a manifest
//     record naming the chunk records of the full image.
//
// The formats are in format.go (post bodies, feed entries), image.go
// (image references and records) and profile.go (profile listings); the
// other files build on them. Publishing: publish.go (Post, WorldKey),
// fetch.go (Fetch), image.go (Image), profile.go (SetProfile, Profile).
package social
