package wire

import (
	"fmt"

	"github.com/komrade-net/komrade/internal/detcbor"
)

// Storage operations an exit performs on a client's behalf. Their bodies are
// deterministic CBOR; replies carry a Status and, on success, a result.
const (
	// OpPutRecord stores a DHT record (RecordRequest with Value); the reply
	// comes only once the write is on the replication quorum (PutResult).
	OpPutRecord Op = 4
	// OpGetRecord reads a record (RecordRequest without Value); the reply
	// body is the value.
	OpGetRecord Op = 5
	// OpPutBox fills a mailbox box (BoxRequest with Value).
	OpPutBox Op = 6
	// OpGetBox reads a mailbox box (BoxRequest); the reply body is the value.
	OpGetBox Op = 7
	// OpAppend adds an item to a replicated set (body: an encoded set item);
	// the reply (PutResult) comes once the quorum stored it.
	OpAppend Op = 8
	// OpScan reads a page of a set (ScanRequest); the reply is a ScanResult.
	OpScan Op = 9
)

// RecordRequest names a record (and carries its value for a put).
type RecordRequest struct {
	Key   string `cbor:"1,keyasint"`
	Value []byte `cbor:"2,keyasint,omitempty"`
}

// BoxRequest names a box by id (and carries its value for a put).
type BoxRequest struct {
	ID    [32]byte `cbor:"1,keyasint"`
	Value []byte   `cbor:"2,keyasint,omitempty"`
}

// PutResult reports how many storage nodes acknowledged a write.
type PutResult struct {
	Replicas int `cbor:"1,keyasint"`
}

// ScanRequest asks for a page of a set.
type ScanRequest struct {
	Namespace string `cbor:"1,keyasint"`
	Key       []byte `cbor:"2,keyasint"`
	Cursor    []byte `cbor:"3,keyasint,omitempty"`
	Limit     int    `cbor:"4,keyasint"`
}

// ScanResult is a page of set items (each an encoded item) and the cursor
// of the next page (empty at the end).
type ScanResult struct {
	Items [][]byte `cbor:"1,keyasint"`
	Next  []byte   `cbor:"2,keyasint,omitempty"`
}

var bodyDec = detcbor.NewDecoder(256, 4)

// EncodeBody encodes a request or result body.
func EncodeBody(v any) ([]byte, error) {
	b, err := detcbor.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRequestBody {
		return nil, fmt.Errorf("packet: body of %d bytes exceeds %d", len(b), MaxRequestBody)
	}
	return b, nil
}

// DecodeBody decodes a request or result body, checking its size first.
func DecodeBody(b []byte, v any) error {
	if len(b) > MaxRequestBody {
		return fmt.Errorf("%w: body too long", ErrEnvelope)
	}
	if err := bodyDec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	return nil
}
