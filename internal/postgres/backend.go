// Package postgres is the PostgreSQL backend: every operation is one round
// trip (see queries.go), and all times that decide expiry come from the
// database clock.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgsession/pgsession/internal/store"
)

// Backend implements store.Backend on a pgx pool.
type Backend struct {
	pool      *pgxpool.Pool
	ownsPool  bool
	names     *Names
	channel   string
	getSQL    string
	createSQL string
	cappedSQL string
	updateSQL string
	leanSQL   string
	deleteSQL string
	delUser   string
	delAll    string
	listSQL   string
	pageSQL   string
	renewSQL  string // uncapped: see renewQuery
	renewCap  string
	renewLock string

	// createSQL and cappedSQL with initial attribute TTLs: separate texts,
	// so a create without them sends the statement it always did.
	createTTL, cappedTTL                  string
	changesSQL, changesStartSQL, pruneSQL string
	changesTopSQL, changesAtSQL           string
	touchSQL                              string
	sweepSQL                              string
	dropSQL                               string
	annSQL                                string
	lockSQL                               lockQueries
}

type lockQueries struct{ acquire, extend, release, list, guard string }

var _ store.Backend = (*Backend)(nil)

// New returns a backend on pool. If ownsPool, Close closes the pool.
func New(pool *pgxpool.Pool, names *Names, ownsPool bool) *Backend {
	return &Backend{
		pool: pool, ownsPool: ownsPool, names: names, channel: names.Channel(),
		getSQL:    names.Expand(sqlGet),
		createSQL: names.Expand(createQuery(false, false, false)),
		cappedSQL: names.Expand(createQuery(true, false, false)),
		createTTL: names.Expand(createQuery(false, true, false)),
		cappedTTL: names.Expand(createQuery(true, true, false)),
		updateSQL: names.Expand(sqlUpdate),
		leanSQL:   names.Expand(sqlUpdateLean),
		deleteSQL: names.Expand(deleteQuery(false)),
		delUser:   names.Expand(sqlDeleteUser),
		delAll:    names.Expand(sqlDeleteAll),
		listSQL:   names.Expand(sqlListUser),
		pageSQL:   names.Expand(sqlPage),
		renewSQL:  names.Expand(renewQuery(false, false)),
		renewCap:  names.Expand(renewQuery(true, false)),
		renewLock: names.Expand(sqlLockRenewUsers),

		changesSQL:      names.Expand(sqlChangesSince),
		changesStartSQL: names.Expand(sqlChangesStart),
		changesTopSQL:   names.Expand(sqlChangesTop),
		changesAtSQL:    names.Expand(sqlChangesAt),
		pruneSQL:        names.Expand(sqlPruneChanges),
		touchSQL:        names.Expand(sqlTouch),
		sweepSQL:        names.Expand(sweepQuery(false)),
		dropSQL:         sqlDropUserCache,
		annSQL:          sqlAnnounce,
		lockSQL: lockQueries{
			acquire: names.Expand(sqlAcquireLock), extend: names.Expand(sqlExtendLock),
			release: names.Expand(sqlReleaseLock), list: names.Expand(sqlListLocks),
			guard: names.Expand(sqlGuardLock),
		},
	}
}

// LeanUpdateSQL is the statement of a plain update (see sqlUpdateLean), for
// benchmarks that time it without the library around it. Its parameters:
// id, keys deleted, the JSON object set, keys set, keys touched, the
// attribute limit.
func (b *Backend) LeanUpdateSQL() string { return b.leanSQL }

// BareLeanUpdateSQL is the UPDATE of a plain update alone, RETURNING the
// session's columns, without the change log's INSERT around it: the
// baseline of benchmarks that measure what the change log costs.
func (b *Backend) BareLeanUpdateSQL() string { return b.names.Expand(leanUpdate) }

// OmitChangeLog makes updates skip their change-log row, so benchmarks can
// measure the library as it would be with no announcement of any kind.
// Call it before any update; nodes that read the log then miss this
// backend's unannounced updates, so nothing else may use it.
func (b *Backend) OmitChangeLog() {
	b.updateSQL = b.names.Expand(strings.Replace(sqlUpdate, logChanges, noChangeLog, 1))
	b.leanSQL = b.names.Expand(strings.Replace(sqlUpdateLean, logChanges, noChangeLog, 1))
}

// EnableEvents switches to the statements that announce what session
// events need (see internal/notify/sql.go): creations, sweeps, and the owners
// and reasons of deletions. Call it before any write.
func (b *Backend) EnableEvents() {
	n := b.names
	b.createSQL, b.cappedSQL = n.Expand(createQuery(false, false, true)), n.Expand(createQuery(true, false, true))
	b.createTTL, b.cappedTTL = n.Expand(createQuery(false, true, true)), n.Expand(createQuery(true, true, true))
	b.deleteSQL = n.Expand(deleteQuery(true))
	b.renewSQL, b.renewCap = n.Expand(renewQuery(false, true)), n.Expand(renewQuery(true, true))
	b.sweepSQL = n.Expand(sweepQuery(true))
}

// Close closes the pool if the backend opened it.
func (b *Backend) Close() {
	if b.ownsPool {
		b.pool.Close()
	}
}

// withLock runs one statement preceded, in the same pipeline (one round
// trip, one implicit transaction), by statements that take locks, in the
// order given: the statement after them takes a fresh snapshot that sees
// every write committed by the holders before.
func (b *Backend) withLock(ctx context.Context, locks []lockStep, sql string, args []any, scan func(pgx.Row) error) error {
	err := b.withLockOnce(ctx, locks, sql, args, scan)
	if isDeadlock(err) {
		// Touches and user-wide deletes lock rows in id order, but a
		// renewal or a capped create locks the old row and then the rows
		// it evicts in the plan's order, and may be ended as a deadlock's
		// victim: its transaction changed nothing, so it is sent again.
		err = b.withLockOnce(ctx, locks, sql, args, scan)
	}
	return err
}

func (b *Backend) withLockOnce(ctx context.Context, locks []lockStep, sql string, args []any, scan func(pgx.Row) error) error {
	if len(locks) == 0 {
		return scan(b.pool.QueryRow(ctx, sql, args...))
	}
	batch := &pgx.Batch{}
	for _, l := range locks {
		batch.Queue(l.sql, l.args...)
	}
	batch.Queue(sql, args...)
	br := b.pool.SendBatch(ctx, batch)
	for range locks {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	err := scan(br.QueryRow())
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockStep is the locking statement withLock sends first.
type lockStep struct {
	sql  string
	args []any
}

// userLock is the lock of one user (see sqlLockUser).
func (b *Backend) userLock(user string) []lockStep {
	return []lockStep{{sql: sqlLockUser, args: []any{b.names.LockClass(), user}}}
}

// encodeAttrs writes attributes as one JSON object. The values are valid
// JSON already (the Manager's Patch and Create marshal or validate them), so
// they are copied, not re-parsed as json.Marshal would.
func encodeAttrs(attrs map[string]json.RawMessage) string {
	n := 2
	for k, v := range attrs {
		n += len(k) + len(v) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for k, v := range attrs {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = append(b, v...)
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (keys are
// checked), so only quotes, backslashes and control characters need escapes.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Create inserts a session and, when a cap applies, evicts the user's
// oldest beyond it in the same round trip; attribute TTLs travel in the
// insert itself.
func (b *Backend) Create(ctx context.Context, s store.NewSession) (*store.Record, []store.ID, error) {
	attrs := encodeAttrs(s.Attrs)
	args := []any{s.ID[:], s.UserID, interval(s.Lifetime), optionalInterval(s.IdleTimeout),
		s.UserAgent, s.IP, attrs}
	plain, capped := b.createSQL, b.cappedSQL
	var ttl []any
	if len(s.AttrTTL) > 0 {
		plain, capped = b.createTTL, b.cappedTTL
		keys := make([]string, 0, len(s.AttrTTL))
		ms := make([]int64, 0, len(s.AttrTTL))
		for k, d := range s.AttrTTL {
			keys = append(keys, k)
			ms = append(ms, d.Milliseconds())
		}
		ttl = []any{keys, ms}
	}
	if s.MaxPerUser <= 0 || s.UserID == "" {
		rec, err := queryRecord(ctx, b.pool, plain, append(args, ttl...)...)
		return rec, nil, duplicate(err)
	}
	var rec *store.Record
	var evicted [][]byte
	var notes int
	args = append(append(args, s.MaxPerUser, b.channel), ttl...)
	err := b.withLock(ctx, b.userLock(s.UserID), capped, args, func(row pgx.Row) error {
		var err error
		rec, err = scanRecord(row, &evicted, &notes)
		return err
	})
	if err != nil {
		return nil, nil, duplicate(err)
	}
	return rec, idsFromBytes(evicted), nil
}

// duplicate reports a primary-key clash on insert as store.ErrExists.
func duplicate(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return store.ErrExists
	}
	return err
}

// Get reads a live session.
func (b *Backend) Get(ctx context.Context, id store.ID) (*store.Record, error) {
	rec, err := queryRecord(ctx, b.pool, b.getSQL, id[:])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return rec, err
}

// updateRetries bounds the retries of an update whose refusal could not be
// explained from the row it returned (a concurrent change decided it).
const updateRetries = 3

// Update applies a patch to the live row, never to a deleted one (DESIGN W1).
func (b *Backend) Update(ctx context.Context, p store.Patch) (*store.Record, error) {
	set := make(map[string]json.RawMessage, len(p.Set))
	setKeys := make([]string, 0, len(p.Set))
	var ttlKeys []string
	var ttlMs []int64
	for _, w := range p.Set {
		set[w.Key] = w.Raw
		setKeys = append(setKeys, w.Key)
		if w.TTL > 0 {
			ttlKeys = append(ttlKeys, w.Key)
			ttlMs = append(ttlMs, w.TTL.Milliseconds())
		}
	}
	setJSON := encodeAttrs(set)
	del := p.Delete
	if del == nil {
		del = []string{}
	}
	if ttlKeys == nil {
		ttlKeys, ttlMs = []string{}, []int64{}
	}
	touched := append(append([]string{}, setKeys...), del...)
	// The connection first, on its own: an error getting it (the context
	// ended, the pool is closed, the database cannot be reached) means
	// nothing was sent, which uncertain could not tell from the error alone.
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if p.IfVersion == 0 && p.KeysSince == 0 && len(ttlKeys) == 0 && p.Lifetime <= 0 && len(touched) > 0 {
		rec, err := queryRecord(ctx, conn, b.leanSQL, p.ID[:], del, setJSON,
			setKeys, touched, p.MaxAttributes)
		if !errors.Is(err, pgx.ErrNoRows) {
			return rec, uncertain(err)
		}
		// Refused or gone: the full statement below says which.
	}
	for attempt := 0; ; attempt++ {
		var ok, keysOK bool
		var seq int64
		rec, err := scanRecord(conn.QueryRow(ctx, b.updateSQL, p.ID[:], del, setJSON,
			setKeys, ttlKeys, ttlMs, p.IfVersion, p.MaxAttributes, p.KeysSince, touched,
			optionalInterval(p.Lifetime)), &ok, &keysOK, &seq)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, store.ErrNotFound
		case err != nil:
			return nil, uncertain(err)
		case ok:
			rec.ChangeSeq = seq
			return rec, nil
		case countAfter(rec, p) > p.MaxAttributes:
			return nil, store.ErrTooManyAttributes
		case p.IfVersion != 0 && rec.Version != p.IfVersion, !keysOK:
			return nil, &store.ConflictError{Current: rec.Version}
		case attempt >= updateRetries:
			// The refusal came from a change that committed while we waited
			// for the row; with a version check that is a conflict.
			return nil, store.ErrVersionConflict
		}
	}
}

// Delete removes a session and announces it; it reports whether a row was there.
func (b *Backend) Delete(ctx context.Context, id store.ID) (bool, error) {
	var n, notes int
	err := b.pool.QueryRow(ctx, b.deleteSQL, id[:], b.channel).Scan(&n, &notes)
	return n > 0, err
}

// DeleteUser removes all of a user's sessions but those in except, holding
// the user's lock so no renewal of one of them can slip past (DESIGN W5).
func (b *Backend) DeleteUser(ctx context.Context, userID string, except []store.ID) ([]store.ID, error) {
	var raw [][]byte
	var notes int
	err := b.withLock(ctx, b.userLock(userID), b.delUser, []any{userID, idsToBytes(except), b.channel},
		func(row pgx.Row) error { return row.Scan(&raw, &notes) })
	if err != nil {
		return nil, err
	}
	return idsFromBytes(raw), nil
}

// DeleteAll removes every session, holding off renewals (see sqlLockAll).
func (b *Backend) DeleteAll(ctx context.Context) (int, error) {
	var n, notes int
	err := b.withLock(ctx, []lockStep{{sql: sqlLockAll, args: []any{b.names.LockClass()}}}, b.delAll, []any{b.channel},
		func(row pgx.Row) error { return row.Scan(&n, &notes) })
	return n, err
}

// DropUserCache asks every node to forget the user's cached sessions.
func (b *Backend) DropUserCache(ctx context.Context, userID string) error {
	_, err := b.pool.Exec(ctx, b.dropSQL, b.channel, userID)
	return err
}

// Announce sends payloads (internal/notify's format) in one statement.
func (b *Backend) Announce(ctx context.Context, payloads []string) error {
	_, err := b.pool.Exec(ctx, b.annSQL, b.channel, payloads)
	return err
}

// ListUser returns a user's live sessions, newest first.
func (b *Backend) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	return b.records(ctx, b.listSQL, userID)
}

// Page returns live sessions after an ID, in ID order.
func (b *Backend) Page(ctx context.Context, after store.ID, limit int) ([]*store.Record, error) {
	return b.records(ctx, b.pageSQL, after[:], limit)
}

func (b *Backend) records(ctx context.Context, sql string, args ...any) ([]*store.Record, error) {
	rows, err := b.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.Record
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Renew moves a live session to a new id in one transaction.
func (b *Backend) Renew(ctx context.Context, r store.Renewal) (*store.Record, []store.ID, error) {
	var rec *store.Record
	var evicted [][]byte
	var notes int
	args := []any{r.OldID[:], r.NewID[:], r.SetUser, r.UserID, interval(r.Lifetime),
		optionalInterval(r.IdleTimeout), r.MaxPerUser, r.UserAgent, r.IP, b.channel, r.NoIdleTimeout}
	capNewUser := r.SetUser && r.MaxPerUser > 0 && r.UserID != ""
	class := b.names.LockClass()
	locks := []lockStep{
		{sql: sqlLockAllShared, args: []any{class}},
		{sql: b.renewLock, args: []any{class, r.OldID[:], r.UserID, capNewUser}},
	}
	sql := b.renewSQL
	if r.MaxPerUser > 0 {
		sql = b.renewCap
	}
	err := b.withLock(ctx, locks, sql, args, func(row pgx.Row) error {
		var err error
		rec, err = scanRecord(row, &evicted, &notes)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, store.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return rec, idsFromBytes(evicted), nil
}

// Touch writes many last-access times in one statement.
func (b *Backend) Touch(ctx context.Context, touches []store.Touch, granularity time.Duration) error {
	ids := make([][]byte, len(touches))
	ago := make([]int64, len(touches))
	for i := range touches {
		ids[i] = touches[i].ID[:]
		ago[i] = touches[i].Ago.Microseconds()
	}
	_, err := b.pool.Exec(ctx, b.touchSQL, ids, ago, interval(granularity))
	if isDeadlock(err) {
		// The batch comes sorted by id, but the rows are locked in the
		// order the plan reads them, and another transaction (a flush on
		// another node, a user-wide delete) may hold some of them in
		// another order. PostgreSQL then ends this statement alone; once
		// at once almost always succeeds, and if not, the toucher keeps
		// the touches for its next flush.
		_, err = b.pool.Exec(ctx, b.touchSQL, ids, ago, interval(granularity))
	}
	return err
}

// isDeadlock reports PostgreSQL's deadlock_detected error.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// SweepBatch runs one step of the shared expiry sweep.
func (b *Backend) SweepBatch(ctx context.Context, holder string, batch int, lease, every time.Duration) (store.SweepBatch, error) {
	var r store.SweepBatch
	err := b.pool.QueryRow(ctx, b.sweepSQL, holder, batch, interval(lease), interval(every)).
		Scan(&r.Claimed, &r.Scanned, &r.Deleted, &r.Trimmed)
	r.Done = r.Claimed && r.Scanned < batch
	return r, err
}

// countAfter is how many attributes a patch would leave on rec.
func countAfter(rec *store.Record, p store.Patch) int {
	attrs := rec.AttrMap()
	n := len(attrs)
	for _, k := range p.Delete {
		if _, ok := attrs[k]; ok {
			n--
		}
	}
	seen := map[string]bool{}
	for _, w := range p.Set {
		_, had := attrs[w.Key]
		if (!had || containsString(p.Delete, w.Key)) && !seen[w.Key] {
			n++
		}
		seen[w.Key] = true
	}
	return n
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
