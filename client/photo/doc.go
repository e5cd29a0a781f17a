// Package photo is the image pipeline of Komrade's social layer: it turns
// the picture a user picks for a profile or a post into what is published,
// and checks what comes back from the network before anything shows it.
//
// A profile carries one photo, and a post at most one image; both are
// handled the same way. Prepare takes a JPEG, PNG or GIF (its first frame)
// of at most MaxInput bytes, refuses anything else and refuses decompression
// bombs by their declared dimensions before decoding them. It turns a JPEG
// upright by its EXIF orientation, composites transparency onto white,
// scales the picture down (never up) to a full image of at most FullSide
// pixels on the long side and a thumbnail of at most ThumbSide, and encodes
// both again with image/jpeg as baseline JPEGs. The encoder writes no
// metadata segment at all, so EXIF (GPS position, camera serial, time), XMP
// and comments of the original are gone, and the encoded pixels are the
// only thing of the original that is published.
//
// The thumbnail (at most ThumbMax bytes) travels inside the profile or post
// record itself, next to the text. The full image is split by Split into
// content-addressed chunks of at most ChunkSize bytes, each of which fits one
// /kpost/ record, and described by a Manifest (the SHA-256 of each chunk, in
// order, the total size and the dimensions), which itself fits one record.
// A reader fetches the manifest and the chunks, and Assemble puts the image
// back together only if every chunk, the total and the JPEG's dimensions
// match the manifest. DecodeManifest and DecodeThumb check sizes before
// anything else, as every decoder of network bytes in Komrade does.
//
// The package is pure: it does no network or disk input and output, keeps no
// state and starts no goroutine.
package photo
