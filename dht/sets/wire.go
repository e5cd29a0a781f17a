package sets

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/komrade-net/komrade/internal/detcbor"
	"github.com/komrade-net/komrade/wire"
	"github.com/komrade-net/komrade/wire/setitem"
)

// ProtocolID is the libp2p protocol of the set service.
const ProtocolID = "/komrade/set/1.0.0"

// Protocol limits.
const (
	// MaxFrameSize is the largest frame (request or response) accepted.
	MaxFrameSize = 1 << 20
	// MaxScanLimit is the most items one Scan page returns.
	MaxScanLimit = 256
	// DefaultScanLimit is the page size when Scan is given limit <= 0.
	DefaultScanLimit = 64

	// maxPushItems is the most items in one replication push.
	maxPushItems = 256
	// maxDigestIDs is the most item ids in one "which do you lack" request.
	maxDigestIDs = 4096
	// maxScanBytes bounds the items of a scan page or a push, leaving room
	// for the rest of the frame.
	maxScanBytes = MaxFrameSize - 16<<10
	// maxArrayElements is the frame decoder's bound on any CBOR array.
	maxArrayElements = maxDigestIDs
)

var dec = detcbor.NewDecoder(maxArrayElements, 4)

// op is a request type.
type op uint8

const (
	opAppend op = 1 + iota // Items: one item to store
	opScan                 // NS, Key, Cursor, Limit: read a page
	opHave                 // NS, Key, IDs: which of these ids are missing?
	opPush                 // Items: replicated items (any sets)
)

// request is the one frame a client sends on a stream.
type request struct {
	Op     uint8    `cbor:"1,keyasint"`
	NS     string   `cbor:"2,keyasint,omitempty"`
	Key    []byte   `cbor:"3,keyasint,omitempty"`
	Items  [][]byte `cbor:"4,keyasint,omitempty"`
	Cursor []byte   `cbor:"5,keyasint,omitempty"`
	Limit  uint32   `cbor:"6,keyasint,omitempty"`
	IDs    [][]byte `cbor:"7,keyasint,omitempty"`
}

// response is the one frame a server answers with. Code is wire.StatusOK on
// success, otherwise the error's status, and Msg a short reason.
type response struct {
	Code    wire.Status `cbor:"1,keyasint"`
	Msg     string      `cbor:"2,keyasint,omitempty"`
	Items   [][]byte    `cbor:"3,keyasint,omitempty"`
	Next    []byte      `cbor:"4,keyasint,omitempty"`
	Missing []uint32    `cbor:"5,keyasint,omitempty"`
	Stored  uint32      `cbor:"6,keyasint,omitempty"`
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("sets: "+format+": %w", append(args, wire.ErrInvalid)...)
}

// checkItems checks the count and sizes of encoded items (not their content).
func checkItems(items [][]byte, max int) error {
	if len(items) > max {
		return invalidf("%d items, at most %d", len(items), max)
	}
	total := 0
	for _, it := range items {
		if len(it) == 0 {
			return invalidf("empty item")
		}
		if len(it) > setitem.ItemSizeCap {
			return fmt.Errorf("sets: item of %d bytes exceeds %d: %w", len(it), setitem.ItemSizeCap, wire.ErrTooLarge)
		}
		total += len(it)
	}
	if total > maxScanBytes {
		return fmt.Errorf("sets: items of %d bytes exceed %d: %w", total, maxScanBytes, wire.ErrTooLarge)
	}
	return nil
}

// checkScanArgs checks a set's name and a paging cursor.
func checkScanArgs(ns string, key, cursor []byte) error {
	if !setitem.ValidNamespace(ns) {
		return invalidf("bad namespace")
	}
	if len(key) == 0 || len(key) > setitem.MaxKeySize {
		return invalidf("key of %d bytes, want 1..%d", len(key), setitem.MaxKeySize)
	}
	if len(cursor) != 0 && len(cursor) != cursorLen {
		return invalidf("cursor of %d bytes", len(cursor))
	}
	return nil
}

// clampLimit maps a requested page size into 1..MaxScanLimit.
func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultScanLimit
	case limit > MaxScanLimit:
		return MaxScanLimit
	}
	return limit
}

// check validates a request's shape for its op.
func (r *request) check() error {
	switch op(r.Op) {
	case opAppend, opPush:
		if r.NS != "" || r.Key != nil || r.Cursor != nil || r.Limit != 0 || r.IDs != nil {
			return invalidf("unexpected fields in op %d", r.Op)
		}
		if len(r.Items) == 0 {
			return invalidf("no items")
		}
		max := maxPushItems
		if op(r.Op) == opAppend {
			max = 1
		}
		return checkItems(r.Items, max)
	case opScan:
		if r.Items != nil || r.IDs != nil {
			return invalidf("unexpected fields in scan")
		}
		if r.Limit > MaxScanLimit {
			return invalidf("limit %d exceeds %d", r.Limit, MaxScanLimit)
		}
		return checkScanArgs(r.NS, r.Key, r.Cursor)
	case opHave:
		if r.Items != nil || r.Cursor != nil || r.Limit != 0 {
			return invalidf("unexpected fields in have")
		}
		if len(r.IDs) == 0 || len(r.IDs) > maxDigestIDs {
			return invalidf("%d ids, want 1..%d", len(r.IDs), maxDigestIDs)
		}
		for _, id := range r.IDs {
			if len(id) != idLen {
				return invalidf("id of %d bytes", len(id))
			}
		}
		return checkScanArgs(r.NS, r.Key, nil)
	}
	return invalidf("unknown op %d", r.Op)
}

// check validates a response's shape. Whether it fits the request is checked
// by the caller.
func (r *response) check() error {
	if !r.Code.Known() {
		return invalidf("unknown status %d", r.Code)
	}
	if len(r.Msg) > maxMsgLen || !utf8.ValidString(r.Msg) {
		return invalidf("bad message")
	}
	if err := checkItems(r.Items, MaxScanLimit); err != nil {
		return err
	}
	if len(r.Next) != 0 && len(r.Next) != cursorLen {
		return invalidf("cursor of %d bytes", len(r.Next))
	}
	if len(r.Missing) > maxDigestIDs {
		return invalidf("%d missing ids", len(r.Missing))
	}
	if r.Stored > maxPushItems {
		return invalidf("stored count %d", r.Stored)
	}
	return nil
}

// encodeFrame checks and encodes a request or response body.
func encodeFrame[T interface{ check() error }](v T) ([]byte, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	b, err := detcbor.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sets: encode frame: %w", err)
	}
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("sets: frame of %d bytes exceeds %d: %w", len(b), MaxFrameSize, wire.ErrTooLarge)
	}
	return b, nil
}

// decodeFrame decodes a frame body strictly: size first, then CBOR (no
// unknown fields, duplicate keys, indefinite lengths or tags; canonical
// encoding only), then the shape.
func decodeFrame[T any, P interface {
	*T
	check() error
}](b []byte) (*T, error) {
	if len(b) > MaxFrameSize {
		return nil, fmt.Errorf("sets: frame of %d bytes exceeds %d: %w", len(b), MaxFrameSize, wire.ErrTooLarge)
	}
	var v T
	if err := dec.UnmarshalCanonical(b, &v); err != nil {
		return nil, fmt.Errorf("sets: decode frame: %v: %w", err, wire.ErrInvalid)
	}
	if err := P(&v).check(); err != nil {
		return nil, err
	}
	return &v, nil
}

func decodeRequest(b []byte) (*request, error)   { return decodeFrame[request](b) }
func decodeResponse(b []byte) (*response, error) { return decodeFrame[response](b) }

// writeFrame writes a length-prefixed frame.
func writeFrame(w io.Writer, body []byte) error {
	if len(body) == 0 || len(body) > MaxFrameSize {
		return fmt.Errorf("sets: frame of %d bytes: %w", len(body), wire.ErrTooLarge)
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err := w.Write(append(buf, body...))
	return err
}

// readFrame reads a length-prefixed frame. The length is checked before
// anything is read, and the buffer grows only as data arrives, so a peer
// cannot make us allocate a frame it does not send.
func readFrame(r io.Reader) ([]byte, error) {
	n, err := readFrameHeader(r)
	if err != nil {
		return nil, err
	}
	return readFrameBody(r, n)
}

// readFrameHeader reads and checks a frame's length prefix.
func readFrameHeader(r io.Reader) (int, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, fmt.Errorf("sets: read frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return 0, invalidf("empty frame")
	}
	if n > MaxFrameSize {
		return 0, fmt.Errorf("sets: frame of %d bytes exceeds %d: %w", n, MaxFrameSize, wire.ErrTooLarge)
	}
	return int(n), nil
}

// readFrameBody reads the n bytes of a frame's body (n checked by
// readFrameHeader). io.ReadAll grows its buffer with the bytes that arrive,
// not with n.
func readFrameBody(r io.Reader, n int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("sets: read frame: %w", err)
	}
	if len(body) != n {
		return nil, fmt.Errorf("sets: frame of %d bytes ends after %d: %w", n, len(body), io.ErrUnexpectedEOF)
	}
	return body, nil
}
