package notify_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// The forms sent with session events on carry owners, reasons, new IDs and
// keys through any text a user ID or key may hold.
func TestEventFormsRoundTrip(t *testing.T) {
	odd := "ada,|:\"✓\x01"
	for _, e := range []store.Event{
		{Kind: store.EventCreated, IDs: []store.ID{id(1), id(2)}, Users: []string{odd, ""}},
		{Kind: store.EventDeleted, Reason: store.ReasonDeleted, IDs: []store.ID{id(1)}, Users: []string{odd}},
		{Kind: store.EventDeleted, Reason: store.ReasonEvicted, IDs: []store.ID{id(1), id(3)}, Users: []string{"b", "b"}},
		{Kind: store.EventDeleted, Reason: store.ReasonExpired, IDs: []store.ID{id(4)}, Users: []string{""}},
		{Kind: store.EventDeleted, Reason: store.ReasonRenewed, IDs: []store.ID{id(1)}, Users: []string{odd}, NewIDs: []store.ID{id(9)}},
		{Kind: store.EventUpdated, Instance: "n1", IDs: []store.ID{id(1), id(2)}, Versions: []int64{3, 1 << 40},
			Users: []string{odd, ""}, Keys: [][]string{{"a", odd}, {"cart"}}},
	} {
		ps := notify.Encode(e)
		require.Len(t, ps, 1)
		got, err := notify.Decode(ps[0])
		require.NoError(t, err, ps[0])
		require.Equal(t, e, got, ps[0])
	}
}

// Owned forms split by bytes, so a sweep of many sessions with long user
// IDs still fits the payload limit, and every id arrives once.
func TestEventFormsSplitUnderTheLimit(t *testing.T) {
	e := store.Event{Kind: store.EventDeleted, Reason: store.ReasonExpired}
	u := store.Event{Kind: store.EventUpdated, Instance: "n1"}
	for i := range 500 {
		sid := id(byte(i))
		sid[1] = byte(i >> 8)
		e.IDs = append(e.IDs, sid)
		e.Users = append(e.Users, strings.Repeat("u", 256))
		u.IDs = append(u.IDs, sid)
		u.Versions = append(u.Versions, int64(i+1))
		u.Users = append(u.Users, strings.Repeat("u", 256))
		u.Keys = append(u.Keys, []string{strings.Repeat("k", 100)})
	}
	for _, ev := range []store.Event{e, u} {
		ps := notify.Encode(ev)
		require.Greater(t, len(ps), 1)
		var ids []store.ID
		for _, p := range ps {
			require.LessOrEqual(t, len(p), notify.MaxPayload)
			got, err := notify.Decode(p)
			require.NoError(t, err)
			ids = append(ids, got.IDs...)
		}
		require.Equal(t, ev.IDs, ids)
	}
}

// An update whose keys alone pass the limit is announced without them: a
// subscriber sees nil keys, never a missing event.
func TestUpdateWithTooManyKeysDropsTheKeys(t *testing.T) {
	e := store.Event{Kind: store.EventUpdated, Instance: "n1", IDs: []store.ID{id(1)}, Versions: []int64{2},
		Users: []string{"u"}, Keys: [][]string{{strings.Repeat("k", notify.MaxPayload)}}}
	ps := notify.Encode(e)
	require.Len(t, ps, 1)
	got, err := notify.Decode(ps[0])
	require.NoError(t, err)
	require.Equal(t, []store.ID{id(1)}, got.IDs)
	require.Equal(t, [][]string{nil}, got.Keys)
}

// Pushed rows may carry the keys their updates wrote.
func TestPushedRowsCarryKeys(t *testing.T) {
	recs := []*store.Record{row(1, 7, `{"n": 1}`), row(2, 3, `{}`)}
	p, ok := notify.EncodePush("n1", recs, [][]string{{"n", "a\"b"}, {"x"}})
	require.True(t, ok)
	e, err := notify.Decode(p)
	require.NoError(t, err, p)
	require.Equal(t, [][]string{{"n", "a\"b"}, {"x"}}, e.Keys)
	require.Len(t, e.Records, 2)
}

func TestMalformedEventFormsAreRefused(t *testing.T) {
	good := strings.Repeat("ab", store.IDSize)
	for _, p := range []string{
		"1|n|", "1|n|" + good, "1|n|" + good + ":zz", "1|x|", "1|x|q|" + good + ":",
		"1|x|r|" + good + ":", "1|x|d|" + good + ":00:" + good, "1|e|n1|" + good + ":1:",
		"1|e|n1|" + good + ":0::", "1|e|" + good,
	} {
		_, err := notify.Decode(p)
		require.ErrorIs(t, err, notify.ErrMalformed, p)
	}
}
