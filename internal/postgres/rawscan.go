package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgsession/pgsession/internal/store"
)

// The hot statements (get, plain update, create) return one session row.
// pgx's Scan plans every column of every QueryRow afresh, which costs a few
// microseconds and a dozen allocations per row; queryRecord decodes the
// binary columns it expects directly and falls back to Scan for anything
// else (a pool in simple-protocol mode, for one, sends text).

// errNotBinary reports a column not in the form decodeRow knows: binary,
// or text for the text and jsonb columns.
var errNotBinary = errors.New("column not in the expected format")

// queryRecord runs sql, which returns cols plus now(), and decodes its one
// row; pgx.ErrNoRows when there is none.
func queryRecord(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) (*store.Record, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, pgx.ErrNoRows
	}
	rec, err := decodeRow(rows.FieldDescriptions(), rows.RawValues())
	if errors.Is(err, errNotBinary) {
		var f rowFields
		targets := f.targets()
		if len(rows.FieldDescriptions()) == len(targets)+1 {
			targets = append(targets, &f.rec.ChangeSeq)
		}
		if err = rows.Scan(targets...); err == nil {
			rec, err = f.record()
		}
	}
	if err != nil {
		return nil, err
	}
	rows.Close()
	return rec, rows.Err()
}

// decodeRow decodes cols plus now() from binary wire values (see the
// PostgreSQL send functions of each type), and an update's change-log
// number when the row carries one more bigint. Every byte slice it keeps is
// a copy: the values are only valid until the next row.
func decodeRow(fds []pgconn.FieldDescription, vals [][]byte) (*store.Record, error) {
	const n = 13 // cols plus now()
	var seq int64
	if len(fds) == n+1 && len(vals) == n+1 {
		var ok bool
		if seq, ok = int8Value(vals[n]); !ok || fds[n].DataTypeOID != pgtype.Int8OID || fds[n].Format != pgtype.BinaryFormatCode {
			return nil, errNotBinary
		}
		fds, vals = fds[:n], vals[:n]
	}
	if len(fds) != n || len(vals) != n {
		return nil, errNotBinary
	}
	want := [n]uint32{pgtype.ByteaOID, pgtype.TextOID, pgtype.Int8OID, pgtype.TimestamptzOID,
		pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.IntervalOID,
		pgtype.TextOID, pgtype.TextOID, pgtype.JSONBOID, pgtype.JSONBOID, pgtype.TimestamptzOID}
	for i, fd := range fds {
		// pgx asks for text and jsonb as text (the same bytes as binary
		// text, and jsonb without its version byte), the others as binary.
		textual := want[i] == pgtype.TextOID || want[i] == pgtype.JSONBOID
		if fd.DataTypeOID != want[i] || fd.Format != pgtype.BinaryFormatCode && !textual {
			return nil, errNotBinary
		}
		if vals[i] == nil && i != 7 { // only idle_timeout may be NULL
			return nil, errNotBinary
		}
	}
	var rec store.Record
	if len(vals[0]) != store.IDSize {
		return nil, errNotBinary
	}
	copy(rec.ID[:], vals[0])
	rec.UserID = string(vals[1])
	var ok [8]bool
	rec.Version, ok[0] = int8Value(vals[2])
	rec.CreatedAt, ok[1] = timestamptz(vals[3])
	rec.UpdatedAt, ok[2] = timestamptz(vals[4])
	rec.LastSeenAt, ok[3] = timestamptz(vals[5])
	rec.ExpiresAt, ok[4] = timestamptz(vals[6])
	rec.Now, ok[5] = timestamptz(vals[12])
	rec.IdleTimeout, ok[6] = intervalValue(vals[7])
	rec.UserAgent, rec.IP = string(vals[8]), string(vals[9])
	attrs, okA := jsonbText(vals[10], fds[10].Format)
	expiry, okE := jsonbText(vals[11], fds[11].Format)
	ok[7] = okA && okE
	for _, good := range ok {
		if !good {
			return nil, errNotBinary
		}
	}
	rec.Lazy = &store.LazyAttrs{Raw: attrs, Expiry: expiry, Decode: store.LazyDecode}
	rec.ChangeSeq = seq
	return &rec, nil
}

func int8Value(b []byte) (int64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b)), true
}

// pgEpochUnix is 2000-01-01 UTC, where timestamptz's microseconds count
// from, in seconds since the Unix epoch.
const pgEpochUnix = 946_684_800

// timestamptz decodes microseconds since 2000-01-01 UTC, split into seconds
// and microseconds first so that no sum overflows, up to PostgreSQL's
// latest timestamp (not through a time.Duration either, which spans only
// 292 years); the infinities, never written by this package, are refused,
// so Scan reports them.
func timestamptz(b []byte) (time.Time, bool) {
	us, ok := int8Value(b)
	if !ok || us == 1<<63-1 || us == -1<<63 {
		return time.Time{}, false
	}
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	return time.Unix(sec+pgEpochUnix, frac*1e3), true
}

// intervalValue decodes microseconds, days and months (NULL is zero: no
// idle timeout), as rowFields.record does.
func intervalValue(b []byte) (time.Duration, bool) {
	if b == nil {
		return 0, true
	}
	if len(b) != 16 {
		return 0, false
	}
	us := int64(binary.BigEndian.Uint64(b))
	days := int64(int32(binary.BigEndian.Uint32(b[8:])))
	months := int64(int32(binary.BigEndian.Uint32(b[12:])))
	return time.Duration(us)*time.Microsecond + time.Duration(days)*24*time.Hour + time.Duration(months)*30*24*time.Hour, true
}

// jsonbText copies a jsonb value's JSON text, without the format version
// (1) that its binary form starts with.
func jsonbText(b []byte, format int16) ([]byte, bool) {
	if format == pgtype.BinaryFormatCode {
		if len(b) < 1 || b[0] != 1 {
			return nil, false
		}
		b = b[1:]
	}
	return append([]byte(nil), b...), true
}
