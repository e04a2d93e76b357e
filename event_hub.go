package pgsession

import (
	"context"
	"sync"
)

// eventHub fans session events out to subscribers. The listener (or the
// memory store, under its lock) calls publish, which only appends to each
// subscriber's queue: a subscriber that does not read costs memory up to
// its buffer, never time on the listener.
type eventHub struct {
	buffer int

	mu     sync.Mutex
	subs   map[*subscriber]struct{} // guarded by mu
	closed bool                     // guarded by mu
	wg     sync.WaitGroup           // subscribers' pumps
}

// subscriber is one Subscribe call: a bounded queue, and a goroutine that
// hands the queue to the caller's channel.
type subscriber struct {
	out  chan Event
	wake chan struct{} // capacity 1: "the queue is not empty"
	stop chan struct{} // closed when the hub closes

	mu    sync.Mutex
	queue []Event // guarded by mu
	full  bool    // guarded by mu; events were dropped since the last one queued
}

func newEventHub(buffer int) *eventHub {
	return &eventHub{buffer: buffer, subs: map[*subscriber]struct{}{}}
}

// subscribe starts a subscriber; false once the hub is closed.
func (h *eventHub) subscribe(ctx context.Context) (<-chan Event, bool) {
	s := &subscriber{out: make(chan Event), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	h.subs[s] = struct{}{}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.pump(ctx)
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		close(s.out)
	}()
	return s.out, true
}

// publish queues evs for every subscriber.
func (h *eventHub) publish(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(h.buffer, evs)
	}
}

// close ends every subscription: their channels close once their pumps
// stop, which close waits for.
func (h *eventHub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.stop)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// push queues evs; past buffer it drops them, and queues one EventsMissed
// in their place so the reader learns of the loss where it happened.
func (s *subscriber) push(buffer int, evs []Event) {
	s.mu.Lock()
	for _, e := range evs {
		switch {
		case len(s.queue) < buffer:
			s.queue = append(s.queue, e)
			s.full = false
		case !s.full:
			s.queue = append(s.queue, Event{Kind: EventsMissed})
			s.full = true
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump delivers the queue in order until ctx ends or the hub closes.
func (s *subscriber) pump(ctx context.Context) {
	var batch []Event
	for {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		}
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for _, e := range batch {
			select {
			case s.out <- e:
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			}
		}
		clear(batch)
	}
}
