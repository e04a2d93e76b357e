package pgsession_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pgsession/pgsession"
)

// The randomized history, run with session events on (for half the
// seeds), also checks what every node's subscriber received against the
// calls that returned: each creation and renewal once, each update at its
// version or a newer one, no deletion twice or without a call that could
// have made it, a creation before anything else of its session, and no gap.

// eventLog collects one node's events while the history runs.
type eventLog struct {
	mu     sync.Mutex
	events []pgsession.Event
}

func subscribeAll(ctx context.Context, nodes []*pgsession.Manager) ([]*eventLog, error) {
	logs := make([]*eventLog, len(nodes))
	for i, m := range nodes {
		ch, err := m.Subscribe(ctx)
		if err != nil {
			return nil, err
		}
		l := &eventLog{}
		logs[i] = l
		go func() {
			for e := range ch {
				l.mu.Lock()
				l.events = append(l.events, e)
				l.mu.Unlock()
			}
		}()
	}
	return logs, nil
}

func (l *eventLog) snapshot() []pgsession.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pgsession.Event(nil), l.events...)
}

// checkEvents returns what each node's events contradict in ops, the
// history's calls; it waits a moment first for the last announcements.
func checkEvents(ops []*op, logs []*eventLog) []string {
	time.Sleep(100 * time.Millisecond)
	created := map[pgsession.ID]bool{}
	renewed := map[pgsession.ID]pgsession.ID{} // old ID: new ID
	deletable := map[pgsession.ID]bool{}       // a Delete of it was called
	updated := map[pgsession.ID]int64{}        // the newest version an Update returned
	for _, o := range ops {
		switch {
		case o.kind == opCreate && o.ok():
			created[o.out[0].id] = true
		case o.kind == opRenew && o.ok():
			renewed[o.id] = o.out[0].id
		case o.kind == opUpdate && o.ok():
			updated[o.id] = max(updated[o.id], o.out[0].version)
		case o.kind == opDelete:
			deletable[o.id] = true
		}
	}
	var out []string
	for n, l := range logs {
		flag := func(format string, args ...any) {
			if len(out) < historyMaxReport {
				out = append(out, fmt.Sprintf("node %d: ", n)+fmt.Sprintf(format, args...))
			}
		}
		seenCreated := map[pgsession.ID]int{}
		seenDeleted := map[pgsession.ID]bool{}
		seenVersion := map[pgsession.ID]int64{}
		for i, e := range l.snapshot() {
			switch e.Kind {
			case pgsession.EventsMissed:
				flag("a gap in a run without faults (event %d)", i)
			case pgsession.SessionCreated:
				seenCreated[e.SessionID]++
				if seenCreated[e.SessionID] > 1 {
					flag("%s created twice", short(e.SessionID))
				}
				if seenDeleted[e.SessionID] || seenVersion[e.SessionID] > 0 {
					flag("%s created after its update or deletion", short(e.SessionID))
				}
			case pgsession.SessionUpdated:
				seenVersion[e.SessionID] = max(seenVersion[e.SessionID], e.Version)
			case pgsession.SessionDeleted:
				if seenDeleted[e.SessionID] {
					flag("%s deleted twice (%v)", short(e.SessionID), e.Reason)
				}
				seenDeleted[e.SessionID] = true
				switch e.Reason {
				case pgsession.RenewedAway:
					if renewed[e.SessionID] != e.NewID {
						flag("%s renewed away to %s, which no Renew returned", short(e.SessionID), short(e.NewID))
					}
					delete(renewed, e.SessionID) // each renewal once
				case pgsession.Deleted:
					if !deletable[e.SessionID] {
						flag("%s deleted, and no Delete named it", short(e.SessionID))
					}
				}
			}
		}
		for id := range created {
			if seenCreated[id] == 0 {
				flag("the creation of %s never arrived", short(id))
			}
		}
		for id, v := range updated {
			if seenVersion[id] < v {
				flag("the update of %s to version %d never arrived (newest seen %d)", short(id), v, seenVersion[id])
			}
		}
		for old, newID := range renewed {
			flag("the renewal of %s to %s never arrived", short(old), short(newID))
		}
		renewed = map[pgsession.ID]pgsession.ID{}
		for _, o := range ops {
			if o.kind == opRenew && o.ok() {
				renewed[o.id] = o.out[0].id
			}
		}
	}
	return out
}
