package social

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/komrade-net/komrade/client/photo"
	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/record"
)

// Images on the network. An image (a post's, or a profile's photo) is
//
//   - a thumbnail record: a /kpost/ record whose body is the thumbnail, a
//     baseline JPEG of at most photo.ThumbMax bytes (photo.DecodeThumb);
//   - chunk records: /kpost/ records whose bodies are the full image's
//     chunks of photo.ChunkSize bytes, in order;
//   - a manifest record: a /kpost/ record whose body is a photo.Manifest
//     encoding (dimensions, size, chunk size) whose Hashes are the /kpost/
//     keys of the chunk records, not the hashes of the chunks' bytes. A
//     record's key is the hash of the whole record, so it proves the chunk
//     inside it as well; the two lists together would not fit one record
//     at photo.MaxChunks chunks.
//
// Each record is signed by a key made for it alone, so nothing links the
// records to each other or to the author. An ImageRef names the thumbnail
// and manifest records. A reader checks each record against its key (its
// hash), which chains every chunk to the post id or profile that named the
// image, then photo.Assemble checks chunk lengths, that the whole is a JPEG
// and its dimensions.

// MaxImageRef is the longest encoded ImageRef.
const MaxImageRef = 128

// EncodeImageRef checks r and returns its encoding (a profile's Photo).
func EncodeImageRef(r *ImageRef) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: no image reference", ErrMalformed)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return detcbor.Marshal(r)
}

// DecodeImageRef decodes and checks an image reference from the network.
func DecodeImageRef(b []byte) (*ImageRef, error) {
	if len(b) > MaxImageRef {
		return nil, fmt.Errorf("%w: image reference of %d bytes", ErrMalformed, len(b))
	}
	var r ImageRef
	if err := dec.UnmarshalCanonical(b, &r); err != nil {
		return nil, fmt.Errorf("%w: image reference: %v", ErrMalformed, err)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// prepareImage reads an image from r and prepares it (photo.Prepare:
// upright, metadata gone, full image and thumbnail).
func prepareImage(r io.Reader) (*photo.Prepared, error) {
	p, err := photo.Prepare(r)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return p, nil
}

// imageRecords makes the records of a prepared image: the returned
// reference names the thumbnail and manifest records; the records are to
// be stored before anything that refers to them.
func imageRecords(p *photo.Prepared, created, expires int64) (*ImageRef, []keyed, error) {
	m, chunks, err := p.Split()
	if err != nil {
		return nil, nil, fmt.Errorf("image: %w", err)
	}
	recs := make([]keyed, 0, len(chunks)+2)
	for i, c := range chunks {
		k, err := oneTimeRecord(c, created, expires)
		if err != nil {
			return nil, nil, err
		}
		m.Hashes[i] = k.hash // the chunk record's key (see above)
		recs = append(recs, k)
	}
	menc, err := m.Encode()
	if err != nil {
		return nil, nil, fmt.Errorf("image: manifest: %w", err)
	}
	mrec, err := oneTimeRecord(menc, created, expires)
	if err != nil {
		return nil, nil, err
	}
	trec, err := oneTimeRecord(p.Thumb, created, expires)
	if err != nil {
		return nil, nil, err
	}
	recs = append(recs, mrec, trec)
	ref := &ImageRef{Thumb: trec.hash, Manifest: mrec.hash, W: uint16(p.FullWidth), H: uint16(p.FullHeight)}
	if err := ref.check(); err != nil {
		return nil, nil, err
	}
	return ref, recs, nil
}

// ErrSealedImage is returned by Image for the image of a friends post,
// whose records only the friends stream can open.
var ErrSealedImage = errors.New("social: this image is sealed to the author's friends")

// Image fetches an image: its thumbnail, or with full its full image, and
// checks it (see the comment at the top of this file). Anything that does
// not check out is an error wrapping wire.ErrInvalid.
func (s *Social) Image(ctx context.Context, ref *ImageRef, full bool) ([]byte, error) {
	if ref == nil || ref.check() != nil {
		return nil, fmt.Errorf("%w: image reference", ErrMalformed)
	}
	if len(ref.Key) != 0 {
		return nil, ErrSealedImage
	}
	if !full {
		b, err := s.fetchBody(ctx, ref.Thumb)
		if err != nil {
			return nil, fmt.Errorf("social: thumbnail: %w", err)
		}
		if _, err := photo.DecodeThumb(b); err != nil {
			return nil, fmt.Errorf("%w: thumbnail: %v", ErrMalformed, err)
		}
		return b, nil
	}
	mb, err := s.fetchBody(ctx, ref.Manifest)
	if err != nil {
		return nil, fmt.Errorf("social: image manifest: %w", err)
	}
	m, err := photo.DecodeManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%w: image manifest: %v", ErrMalformed, err)
	}
	if m.Width != int(ref.W) || m.Height != int(ref.H) {
		return nil, fmt.Errorf("%w: the manifest's dimensions are not the reference's", ErrMalformed)
	}
	chunks := make([][]byte, len(m.Hashes))
	if err := s.parallel(ctx, len(chunks), func(ctx context.Context, i int) error {
		var err error
		chunks[i], err = s.fetchBody(ctx, m.Hashes[i])
		return err
	}); err != nil {
		return nil, fmt.Errorf("social: image chunks: %w", err)
	}
	return assemble(m, chunks)
}

// assemble joins the chunks of an image whose manifest names the chunk
// records: their integrity is checked already, by their keys, so
// photo.Join checks only what is left (lengths, the JPEG's dimensions).
func assemble(m *photo.Manifest, chunks [][]byte) ([]byte, error) {
	img, err := photo.Join(chunks, m.Size, m.ChunkSize, m.Width, m.Height)
	if err != nil {
		return nil, fmt.Errorf("%w: image: %v", ErrMalformed, err)
	}
	return img, nil
}

// fetchBody reads the /kpost/ record whose hash is h, checks it (its hash,
// its signature or proof-of-work) and returns its body.
func (s *Social) fetchBody(ctx context.Context, h [32]byte) ([]byte, error) {
	raw, err := s.getRecord(ctx, PostID(h).Key())
	if err != nil {
		return nil, err
	}
	p, err := decodeRecord(h, raw, 0)
	if err != nil {
		return nil, err
	}
	return p.Body, nil
}

// getRecord reads a record through the mix network, trying again when
// the answer does not come.
func (s *Social) getRecord(ctx context.Context, key string) ([]byte, error) {
	var raw []byte
	err := s.retry(ctx, func(c context.Context) error {
		var err error
		raw, err = s.c.GetRecord(c, key)
		return err
	})
	return raw, err
}

// decodeRecord checks that raw is the /kpost/ record with hash h (a signed
// one, or an anonymous one with powBits of work) and decodes it. Every
// failure wraps wire.ErrInvalid.
func decodeRecord(h [32]byte, raw []byte, powBits int) (*record.Post, error) {
	if len(raw) > record.MaxValue {
		return nil, fmt.Errorf("%w: record of %d bytes", ErrMalformed, len(raw))
	}
	if sha256.Sum256(raw) != h {
		return nil, fmt.Errorf("%w: the record is not the one its key names", ErrMalformed)
	}
	p, err := record.DecodePost(raw, powBits)
	if err != nil {
		if errors.Is(err, wire.ErrInvalid) {
			return nil, fmt.Errorf("social: record: %w", err)
		}
		return nil, fmt.Errorf("%w: record: %v", ErrMalformed, err)
	}
	return p, nil
}
