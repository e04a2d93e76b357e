package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession/pgsessiontest"
)

// -affinity moves the affinity store's own chain, and only it: the session
// tables stay as they are, and the other way round.
func TestMigrateAffinityChain(t *testing.T) {
	t.Parallel()
	schema := pgsessiontest.Schema(t)
	where := fmt.Sprintf("schema %s, prefix pgsession_ (affinity tables)", schema)
	tables := func() []string {
		var names []string
		require.NoError(t, pgsessiontest.AdminPool(t).QueryRow(context.Background(),
			`SELECT coalesce(array_agg(tablename::text ORDER BY tablename), '{}') FROM pg_tables WHERE schemaname = $1`, schema).Scan(&names))
		return names
	}

	r := runCLI(t, nil, args([]string{"migrate", "status", "-affinity"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": database at version 0, this pgsession needs 1: 1 migration(s) pending: run \"pgsession migrate up -affinity\"\n", r.stdout)

	r = runCLI(t, nil, args([]string{"migrate", "up", "-affinity"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": applied migration 1, now at version 1\n", r.stdout)
	require.Equal(t, []string{"pgsession_affinity", "pgsession_affinity_migrations"}, tables(), "no session table")

	r = runCLI(t, nil, args([]string{"migrate", "up"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, tables(), "pgsession_sessions")

	r = runCLI(t, nil, args([]string{"migrate", "down", "-to", "0", "-affinity"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, where+": rolled back migration 1, now at version 0\n", r.stdout)
	require.NotContains(t, tables(), "pgsession_affinity")
	require.Contains(t, tables(), "pgsession_sessions", "the session tables stay")

	r = runCLI(t, nil, "migrate", "sql", "-affinity")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "CREATE TABLE IF NOT EXISTS \"public\".\"pgsession_affinity\"")
	require.NotContains(t, r.stdout, "pgsession_sessions")
}
