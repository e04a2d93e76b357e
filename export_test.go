package pgsession

import (
	"github.com/pgsession/pgsession/internal/postgres"
	"github.com/pgsession/pgsession/internal/store"
)

// Test signals for the external tests (compiled into tests only).

// SetAfterLoadHook runs f after a Get read the database and before it fills
// the cache.
func SetAfterLoadHook(m *Manager, f func(id ID)) { m.hooks.afterLoad.Store(&f) }

// SetAfterEventHook runs f after each invalidation the node applies; kind is
// the event's wire letter.
func SetAfterEventHook(m *Manager, f func(kind byte)) {
	g := func(e store.Event) { f(byte(e.Kind)) }
	m.hooks.afterEvent.Store(&g)
}

// SetBeforeAnnounceHook runs f after an update committed and before it is
// announced (a test can kill the process there).
func SetBeforeAnnounceHook(m *Manager, f func(id ID, version int64)) {
	m.hooks.beforeAnnounce.Store(&f)
}

// ListenChannel returns the node's LISTEN/NOTIFY channel.
func ListenChannel(m *Manager) string { return m.listener.Channel }

// ListenerApplicationName is the application_name of the node's listener
// connection, to find it in pg_stat_activity.
func ListenerApplicationName(m *Manager) string { return "pgsession-listener-" + m.cfg.NodeID }

// MemoryAttrCount counts a session's stored attributes, expired or not.
func MemoryAttrCount(st *MemoryStore, id ID) int { return st.s.AttrCount(store.ID(id)) }

// LeanUpdateSQL returns the statement a plain Update sends on a PostgreSQL
// node (see postgres.Backend.LeanUpdateSQL for its parameters).
func LeanUpdateSQL(m *Manager) string { return m.backend.(*postgres.Backend).LeanUpdateSQL() }

// BareLeanUpdateSQL returns the UPDATE of that statement alone, without the
// change log (see postgres.Backend.BareLeanUpdateSQL).
func BareLeanUpdateSQL(m *Manager) string {
	return m.backend.(*postgres.Backend).BareLeanUpdateSQL()
}

// OmitChangeLog makes m's updates skip their change-log row (benchmarks of
// the library with no announcement of any kind; see
// postgres.Backend.OmitChangeLog).
func OmitChangeLog(m *Manager) { m.backend.(*postgres.Backend).OmitChangeLog() }
