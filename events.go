package pgsession

import (
	"context"
	"fmt"

	"github.com/pgsession/pgsession/internal/store"
)

// EventKind says what happened to sessions.
type EventKind int

// The kinds of session events.
const (
	// SessionCreated: a session was created (Create, CreateWithToken).
	// Version is 1. A renewal's new session is not reported here: it comes
	// with the SessionDeleted of the session it replaced (RenewedAway).
	SessionCreated EventKind = iota + 1
	// SessionUpdated: a session's attributes changed. Version is the new
	// version and Keys the keys written (set or deleted); updates of one
	// session made on one node within a few milliseconds may arrive as one
	// event, with the newest version and every key written.
	SessionUpdated
	// SessionDeleted: a session ended, for Reason.
	SessionDeleted
	// UserSessionsDeleted: DeleteUser ended the sessions of UserID (all but
	// the ones it was asked to keep). Read ListUser for what is left.
	UserSessionsDeleted
	// AllSessionsDeleted: DeleteAll ended every session.
	AllSessionsDeleted
	// EventsMissed: events may have been lost just before this one: the
	// node's listener was cut off and is back, or this subscriber fell
	// EventBuffer events behind. Read what you track again (ListUser, or
	// GetByID) from now on; later events arrive as usual.
	EventsMissed
)

var eventKindNames = [...]string{"", "created", "updated", "deleted", "user sessions deleted", "all sessions deleted", "events missed"}

func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventKindNames) || k == 0 {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventKindNames[k]
}

// DeleteReason says why a session ended.
type DeleteReason int

// The reasons a SessionDeleted carries.
const (
	// ReasonUnknown: the node that deleted it runs without Config.Events.
	ReasonUnknown DeleteReason = iota
	// Deleted: Delete (log out, or an admin's revocation).
	Deleted
	// RenewedAway: Renew gave it a new ID, NewID, and a new token.
	RenewedAway
	// EvictedByCap: a newer session of the same user went past
	// Config.MaxSessionsPerUser.
	EvictedByCap
	// Expired: it expired, and the sweep removed it. A session stops being
	// served the moment it expires; this event comes when it is swept.
	Expired
)

var reasonNames = [...]string{"unknown", "deleted", "renewed", "evicted by cap", "expired"}

func (r DeleteReason) String() string {
	if r < 0 || int(r) >= len(reasonNames) {
		return fmt.Sprintf("DeleteReason(%d)", int(r))
	}
	return reasonNames[r]
}

// Event is something that happened to sessions, on any node.
type Event struct {
	Kind EventKind
	// SessionID is the session concerned (zero for the user-wide, global
	// and missed kinds).
	SessionID ID
	// UserID is the session's owner ("" for anonymous), or the user whose
	// sessions ended.
	UserID string
	// Version is the session's version after the change (created, updated).
	Version int64
	// Keys are the attribute keys an update wrote; nil if there were too
	// many to announce (about 7,900 bytes of keys in one update).
	Keys []string
	// Reason says why a session ended (SessionDeleted).
	Reason DeleteReason
	// NewID is the session that replaced it (RenewedAway).
	NewID ID
}

// Subscribe delivers session events from every node, this one included,
// until ctx ends or the Manager closes; then the channel is closed. It
// needs Config.Events on every node of the deployment.
//
// What is promised: while this node's listener is connected, every
// creation, update, deletion, sweep, DeleteUser and DeleteAll committed on
// any node reaches every subscriber once, in the order the database
// delivered its announcement. Creations and deletions are announced by
// their own transaction, so what commits is announced; updates are
// announced by their node just after commit (Update waits for nothing), so
// an update whose node dies in between, one made with NoNotify or
// SkipUpdateNotify, and one whose outcome its caller never learned
// (ErrOutcomeUnknown) produce no event. When the listener reconnects after
// a cut, and when a subscriber falls Config.EventBuffer events behind, it
// receives EventsMissed and should read again what it tracks.
//
// A slow subscriber never holds up the node: events queue for it, up to
// the buffer, and the node moves on.
func (m *Manager) Subscribe(ctx context.Context) (<-chan Event, error) {
	if !m.cfg.Events {
		return nil, op("subscribe", ErrEventsOff)
	}
	out, ok := m.events.subscribe(ctx)
	if !ok {
		return nil, op("subscribe", ErrClosed)
	}
	return out, nil
}

// sessionEvents turns an announcement into the events subscribers see.
// Announcements without what events need (from a node running without
// Config.Events, or the invalidation hints of conflicts and lost replies)
// give no update events.
func sessionEvents(e store.Event) []Event {
	var out []Event
	switch e.Kind {
	case store.EventCreated:
		for i, id := range e.IDs {
			out = append(out, Event{Kind: SessionCreated, SessionID: ID(id), UserID: e.Users[i], Version: 1})
		}
	case store.EventUpdated, store.EventPushed:
		if e.Keys == nil {
			return nil
		}
		for i, id := range e.IDs {
			ev := Event{Kind: SessionUpdated, SessionID: ID(id), Version: e.Versions[i], Keys: e.Keys[i]}
			if e.Users != nil {
				ev.UserID = e.Users[i]
			} else if e.Records != nil {
				ev.UserID = e.Records[i].UserID
			}
			out = append(out, ev)
		}
	case store.EventDeleted:
		for i, id := range e.IDs {
			ev := Event{Kind: SessionDeleted, SessionID: ID(id), Reason: deleteReason(e.Reason)}
			if e.Users != nil {
				ev.UserID = e.Users[i]
			}
			if e.NewIDs != nil {
				ev.NewID = ID(e.NewIDs[i])
			}
			out = append(out, ev)
		}
	case store.EventUserDeleted:
		out = append(out, Event{Kind: UserSessionsDeleted, UserID: e.User})
	case store.EventAllDeleted:
		out = append(out, Event{Kind: AllSessionsDeleted})
	}
	return out
}

func deleteReason(r store.DeleteReason) DeleteReason {
	switch r {
	case store.ReasonDeleted:
		return Deleted
	case store.ReasonRenewed:
		return RenewedAway
	case store.ReasonEvicted:
		return EvictedByCap
	case store.ReasonExpired:
		return Expired
	}
	return ReasonUnknown
}
