package pgsession_test

import (
	"crypto/rand"
	"strconv"
	"testing"

	"github.com/pgsession/pgsession"
)

// BenchmarkDelete sets Delete (the row and its announcement, one statement)
// beside the floor's raw DELETE by primary key. Target: p50-ratio <= 1.3.
//
//	go test -run '^$' -bench 'Delete|Renew' -benchtime 2000x .
func BenchmarkDelete(b *testing.B) {
	e := newBenchEnv(b, pgsession.Config{}, 0)
	sql := `DELETE FROM ` + e.table + ` WHERE id = $1`
	floorIDs, pgsIDs := e.supply(b, "floor"), e.supply(b, "pgs")
	runPairSupplied(b, func(n int) { floorIDs.ensure(n); pgsIDs.ensure(n) },
		func(i int) {
			tag, err := e.pool.Exec(e.ctx, sql, floorIDs.ids[i][:])
			if err != nil || tag.RowsAffected() != 1 {
				b.Fatalf("floor delete: %v rows, %v", tag.RowsAffected(), err)
			}
		},
		func(i int) {
			if err := e.m.Delete(e.ctx, pgsIDs.ids[i]); err != nil {
				b.Fatal(err)
			}
		})
}

// BenchmarkRenew sets Renew (a new ID for a live session, the old one gone
// and announced, in one transaction) beside the floor's single statement
// that deletes the row and inserts it under a new ID. Target: p50-ratio <= 1.5.
func BenchmarkRenew(b *testing.B) {
	e := newBenchEnv(b, pgsession.Config{}, 0)
	sql := `WITH old AS (DELETE FROM ` + e.table + ` s WHERE s.id = $1 RETURNING s.*)
INSERT INTO ` + e.table + ` (id, user_id, version, created_at, updated_at, last_seen_at,
    expires_at, idle_timeout, user_agent, ip, attrs, attr_expiry, attr_ver)
SELECT $2, user_id, version + 1, now(), now(), now(), now() + interval '24 hours', idle_timeout,
    user_agent, ip, attrs, attr_expiry, attr_ver FROM old`
	floorIDs, pgsIDs := e.supply(b, "floor"), e.supply(b, "pgs")
	runPairSupplied(b, func(n int) { floorIDs.ensure(n); pgsIDs.ensure(n) },
		func(i int) {
			var id [32]byte
			rand.Read(id[:])
			tag, err := e.pool.Exec(e.ctx, sql, floorIDs.ids[i][:], id[:])
			if err != nil || tag.RowsAffected() != 1 {
				b.Fatalf("floor renew: %v rows, %v", tag.RowsAffected(), err)
			}
		},
		func(i int) {
			if _, err := e.m.Renew(e.ctx, pgsIDs.ids[i]); err != nil {
				b.Fatal(err)
			}
		})
}

// sessionSupply creates sessions ahead of a benchmark that uses each once,
// outside the timed calls.
type sessionSupply struct {
	b    *testing.B
	e    *benchEnv
	user string
	ids  []pgsession.ID
}

func (e *benchEnv) supply(b *testing.B, side string) *sessionSupply {
	return &sessionSupply{b: b, e: e, user: side}
}

// ensure creates sessions until index n-1 exists, 256 at a time.
func (s *sessionSupply) ensure(n int) {
	for len(s.ids) < n {
		for range 256 {
			ss, err := s.e.m.Create(s.e.ctx, s.user+"-"+strconv.Itoa(len(s.ids)%benchUsers), benchAttrs)
			if err != nil {
				s.b.Fatal(err)
			}
			s.ids = append(s.ids, ss.ID())
		}
	}
}
