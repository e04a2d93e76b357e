package notify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// The "r" form pushes the rows an update returned: "1|r|<node>|<rows>",
// where rows is a JSON array holding, per row, the array
//
//	[hex id, version, user id, created, updated, last seen, expires,
//	 idle timeout, user agent, IP, attributes, attribute expiry, now]
//
// with times in Unix microseconds, the idle timeout in microseconds (0:
// none), and the attributes and their expiry as the database encoded
// them. A node holding an older copy of the session replaces it with the
// row, so a user who moves to it is served the new version from memory;
// nodes without a copy use it as an "u" announcement (DESIGN C9).

// pushFields is the length of one row's array.
const pushFields = 13

// EncodePush returns the "r" payload for recs, or false when one of them
// does not carry its attributes as the database encoded them, or when the
// payload would not fit in one notification: the caller then announces the
// versions alone.
func EncodePush(node string, recs []*store.Record) (string, bool) {
	b := make([]byte, 0, 512)
	b = append(b, formatVersion+"|"+string(store.EventPushed)+"|"...)
	b = append(b, node...)
	b = append(b, "|["...)
	for i, r := range recs {
		if r.Lazy == nil || !json.Valid(r.Lazy.Raw) || (len(r.Lazy.Expiry) > 0 && !json.Valid(r.Lazy.Expiry)) {
			return "", false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[', '"')
		b = hex.AppendEncode(b, r.ID[:])
		b = append(b, '"', ',')
		b = strconv.AppendInt(b, r.Version, 10)
		b = append(b, ',')
		b = appendString(b, r.UserID)
		for _, t := range []time.Time{r.CreatedAt, r.UpdatedAt, r.LastSeenAt, r.ExpiresAt} {
			b = append(b, ',')
			b = strconv.AppendInt(b, t.UnixMicro(), 10)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, r.IdleTimeout.Microseconds(), 10)
		b = append(b, ',')
		b = appendString(b, r.UserAgent)
		b = append(b, ',')
		b = appendString(b, r.IP)
		b = append(b, ',')
		b = append(b, compact(r.Lazy.Raw)...)
		b = append(b, ',')
		if len(r.Lazy.Expiry) == 0 {
			b = append(b, "{}"...)
		} else {
			b = append(b, compact(r.Lazy.Expiry)...)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, r.Now.UnixMicro(), 10)
		b = append(b, ']')
		if len(b) > MaxPayload {
			return "", false
		}
	}
	b = append(b, ']')
	if len(b) > MaxPayload {
		return "", false
	}
	return string(b), true
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// compact drops the insignificant spaces jsonb's text output has, which
// would otherwise take payload room.
func compact(raw []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, raw) != nil {
		return raw // checked valid by the caller
	}
	return out.Bytes()
}

// decodePush reads the body of an "r" payload: "<node>|<rows>".
func decodePush(e *store.Event, body string) error {
	node, rows, ok := cut(body)
	if !ok {
		return fmt.Errorf("no node")
	}
	e.Node = node
	var list [][]json.RawMessage
	if err := json.Unmarshal([]byte(rows), &list); err != nil || len(list) == 0 {
		return fmt.Errorf("rows")
	}
	for _, f := range list {
		rec, err := decodeRow(f)
		if err != nil {
			return err
		}
		e.IDs = append(e.IDs, rec.ID)
		e.Versions = append(e.Versions, rec.Version)
		e.Records = append(e.Records, rec)
	}
	return nil
}

func decodeRow(f []json.RawMessage) (*store.Record, error) {
	if len(f) != pushFields {
		return nil, fmt.Errorf("row has %d fields", len(f))
	}
	var hexID string
	var times [5]int64
	var idle int64
	rec := &store.Record{}
	targets := []struct {
		v    any
		raw  json.RawMessage
		what string
	}{
		{&hexID, f[0], "id"}, {&rec.Version, f[1], "version"}, {&rec.UserID, f[2], "user"},
		{&times[0], f[3], "created"}, {&times[1], f[4], "updated"}, {&times[2], f[5], "last seen"},
		{&times[3], f[6], "expires"}, {&idle, f[7], "idle timeout"}, {&rec.UserAgent, f[8], "user agent"},
		{&rec.IP, f[9], "ip"}, {&times[4], f[12], "now"},
	}
	for _, t := range targets {
		if err := json.Unmarshal(t.raw, t.v); err != nil {
			return nil, fmt.Errorf("row %s", t.what)
		}
	}
	if len(hexID) != 2*store.IDSize {
		return nil, fmt.Errorf("id length")
	}
	if _, err := hex.Decode(rec.ID[:], []byte(hexID)); err != nil {
		return nil, fmt.Errorf("id not hex")
	}
	if rec.Version < 1 || idle < 0 {
		return nil, fmt.Errorf("version or idle timeout")
	}
	for _, obj := range []json.RawMessage{f[10], f[11]} {
		if len(obj) < 2 || obj[0] != '{' {
			return nil, fmt.Errorf("attributes not an object")
		}
	}
	rec.CreatedAt, rec.UpdatedAt = time.UnixMicro(times[0]), time.UnixMicro(times[1])
	rec.LastSeenAt, rec.ExpiresAt = time.UnixMicro(times[2]), time.UnixMicro(times[3])
	rec.Now = time.UnixMicro(times[4])
	rec.IdleTimeout = time.Duration(idle) * time.Microsecond
	rec.Lazy = &store.LazyAttrs{Raw: f[10], Expiry: f[11], Decode: store.LazyDecode}
	return rec, nil
}
