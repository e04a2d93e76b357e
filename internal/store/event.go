package store

// EventKind says what an invalidation event is about.
type EventKind byte

// The kinds of events nodes exchange (DESIGN W3). Their byte values are part
// of the wire format (see internal/notify).
const (
	EventUpdated     EventKind = 'u' // IDs moved to Versions
	EventDeleted     EventKind = 'd' // IDs are gone
	EventUserDeleted EventKind = 'U' // every session of User is gone
	EventUserDropped EventKind = 'C' // drop User's cached sessions; nothing was deleted
	EventAllDeleted  EventKind = 'A' // every session is gone
	EventHeartbeat   EventKind = 'h' // a listener's probe of its own connection
)

// Event tells every node that cached copies may be wrong.
type Event struct {
	Kind     EventKind
	IDs      []ID
	Versions []int64 // with EventUpdated, one per ID
	User     string  // with the user-wide kinds
	Node     string  // with EventHeartbeat: the sender
	Seq      uint64  // with EventHeartbeat
}
