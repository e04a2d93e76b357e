// Package notify carries invalidation events between nodes over PostgreSQL
// LISTEN/NOTIFY: the payload codec and the listener that keeps one dedicated
// connection per node.
package notify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pgsession/pgsession/internal/store"
)

// Payload format, version 1: "1|<kind>|<body>" where body is
//
//	u: <instance>|<hex id>:<version>,...   d: <hex id>,...   U, C: <user id>
//	A: empty                               h: <instance>|<seq>
//	r: <instance>|<rows> (see push.go)     n, x, e: with session events on (see events.go)
//	s: <instance>|<change-log seq>,...
//
// An "s" payload follows the "u", "e" or "r" payloads of the same
// announcement, in the same transaction, so a node has applied those updates
// by the time it reads which change-log rows they were (DESIGN C7).
//
// The node that announced an update already holds it, so "u" and "r" carry
// their sender's instance name (its Manager's random name, never
// Config.NodeID, which two nodes may share), and the sender's listener skips
// them.
//
// The "d", "U", "A", "C", "n" and "x" forms are also written by PostgreSQL,
// inside the transactions that make them, from the SQL in sql.go.
const formatVersion = "1"

// MaxPayload keeps every payload under PostgreSQL's 8000-byte limit.
const MaxPayload = 7900

// ErrMalformed reports a payload this code cannot read: foreign, of a later
// format, or damaged. The listener logs and ignores it.
var ErrMalformed = errors.New("malformed notification payload")

// Encode returns the payloads for e, several when its ids do not fit in one.
func Encode(e store.Event) []string {
	switch {
	case e.Kind == store.EventCreated, e.Kind == store.EventDeleted && e.Reason != 0:
		return encodeOwned(e)
	case e.Kind == store.EventUpdated && e.Keys != nil:
		return encodeUpdatedWithKeys(e)
	}
	head := formatVersion + "|" + string(e.Kind) + "|"
	if e.Kind == store.EventUpdated {
		head += e.Instance + "|"
	}
	switch e.Kind {
	case store.EventUpdated, store.EventDeleted:
		return pack(head, len(e.IDs), func(i int) string {
			item := hex.EncodeToString(e.IDs[i][:])
			if e.Kind == store.EventUpdated {
				item += ":" + strconv.FormatInt(e.Versions[i], 10)
			}
			return item
		})
	case store.EventPushed:
		if p, ok := EncodePush(e.Instance, e.Records, e.Keys); ok {
			return []string{p}
		}
		// Too large, or rows without their encoding: the versions alone.
		e.Kind = store.EventUpdated
		return Encode(e)
	case store.EventHeartbeat:
		return []string{head + e.Instance + "|" + strconv.FormatUint(e.Seq, 10)}
	case store.EventLogged:
		return pack(head+e.Instance+"|", len(e.Logged), func(i int) string { return strconv.FormatInt(e.Logged[i], 10) })
	case store.EventAllDeleted:
		return []string{head[:len(head)-1]}
	default:
		return []string{head + e.User}
	}
}

// pack joins the n items item gives with commas after head, starting a new
// payload whenever the next item would take one past MaxPayload.
func pack(head string, n int, item func(i int) string) []string {
	var out []string
	var b strings.Builder
	for i := range n {
		it := item(i)
		if b.Len() > len(head) && b.Len()+1+len(it) > MaxPayload {
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(head)
		} else {
			b.WriteByte(',')
		}
		b.WriteString(it)
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// Decode reads one payload.
func Decode(p string) (store.Event, error) {
	bad := func(why string) (store.Event, error) {
		return store.Event{}, fmt.Errorf("%w: %s: %.60q", ErrMalformed, why, p)
	}
	ver, rest, ok := strings.Cut(p, "|")
	if !ok || ver != formatVersion {
		return bad("unknown format")
	}
	kind, body, _ := strings.Cut(rest, "|")
	if len(kind) != 1 {
		return bad("no kind")
	}
	e := store.Event{Kind: store.EventKind(kind[0])}
	switch e.Kind {
	case store.EventCreated:
		if why := decodeOwned(&e, body); why != "" {
			return bad(why)
		}
	case eventDeletedWithReason:
		reason, items, _ := strings.Cut(body, "|")
		e.Kind = store.EventDeleted
		if len(reason) != 1 || !validReason(store.DeleteReason(reason[0])) {
			return bad("reason")
		}
		e.Reason = store.DeleteReason(reason[0])
		if why := decodeOwned(&e, items); why != "" {
			return bad(why)
		}
	case eventUpdatedWithKeys:
		instance, items, ok := cut(body)
		if !ok {
			return bad("no instance")
		}
		e.Kind, e.Instance = store.EventUpdated, instance
		if why := decodeUpdatedWithKeys(&e, items); why != "" {
			return bad(why)
		}
	case store.EventUpdated, store.EventDeleted:
		if e.Kind == store.EventUpdated {
			instance, ids, ok := strings.Cut(body, "|")
			if !ok {
				return bad("no instance")
			}
			e.Instance, body = instance, ids
		}
		if body == "" {
			return bad("no ids")
		}
		for item := range strings.SplitSeq(body, ",") {
			hexID, verText, hasVer := strings.Cut(item, ":")
			if hasVer != (e.Kind == store.EventUpdated) {
				return bad("version mismatch")
			}
			var id store.ID
			if len(hexID) != 2*len(id) {
				return bad("id length")
			}
			if _, err := hex.Decode(id[:], []byte(hexID)); err != nil {
				return bad("id not hex")
			}
			e.IDs = append(e.IDs, id)
			if hasVer {
				v, err := strconv.ParseInt(verText, 10, 64)
				if err != nil || v < 1 {
					return bad("version")
				}
				e.Versions = append(e.Versions, v)
			}
		}
	case store.EventPushed:
		if err := decodePush(&e, body); err != nil {
			return bad(err.Error())
		}
	case store.EventUserDeleted, store.EventUserDropped:
		if body == "" {
			return bad("no user")
		}
		e.User = body
	case store.EventAllDeleted:
		if body != "" {
			return bad("body on A")
		}
	case store.EventLogged:
		instance, seqs, ok := cut(body)
		if !ok || seqs == "" {
			return bad("no change-log rows")
		}
		e.Instance = instance
		for item := range strings.SplitSeq(seqs, ",") {
			n, err := strconv.ParseInt(item, 10, 64)
			if err != nil || n < 1 {
				return bad("change-log row")
			}
			e.Logged = append(e.Logged, n)
		}
	case store.EventHeartbeat:
		instance, seq, ok := strings.Cut(body, "|")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			return bad("heartbeat")
		}
		e.Instance, e.Seq = instance, n
	default:
		return bad("unknown kind")
	}
	return e, nil
}

// cut splits "<instance>|<rest>".
func cut(body string) (instance, rest string, ok bool) { return strings.Cut(body, "|") }
