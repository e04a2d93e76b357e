package notify

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/pgsession/pgsession/internal/store"
)

// The forms sent only with session events on (Config.Events). Each carries
// what a subscriber needs on top of what invalidation needs:
//
//	n: <item>                       a session created: "<hex id>:<hex user>"
//	x: <reason>|<item>,...          sessions deleted, and why; with reason
//	                                "r" each item ends ":<hex new id>"
//	e: <instance>|<hex id>:<version>:<hex user>:<hex keys>,...
//	                                updates with the keys they wrote, joined
//	                                by NUL (which keys cannot hold); empty
//	                                when they would not fit
//
// User IDs and keys are hex so that no separator needs escaping. "n" and
// "x" are written by PostgreSQL inside the transactions that create and
// delete (sql.go); "e" comes from a node's announcer, after commit, like "u".

// keySep joins the keys of one update.
const keySep = "\x00"

// encodeUpdatedWithKeys returns the "e" payloads for e (an EventUpdated
// with Users and Keys), several when its ids do not fit in one.
func encodeUpdatedWithKeys(e store.Event) []string {
	head := formatVersion + "|" + string(eventUpdatedWithKeys) + "|" + e.Instance + "|"
	return pack(head, len(e.IDs), func(i int) string {
		item := updatedItem(e.IDs[i], e.Versions[i], e.Users[i], e.Keys[i])
		if len(head)+len(item) > MaxPayload {
			item = updatedItem(e.IDs[i], e.Versions[i], e.Users[i], nil)
		}
		return item
	})
}

func updatedItem(id store.ID, version int64, user string, keys []string) string {
	return hex.EncodeToString(id[:]) + ":" + strconv.FormatInt(version, 10) + ":" +
		hex.EncodeToString([]byte(user)) + ":" + hex.EncodeToString([]byte(strings.Join(keys, keySep)))
}

// eventUpdatedWithKeys is the wire kind of the "e" form, which decodes to
// an EventUpdated.
const eventUpdatedWithKeys store.EventKind = 'e'

// eventDeletedWithReason is the wire kind of the "x" form, which decodes to
// an EventDeleted with a Reason.
const eventDeletedWithReason store.EventKind = 'x'

// encodeOwned returns the "n" or "x" payloads for e, as the SQL writes
// them: at most MaxPayload bytes each.
func encodeOwned(e store.Event) []string {
	head := formatVersion + "|" + string(store.EventCreated) + "|"
	if e.Kind == store.EventDeleted {
		head = formatVersion + "|" + string(eventDeletedWithReason) + "|" + string(e.Reason) + "|"
	}
	return pack(head, len(e.IDs), func(i int) string {
		item := hex.EncodeToString(e.IDs[i][:]) + ":" + hex.EncodeToString([]byte(e.Users[i]))
		if e.Reason == store.ReasonRenewed {
			item += ":" + hex.EncodeToString(e.NewIDs[i][:])
		}
		return item
	})
}

// decodeOwned reads the items of an "n" or "x" body into e.
func decodeOwned(e *store.Event, items string) string {
	if items == "" {
		return "no ids"
	}
	for item := range strings.SplitSeq(items, ",") {
		parts := strings.Split(item, ":")
		want := 2
		if e.Reason == store.ReasonRenewed {
			want = 3
		}
		if len(parts) != want {
			return "item fields"
		}
		id, ok := decodeID(parts[0])
		user, err := hex.DecodeString(parts[1])
		if !ok || err != nil {
			return "item"
		}
		e.IDs = append(e.IDs, id)
		e.Users = append(e.Users, string(user))
		if want == 3 {
			newID, ok := decodeID(parts[2])
			if !ok {
				return "new id"
			}
			e.NewIDs = append(e.NewIDs, newID)
		}
	}
	return ""
}

// decodeUpdatedWithKeys reads the items of an "e" body into e.
func decodeUpdatedWithKeys(e *store.Event, items string) string {
	if items == "" {
		return "no ids"
	}
	for item := range strings.SplitSeq(items, ",") {
		parts := strings.Split(item, ":")
		if len(parts) != 4 {
			return "item fields"
		}
		id, ok := decodeID(parts[0])
		v, err := strconv.ParseInt(parts[1], 10, 64)
		user, uerr := hex.DecodeString(parts[2])
		keys, kerr := hex.DecodeString(parts[3])
		if !ok || err != nil || v < 1 || uerr != nil || kerr != nil {
			return "item"
		}
		e.IDs = append(e.IDs, id)
		e.Versions = append(e.Versions, v)
		e.Users = append(e.Users, string(user))
		e.Keys = append(e.Keys, splitKeys(string(keys)))
	}
	return ""
}

// splitKeys undoes the join of an update's keys; nil when none were sent.
func splitKeys(joined string) []string {
	if joined == "" {
		return nil
	}
	return strings.Split(joined, keySep)
}

func decodeID(s string) (store.ID, bool) {
	var id store.ID
	if len(s) != 2*len(id) {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err == nil
}

func validReason(r store.DeleteReason) bool {
	switch r {
	case store.ReasonDeleted, store.ReasonRenewed, store.ReasonEvicted, store.ReasonExpired:
		return true
	}
	return false
}
