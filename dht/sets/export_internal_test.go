package sets

import "github.com/libp2p/go-libp2p/core/peer"

// streamsOf is how many of p's inbound streams s holds.
func (s *Service) streamsOf(p peer.ID) int {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	return s.peerStreams[p]
}
