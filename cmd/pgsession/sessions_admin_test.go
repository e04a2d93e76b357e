package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/pgsessiontest"
)

// sessions list -all (newest first, -limit, escaped), sessions count, and
// sessions revoke-all: refused without -yes, and with it every session
// ends and a node's cached copy goes too.
func TestSessionsAllCountRevokeAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil), pgsession.Config{Schema: schema, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	const mallory = "mallory\x1b]0;x\x07"
	users := []string{"alice", "", "bob", "alice", mallory}
	ids := make([]pgsession.ID, len(users))
	for i, u := range users {
		s, err := m.Create(ctx, u, nil, pgsession.WithClient(fmt.Sprintf("agent/%d\u202e", i), fmt.Sprintf("192.0.2.%d", i)))
		require.NoError(t, err)
		ids[i] = s.ID()
	}
	_, err = m.Create(ctx, "dave", nil, pgsession.WithLifetime(time.Millisecond))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond) // dave's session expires

	r := runCLI(t, nil, args([]string{"sessions", "list", "-all"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stderr)
	requireNoRawControls(t, r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 6, r.stdout)
	require.Regexp(t, `^ID\s+USER\s+CREATED\s+LAST SEEN\s+EXPIRES\s+IP\s+USER AGENT$`, lines[0])
	for i, line := range lines[1:] {
		n := len(users) - 1 - i // newest first
		user := map[string]string{"": "-", mallory: `mallory\x1b]0;x\a`}[users[n]]
		if user == "" {
			user = users[n]
		}
		require.Regexp(t, fmt.Sprintf(`^%s\s+%s\s+.*\s192\.0\.2\.%d\s+agent/%d\\u202e$`, ids[n], regexp.QuoteMeta(user), n, n), line)
	}

	r = runCLI(t, nil, args([]string{"sessions", "list", "--all", "-limit", "2", "-json"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	requireNoRawControls(t, r.stdout)
	require.Equal(t, "pgsession sessions list: showing the newest 2 live sessions; there are more (raise -limit, or see \"pgsession sessions count\")\n", r.stderr)
	var list []sessionJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 2)
	require.Equal(t, [2]string{ids[4].String(), mallory}, [2]string{list[0].ID, list[0].User})
	require.Equal(t, [2]string{ids[3].String(), "alice"}, [2]string{list[1].ID, list[1].User})
	require.Equal(t, "agent/3\u202e", list[1].UserAgent)

	r = runCLI(t, nil, args([]string{"sessions", "list", "-all", "-limit", "5"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stderr, "exactly -limit sessions: no note")

	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "5\n"}, // dave's expired session does not count
		{[]string{"-user", "alice"}, "2\n"},
		{[]string{"-user", mallory}, "1\n"},
		{[]string{"-user", "dave"}, "0\n"},
		{[]string{"-user", "nobody"}, "0\n"},
	} {
		r = runCLI(t, nil, args(append([]string{"sessions", "count"}, tc.flags...), db(schema)...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Equal(t, tc.want, r.stdout, "%q", tc.flags)
	}

	// Without -yes: nothing changes, and the command says what would.
	r = runCLI(t, nil, args([]string{"sessions", "revoke-all"}, db(schema)...)...)
	require.Equal(t, exitUsage, r.code)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "this would end 5 live session(s) of 3 user(s)")
	require.Contains(t, r.stderr, "pass -yes to end them")
	require.Equal(t, "5\n", runCLI(t, nil, args([]string{"sessions", "count"}, db(schema)...)...).stdout)

	// This node holds a copy of alice's session; revoke-all announces, and
	// the copy goes.
	_, err = m.GetByID(ctx, ids[0])
	require.NoError(t, err)
	hits := m.Stats().CacheHits
	_, err = m.GetByID(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, hits+1, m.Stats().CacheHits, "served from this node's cache")

	r = runCLI(t, nil, args([]string{"sessions", "revoke-all", "-yes"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprintf("schema %s, prefix pgsession_: ended every session, 6 in all (expired ones the sweep had not deleted included); every node was told to drop its copies\n", schema), r.stdout)
	require.Eventually(t, func() bool {
		_, err := m.GetByID(ctx, ids[0])
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	_, err = m.GetByID(ctx, ids[0])
	require.ErrorIs(t, err, pgsession.ErrNotFound)

	r = runCLI(t, nil, args([]string{"sessions", "list", "-all"}, db(schema)...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "no live sessions\n", r.stdout)
	require.Equal(t, "0\n", runCLI(t, nil, args([]string{"sessions", "count"}, db(schema)...)...).stdout)
}

// The commands that read the tables directly refuse a schema that is not
// the version they were written for.
func TestDirectReadsNeedSchema(t *testing.T) {
	t.Parallel()
	schema := pgsessiontest.Schema(t) // empty: version 0
	for _, cmd := range [][]string{{"stats"}, {"sessions", "list", "-all"}, {"sessions", "count"}, {"sessions", "revoke-all"}} {
		r := runCLI(t, nil, args(cmd, db(schema)...)...)
		require.Equal(t, exitFail, r.code, "%q", cmd)
		require.Contains(t, r.stderr, "schema version mismatch: schema "+schema+", prefix pgsession_: database has 0", "%q", cmd)
		require.Contains(t, r.stderr, `run "pgsession migrate up"`, "%q", cmd)
	}
}
