package engine

// FusedQDQ returns the number of QDQ groups the session runs as integer
// kernels in runs without observers (for tests).
func FusedQDQ(s *Session) int {
	n := 0
	for _, f := range s.main.qdq {
		if f != nil {
			n++
		}
	}
	return n
}
