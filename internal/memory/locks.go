package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/pgsession/pgsession/internal/store"
)

type lockKey struct {
	session  store.ID
	resource string
}

// AcquireLock takes a free or expired lease on a live session.
func (s *Store) AcquireLock(_ context.Context, r store.LockRequest) (store.LockGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	row, ok := s.rows[r.Session]
	if !ok || !isLive(row, now) {
		return store.LockGrant{}, store.ErrLockNotFound
	}
	k := lockKey{r.Session, r.Resource}
	if l, held := s.locks[k]; held && now.Before(l.ExpiresAt) {
		return store.LockGrant{}, store.ErrLockHeld
	}
	s.fence++
	l := store.LockInfo{Resource: r.Resource, Owner: r.Owner, Fence: s.fence, AcquiredAt: now,
		HeartbeatAt: now, ExpiresAt: now.Add(r.Lease)}
	s.locks[k] = l
	return store.LockGrant{Fence: l.Fence, ExpiresAt: l.ExpiresAt}, nil
}

// ExtendLock renews an unexpired lease held by its owner for at least
// r.Lease from now; like PostgreSQL's, it never shortens the lease.
func (s *Store) ExtendLock(_ context.Context, r store.LockRequest) (store.LockGrant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := lockKey{r.Session, r.Resource}
	l, ok := s.locks[k]
	switch {
	case !ok || l.Fence != r.Fence || l.Owner != r.Owner:
		return store.LockGrant{}, store.ErrLockNotHeld
	case !now.Before(l.ExpiresAt):
		return store.LockGrant{}, store.ErrLockExpired
	}
	l.HeartbeatAt = now
	if until := now.Add(r.Lease); until.After(l.ExpiresAt) {
		l.ExpiresAt = until
	}
	s.locks[k] = l
	return store.LockGrant{Fence: l.Fence, ExpiresAt: l.ExpiresAt}, nil
}

// ReleaseLock ends a lease; only its owner can.
func (s *Store) ReleaseLock(_ context.Context, r store.LockRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := lockKey{r.Session, r.Resource}
	if l, ok := s.locks[k]; !ok || l.Fence != r.Fence || l.Owner != r.Owner {
		return store.ErrLockNotHeld
	}
	delete(s.locks, k)
	return nil
}

// ListLocks returns a session's unexpired leases by resource.
func (s *Store) ListLocks(_ context.Context, session store.ID) ([]store.LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []store.LockInfo
	for k, l := range s.locks {
		if k.session == session && now.Before(l.ExpiresAt) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b store.LockInfo) int { return strings.Compare(a.Resource, b.Resource) })
	return out, nil
}

// GuardLock checks that r's fence is the live lease on its session and
// resource. tx is ignored: memory has no transactions to hold the lease in, so the
// check is of this moment only.
func (s *Store) GuardLock(_ context.Context, _ store.Querier, r store.LockRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[lockKey{r.Session, r.Resource}]
	if !ok || l.Fence != r.Fence || !s.now().Before(l.ExpiresAt) {
		return store.ErrLockNotHeld
	}
	return nil
}

// dropLocks removes a deleted session's leases. Runs with mu held.
func (s *Store) dropLocks(session store.ID) {
	for k := range s.locks {
		if k.session == session {
			delete(s.locks, k)
		}
	}
}
