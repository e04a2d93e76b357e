package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
)

// watchTime is how watch stamps an event: RFC 3339 in UTC, to the
// millisecond, so lines sort as text and line up.
const watchTime = "2006-01-02T15:04:05.000Z07:00"

// eventJSON is an event as `watch -json` prints it. The names are part of
// the output's contract; empty fields are left out.
type eventJSON struct {
	Time      string   `json:"time"`
	Kind      string   `json:"kind"`
	SessionID string   `json:"session_id,omitempty"`
	UserID    string   `json:"user_id,omitempty"`
	Version   int64    `json:"version,omitempty"`
	Keys      []string `json:"keys,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	NewID     string   `json:"new_id,omitempty"`
}

// formatEventJSON returns ev, received at t, as one line of JSON, with the
// hostile characters of user IDs and keys escaped (jsonForTerminal).
func formatEventJSON(t time.Time, ev pgsession.Event) []byte {
	j := eventJSON{Time: t.UTC().Format(watchTime), Kind: ev.Kind.String(), UserID: ev.UserID,
		Version: ev.Version, Keys: ev.Keys}
	if ev.SessionID != (pgsession.ID{}) {
		j.SessionID = ev.SessionID.String()
	}
	if ev.NewID != (pgsession.ID{}) {
		j.NewID = ev.NewID.String()
	}
	if ev.Kind == pgsession.SessionDeleted { // only deletions have a reason
		j.Reason = ev.Reason.String()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" in a user ID stays readable
	if err := enc.Encode(j); err != nil {
		panic(err) // strings, numbers and a slice of strings always encode
	}
	return jsonForTerminal(b.Bytes()) // Encode ends it with a newline
}

// formatEventLine returns ev, received at t, as one line for people:
//
//	2025-06-01T10:00:00.123Z created ID user=alice version=1
//	2025-06-01T10:00:01.456Z updated ID user=alice version=2 keys=cart,theme
//	2025-06-01T10:00:02.789Z deleted ID user=alice reason=renewed new=ID
//	2025-06-01T10:00:03.012Z user sessions deleted user=alice
//
// Text from the database is escaped (forTerminal) and quoted when it holds
// a space, a quote, a comma or an equals sign, so each field reads as one.
func formatEventLine(t time.Time, ev pgsession.Event) []byte {
	var b strings.Builder
	b.WriteString(t.UTC().Format(watchTime))
	b.WriteString(" " + ev.Kind.String())
	switch ev.Kind {
	case pgsession.SessionCreated, pgsession.SessionUpdated, pgsession.SessionDeleted:
		b.WriteString(" " + ev.SessionID.String() + " user=" + watchField(ev.UserID))
	case pgsession.UserSessionsDeleted:
		b.WriteString(" user=" + watchField(ev.UserID))
	}
	switch ev.Kind {
	case pgsession.SessionCreated:
		b.WriteString(" version=" + strconv.FormatInt(ev.Version, 10))
	case pgsession.SessionUpdated:
		b.WriteString(" version=" + strconv.FormatInt(ev.Version, 10) + " keys=" + watchKeys(ev.Keys))
	case pgsession.SessionDeleted:
		b.WriteString(" reason=" + watchField(ev.Reason.String()))
		if ev.NewID != (pgsession.ID{}) {
			b.WriteString(" new=" + ev.NewID.String())
		}
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// watchField shows one value of a line: escaped, "-" if empty, quoted if
// it could be read as more than one field, or as empty. forTerminal already doubles the
// backslash, so \" inside quotes can only stand for a quote.
func watchField(s string) string {
	s = forTerminal(s)
	switch {
	case s == "":
		return "-"
	case s == "-" || strings.ContainsAny(s, ` ",=`):
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// watchKeys shows the keys an update wrote, comma-separated; nil means the
// update wrote too many to announce.
func watchKeys(keys []string) string {
	if keys == nil {
		return "(too many to announce)"
	}
	if len(keys) == 0 {
		return "-"
	}
	shown := make([]string, len(keys))
	for i, k := range keys {
		shown[i] = watchField(k)
	}
	return strings.Join(shown, ",")
}
