package pgsession

import (
	"crypto/rand"
	"encoding/hex"
)

// randomName returns 16 random hex digits: the default Config.NodeID, the
// owner suffix of each lock attempt, and each Manager's instance name.
func randomName() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return weak bytes)
	return hex.EncodeToString(b[:])
}

// A Manager's instance name (Manager.instance, a randomName) is distinct
// from every other Manager's even when two share a Config.NodeID, which
// nothing can check across processes. Wherever a node must recognise what
// it sent itself it uses that name, not NodeID: its own update
// announcements and heartbeats on the listener (were two nodes to share a
// name, each would drop the other's updates and serve stale copies) and
// its hold on the sweep lease (both would sweep at once). Being 16 hex
// digits, it also keeps notification payloads small and free of the
// codec's separator.

// sweepHolder names this Manager in the sweep lease: its NodeID, for
// people reading the lease row, and its instance, for uniqueness.
func (m *Manager) sweepHolder() string { return m.cfg.NodeID + "/" + m.instance }
