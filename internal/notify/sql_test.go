package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// What PostgreSQL writes from sql.go decodes to what Encode would have
// sent: the format has one definition, read both ways.
func TestSQLFormsDecodeAsEncoded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgsessiontest.ListenerURL())
	require.NoError(t, err)
	defer conn.Close(context.Background())
	const channel = "pgsession_sql_forms_test"
	_, err = conn.Exec(ctx, "LISTEN "+channel)
	require.NoError(t, err)

	// src is two sessions, one anonymous, with a user ID needing no escape
	// in hex however odd it is.
	const src = `(VALUES ('\x0101010101010101010101010101010101010101010101010101010101010101'::bytea, 'ada,|:✓'),
        ('\x0202020202020202020202020202020202020202020202020202020202020202'::bytea, '')) AS src(id, user_id)`
	id1, id2 := store.ID{}, store.ID{}
	for i := range id1 {
		id1[i], id2[i] = 1, 2
	}
	newID := `'\x0909090909090909090909090909090909090909090909090909090909090909'::bytea`
	var id9 store.ID
	for i := range id9 {
		id9[i] = 9
	}
	lit := `'` + channel + `'`
	for _, c := range []struct {
		sql  string
		want []store.Event
	}{
		{notify.SQLDeleted(src, lit), []store.Event{{Kind: store.EventDeleted, IDs: []store.ID{id1, id2}}}},
		{notify.SQLDeletedEach(src, lit), []store.Event{{Kind: store.EventDeleted, IDs: []store.ID{id1}}, {Kind: store.EventDeleted, IDs: []store.ID{id2}}}},
		{notify.SQLUserDeleted(`'ada'`, lit, `true`), []store.Event{{Kind: store.EventUserDeleted, User: "ada"}}},
		{notify.SQLUserDeleted(`'ada'`, lit, `false`), nil},
		{notify.SQLAllDeleted(lit), []store.Event{{Kind: store.EventAllDeleted}}},
		{strings.TrimPrefix(notify.SQLUserDropped(`'bob'`, lit), "SELECT "), []store.Event{{Kind: store.EventUserDropped, User: "bob"}}},
		{notify.SQLCreated(src, lit), []store.Event{
			{Kind: store.EventCreated, IDs: []store.ID{id1}, Users: []string{"ada,|:✓"}},
			{Kind: store.EventCreated, IDs: []store.ID{id2}, Users: []string{""}}}},
		{notify.SQLGone(src, lit, store.ReasonExpired), []store.Event{{Kind: store.EventDeleted, Reason: store.ReasonExpired,
			IDs: []store.ID{id1, id2}, Users: []string{"ada,|:✓", ""}}}},
		{notify.SQLRenewed(src, lit, newID), []store.Event{{Kind: store.EventDeleted, Reason: store.ReasonRenewed,
			IDs: []store.ID{id1, id2}, Users: []string{"ada,|:✓", ""}, NewIDs: []store.ID{id9, id9}}}},
	} {
		_, err := conn.Exec(ctx, "SELECT "+c.sql)
		require.NoError(t, err, c.sql)
		var got []store.Event
		var raw []string
		for {
			wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			n, err := conn.WaitForNotification(wctx)
			wcancel()
			if err != nil {
				break
			}
			e, err := notify.Decode(n.Payload)
			require.NoError(t, err, n.Payload)
			got, raw = append(got, e), append(raw, n.Payload)
		}
		require.Equal(t, c.want, got, c.sql)
		var encoded []string
		for _, e := range c.want {
			encoded = append(encoded, notify.Encode(e)...)
		}
		require.Equal(t, encoded, raw, "Encode writes what the SQL wrote, byte for byte")
	}
}
