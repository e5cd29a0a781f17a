package social

// KeepEntryForBench keeps an encoded world entry in the local copy as the
// refresher does after reading it (benchmarks fill a local copy with it).
func KeepEntryForBench(s *Social, raw []byte, expires int64) error {
	e, err := DecodeEntry(raw)
	if err != nil {
		return err
	}
	l, err := lineOfEntry(e.Post, raw)
	if err != nil {
		return err
	}
	return s.keep(e.Post, srcWorld, proofEntry, raw, l, expires)
}
