package dht

import (
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Limits on what a peer sends the kad-dht server. kad-dht itself accepts
// messages of up to 4 MiB and allocates the claimed length as soon as it has
// read the length prefix, then waits up to a minute for the body: 768
// streams that each claimed 4 MiB held 3 GiB. Komrade's requests are far
// smaller (a record is at most record.MaxValue bytes, a descriptor
// pki.MaxDescriptorSize), so each inbound message is checked as it arrives.
const (
	// MaxRequestSize is the largest kad message a node accepts from a
	// peer. A PUT_VALUE of the largest descriptor with its key and the
	// protobuf framing is under 5 KiB; provider records carry a few
	// addresses.
	MaxRequestSize = 64 << 10
	// requestReadTimeout bounds the reading of one message, from the
	// first byte of its length prefix to its last byte. kad-dht's own
	// idle timeout (one minute) still applies between messages.
	requestReadTimeout = 10 * time.Second
)

var errRequestTooLarge = errors.New("dht: kad message exceeds MaxRequestSize")

// kadHost is the host handed to kad-dht: it wraps the inbound streams of
// kad-dht's handlers in a reader that enforces MaxRequestSize and
// requestReadTimeout.
type kadHost struct {
	host.Host
}

func (h kadHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) {
		handler(&cappedStream{Stream: s})
	})
}

func (h kadHost) SetStreamHandlerMatch(pid protocol.ID, m func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, m, func(s network.Stream) {
		handler(&cappedStream{Stream: s})
	})
}

// cappedStream follows the varint length-prefixed framing of the bytes
// read through it. A length above MaxRequestSize resets the stream before
// its body is read; while a message is being read the stream has a read
// deadline of requestReadTimeout from its first byte.
type cappedStream struct {
	network.Stream
	inMsg  bool   // between the first prefix byte and the last body byte
	prefix uint64 // length being decoded
	shift  uint
	body   uint64 // body bytes still to come; 0 while in the prefix
	err    error
}

func (s *cappedStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.Stream.Read(p)
	for _, b := range p[:n] {
		if !s.inMsg {
			s.inMsg = true
			_ = s.Stream.SetReadDeadline(time.Now().Add(requestReadTimeout))
		}
		if s.body > 0 {
			s.body--
			if s.body == 0 {
				s.endMsg()
			}
			continue
		}
		if s.shift >= 21 { // a fourth prefix byte: at least 2^21 > MaxRequestSize, or not minimal
			return s.fail(fmt.Errorf("%w: length prefix too long", errRequestTooLarge))
		}
		s.prefix |= uint64(b&0x7f) << s.shift
		s.shift += 7
		if b&0x80 != 0 {
			continue
		}
		if s.prefix > MaxRequestSize {
			return s.fail(fmt.Errorf("%w: %d bytes", errRequestTooLarge, s.prefix))
		}
		s.body = s.prefix
		s.prefix, s.shift = 0, 0
		if s.body == 0 {
			s.endMsg()
		}
	}
	return n, err
}

func (s *cappedStream) endMsg() {
	s.inMsg = false
	_ = s.Stream.SetReadDeadline(time.Time{})
}

// fail resets the stream: the reader (kad-dht's) has not seen the bytes of
// this Read, so it learns of the refusal as a read error.
func (s *cappedStream) fail(err error) (int, error) {
	s.err = err
	_ = s.Stream.Reset()
	return 0, err
}
