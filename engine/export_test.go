package engine

// FusedQDQ returns the number of QDQ groups the session runs as integer
// kernels in runs without observers (for tests), building those runs'
// steps first if no such run has.
func FusedQDQ(s *Session) int {
	s.main.ensureFused()
	n := 0
	for _, f := range s.main.qdq {
		if f != nil {
			n++
		}
	}
	return n
}
