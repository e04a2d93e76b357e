package pgsession_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
)

// With Config.NotifyOnConflict, a version-checked update that is refused
// announces the version it found, and other nodes drop their older copy at
// once. Without it they keep serving that copy until something else tells
// them. Nothing else can tell them here: the update that made the copies
// stale was not announced (NoNotify) and no node reads the change log.
func TestNotifyOnConflictDropsStaleCopiesOnOtherNodes(t *testing.T) {
	for _, notify := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[notify]
		t.Run(name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, c *cluster) {
				ctx := ctxT(t)
				cfg := testConfig()
				cfg.ChangePollInterval = -1
				writerCfg := cfg
				writerCfg.NotifyOnConflict = notify
				a, b, w := c.node(writerCfg), c.node(cfg), c.node(cfg)

				s, err := a.Create(ctx, "", map[string]any{"n": 1})
				require.NoError(t, err)
				marker, err := a.Create(ctx, "", map[string]any{"n": 1})
				require.NoError(t, err)
				for _, id := range []pgsession.ID{s.ID(), marker.ID()} {
					_, err = b.GetByID(ctx, id) // b caches version 1 of both
					require.NoError(t, err)
				}

				// The silent update: b's copy of s is now stale.
				_, err = w.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 2), pgsession.NoNotify())
				require.NoError(t, err)
				stale, err := b.GetByID(ctx, s.ID(), pgsession.NoTouch())
				require.NoError(t, err)
				require.True(t, stale.FromCache())
				require.Equal(t, int64(1), stale.Version())

				// a read version 1 too; its checked update is refused.
				_, err = a.Update(ctx, s.ID(), new(pgsession.Patch).Set("n", 3), pgsession.IfVersion(1))
				require.ErrorIs(t, err, pgsession.ErrVersionConflict)

				if notify {
					require.Eventually(t, func() bool {
						got, err := b.GetByID(ctx, s.ID(), pgsession.NoTouch())
						return err == nil && got.Version() == 2 && !got.FromCache()
					}, within, 5*time.Millisecond, "b never dropped its stale copy")
					return
				}
				// a's next announcement reaches b after anything a sent
				// before it; once b has it, b still holds version 1 of s.
				_, err = a.Update(ctx, marker.ID(), new(pgsession.Patch).Set("n", 2))
				require.NoError(t, err)
				require.Eventually(t, func() bool {
					got, err := b.GetByID(ctx, marker.ID(), pgsession.NoTouch())
					return err == nil && got.Version() == 2
				}, within, 5*time.Millisecond)
				got, err := b.GetByID(ctx, s.ID(), pgsession.NoTouch())
				require.NoError(t, err)
				require.Equal(t, int64(1), got.Version(), "without the option nothing announced the conflict")
				require.True(t, got.FromCache())
			})
		})
	}
}
