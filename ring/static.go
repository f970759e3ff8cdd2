package ring

import "sync"

// Static is a View source that changes only when Set is called: for
// tests and tools that decide membership themselves. Safe for concurrent
// use.
type Static struct {
	mu sync.Mutex
	v  *View
}

// NewStatic starts with v.
func NewStatic(v *View) *Static { return &Static{v: v} }

// View returns the current View.
func (s *Static) View() *View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

// Set replaces the View and marks the old one changed.
func (s *Static) Set(v *View) {
	s.mu.Lock()
	old := s.v
	s.v = v
	s.mu.Unlock()
	close(old.changed)
}
