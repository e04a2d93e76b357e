package demo

import "sync"

// MaxStreamsPerUser caps the event streams one user holds open on a node.
// Each stream holds a connection, a goroutine and a subscription with its
// own event buffer for as long as the page stays open, so a signed-in user
// who opened them without end could take what every other user needs. A
// few browser tabs on a few devices stay well under it.
const MaxStreamsPerUser = 8

// streamSlots counts each user's open event streams on one node.
type streamSlots struct {
	mu   sync.Mutex
	open map[string]int // guarded by mu; users with none are absent
}

// take reserves a stream for user, or reports that the user has
// MaxStreamsPerUser open already. Each true must be followed by a give.
func (s *streamSlots) take(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[user] >= MaxStreamsPerUser {
		return false
	}
	if s.open == nil {
		s.open = map[string]int{}
	}
	s.open[user]++
	return true
}

// give returns the stream take reserved.
func (s *streamSlots) give(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[user]--; s.open[user] <= 0 {
		delete(s.open, user)
	}
}
