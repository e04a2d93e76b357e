package postgres

import "github.com/pgsession/pgsession/internal/store"

// With session events on (Config.Events), the statements announce more, in
// internal/notify's "n" and "x" forms: creations, which nothing else
// announces, and deletions with their owners and reason, sweeps included.
// Each announcement is sent inside the statement's own transaction, as
// deletions always are, so what commits is announced and nothing else is.

// ownerItem is one "<hex id>:<hex user>" item of src's row.
const ownerItem = `encode(src.id, 'hex') || ':' || encode(convert_to(src.user_id, 'UTF8'), 'hex')`

// goneChunkBytes bounds the items of one notification: an item is at most
// 64 + 1 + 512 + 1 + 64 bytes, so a chunk with its header stays well under
// notify.MaxPayload (7900).
const goneChunkBytes = `7000`

// notifyCreated announces the session src (a one-row source with id and
// user_id) as created. Its value is the number of notifications sent.
func notifyCreated(src string) string {
	return `(SELECT count(*) FROM (SELECT pg_notify({{channel}}, '1|n|' || ` +
		ownerItem + `) FROM ` + src + ` src) n)`
}

// notifyGone announces every row of src (a source aliased src, with id and
// user_id) as deleted for reason, in notifications of at most
// goneChunkBytes of items each however many rows there are. Its value is
// the number of notifications sent.
func notifyGone(src, channel string, reason store.DeleteReason) string {
	return notifyItems(src, channel, `x|`+string(reason), ownerItem)
}

// notifyRenewed announces the renewed-away session src, with newID (a
// bytea expression), its successor.
func notifyRenewed(src, channel, newID string) string {
	return notifyItems(src, channel, `x|`+string(store.ReasonRenewed), ownerItem+` || ':' || encode(`+newID+`, 'hex')`)
}

// notifyItems sends "1|<form>|<item>,..." for the items of src, chunked by
// their running length.
func notifyItems(src, channel, form, item string) string {
	return `(SELECT count(*) FROM (
        SELECT pg_notify(` + channel + `, '1|` + form + `|' || string_agg(c.item, ',' ORDER BY c.n))
        FROM (SELECT i.item, i.n, (sum(length(i.item) + 1) OVER (ORDER BY i.n) - 1) / ` + goneChunkBytes + ` AS chunk
              FROM (SELECT ` + item + ` AS item, row_number() OVER () AS n FROM ` + src + `) i) c
        GROUP BY c.chunk) n)`
}
