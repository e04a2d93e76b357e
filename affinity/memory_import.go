package affinity

import "context"

var _ Importer = (*Memory)(nil)

// Import writes an entry with its own times; see Importer.
func (m *Memory) Import(ctx context.Context, in ImportEntry) (Entry, ImportOutcome, error) {
	in, err := CheckImport(in)
	if err != nil {
		return Entry{}, 0, Op("import", err)
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, 0, Op("import", err)
	}
	k := KeyOf(in.SessionID)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	switch {
	case in.LastAccess.After(now.Add(ImportSkew)):
		return Entry{}, 0, Op("import", errFuture(in.LastAccess))
	case now.Sub(in.LastAccess) >= m.cfg.IdleTimeout:
		return Entry{}, 0, Op("import", ErrExpired)
	}
	e := m.entries[k]
	if e != nil && !m.live(e, now) {
		m.remove(e)
		e = nil
	}
	outcome := ImportCreated
	switch {
	case e == nil:
		e = &memEntry{key: k, created: in.Created}
		m.entries[k] = e
	case !e.lastAccess.Before(in.LastAccess):
		return m.entry(e, now), ImportKept, nil
	default:
		outcome = ImportUpdated
		if in.Created.Before(e.created) {
			e.created = in.Created
		}
		if e.worker != in.WorkerID {
			m.remove(e)
			m.entries[k] = e
		}
	}
	m.seq++
	e.worker, e.userSub, e.lastAccess, e.version = in.WorkerID, in.UserSub, in.LastAccess, m.seq
	m.index(e)
	return m.entry(e, now), outcome, nil
}
