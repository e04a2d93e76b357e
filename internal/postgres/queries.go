package postgres

import (
	"github.com/pgsession/pgsession/internal/notify"
	"github.com/pgsession/pgsession/internal/store"
)

// The SQL of every operation. Each is one statement (Create and Renew may be
// preceded, in the same pipeline, by an advisory lock), so each operation is
// one round trip. Placeholders in {{}} are quoted identifiers (see Names).

// cols is the column list every read returns, in scanRecord's order.
const cols = `s.id, s.user_id, s.version, s.created_at, s.updated_at, s.last_seen_at,
    s.expires_at, s.idle_timeout, s.user_agent, s.ip, s.attrs, s.attr_expiry`

// live is true for a row that neither its absolute nor its idle deadline has
// passed, by the database clock.
const live = `(s.expires_at > now() AND (s.idle_timeout IS NULL OR s.last_seen_at + s.idle_timeout > now()))`

const expired = `(s.expires_at <= now() OR (s.idle_timeout IS NOT NULL AND s.last_seen_at + s.idle_timeout <= now()))`

// sqlLockUser takes a user's lock ($2) in the class $1 until commit. Every
// write that must be ordered against other writes of one user takes it
// first, in the same pipeline: capped creates (for the cap), user-wide
// deletes and renewals (DESIGN W5). The statement after it takes a fresh
// snapshot, so it sees every write that held the lock before.
const sqlLockUser = `SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))`

// sqlLockRenewUsers takes, in one order, the lock of the user who owns
// session $2 and, when $4, the lock of user $3 (the new owner, for its
// cap). Without the owner's lock a renewal racing a user-wide delete could
// move a session the delete's snapshot saw to a new id it did not see, and
// escape "log out everywhere". Anonymous sessions take no lock: nothing is
// deleted user-wide for them, and one lock would serialize every log-in.
const sqlLockRenewUsers = `SELECT pg_advisory_xact_lock($1::int, l.h) FROM (
    SELECT DISTINCT hashtext(u.user_id) AS h FROM (
        SELECT s.user_id FROM {{sessions}} s WHERE s.id = $2
        UNION ALL SELECT $3::text WHERE $4::bool) u
    WHERE u.user_id <> '' ORDER BY 1) l`

// sqlLockAll is the schema-wide lock ($1 is the class): DeleteAll takes it
// exclusive, every renewal shared and before its users' locks, so no
// renewal moves a session past a DeleteAll that saw it (DESIGN W5), while
// renewals never wait for each other on it. It lives in PostgreSQL's
// one-key (bigint) advisory space, apart from the two-key space of user
// locks: there a user whose hashtext is the chosen key would make each of
// its renewals ask for a lock it already shares, and deadlock with the next.
const (
	sqlLockAll       = `SELECT pg_advisory_xact_lock($1::int::bigint)`
	sqlLockAllShared = `SELECT pg_advisory_xact_lock_shared($1::int::bigint)`
)

const sqlGet = `SELECT ` + cols + `, now() FROM {{sessions}} s WHERE s.id = $1 AND ` + live

// evictSQL deletes the live sessions of user (a text expression) beyond the
// newest keep-1, making room for one more. exclude is an id to leave alone.
func evictSQL(user, keep, exclude string) string {
	return `DELETE FROM {{sessions}} d WHERE ` + keep + ` > 0 AND d.id IN (
        SELECT s.id FROM {{sessions}} s
        WHERE s.user_id = ` + user + ` AND s.user_id <> '' AND s.id <> ` + exclude + ` AND ` + live + `
        ORDER BY s.created_at DESC, s.id DESC
        OFFSET greatest(` + keep + ` - 1, 0))
    RETURNING d.id, d.user_id`
}

// attrExpiries is the attr_expiry object that makes each key of keys (a
// text[] parameter) expire the matching milliseconds of ms (a bigint[]
// parameter) from now, in the Unix milliseconds DecodeAttrs reads.
func attrExpiries(keys, ms string) string {
	return `(SELECT coalesce(jsonb_object_agg(x.k, (extract(epoch FROM now()) * 1000)::bigint + x.ms), '{}')
                FROM unnest(` + keys + `::text[], ` + ms + `::bigint[]) AS x(k, ms))`
}

// insertSession inserts a new session. With ttl, attributes named by the
// parameters keys and ms expire (see attrExpiries) in the same statement;
// without, the column keeps its default and the statement is the one every
// plain create has always sent.
func insertSession(ttl bool, keys, ms string) string {
	if !ttl {
		return `INSERT INTO {{sessions}} AS s (id, user_id, version, created_at, updated_at, last_seen_at,
        expires_at, idle_timeout, user_agent, ip, attrs)
    VALUES ($1, $2::text, 1, now(), now(), now(), now() + $3::interval, $4::interval, $5, $6, $7::jsonb)
    RETURNING ` + cols
	}
	return `INSERT INTO {{sessions}} AS s (id, user_id, version, created_at, updated_at, last_seen_at,
        expires_at, idle_timeout, user_agent, ip, attrs, attr_expiry)
    VALUES ($1, $2::text, 1, now(), now(), now(), now() + $3::interval, $4::interval, $5, $6, $7::jsonb,
        ` + attrExpiries(keys, ms) + `)
    RETURNING ` + cols
}

// createQuery inserts a session ($1 to $7). Capped, it also removes the
// user's sessions past the cap ($8) and announces their deletion ($9 is the
// channel), in the same statement. With ttl, the next two parameters are
// the expiring keys and their milliseconds ($8 and $9, or $10 and $11).
//
// With ev (session events on), it also announces the creation, and the
// evictions with their owners and reason (see internal/notify/sql.go).
func createQuery(capped, ttl, ev bool) string {
	if !capped && !ev {
		return insertSession(ttl, `$8`, `$9`) + `, now()`
	}
	if !capped {
		return `WITH ins AS (` + insertSession(ttl, `$8`, `$9`) + `)
SELECT ins.*, now() FROM ins WHERE ` + notify.SQLCreated(`ins src`, `{{channel}}`) + ` >= 0`
	}
	gone := notify.SQLDeleted(`evict src`, `$9`)
	if ev {
		gone = notify.SQLGone(`evict src`, `$9`, store.ReasonEvicted)
	}
	q := `WITH ins AS (` + insertSession(ttl, `$10`, `$11`) + `
), evict AS (` + evictSQL(`$2::text`, `$8::int`, `$1`) + `)
SELECT ins.*, now(), ARRAY(SELECT id FROM evict), ` + gone + ` FROM ins`
	if ev {
		q += ` WHERE ` + notify.SQLCreated(`ins src`, `{{channel}}`) + ` >= 0`
	}
	return q
}

// keysUnchanged is true when none of the keys $10 was written after
// version $9 (0: no such check).
const keysUnchanged = `($9::bigint = 0 OR NOT EXISTS (
        SELECT 1 FROM jsonb_each_text(s.attr_ver) e WHERE e.key = ANY($10::text[]) AND e.value::bigint > $9))`

// keyVersions is the attr_ver entries of one update: each key in keys (a
// text[] parameter) mapped to the version the update creates. A plain
// function call, not an aggregate subquery, since it runs on every update;
// the versions are stored as strings, which keysUnchanged reads alike.
func keyVersions(keys string) string {
	return `jsonb_object(` + keys + `::text[], array_fill((s.version + 1)::text, ARRAY[cardinality(` + keys + `::text[])]))`
}

// logChanges records every row of upd (an update's RETURNING) in the change
// log, in the update's own statement and so its own commit (DESIGN C7).
const logChanges = `INSERT INTO {{changes}} (id, version) SELECT upd.id, upd.version FROM upd RETURNING seq`

// noChangeLog stands in for logChanges in benchmarks that measure the
// library without it (Backend.OmitChangeLog).
const noChangeLog = `SELECT 0::bigint AS seq`

// sqlUpdate patches the live row: removes $2, merges $3, clears the expiry
// of every key written ($4) and sets new expiries ($5 keys, $6 milliseconds
// from now), records the new version against every key touched ($10), and
// moves the absolute deadline to now + $11 when $11 is not NULL.
// It refuses, returning the current row with ok=false, when the version
// check $7, the key check $9 or the attribute limit $8 fails.
var sqlUpdate = `WITH upd AS (
    UPDATE {{sessions}} s SET
        attrs = (s.attrs - $2::text[]) || $3::jsonb,
        attr_expiry = CASE WHEN s.attr_expiry = '{}' AND cardinality($5::text[]) = 0 THEN s.attr_expiry
            ELSE (s.attr_expiry - $2::text[] - $4::text[]) || ` + attrExpiries(`$5`, `$6`) + ` END,
        attr_ver = s.attr_ver || ` + keyVersions(`$10`) + `,
        expires_at = coalesce(now() + $11::interval, s.expires_at),
        version = s.version + 1,
        updated_at = now()
    WHERE s.id = $1 AND ` + live + ` AND ($7::bigint = 0 OR s.version = $7) AND ` + keysUnchanged + `
        AND (SELECT count(*) FROM jsonb_object_keys((s.attrs - $2::text[]) || $3::jsonb)) <= $8
    RETURNING ` + cols + `
), logged AS (` + logChanges + `)
SELECT upd.*, now(), true, true, (SELECT seq FROM logged) FROM upd
UNION ALL
SELECT ` + cols + `, now(), false, ` + keysUnchanged + `, 0::bigint FROM {{sessions}} s
WHERE s.id = $1 AND ` + live + ` AND NOT EXISTS (SELECT 1 FROM upd)`

// leanUpdate is the common update: no version or key check, no TTL, no
// new deadline. It skips what those need (the refusal diagnosis, the expiry
// arithmetic) and counts attributes only when the patch adds a key the row
// lacks. When it updates nothing, sqlUpdate runs to say why (a second round
// trip, on refusals only).
var leanUpdate = `UPDATE {{sessions}} s SET
        attrs = (s.attrs - $2::text[]) || $3::jsonb,
        attr_expiry = CASE WHEN s.attr_expiry = '{}' THEN s.attr_expiry
            ELSE s.attr_expiry - $2::text[] - $4::text[] END,
        attr_ver = s.attr_ver || ` + keyVersions(`$5`) + `,
        version = s.version + 1,
        updated_at = now()
    WHERE s.id = $1 AND ` + live + `
        AND (s.attrs ?& $4::text[] OR (SELECT count(*) FROM jsonb_object_keys((s.attrs - $2::text[]) || $3::jsonb)) <= $6)
    RETURNING ` + cols

// sqlUpdateLean is leanUpdate with its change logged; it returns the log
// row's number after the session's columns, so the writer can tell the
// other nodes which rows its announcement covers (DESIGN C7).
var sqlUpdateLean = `WITH upd AS (` + leanUpdate + `), logged AS (` + logChanges + `)
SELECT upd.*, now(), (SELECT seq FROM logged) FROM upd`

// The deletes announce themselves inside their own transaction ($N is the
// channel): revocations are where reliability matters most (DESIGN W3).
// With ev, the announcement carries the owner and the reason.
func deleteQuery(ev bool) string {
	notes := notify.SQLDeletedEach(`d src`, `$2`)
	if ev {
		notes = notify.SQLGone(`d src`, `$2`, store.ReasonDeleted)
	}
	return `WITH d AS (DELETE FROM {{sessions}} WHERE id = $1 RETURNING id, user_id)
SELECT (SELECT count(*) FROM d), ` + notes
}

// sqlDeleteUser locks the user's rows in id order, as touches do, so the two
// never wait for each other in a cycle (PostgreSQL would end one with a
// deadlock error after a second), then deletes them. It announces the user, not each id: one small payload however
// many sessions the user had; nodes drop that user's cached copies.
var sqlDeleteUser = `WITH victims AS (
    SELECT s.id FROM {{sessions}} s
    WHERE s.user_id = $1 AND s.user_id <> '' AND s.id <> ALL($2::bytea[])
    ORDER BY s.id FOR UPDATE
), d AS (
    DELETE FROM {{sessions}} s USING victims v WHERE s.id = v.id RETURNING s.id
)
SELECT ARRAY(SELECT id FROM d),
    ` + notify.SQLUserDeleted(`$1::text`, `$3`, `EXISTS (SELECT 1 FROM d)`)

// sqlDeleteAll deletes every row, locked in id order first (see sqlTouch).
var sqlDeleteAll = `WITH victims AS (
    SELECT s.id FROM {{sessions}} s ORDER BY s.id FOR UPDATE
), d AS (
    DELETE FROM {{sessions}} s USING victims v WHERE s.id = v.id RETURNING 1
)
SELECT (SELECT count(*) FROM d), ` + notify.SQLAllDeleted(`$1`)

// sqlDropUserCache asks every node to forget a user's cached sessions.
var sqlDropUserCache = notify.SQLUserDropped(`$2::text`, `$1`)

// sqlAnnounce sends many payloads in one statement (one commit). That commit
// does not wait for its WAL to reach disk (synchronous_commit off for this
// transaction alone): it writes no data, only repeats what durable updates
// already did, and a server crash that loses it also cuts every listener,
// which makes every node drop its cache (DESIGN C1). Waiting would hold
// PostgreSQL's notify lock across a disk flush, and every node's
// announcements queue behind that lock.
const sqlAnnounce = `SELECT pg_notify($1, p), set_config('synchronous_commit', 'off', true) FROM unnest($2::text[]) AS p`

const sqlListUser = `SELECT ` + cols + `, now() FROM {{sessions}} s
WHERE s.user_id = $1 AND s.user_id <> '' AND ` + live + `
ORDER BY s.created_at DESC, s.id DESC`

const sqlPage = `SELECT ` + cols + `, now() FROM {{sessions}} s
WHERE s.id > $1 AND ` + live + ` ORDER BY s.id LIMIT $2`

// renewQuery moves a live session to a new id in one statement: the old row is
// gone in the same transaction that creates the new one. With capped, it
// also evicts the owner's sessions past the cap ($7); without, it leaves
// the eviction out of the statement entirely, which a guard on $7 alone
// does not do: an unused data-modifying CTE still costs about half a raw
// INSERT+DELETE per renewal (measured: BenchmarkRenew). Both return the
// same columns: the new row, now(), the evicted ids and the notification
// count.
//
// With ev, the announcements carry owners and reasons, and the renewed
// session's new ID.
func renewQuery(capped, ev bool) string {
	s := `WITH old AS (
    DELETE FROM {{sessions}} s WHERE s.id = $1 AND ` + live + ` RETURNING s.*
), ins AS (
    INSERT INTO {{sessions}} AS s (id, user_id, version, created_at, updated_at, last_seen_at,
        expires_at, idle_timeout, user_agent, ip, attrs, attr_expiry, attr_ver)
    SELECT $2, CASE WHEN $3::bool THEN $4::text ELSE old.user_id END, old.version + 1, now(), now(), now(),
        now() + $5::interval, CASE WHEN $11::bool THEN NULL ELSE coalesce($6::interval, old.idle_timeout) END,
        coalesce(nullif($8::text, ''), old.user_agent), coalesce(nullif($9::text, ''), old.ip),
        old.attrs, old.attr_expiry, old.attr_ver
    FROM old
    RETURNING ` + cols + `
)`
	if !capped {
		notes := notify.SQLDeletedEach(`old src`, `$10`)
		if ev {
			notes = notify.SQLRenewed(`old src`, `$10`, `$2`)
		}
		return s + `
SELECT ins.*, now(), '{}'::bytea[], ` + notes + ` FROM ins
WHERE $7::int = 0 -- always: this form is sent only then; naming $7 gives it a type`
	}
	notes := notify.SQLDeleted(`(SELECT id FROM old UNION ALL SELECT id FROM evict) src`, `$10`)
	if ev {
		notes = notify.SQLRenewed(`old src`, `$10`, `$2`) + ` + ` + notify.SQLGone(`evict src`, `$10`, store.ReasonEvicted)
	}
	return s + `, evict AS (` + evictSQL(`(SELECT user_id FROM ins)`, `$7::int`, `$1`) + `)
SELECT ins.*, now(), ARRAY(SELECT id FROM evict),
    ` + notes + ` FROM ins`
}

// sqlTouch records last access for many sessions at once (DESIGN M1): the
// time is the database clock minus how long ago the node saw the request,
// it only moves forward, skips rows touched within the granularity $3, and
// never brings an expired session back. It locks its rows in id order
// first: two nodes' flushes, and user-wide deletes, which lock in the same
// order, then never deadlock.
const sqlTouch = `WITH x AS (
    SELECT * FROM unnest($1::bytea[], $2::bigint[]) AS x(id, ago_us)
), locked AS (
    SELECT s.id FROM {{sessions}} s JOIN x ON x.id = s.id ORDER BY s.id FOR NO KEY UPDATE OF s
)
UPDATE {{sessions}} s SET last_seen_at = now() - x.ago_us * interval '1 microsecond'
FROM x JOIN locked l ON l.id = x.id
WHERE s.id = x.id AND s.last_seen_at < now() - x.ago_us * interval '1 microsecond' - $3::interval AND ` + live

// sqlSweepBatch deletes the expired rows among the next $2 ids after the
// shared cursor, and the expired attributes of the live ones, while holding the sweep lease ($1 is this node). Only one
// node at a time can hold the lease, and the row lock (SKIP LOCKED) keeps two
// batches from overlapping even if a lease expires mid-batch. At the end of a
// pass the lease is released but not due again for $4 (the sweep interval).
//
// With ev, it announces what it deleted, with owners and the reason.
func sweepQuery(ev bool) string {
	if !ev {
		return sqlSweepBatch
	}
	return sqlSweepBatch + `
WHERE ` + notify.SQLGone(`del src`, `{{channel}}`, store.ReasonExpired) + ` >= 0`
}

const sqlSweepBatch = `WITH st AS (
    SELECT m.cursor FROM {{maintenance}} m
    WHERE m.name = 'sweep' AND (m.holder = $1 OR m.lease_until <= now())
    FOR UPDATE SKIP LOCKED
), chunk AS (
    SELECT s.id FROM {{sessions}} s, st WHERE s.id > st.cursor ORDER BY s.id LIMIT $2
), del AS (
    DELETE FROM {{sessions}} s USING chunk c WHERE s.id = c.id AND ` + expired + ` RETURNING s.id, s.user_id
), trim AS (
    -- expired attributes of live sessions: already invisible to reads, now gone
    UPDATE {{sessions}} s SET attrs = s.attrs - k.keys, attr_expiry = s.attr_expiry - k.keys
    FROM (SELECT x.id, array_agg(e.key) AS keys
          FROM {{sessions}} x JOIN chunk c ON c.id = x.id, jsonb_each_text(x.attr_expiry) e
          WHERE x.attr_expiry <> '{}' AND e.value::bigint <= (extract(epoch FROM now()) * 1000)::bigint
          GROUP BY x.id) k
    WHERE s.id = k.id AND NOT ` + expired + `
    RETURNING 1
), adv AS (
    UPDATE {{maintenance}} m SET
        holder = CASE WHEN (SELECT count(*) FROM chunk) < $2 THEN NULL ELSE $1 END,
        lease_until = now() + CASE WHEN (SELECT count(*) FROM chunk) < $2 THEN $4::interval ELSE $3::interval END,
        cursor = CASE WHEN (SELECT count(*) FROM chunk) < $2 THEN ''::bytea
            ELSE (SELECT c.id FROM chunk c ORDER BY c.id DESC LIMIT 1) END
    FROM st WHERE m.name = 'sweep'
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM adv), (SELECT count(*) FROM chunk), (SELECT count(*) FROM del),
    (SELECT count(*) FROM trim)`

// sqlChangesSince reads the change log past a reader's position: up to $3
// rows after $1, and the rows $2 it found missing before (sequence numbers
// taken by updates that had not committed yet), in order. Two branches, so
// each is an index range or lookup whatever the table's statistics say (an
// OR under ORDER BY ... LIMIT can turn into a walk of the whole index).
const sqlChangesSince = `SELECT x.seq, x.id, x.version FROM (
    (SELECT c.seq, c.id, c.version FROM {{changes}} c WHERE c.seq > $1 ORDER BY c.seq LIMIT $3)
    UNION ALL
    (SELECT c.seq, c.id, c.version FROM {{changes}} c WHERE c.seq = ANY($2::bigint[]) AND c.seq <= $1)
) x ORDER BY x.seq`

// sqlChangesTop is the log's highest row number: an index's last entry.
const sqlChangesTop = `SELECT coalesce(max(c.seq), 0) FROM {{changes}} c`

// sqlChangesAt reads the rows a reader has not heard announced.
const sqlChangesAt = `SELECT c.seq, c.id, c.version FROM {{changes}} c WHERE c.seq = ANY($1::bigint[]) ORDER BY c.seq`

// sqlChangesStart is where a reader starts: past every row older than $1,
// so the rows of updates that may still have been committing are read.
// After a crash empties the log it is 0.
const sqlChangesStart = `SELECT coalesce(max(c.seq), 0) FROM {{changes}} c WHERE c.at < now() - $1::interval`

// sqlPruneChanges deletes log rows older than $2, at most once per $1
// across the nodes (the 'changes' maintenance lease), and says how many.
const sqlPruneChanges = `WITH claim AS (
    UPDATE {{maintenance}} m SET lease_until = now() + $1::interval
    WHERE m.name = 'changes' AND m.lease_until <= now()
    RETURNING 1
), gone AS (
    DELETE FROM {{changes}} c WHERE c.at < now() - $2::interval AND EXISTS (SELECT 1 FROM claim)
    RETURNING 1
)
SELECT count(*) FROM gone`
