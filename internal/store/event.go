package store

// EventKind says what an invalidation event is about.
type EventKind byte

// The kinds of events nodes exchange (DESIGN W3). Their byte values are part
// of the wire format (see internal/notify).
const (
	EventUpdated     EventKind = 'u' // IDs moved to Versions
	EventPushed      EventKind = 'r' // as EventUpdated, with the new rows in Records
	EventDeleted     EventKind = 'd' // IDs are gone
	EventUserDeleted EventKind = 'U' // every session of User is gone
	EventUserDropped EventKind = 'C' // drop User's cached sessions; nothing was deleted
	EventAllDeleted  EventKind = 'A' // every session is gone
	EventHeartbeat   EventKind = 'h' // a listener's probe of its own connection
	EventCreated     EventKind = 'n' // IDs were created, owned by Users (sent only with events on)
	// EventLogged names change-log rows (Logged) whose updates the same
	// transaction has just announced, so readers need not fetch them (C7).
	EventLogged EventKind = 's'
)

// DeleteReason says why sessions were deleted, in events (Event.Reason);
// zero when the announcement does not say (events off).
type DeleteReason byte

// The reasons, part of the wire format as well.
const (
	ReasonDeleted DeleteReason = 'd' // Delete
	ReasonRenewed DeleteReason = 'r' // renewed away; NewIDs holds the new ID
	ReasonEvicted DeleteReason = 'c' // evicted by the per-user cap
	ReasonExpired DeleteReason = 'e' // expired and swept
)

// Event tells every node that cached copies may be wrong.
type Event struct {
	Kind     EventKind
	IDs      []ID
	Versions []int64 // with EventUpdated and EventPushed, one per ID
	// Records, with EventPushed, are the rows the writer's update
	// returned, one per ID: a node holding an older copy replaces it
	// without reading the database again.
	Records []*Record
	User    string // with the user-wide kinds
	// Instance is the sender's instance name (a Manager's random name, never
	// Config.NodeID), with EventHeartbeat, EventUpdated and EventPushed.
	Instance string
	Seq      uint64  // with EventHeartbeat
	Logged   []int64 // with EventLogged: change-log row numbers

	// What session events need, in announcements sent with events on
	// (Config.Events); nil or zero otherwise.
	Users  []string     // one per ID: the owner ("" for anonymous)
	Keys   [][]string   // with EventUpdated and EventPushed, one per ID: the keys written
	Reason DeleteReason // with EventDeleted
	NewIDs []ID         // with ReasonRenewed, one per ID
}
