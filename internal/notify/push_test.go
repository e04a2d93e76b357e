package notify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// row is a record as the PostgreSQL backend returns it: attributes lazy, in
// jsonb's text form, times at microsecond precision.
func row(b byte, version int64, attrs string) *store.Record {
	at := time.UnixMicro(1_700_000_000_123_456)
	return &store.Record{ID: id(b), UserID: "ada \"l\" ✓", Version: version,
		CreatedAt: at, UpdatedAt: at.Add(time.Second), LastSeenAt: at.Add(2 * time.Second),
		ExpiresAt: at.Add(time.Hour), IdleTimeout: 30 * time.Minute, UserAgent: "Mozilla/5.0\x01", IP: "::1",
		Lazy: &store.LazyAttrs{Raw: []byte(attrs), Expiry: []byte(`{"otp": 1700000000999}`), Decode: store.LazyDecode},
		Now:  at.Add(3 * time.Second)}
}

// A pushed row arrives as the writer had it: every field, the attributes
// decoding to the same values and expiries.
func TestPushedRowsRoundTrip(t *testing.T) {
	recs := []*store.Record{row(1, 7, `{"n": 1, "otp": "x", "cart": [1, {"a": null}]}`), row(2, 1<<40, `{}`)}
	p, ok := notify.EncodePush("n1", recs, nil)
	require.True(t, ok)
	require.True(t, strings.HasPrefix(p, "1|r|n1|"))
	e, err := notify.Decode(p)
	require.NoError(t, err, p)
	require.Equal(t, store.EventPushed, e.Kind)
	require.Equal(t, "n1", e.Instance)
	require.Equal(t, []store.ID{id(1), id(2)}, e.IDs)
	require.Equal(t, []int64{7, 1 << 40}, e.Versions)
	for i, got := range e.Records {
		want := recs[i]
		require.Equal(t, want.ID, got.ID)
		require.Equal(t, want.Version, got.Version)
		require.Equal(t, want.UserID, got.UserID)
		require.Equal(t, want.UserAgent, got.UserAgent)
		require.Equal(t, want.IP, got.IP)
		require.Equal(t, want.IdleTimeout, got.IdleTimeout)
		for _, pair := range [][2]time.Time{{want.CreatedAt, got.CreatedAt}, {want.UpdatedAt, got.UpdatedAt},
			{want.LastSeenAt, got.LastSeenAt}, {want.ExpiresAt, got.ExpiresAt}, {want.Now, got.Now}} {
			require.True(t, pair[0].Equal(pair[1]), "%v != %v", pair[0], pair[1])
		}
		wantAttrs, gotAttrs := want.AttrMap(), got.AttrMap()
		require.Len(t, gotAttrs, len(wantAttrs))
		for k, a := range wantAttrs {
			require.JSONEq(t, string(a.Raw), string(gotAttrs[k].Raw), k)
			require.True(t, a.ExpiresAt.Equal(gotAttrs[k].ExpiresAt), k)
		}
	}
}

// Rows that do not fit in one notification are not pushed: the caller
// announces versions instead, and Encode does so for such an event.
func TestPushTooLargeFallsBackToVersions(t *testing.T) {
	big := `{"blob": "` + strings.Repeat("x", notify.MaxPayload) + `"}`
	_, ok := notify.EncodePush("n1", []*store.Record{row(1, 3, big)}, nil)
	require.False(t, ok)
	var many []*store.Record
	for i := range 40 {
		many = append(many, row(byte(i), 2, `{"v": "`+strings.Repeat("y", 200)+`"}`))
	}
	_, ok = notify.EncodePush("n1", many, nil)
	require.False(t, ok, "40 rows of 200 bytes exceed one payload")

	e := store.Event{Kind: store.EventPushed, Instance: "n1", IDs: []store.ID{id(1)}, Versions: []int64{3},
		Records: []*store.Record{row(1, 3, big)}}
	ps := notify.Encode(e)
	require.Len(t, ps, 1)
	got, err := notify.Decode(ps[0])
	require.NoError(t, err)
	require.Equal(t, store.EventUpdated, got.Kind)
	require.Equal(t, []int64{3}, got.Versions)
}

// A row whose attributes are not as the database encoded them (a memory
// backend's record) is never pushed.
func TestPushNeedsTheEncodedAttributes(t *testing.T) {
	r := row(1, 2, `{}`)
	r.Lazy = nil
	r.Attrs = map[string]*store.Attr{"n": {Raw: json.RawMessage(`1`)}}
	_, ok := notify.EncodePush("n1", []*store.Record{r}, nil)
	require.False(t, ok)
	_, ok = notify.EncodePush("n1", []*store.Record{row(2, 2, `{"n": `)}, nil)
	require.False(t, ok, "attributes that are not JSON are not pushed")
}

func TestMalformedPushesAreErrors(t *testing.T) {
	h := `"` + strings.Repeat("ab", 32) + `"`
	good := `[` + h + `,2,"u",1,2,3,4,0,"ua","ip",{},{},5]`
	_, err := notify.Decode("1|r|n|[" + good + "]")
	require.NoError(t, err)
	for _, rows := range []string{"", "[]", "[[]]", "x", "[" + good + ",]",
		`[[` + h + `,2,"u",1,2,3,4,0,"ua","ip",{},{}]]`,     // a field short
		`[[` + h + `,0,"u",1,2,3,4,0,"ua","ip",{},{},5]]`,   // version 0
		`[[` + h + `,2,"u",1,2,3,4,-1,"ua","ip",{},{},5]]`,  // negative idle timeout
		`[["abab",2,"u",1,2,3,4,0,"ua","ip",{},{},5]]`,      // short id
		`[[` + h + `,2,7,1,2,3,4,0,"ua","ip",{},{},5]]`,     // user not a string
		`[[` + h + `,2,"u",1.5,2,3,4,0,"ua","ip",{},{},5]]`, // time not an integer
		`[[` + h + `,2,"u",1,2,3,4,0,"ua","ip",[],{},5]]`,   // attributes not an object
		`[[` + h + `,2,"u",1,2,3,4,0,"ua","ip",{},"x",5]]`,  // expiry not an object
	} {
		_, err := notify.Decode("1|r|n|" + rows)
		require.ErrorIs(t, err, notify.ErrMalformed, "%q", rows)
	}
	_, err = notify.Decode("1|r|" + "[" + good + "]")
	require.ErrorIs(t, err, notify.ErrMalformed, "no node")
}
