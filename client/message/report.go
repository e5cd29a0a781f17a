package message

import (
	"encoding/binary"
	"fmt"
)

// Reports about lost boxes. A reader that finds a box of its contact's
// stream missing while a later one is stored asks the writer, in its own
// stream, to write the box again; the writer answers that it cannot when it
// no longer has the box's exact bytes; the reader says when it gave up. A
// report travels as the one-part body of a KindReport frame:
//
//	op 1 | count 1 | count × box index 8 (big-endian, strictly increasing)

// ReportOp is what a report says about the boxes it names.
type ReportOp uint8

// Report operations. Missing and Lost name boxes of the stream that the
// report's reader writes (the report's writer reads it); Gone names boxes
// of the stream that the report's writer writes.
const (
	// ReportMissing asks: these boxes of your stream are missing while a
	// later one is stored; write them again.
	ReportMissing ReportOp = 1
	// ReportLost says: I gave up waiting for these boxes of your stream;
	// they are lost.
	ReportLost ReportOp = 2
	// ReportGone says: I cannot write these boxes of my stream again; take
	// them as lost.
	ReportGone ReportOp = 3
)

// MaxReport bounds how many boxes one report names.
const MaxReport = 16

// Report is a decoded report body.
type Report struct {
	Op      ReportOp
	Indexes []uint64 // strictly increasing box indexes
}

// EncodeReport lays out r as a report body.
func EncodeReport(r Report) ([]byte, error) {
	if r.Op < ReportMissing || r.Op > ReportGone || len(r.Indexes) == 0 || len(r.Indexes) > MaxReport {
		return nil, fmt.Errorf("message: bad report (op %d, %d boxes)", r.Op, len(r.Indexes))
	}
	out := []byte{byte(r.Op), byte(len(r.Indexes))}
	for i, x := range r.Indexes {
		if i > 0 && x <= r.Indexes[i-1] {
			return nil, fmt.Errorf("message: report indexes not increasing")
		}
		out = binary.BigEndian.AppendUint64(out, x)
	}
	return out, nil
}

// DecodeReport checks the size, operation and order of a report body and
// returns it.
func DecodeReport(b []byte) (*Report, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: report of %d bytes", ErrFrame, len(b))
	}
	op, n := ReportOp(b[0]), int(b[1])
	if op < ReportMissing || op > ReportGone {
		return nil, fmt.Errorf("%w: report op %d", ErrFrame, b[0])
	}
	if n < 1 || n > MaxReport || len(b) != 2+8*n {
		return nil, fmt.Errorf("%w: report of %d bytes naming %d boxes", ErrFrame, len(b), n)
	}
	r := &Report{Op: op, Indexes: make([]uint64, n)}
	for i := range n {
		r.Indexes[i] = binary.BigEndian.Uint64(b[2+8*i:])
		if i > 0 && r.Indexes[i] <= r.Indexes[i-1] {
			return nil, fmt.Errorf("%w: report indexes not increasing", ErrFrame)
		}
	}
	return r, nil
}
