package notify

import "github.com/pgsession/pgsession/internal/store"

// The statements that delete, and with events on create, announce
// themselves inside their own transaction, so PostgreSQL writes those
// payloads: the SQL below builds them from the same definitions as Encode,
// so the format has one home both ways. Each function returns an
// expression whose value is the number of notifications sent; channel is a
// SQL expression (a parameter reference, or a quoted literal).

// head is the SQL literal that starts a payload of kind.
func head(kind store.EventKind) string { return `'` + formatVersion + `|` + string(kind) + `|'` }

// SQLDeleted announces, in "d" payloads of at most 100 ids each (well
// under MaxPayload however many there are), every id of src, a source
// aliased src with an id column.
func SQLDeleted(src, channel string) string {
	return `(SELECT count(*) FROM (
        SELECT pg_notify(` + channel + `, ` + head(store.EventDeleted) + ` || string_agg(encode(x.id, 'hex'), ','))
        FROM (SELECT src.id, (row_number() OVER () - 1) / 100 AS chunk FROM ` + src + `) x
        GROUP BY x.chunk) n)`
}

// SQLDeletedEach announces each id of src in a "d" payload of its own: for a
// source of at most one row, where SQLDeleted's chunking costs more than
// it saves.
func SQLDeletedEach(src, channel string) string {
	return `(SELECT count(*) FROM (SELECT pg_notify(` + channel + `, ` + head(store.EventDeleted) +
		` || encode(src.id, 'hex')) FROM ` + src + `) n)`
}

// SQLUserDeleted announces that user's sessions (a text expression) were
// deleted, when cond holds.
func SQLUserDeleted(user, channel, cond string) string {
	return `(SELECT count(*) FROM (SELECT pg_notify(` + channel + `, ` + head(store.EventUserDeleted) +
		` || ` + user + `) WHERE ` + cond + `) n)`
}

// SQLAllDeleted announces that every session was deleted.
func SQLAllDeleted(channel string) string {
	return `(SELECT count(*) FROM (SELECT pg_notify(` + channel + `, '` + formatVersion + `|` + string(store.EventAllDeleted) + `')) n)`
}

// SQLUserDropped asks every node to drop user's cached sessions.
func SQLUserDropped(user, channel string) string {
	return `SELECT pg_notify(` + channel + `, ` + head(store.EventUserDropped) + ` || ` + user + `)`
}

// ownerItem is one "<hex id>:<hex user>" item of src's row (events.go).
const ownerItem = `encode(src.id, 'hex') || ':' || encode(convert_to(src.user_id, 'UTF8'), 'hex')`

// ownedChunkBytes bounds the items of one "x" notification: an item is at
// most 64 + 1 + 512 + 1 + 64 bytes, so a chunk with its head stays under
// MaxPayload.
const ownedChunkBytes = `7000`

// SQLCreated announces the session src (a one-row source aliased src,
// with id and user_id) as created, in the "n" form.
func SQLCreated(src, channel string) string {
	return `(SELECT count(*) FROM (SELECT pg_notify(` + channel + `, ` + head(store.EventCreated) + ` || ` +
		ownerItem + `) FROM ` + src + `) n)`
}

// SQLGone announces every row of src (aliased src, with id and user_id) as
// deleted for reason, in "x" payloads of at most ownedChunkBytes of items.
func SQLGone(src, channel string, reason store.DeleteReason) string {
	return sqlOwnedItems(src, channel, reason, ownerItem)
}

// SQLRenewed announces the renewed-away session src, with newID (a bytea
// expression) its successor.
func SQLRenewed(src, channel, newID string) string {
	return sqlOwnedItems(src, channel, store.ReasonRenewed, ownerItem+` || ':' || encode(`+newID+`, 'hex')`)
}

// sqlOwnedItems sends the "x" payloads of reason for the items of src,
// chunked by their running length.
func sqlOwnedItems(src, channel string, reason store.DeleteReason, item string) string {
	return `(SELECT count(*) FROM (
        SELECT pg_notify(` + channel + `, '` + formatVersion + `|` + string(eventDeletedWithReason) + `|` + string(reason) +
		`|' || string_agg(c.item, ',' ORDER BY c.n))
        FROM (SELECT i.item, i.n, (sum(length(i.item) + 1) OVER (ORDER BY i.n) - 1) / ` + ownedChunkBytes + ` AS chunk
              FROM (SELECT ` + item + ` AS item, row_number() OVER () AS n FROM ` + src + `) i) c
        GROUP BY c.chunk) n)`
}
