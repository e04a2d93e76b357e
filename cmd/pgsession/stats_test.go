package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// stats on a database of its own, so the listeners it finds are exactly
// this test's: counts, top users (escaped), attribute percentiles, table
// sizes, the listening node, each state of the sweep, and sampling.
func TestStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgsessiontest.Database(t)
	base := []string{"-db", url}

	r := runCLI(t, nil, args([]string{"stats"}, base...)...)
	require.Equal(t, exitFail, r.code)
	require.Contains(t, r.stderr, `run "pgsession migrate up"`)

	m, err := pgsession.Open(ctx, url, pgsession.Config{NodeID: "stats-a", SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	const eve = "eve\x1b[2J\u202e"
	big := make([]byte, 4500)
	rand.Read(big)
	for _, s := range []struct {
		user  string
		attrs map[string]any
	}{
		{"alice", map[string]any{"a": 1, "b": "x", "c": true}},
		{"alice", map[string]any{"a": 1}},
		{"alice", nil},
		{eve, nil},
		{eve, map[string]any{"a": 1, "b": 2}},
		{"carol", map[string]any{"big": base64.StdEncoding.EncodeToString(big)}},
		{"", nil}, // anonymous
	} {
		_, err := m.Create(ctx, s.user, s.attrs)
		require.NoError(t, err)
	}
	_, err = m.Create(ctx, "dave", map[string]any{"a": 1}, pgsession.WithLifetime(time.Millisecond))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond) // dave's session expires

	rep := statsJSON(t, args([]string{"stats", "-json"}, base...)...)
	require.Equal(t, sessionCount{Live: 7, Users: 3, Anonymous: 1, Expired: 1}, rep.Sessions)
	require.Equal(t, []userCount{{"alice", 3}, {eve, 2}, {"carol", 1}}, rep.TopUsers)
	a := rep.Attributes
	require.Equal(t, int64(7), a.Sessions)
	require.False(t, a.Sampled)
	require.Equal(t, 100.0, a.SamplePercent)
	// Keys per live session: 0 0 0 1 1 2 3.
	require.Equal(t, spread{P50: 1, P90: 3, P99: 3, Max: 3}, a.Keys)
	require.Greater(t, a.Bytes.Max, int64(3000), "carol's incompressible attribute")
	require.Less(t, a.Bytes.P50, int64(100))
	var names []string
	for _, tb := range rep.Tables {
		names = append(names, tb.Table)
		require.Positive(t, tb.Total, tb.Table)
		require.Equal(t, tb.Total, tb.Data+tb.Indexes, tb.Table)
	}
	require.Equal(t, []string{"pgsession_sessions", "pgsession_maintenance", "pgsession_locks",
		"pgsession_changes", "pgsession_migrations"}, names, "the affinity tables only where the affinity store is used")
	if !pgsessiontest.DirectListener() { // else the listener is on another server
		require.Len(t, rep.Listeners, 1)
		require.Equal(t, "stats-a", rep.Listeners[0].Node)
	}
	require.Equal(t, "never", rep.Sweep.State)
	require.Regexp(t, `^pgst_db_`, rep.Database)

	rep = statsJSON(t, args([]string{"stats", "-json", "-top", "1"}, base...)...)
	require.Equal(t, []userCount{{"alice", 3}}, rep.TopUsers)
	require.Equal(t, int64(3), rep.Sessions.Users, "-top does not change the count of users")

	// Eight rows, a sample for two: a quarter of the pages.
	rep = statsJSON(t, args([]string{"stats", "-json", "-sample", "2"}, base...)...)
	require.True(t, rep.Attributes.Sampled)
	require.Equal(t, 25.0, rep.Attributes.SamplePercent)
	require.LessOrEqual(t, rep.Attributes.Sessions, int64(7))

	r = runCLI(t, nil, args([]string{"stats"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(t, r.stdout)
	for _, re := range []string{
		`(?m)^database pgst_db_[0-9a-f]+, schema public, prefix pgsession_, at \d{4}-`,
		`(?m)^  live\s+7\s+3 user\(s\), 1 anonymous$`,
		`(?m)^  expired, awaiting the sweep\s+1\s+invisible to reads$`,
		`(?m)^  USER\s+SESSIONS$`,
		`(?m)^  alice\s+3$`,
		`(?m)^  ` + regexp.QuoteMeta(`eve\x1b[2J\u202e`) + `\s+2$`,
		`(?m)^attributes per live session \(all 7\)$`,
		`(?m)^\s+P50\s+P90\s+P99\s+MAX$`,
		`(?m)^  size\s+\d+ B\s+`,
		`(?m)^  count\s+1\s+3\s+3\s+3$`,
		`(?m)^  pgsession_sessions\s+\d+\.\d KiB\s+\d+\.\d KiB\s+\d+\.\d KiB$`,
		`(?m)^  \(all\)\s+`,
		`(?m)^sweep: no pass has run yet$`,
	} {
		require.Regexp(t, re, r.stdout)
	}
	if !pgsessiontest.DirectListener() {
		require.Regexp(t, `(?m)^nodes listening now: 1 `, r.stdout)
		require.Regexp(t, `(?m)^  stats-a\s+\d{4}-`, r.stdout)
	}

	// The sweep: after a pass, idle; a node's lease mid-pass, running; a
	// lease that ran out mid-pass, interrupted.
	r = runCLI(t, nil, args([]string{"sweep"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	rep = statsJSON(t, args([]string{"stats", "-json"}, base...)...)
	require.Equal(t, int64(0), rep.Sessions.Expired)
	require.Equal(t, "idle", rep.Sweep.State)
	require.NotNil(t, rep.Sweep.LeaseUntil)
	require.Regexp(t, `(?m)^sweep: the last pass finished; the next is due at \d{4}-`, runCLI(t, nil, args([]string{"stats"}, base...)...).stdout)

	admin, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, `UPDATE pgsession_maintenance SET holder = 'node-x/1', lease_until = now() + interval '1 minute',
		cursor = decode(repeat('ab', 32), 'hex') WHERE name = 'sweep'`)
	require.NoError(t, err)
	rep = statsJSON(t, args([]string{"stats", "-json"}, base...)...)
	require.Equal(t, sweepState{State: "running", Holder: "node-x/1", LeaseUntil: rep.Sweep.LeaseUntil, Cursor: strings.Repeat("ab", 32)}, rep.Sweep)
	require.Regexp(t, `(?m)^sweep: a pass is running on node-x/1 \(lease until \d{4}-.*\), past session (ab){8}…$`,
		runCLI(t, nil, args([]string{"stats"}, base...)...).stdout)

	_, err = admin.Exec(ctx, `UPDATE pgsession_maintenance SET lease_until = now() - interval '1 minute' WHERE name = 'sweep'`)
	require.NoError(t, err)
	rep = statsJSON(t, args([]string{"stats", "-json"}, base...)...)
	require.Equal(t, "interrupted", rep.Sweep.State)
	require.Regexp(t, `(?m)^sweep: a pass stopped mid-way: node-x/1's lease ran out at \d{4}-.*; the next pass resumes past session (ab){8}…$`,
		runCLI(t, nil, args([]string{"stats"}, base...)...).stdout)
}

// statsJSON runs stats -json and decodes its report.
func statsJSON(t *testing.T, cmdArgs ...string) report {
	t.Helper()
	r := runCLI(t, nil, cmdArgs...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(t, r.stdout)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	return rep
}

// requireNoRawControls fails if out holds a character a terminal acts on,
// other than the newlines and tabs of the output's own layout.
func requireNoRawControls(t *testing.T, out string) {
	t.Helper()
	for _, r := range []string{"\x1b", "\x07", "\r", "\x7f", "\u009b", "\u202e"} {
		require.NotContains(t, out, r, "raw %q in %q", r, out)
	}
}
