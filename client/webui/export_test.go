package webui

import "time"

// SetClock makes the server read the time from now (login codes and
// sessions expire by it).
func (s *Server) SetClock(now func() time.Time) { s.now = now }
