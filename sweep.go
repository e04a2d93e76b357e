package pgsession

import (
	"context"
	"math/rand/v2"
	"time"
)

// sweepLease is how long a node holds the sweep between two batches. If the
// node dies mid-pass, another takes over from the shared cursor after this.
const sweepLease = 30 * time.Second

// sweepRetries bounds the retries of a batch that found the lease row busy
// in the middle of this node's pass.
const sweepRetries = 20

// SweepResult reports one sweep pass.
type SweepResult struct {
	// Ran is false when another node holds the sweep or the next pass is not
	// due yet (a pass ran less than SweepInterval ago).
	Ran bool
	// Batches is the number of statements run; Deleted the sessions removed;
	// Trimmed the live sessions whose expired attributes were removed.
	Batches, Deleted, Trimmed int
	// Complete is true when the pass reached the end of the table.
	Complete bool
}

// Sweep deletes expired sessions in batches of Config.SweepBatchSize, one
// statement each, while this node holds the cluster-wide sweep lease (DESIGN
// M2). Nodes run it on their own every SweepInterval; call it from a job or
// the CLI to run a pass now when one is due: a pass that finished less than
// 0.9 x SweepInterval ago (by any node) is not repeated, and Ran is false.
// Expired sessions are invisible to reads either way.
func (m *Manager) Sweep(ctx context.Context) (SweepResult, error) {
	if err := m.checkOpen("sweep"); err != nil {
		return SweepResult{}, err
	}
	return m.sweep(ctx)
}

func (m *Manager) sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	every := max(m.cfg.SweepInterval, 0) * 9 / 10 // due a little early, so one node's tick finds it due
	misses := 0
	for {
		start := mono()
		b, err := m.backend.SweepBatch(ctx, m.sweepHolder(), m.cfg.SweepBatchSize, sweepLease, every)
		m.timed(opSweepBatch, start)
		if err != nil {
			return res, op("sweep", err)
		}
		if !b.Claimed {
			// Mid-pass, a miss is usually another node's attempt holding the
			// lease row for the length of its statement (PostgreSQL keeps the
			// lock it took while re-checking a row it then skipped): our lease
			// stands, so try again shortly.
			if !res.Ran || misses == sweepRetries {
				return res, nil
			}
			misses++
			select {
			case <-ctx.Done():
				return res, op("sweep", ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		misses = 0
		res.Ran = true
		res.Batches++
		res.Deleted += b.Deleted
		m.stats.expired.Add(uint64(b.Deleted))
		res.Trimmed += b.Trimmed
		if b.Done {
			res.Complete = true
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return res, op("sweep", err)
		}
	}
}

// runJanitor sweeps every SweepInterval, with jitter so nodes started
// together do not all try at once, until the Manager closes.
func (m *Manager) runJanitor() {
	for {
		wait := m.cfg.SweepInterval + time.Duration(rand.Int64N(int64(m.cfg.SweepInterval/5)+1))
		select {
		case <-m.stop:
			return
		case <-time.After(wait):
		}
		if _, err := m.sweep(m.bgCtx); err != nil && m.bgCtx.Err() == nil {
			m.cfg.Logger.Warn("pgsession: sweep failed", "err", err)
		}
	}
}
