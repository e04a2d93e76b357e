package notify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pgsession/pgsession/internal/store"
)

// The "r" form pushes the rows an update returned: "1|r|<instance>|<rows>",
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

// pushFields is the length of one row's array (one more with keys).
const pushFields = 13

// EncodePush returns the "r" payload for recs, or false when one of them
// does not carry its attributes as the database encoded them, or when the
// payload would not fit in one notification: the caller then announces the
// versions alone.
//
// keys, with session events on, holds the keys each update wrote: each row
// then has a 14th field, the keys joined by NUL.
func EncodePush(instance string, recs []*store.Record, keys [][]string) (string, bool) {
	b := make([]byte, 0, 512)
	b = append(b, formatVersion+"|"+string(store.EventPushed)+"|"...)
	b = append(b, instance...)
	b = append(b, "|["...)
	for i, r := range recs {
		if r.Lazy == nil {
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
		var ok bool
		if b, ok = appendCompact(b, r.Lazy.Raw); !ok {
			return "", false
		}
		b = append(b, ',')
		if len(r.Lazy.Expiry) == 0 {
			b = append(b, "{}"...)
		} else {
			if b, ok = appendCompact(b, r.Lazy.Expiry); !ok {
				return "", false
			}
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, r.Now.UnixMicro(), 10)
		if keys != nil {
			b = append(b, ',')
			b = appendString(b, strings.Join(keys[i], keySep))
		}
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

// appendCompact appends raw without the insignificant spaces jsonb's text
// output has, which would otherwise take payload room; compacting also
// checks it, so it reports false for what is not valid JSON.
func appendCompact(b, raw []byte) ([]byte, bool) {
	out := bytes.NewBuffer(b)
	if json.Compact(out, raw) != nil {
		return b, false
	}
	return out.Bytes(), true
}

// decodePush reads the body of an "r" payload: "<instance>|<rows>". Every
// listening node reads every push, most of them for sessions it does not
// hold, so this is a scanner of the one shape EncodePush writes (compact,
// fields in order) rather than a general JSON decoder: about a tenth of
// the time and allocations (BenchmarkDecodePush).
func decodePush(e *store.Event, body string) error {
	instance, rows, ok := cut(body)
	if !ok {
		return fmt.Errorf("no instance")
	}
	e.Instance = instance
	sc := &scanner{s: rows}
	if !sc.eat('[') {
		return fmt.Errorf("rows")
	}
	for {
		rec, keys, err := sc.row()
		if err != nil {
			return err
		}
		if keys != nil {
			e.Keys = append(e.Keys, splitKeys(*keys))
		} else if e.Keys != nil {
			return fmt.Errorf("rows with and without keys")
		}
		e.IDs = append(e.IDs, rec.ID)
		e.Versions = append(e.Versions, rec.Version)
		e.Records = append(e.Records, rec)
		if sc.eat(']') {
			break
		}
		if !sc.eat(',') {
			return fmt.Errorf("rows")
		}
	}
	if sc.i != len(sc.s) {
		return fmt.Errorf("text after rows")
	}
	return nil
}

// scanner reads EncodePush's rows from s, from index i on.
type scanner struct {
	s string
	i int
}

func (sc *scanner) eat(c byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// row reads one row's array, fields in EncodePush's order.
func (sc *scanner) row() (*store.Record, *string, error) {
	rec := &store.Record{}
	var hexID string
	var times [5]int64
	var idle int64
	var attrs, expiry []byte
	ok := sc.eat('[') && sc.str(&hexID) &&
		sc.eat(',') && sc.int(&rec.Version) &&
		sc.eat(',') && sc.str(&rec.UserID)
	for k := range 4 {
		ok = ok && sc.eat(',') && sc.int(&times[k])
	}
	ok = ok && sc.eat(',') && sc.int(&idle) &&
		sc.eat(',') && sc.str(&rec.UserAgent) &&
		sc.eat(',') && sc.str(&rec.IP) &&
		sc.eat(',') && sc.object(&attrs) &&
		sc.eat(',') && sc.object(&expiry) &&
		sc.eat(',') && sc.int(&times[4])
	var keys *string
	if ok && sc.eat(',') {
		keys = new(string)
		ok = sc.str(keys)
	}
	if !ok || !sc.eat(']') {
		return nil, nil, fmt.Errorf("row: not the %d fields of a pushed row", pushFields)
	}
	if len(hexID) != 2*store.IDSize {
		return nil, nil, fmt.Errorf("id length")
	}
	for k := range rec.ID {
		hi, lo := unhex(hexID[2*k]), unhex(hexID[2*k+1])
		if hi > 15 || lo > 15 {
			return nil, nil, fmt.Errorf("id not hex")
		}
		rec.ID[k] = hi<<4 | lo
	}
	if rec.Version < 1 || idle < 0 {
		return nil, nil, fmt.Errorf("version or idle timeout")
	}
	rec.CreatedAt, rec.UpdatedAt = time.UnixMicro(times[0]), time.UnixMicro(times[1])
	rec.LastSeenAt, rec.ExpiresAt = time.UnixMicro(times[2]), time.UnixMicro(times[3])
	rec.Now = time.UnixMicro(times[4])
	rec.IdleTimeout = time.Duration(idle) * time.Microsecond
	rec.Lazy = &store.LazyAttrs{Raw: attrs, Expiry: expiry, Decode: store.LazyDecode}
	return rec, keys, nil
}

// unhex is a hex digit's value, or 255 for another byte.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// int reads an integer: an optional minus and digits.
func (sc *scanner) int(v *int64) bool {
	j := sc.i
	if j < len(sc.s) && sc.s[j] == '-' {
		j++
	}
	for j < len(sc.s) && sc.s[j] >= '0' && sc.s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(sc.s[sc.i:j], 10, 64)
	if err != nil {
		return false
	}
	*v, sc.i = n, j
	return true
}

// str reads a JSON string. Without escapes, what json.Marshal wrote for
// plain text, it is the text between the quotes; otherwise encoding/json
// reads it.
func (sc *scanner) str(v *string) bool {
	if !sc.eat('"') {
		return false
	}
	start, plain := sc.i, true
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '"':
			text := sc.s[start:sc.i]
			sc.i++
			if plain {
				if !utf8.ValidString(text) {
					return false
				}
				*v = text
				return true
			}
			return json.Unmarshal([]byte(sc.s[start-1:sc.i]), v) == nil
		case c == '\\':
			plain = false
			sc.i += 2
		case c < 0x20:
			return false
		default:
			sc.i++
		}
	}
	return false
}

// object reads a JSON object, checked valid, as bytes of its own.
func (sc *scanner) object(v *[]byte) bool {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return false
	}
	depth, quoted := 0, false
	for j := sc.i; j < len(sc.s); j++ {
		switch c := sc.s[j]; {
		case quoted && c == '\\':
			j++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				obj := []byte(sc.s[sc.i : j+1])
				if !json.Valid(obj) {
					return false
				}
				*v, sc.i = obj, j+1
				return true
			}
		}
	}
	return false
}
