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

// watching is a watch command running in the background, as it runs until
// Ctrl-C.
type watching struct {
	out, errOut *syncBuffer
	cancel      context.CancelFunc
	done        chan int
}

// startWatch runs watch with args and returns once it has subscribed (its
// note is out), so every event committed from then on reaches it.
func startWatch(t *testing.T, args ...string) *watching {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	w := &watching{out: new(syncBuffer), errOut: new(syncBuffer), cancel: cancel, done: make(chan int, 1)}
	c := &cli{stdout: w.out, stderr: w.errOut, getenv: func(string) string { return "" }}
	go func() { w.done <- c.run(ctx, append([]string{"watch"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	deadline := time.After(10 * time.Second)
	for !strings.Contains(w.errOut.String(), "only nodes that run with Config.Events on send events") {
		select {
		case code := <-w.done:
			w.done <- code // for the cleanup
			t.Fatalf("watch exited with %d before subscribing: %s", code, w.errOut.String())
		case <-deadline:
			t.Fatalf("watch did not subscribe within 10s: %s", w.errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return w
}

// lines waits for watch to have printed n lines, and returns them.
func (w *watching) lines(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Count(w.out.String(), "\n") >= n },
		5*time.Second, 5*time.Millisecond, "want %d lines, have:\n%s", n, w.out.String())
	return strings.Split(strings.TrimSuffix(w.out.String(), "\n"), "\n")
}

// stop interrupts watch, as Ctrl-C does, and checks that it ends cleanly.
func (w *watching) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	select {
	case code := <-w.done:
		w.done <- code // for the cleanup
		require.Equal(t, exitOK, code, w.errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop within 10s of its context ending")
	}
}

// watch, as lines and as JSON, shows a session's creation, update, renewal
// and deletion made by another node, with the user ID and the key escaped,
// and stops cleanly when interrupted.
func TestWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgsessiontest.Schema(t)
	m, err := pgsession.New(ctx, pgsessiontest.Pool(t, nil),
		pgsession.Config{Schema: schema, Events: true, SweepInterval: -1, TouchInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })

	text := startWatch(t, db(schema)...)
	asJSON := startWatch(t, args(db(schema), "-json")...)
	const (
		user    = "eve\x1b[2J\u202e"
		userOut = `eve\x1b[2J\u202e`
		key     = "theme\x07"
	)
	// Each step waits for its event: an update is announced just after its
	// commit, so a deletion right after it could be heard first.
	both := func(n int) {
		text.lines(t, n)
		asJSON.lines(t, n)
	}
	s, err := m.Create(ctx, user, map[string]any{"a": 1})
	require.NoError(t, err)
	both(1)
	_, err = m.Update(ctx, s.ID(), new(pgsession.Patch).Set(key, "dark"))
	require.NoError(t, err)
	both(2)
	renewed, err := m.Renew(ctx, s.ID())
	require.NoError(t, err)
	both(3)
	require.NoError(t, m.Delete(ctx, renewed.ID()))
	both(4)

	text.stop(t)
	asJSON.stop(t)
	for _, w := range []*watching{text, asJSON} {
		require.Equal(t, fmt.Sprintf("pgsession watch: watching schema %s, prefix pgsession_; only nodes that run with Config.Events on send events (Ctrl-C stops)\n", schema),
			w.errOut.String())
		requireNoRawControls(t, w.out.String())
	}

	const stamp = `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `
	lines := text.lines(t, 4)
	require.Len(t, lines, 4, text.out.String())
	for i, want := range []string{
		fmt.Sprintf(`created %s user=%s version=1`, s.ID(), userOut),
		fmt.Sprintf(`updated %s user=%s version=2 keys=theme\a`, s.ID(), userOut),
		fmt.Sprintf(`deleted %s user=%s reason=renewed new=%s`, s.ID(), userOut, renewed.ID()),
		fmt.Sprintf(`deleted %s user=%s reason=deleted`, renewed.ID(), userOut),
	} {
		require.Regexp(t, stamp+regexp.QuoteMeta(want)+"$", lines[i])
	}

	lines = asJSON.lines(t, 4)
	require.Len(t, lines, 4, asJSON.out.String())
	var got []eventJSON
	for _, line := range lines {
		var e eventJSON
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		at, err := time.Parse(time.RFC3339, e.Time)
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), at, time.Minute)
		require.Regexp(t, stamp[:len(stamp)-1]+"$", e.Time)
		e.Time = ""
		got = append(got, e)
	}
	require.Equal(t, []eventJSON{
		{Kind: "created", SessionID: s.ID().String(), UserID: user, Version: 1},
		{Kind: "updated", SessionID: s.ID().String(), UserID: user, Version: 2, Keys: []string{key}},
		{Kind: "deleted", SessionID: s.ID().String(), UserID: user, Reason: "renewed", NewID: renewed.ID().String()},
		{Kind: "deleted", SessionID: renewed.ID().String(), UserID: user, Reason: "deleted"},
	}, got)
	require.Contains(t, lines[0], `"user_id":"eve\u001b[2J\u202e"`, "escaped in the raw output")
}

// Every kind, and the awkward values, as lines and as JSON.
func TestWatchFormat(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	var id, newID pgsession.ID
	id[0], newID[0] = 0xab, 0xcd
	for _, tc := range []struct {
		ev         pgsession.Event
		line, json string
	}{
		{pgsession.Event{Kind: pgsession.SessionCreated, SessionID: id, Version: 1},
			"created " + id.String() + " user=- version=1",
			`"kind":"created","session_id":"` + id.String() + `","version":1`},
		{pgsession.Event{Kind: pgsession.SessionUpdated, SessionID: id, UserID: "-", Version: 7},
			"updated " + id.String() + ` user="-" version=7 keys=(too many to announce)`,
			`"kind":"updated","session_id":"` + id.String() + `","user_id":"-","version":7`},
		{pgsession.Event{Kind: pgsession.SessionUpdated, SessionID: id, UserID: `a "b"`, Version: 3, Keys: []string{"x,y", `c\d`, "<e>"}},
			"updated " + id.String() + ` user="a \"b\"" version=3 keys="x,y",c\\d,<e>`,
			`"kind":"updated","session_id":"` + id.String() + `","user_id":"a \"b\"","version":3,"keys":["x,y","c\\d","<e>"]`},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: id, UserID: "bob", Reason: pgsession.EvictedByCap},
			"deleted " + id.String() + ` user=bob reason="evicted by cap"`,
			`"kind":"deleted","session_id":"` + id.String() + `","user_id":"bob","reason":"evicted by cap"`},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: id, Reason: pgsession.RenewedAway, NewID: newID},
			"deleted " + id.String() + " user=- reason=renewed new=" + newID.String(),
			`"kind":"deleted","session_id":"` + id.String() + `","reason":"renewed","new_id":"` + newID.String() + `"`},
		{pgsession.Event{Kind: pgsession.SessionDeleted, SessionID: id}, // from a node without events
			"deleted " + id.String() + " user=- reason=unknown",
			`"kind":"deleted","session_id":"` + id.String() + `","reason":"unknown"`},
		{pgsession.Event{Kind: pgsession.UserSessionsDeleted, UserID: "mallory\u009b\u202e"},
			`user sessions deleted user=mallory\u009b\u202e`,
			`"kind":"user sessions deleted","user_id":"mallory\u009b\u202e"`},
		{pgsession.Event{Kind: pgsession.AllSessionsDeleted}, "all sessions deleted", `"kind":"all sessions deleted"`},
		{pgsession.Event{Kind: pgsession.EventsMissed}, "events missed", `"kind":"events missed"`},
	} {
		line := string(formatEventLine(at, tc.ev))
		require.Equal(t, "2025-06-01T10:00:00.123Z "+tc.line+"\n", line)
		requireNoRawControls(t, line)
		js := string(formatEventJSON(at, tc.ev))
		require.Equal(t, `{"time":"2025-06-01T10:00:00.123Z",`+tc.json+"}\n", js)
		requireNoRawControls(t, js)
		var back eventJSON
		require.NoError(t, json.Unmarshal([]byte(js), &back))
		require.Equal(t, tc.ev.UserID, back.UserID)
		require.Equal(t, tc.ev.Keys, back.Keys)
	}
}

// watch never migrates: on a schema that is behind it fails, says what to
// run, and leaves the schema as it was.
func TestWatchNeedsSchema(t *testing.T) {
	t.Parallel()
	schema := pgsessiontest.Schema(t) // empty: version 0
	r := runCLI(t, nil, args([]string{"watch"}, db(schema)...)...)
	require.Equal(t, exitFail, r.code)
	require.Empty(t, r.stdout)
	require.Contains(t, r.stderr, "pgsession watch: ")
	require.Contains(t, r.stderr, "schema version mismatch")
	require.Contains(t, r.stderr, `run "pgsession migrate up"`)
	have, _, err := pgsession.SchemaVersion(context.Background(), pgsessiontest.AdminPool(t), pgsession.Config{Schema: schema})
	require.NoError(t, err)
	require.Zero(t, have)
}

// watch is listed and has help; wrong calls exit 2.
func TestWatchUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout for exit 0, else in stderr
	}{
		{[]string{"help"}, exitOK, "\n  watch [-json]  "},
		{[]string{"watch", "-h"}, exitOK, "Only nodes that run with Config.Events on send events"},
		{[]string{"help", "watch"}, exitOK, "Usage: pgsession watch [flags]"},
		{[]string{"watch", "-h"}, exitOK, "give up connecting after this long"},
		{[]string{"watch", "now"}, exitUsage, "want 0 argument(s), got 1"},
		{[]string{"watch", "-jsn"}, exitUsage, "flag provided but not defined: -jsn"},
		{[]string{"watch"}, exitFail, "no database: pass -db URL or set DATABASE_URL"},
	} {
		r := runCLI(t, nil, tc.args...)
		require.Equal(t, tc.code, r.code, "%q\nstdout: %s\nstderr: %s", tc.args, r.stdout, r.stderr)
		if tc.code == exitOK {
			require.Contains(t, r.stdout, tc.out, "%q", tc.args)
			require.Empty(t, r.stderr, "%q", tc.args)
		} else {
			require.Contains(t, r.stderr, tc.out, "%q", tc.args)
			require.Empty(t, r.stdout, "%q", tc.args)
		}
	}
}
