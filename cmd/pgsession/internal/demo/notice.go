package demo

import "github.com/pgsession/pgsession"

// notice is one message of a user's event stream: something changed among
// their sessions. The page needs only to know that (it reads the list
// again); Kind and ID say what, for people watching with curl and for the
// tests. ID is only ever one of the user's own sessions, which their page
// lists anyway.
type notice struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// The kinds of notice.
const (
	noticeCreated     = "created"      // one of the user's sessions began
	noticeDeleted     = "deleted"      // one ended: log out, revoke, renewal, cap, expiry
	noticeUserDeleted = "user-deleted" // several ended at once (log out everywhere, or other devices)
	noticeAllDeleted  = "all-deleted"  // every session of every user ended
	noticeMissed      = "missed"       // events may have been lost: read the list again
)

// noticeFor returns what user's stream says about e, and false when e is
// none of its business: another user's session (whose ID must not leak),
// or an attribute update, which the list does not show.
func noticeFor(e pgsession.Event, user string) (notice, bool) {
	switch e.Kind {
	case pgsession.SessionCreated, pgsession.SessionDeleted:
		if e.UserID != user {
			return notice{}, false
		}
		kind := noticeCreated
		if e.Kind == pgsession.SessionDeleted {
			kind = noticeDeleted
		}
		return notice{Kind: kind, ID: e.SessionID.String()}, true
	case pgsession.UserSessionsDeleted:
		return notice{Kind: noticeUserDeleted}, e.UserID == user
	case pgsession.AllSessionsDeleted:
		return notice{Kind: noticeAllDeleted}, true
	case pgsession.EventsMissed:
		return notice{Kind: noticeMissed}, true
	}
	return notice{}, false
}
