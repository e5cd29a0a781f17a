package social

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/komrade-net/komrade/wire/record"
)

// Post is a post as a reader sees it, checked: the head record's
// signature or proof-of-work, its body, and every continuation record
// against the hash the head names.
type Post struct {
	ID PostID
	// Text is the whole text (head and continuations).
	Text string
	// Author is the identity key that signed the post, nil if anonymous.
	Author  ed25519.PublicKey
	Created time.Time // the author's claim
	Expires time.Time
	To      Audience
	// Reply is the parent of a reply, nil otherwise.
	Reply *PostID
	// Area is the circle of an area post (its centre snapped to about
	// 150 m by the author's client), nil otherwise.
	Area *Area
	// Image is the post's image (see Image), nil without one.
	Image *ImageRef
}

// Fetch reads post id through the mix network and checks it. A post that
// does not check out is an error wrapping wire.ErrInvalid; one that is not
// stored (never was, or expired) wraps wire.ErrNotFound.
func (s *Social) Fetch(ctx context.Context, id PostID) (*Post, error) {
	raw, err := s.getRecord(ctx, id.Key())
	if err != nil {
		return nil, fmt.Errorf("social: post %s: %w", id, err)
	}
	p, b, err := decodeHead(id, raw, s.c.Params().PoWBits)
	if err != nil {
		return nil, fmt.Errorf("social: post %s: %w", id, err)
	}
	parts := make([][]byte, len(b.More))
	if err := s.parallel(ctx, len(parts), func(ctx context.Context, i int) error {
		var err error
		parts[i], err = s.fetchRaw(ctx, b.More[i])
		return err
	}); err != nil {
		return nil, fmt.Errorf("social: post %s: continuation: %w", id, err)
	}
	return assemblePost(id, p, b, parts)
}

// fetchRaw reads the record whose hash is h and returns it unchecked
// (assemblePost checks it).
func (s *Social) fetchRaw(ctx context.Context, h [32]byte) ([]byte, error) {
	return s.getRecord(ctx, PostID(h).Key())
}

// decodeHead checks that raw is post id's head record, signed or with
// powBits of proof-of-work, and decodes its body.
func decodeHead(id PostID, raw []byte, powBits int) (*record.Post, *Body, error) {
	p, err := decodeRecord(id, raw, powBits)
	if err != nil {
		return nil, nil, err
	}
	b, err := DecodeBody(p.Body)
	if err != nil {
		return nil, nil, err
	}
	return p, b, nil
}

// decodeMore checks a continuation record against its hash and returns
// its text.
func decodeMore(h [32]byte, raw []byte) (string, error) {
	p, err := decodeRecord(h, raw, 0)
	if err != nil {
		return "", err
	}
	if len(p.Body) == 0 || len(p.Body) > MoreText || !utf8.Valid(p.Body) {
		return "", fmt.Errorf("%w: continuation text", ErrMalformed)
	}
	return string(p.Body), nil
}

// assemblePost checks the continuation records parts (raw, in the order
// of b.More) and makes the post.
func assemblePost(id PostID, p *record.Post, b *Body, parts [][]byte) (*Post, error) {
	if len(parts) != len(b.More) {
		return nil, fmt.Errorf("%w: %d continuation records for %d", ErrMalformed, len(parts), len(b.More))
	}
	text := b.Text
	for i, raw := range parts {
		t, err := decodeMore(b.More[i], raw)
		if err != nil {
			return nil, err
		}
		text += t
	}
	if err := CheckText(text); err != nil {
		return nil, fmt.Errorf("%w: text: %v", ErrMalformed, err)
	}
	out := &Post{ID: id, Text: text, Created: time.Unix(p.Created, 0).UTC(), Expires: time.Unix(p.Expires, 0).UTC(),
		To: b.To, Area: b.Area, Image: b.Image}
	if len(p.Author) != 0 {
		out.Author = ed25519.PublicKey(p.Author)
	}
	if len(b.Reply) == len(PostID{}) {
		r := PostID(b.Reply)
		out.Reply = &r
	}
	return out, nil
}
