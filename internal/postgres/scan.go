package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgsession/pgsession/internal/store"
)

// rowFields are the scan targets for cols plus now(); reused per row.
type rowFields struct {
	id         []byte
	idle       pgtype.Interval
	attrs      []byte
	attrExpiry []byte
	rec        store.Record
}

func (f *rowFields) targets() []any {
	r := &f.rec
	return []any{&f.id, &r.UserID, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.LastSeenAt,
		&r.ExpiresAt, &f.idle, &r.UserAgent, &r.IP, &f.attrs, &f.attrExpiry, &r.Now}
}

// record finishes decoding the raw columns into an immutable Record.
func (f *rowFields) record() (*store.Record, error) {
	rec := f.rec
	if len(f.id) != store.IDSize {
		return nil, fmt.Errorf("session id has %d bytes", len(f.id))
	}
	copy(rec.ID[:], f.id)
	if f.idle.Valid {
		rec.IdleTimeout = time.Duration(f.idle.Microseconds)*time.Microsecond +
			time.Duration(f.idle.Days)*24*time.Hour + time.Duration(f.idle.Months)*30*24*time.Hour
	}
	rec.Lazy = &store.LazyAttrs{Raw: f.attrs, Expiry: f.attrExpiry, Decode: store.LazyDecode}
	return &rec, nil
}

func scanRecord(row pgx.Row, extra ...any) (*store.Record, error) {
	var f rowFields
	if err := row.Scan(append(f.targets(), extra...)...); err != nil {
		return nil, err
	}
	return f.record()
}

func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

// optionalInterval maps zero to SQL NULL.
func optionalInterval(d time.Duration) pgtype.Interval {
	if d <= 0 {
		return pgtype.Interval{}
	}
	return interval(d)
}

func idsFromBytes(raw [][]byte) []store.ID {
	out := make([]store.ID, 0, len(raw))
	for _, b := range raw {
		var id store.ID
		copy(id[:], b)
		out = append(out, id)
	}
	return out
}

func idsToBytes(ids []store.ID) [][]byte {
	out := make([][]byte, len(ids))
	for i := range ids {
		out[i] = ids[i][:]
	}
	return out
}
