package demo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// A user's stream hears of their own sessions' beginnings and ends, of
// user-wide and global deletions and of lost events; never of another
// user's sessions, nor of attribute updates.
func TestNoticeFor(t *testing.T) {
	mine, theirs := pgsession.ID{1}, pgsession.ID{2}
	for _, c := range []struct {
		e    pgsession.Event
		want *notice
	}{
		{pgsession.Event{Kind: pgsession.SessionCreated, SessionID: mine, UserID: "alice"}, &notice{"created", mine.String()}},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: mine, UserID: "alice", Reason: pgsession.EvictedByCap}, &notice{"deleted", mine.String()}},
		{pgsession.Event{Kind: pgsession.UserSessionsDeleted, UserID: "alice"}, &notice{Kind: "user-deleted"}},
		{pgsession.Event{Kind: pgsession.AllSessionsDeleted}, &notice{Kind: "all-deleted"}},
		{pgsession.Event{Kind: pgsession.EventsMissed}, &notice{Kind: "missed"}},

		{pgsession.Event{Kind: pgsession.SessionCreated, SessionID: theirs, UserID: "bob"}, nil},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: theirs, UserID: "bob"}, nil},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: theirs}, nil}, // owner unknown
		{pgsession.Event{Kind: pgsession.UserSessionsDeleted, UserID: "bob"}, nil},
		{pgsession.Event{Kind: pgsession.SessionUpdated, SessionID: mine, UserID: "alice", Version: 2}, nil},
	} {
		got, ok := noticeFor(c.e, "alice")
		if c.want == nil {
			require.False(t, ok, "%+v", c.e)
			continue
		}
		require.True(t, ok, "%+v", c.e)
		require.Equal(t, *c.want, got)
	}
}
