package scsstore

import (
	"sync"

	"github.com/pgsession/pgsession"
)

// seenSet remembers session IDs in two generations of up to half entries
// each: when the current one fills, it becomes the previous one and the
// one before is dropped. An ID is thus kept until at least half other IDs
// have been added after it, in bounded memory and with no per-entry
// bookkeeping. Adding an ID again moves it to the current generation.
type seenSet struct {
	half int // entries per generation; set before use

	mu   sync.Mutex
	cur  map[pgsession.ID]struct{} // guarded by mu
	prev map[pgsession.ID]struct{} // guarded by mu
}

func (s *seenSet) add(id pgsession.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[id]; ok {
		return
	}
	if s.cur == nil {
		s.cur = map[pgsession.ID]struct{}{}
	}
	s.cur[id] = struct{}{}
	if len(s.cur) >= s.half {
		s.prev, s.cur = s.cur, nil
	}
}

func (s *seenSet) has(id pgsession.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[id]; ok {
		return true
	}
	_, ok := s.prev[id]
	return ok
}
