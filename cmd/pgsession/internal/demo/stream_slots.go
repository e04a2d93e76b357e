package demo

import "sync"

// MaxStreamsPerUser caps the event streams one user holds open on a node.
// Each stream holds a connection, a goroutine and a subscription with its
// own event buffer for as long as the page stays open, so a signed-in user
// who opened them without end could take what every other user needs. A
// few browser tabs on a few devices stay well under it.
const MaxStreamsPerUser = 8

// DefaultMaxStreams caps the event streams of all users on a node
// (Options.MaxStreams). Users cost nothing to create in the demo, so the
// per-user cap alone does not bound a node.
const DefaultMaxStreams = 1000

// streamSlots counts the open event streams on one node, in all and per
// user.
type streamSlots struct {
	max   int // in all
	mu    sync.Mutex
	total int            // guarded by mu
	open  map[string]int // guarded by mu; users with none are absent
}

// streamRefusal says why take refused a stream.
type streamRefusal int

const (
	streamGranted streamRefusal = iota
	userStreamsFull
	nodeStreamsFull
)

// take reserves a stream for user, or says which cap is reached. Each
// streamGranted must be followed by a give.
func (s *streamSlots) take(user string) streamRefusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.open[user] >= MaxStreamsPerUser:
		return userStreamsFull
	case s.total >= s.max:
		return nodeStreamsFull
	}
	if s.open == nil {
		s.open = map[string]int{}
	}
	s.open[user]++
	s.total++
	return streamGranted
}

// give returns the stream take reserved.
func (s *streamSlots) give(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.open[user]--; s.open[user] <= 0 {
		delete(s.open, user)
	}
}
