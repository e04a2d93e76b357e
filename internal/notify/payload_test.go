package notify_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

func id(b byte) store.ID {
	var x store.ID
	for i := range x {
		x[i] = b + byte(i)
	}
	return x
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	events := []store.Event{
		{Kind: store.EventUpdated, Instance: "n1", IDs: []store.ID{id(1), id(2)}, Versions: []int64{7, 1 << 40}},
		{Kind: store.EventDeleted, IDs: []store.ID{id(3)}},
		{Kind: store.EventUserDeleted, User: "ada|lovelace"},
		{Kind: store.EventUserDropped, User: "ünïcode"},
		{Kind: store.EventAllDeleted},
		{Kind: store.EventHeartbeat, Instance: "n1", Seq: 42},
		{Kind: store.EventLogged, Instance: "n1", Logged: []int64{1, 99, 1 << 50}},
	}
	for _, e := range events {
		ps := notify.Encode(e)
		require.Len(t, ps, 1)
		got, err := notify.Decode(ps[0])
		require.NoError(t, err, ps[0])
		require.Equal(t, e, got)
	}
}

// Many ids split into payloads that each stay under PostgreSQL's limit
// (DESIGN L2) and together carry every id once.
func TestLargeEventsSplitUnderTheLimit(t *testing.T) {
	e := store.Event{Kind: store.EventUpdated, Instance: "node"}
	for i := 0; i < 1000; i++ {
		e.IDs = append(e.IDs, id(byte(i)))
		e.Versions = append(e.Versions, int64(i+1))
	}
	ps := notify.Encode(e)
	require.Greater(t, len(ps), 1)
	var back store.Event
	for _, p := range ps {
		require.Less(t, len(p), 8000)
		got, err := notify.Decode(p)
		require.NoError(t, err)
		back.IDs = append(back.IDs, got.IDs...)
		back.Versions = append(back.Versions, got.Versions...)
	}
	require.Equal(t, e.IDs, back.IDs)
	require.Equal(t, e.Versions, back.Versions)

	logged := store.Event{Kind: store.EventLogged, Instance: "node"}
	for i := range 3000 {
		logged.Logged = append(logged.Logged, int64(1e12+i))
	}
	ps = notify.Encode(logged)
	require.Greater(t, len(ps), 1)
	var seqs []int64
	for _, p := range ps {
		require.Less(t, len(p), 8000)
		got, err := notify.Decode(p)
		require.NoError(t, err)
		seqs = append(seqs, got.Logged...)
	}
	require.Equal(t, logged.Logged, seqs)
}

// The forms the SQL writes itself decode as the Go encoder's do.
func TestDecodesWhatTheSQLWrites(t *testing.T) {
	h := strings.Repeat("ab", 32)
	e, err := notify.Decode("1|d|" + h + "," + h)
	require.NoError(t, err)
	require.Len(t, e.IDs, 2)
	e, err = notify.Decode("1|A")
	require.NoError(t, err)
	require.Equal(t, store.EventAllDeleted, e.Kind)
	e, err = notify.Decode("1|U|bob")
	require.NoError(t, err)
	require.Equal(t, "bob", e.User)
}

func TestMalformedPayloadsAreErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, p := range []string{"", "hello", "2|u|n|" + h + ":1", "1|", "1|uu|x", "1|u|", "1|u|n|", "1|u|n|" + h,
		"1|u|" + h + ":1", "1|u|n|" + h + ":x", "1|u|n|" + h + ":0", "1|d|" + h + ":1", "1|d|zz", "1|d|" + h[:10],
		"1|U|", "1|A|x", "1|h|n", "1|h|n|x", "1|Q|x", "{\"json\":true}",
		"1|s|n", "1|s|n|", "1|s|n|0", "1|s|n|1,x", "1|s|n|1,,2", "1|s|n|-4"} {
		_, err := notify.Decode(p)
		require.ErrorIs(t, err, notify.ErrMalformed, "%q", p)
	}
}

// Decode never panics, and what it accepts encodes back to the same text.
func FuzzDecode(f *testing.F) {
	f.Add("1|u|node|" + strings.Repeat("0f", 32) + ":3")
	f.Add("1|d|" + strings.Repeat("0f", 32))
	f.Add("1|U|user")
	f.Add("1|A")
	f.Add("1|h|node|9")
	f.Add("1|s|node|3,4,17")
	f.Add("1|r|node|[[\"" + strings.Repeat("0f", 32) + "\",2,\"u\",1,2,3,4,0,\"ua\",\"ip\",{\"a\": 1},{},5]]")
	f.Fuzz(func(t *testing.T, p string) {
		e, err := notify.Decode(p)
		if err != nil {
			return
		}
		out := notify.Encode(e)
		if len(out) == 1 && strings.EqualFold(out[0], p) {
			return
		}
		// Equivalent spellings (leading zeros, a "+" sign) re-encode canonically;
		// they must decode to the same event.
		for _, q := range out {
			again, err := notify.Decode(q)
			require.NoError(t, err)
			if e.Kind == store.EventPushed && again.Kind == store.EventUpdated {
				require.Equal(t, e.Versions, again.Versions) // rows too large once re-encoded
				continue
			}
			require.Equal(t, e.Kind, again.Kind)
		}
	})
}
