package packet

import (
	"errors"
	"fmt"

	"github.com/komrade-net/komrade/dht/detcbor"
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

// Typed failures of storage operations.
const (
	StatusQuota    Status = 3 // a per-key or per-source quota is exhausted
	StatusNotFound Status = 4 // nothing stored under the key
	StatusTimeout  Status = 5 // the storage nodes did not answer in time
	StatusTooLarge Status = 6 // the item or record exceeds its size limit
	StatusReplicas Status = 7 // fewer than the quorum stored the write
	StatusStale    Status = 8 // a newer record is already stored
	StatusBusy     Status = 9 // the exit is overloaded; try another path
)

// Errors a client gets for non-OK statuses; test with errors.Is.
var (
	ErrBadOp    = errors.New("exit: unknown operation")
	ErrInvalid  = errors.New("exit: invalid request or record")
	ErrQuota    = errors.New("exit: quota exceeded")
	ErrNotFound = errors.New("exit: not found")
	ErrTimeout  = errors.New("exit: storage timed out")
	ErrTooLarge = errors.New("exit: too large")
	ErrReplicas = errors.New("exit: not enough replicas")
	ErrStale    = errors.New("exit: a newer record is stored")
	ErrBusy     = errors.New("exit: busy")
)

// Err returns the error for a status, or nil for StatusOK.
func (s Status) Err() error {
	switch s {
	case StatusOK:
		return nil
	case StatusBadOp:
		return ErrBadOp
	case StatusInvalid:
		return ErrInvalid
	case StatusQuota:
		return ErrQuota
	case StatusNotFound:
		return ErrNotFound
	case StatusTimeout:
		return ErrTimeout
	case StatusTooLarge:
		return ErrTooLarge
	case StatusReplicas:
		return ErrReplicas
	case StatusStale:
		return ErrStale
	case StatusBusy:
		return ErrBusy
	}
	return fmt.Errorf("exit: unknown status %d", uint8(s))
}

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
