package pgsession

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgsession/pgsession/internal/store"
)

// gatedBackend runs the real Get at once (the "query"), then holds its
// reply until release is closed: a read whose query was sent before what
// the test does next.
type gatedBackend struct {
	store.Backend
	gets    atomic.Int32
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *gatedBackend) Get(ctx context.Context, id store.ID) (*store.Record, error) {
	n := b.gets.Add(1)
	rec, err := b.Backend.Get(ctx, id)
	if n == 1 {
		b.once.Do(func() { close(b.started) })
		<-b.release
	}
	return rec, err
}

func gate(m *Manager) *gatedBackend {
	g := &gatedBackend{Backend: m.backend, started: make(chan struct{}), release: make(chan struct{})}
	m.backend = g
	return g
}

func memoryNode(t *testing.T, cfg Config) *Manager {
	cfg.TouchInterval, cfg.SweepInterval = -1, -1
	m, err := NewMemory(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// DESIGN C6 with CacheSize -1: a Get that begins after this node's own
// Update returned joins a shared read sent before it, and returns the old
// version.
func TestGetAfterOwnUpdateNeverSharesAnOlderRead(t *testing.T) {
	for _, size := range []int{0, -1} {
		name := "cache on"
		if size < 0 {
			name = "cache off (CacheSize -1)"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := memoryNode(t, Config{CacheSize: size})
			s, err := m.Create(ctx, "", map[string]any{"k": 1})
			if err != nil {
				t.Fatal(err)
			}
			if m.cache != nil {
				m.cache.DropAll() // so the first Get reads
			}
			g := gate(m)
			first := make(chan *Session, 1)
			go func() {
				s1, err := m.Get(ctx, s.Token(), NoTouch(), MinVersion(0))
				if err != nil {
					t.Error(err)
				}
				first <- s1
			}()
			<-g.started // the shared query has read version 1
			u, err := m.Update(ctx, s.ID(), new(Patch).Set("k", 2))
			if err != nil {
				t.Fatal(err)
			}
			// The update has returned (version 2). A Get that starts now:
			second := make(chan *Session, 1)
			go func() {
				s2, err := m.Get(ctx, s.Token(), NoTouch())
				if err != nil {
					t.Error(err)
				}
				second <- s2
			}()
			time.Sleep(50 * time.Millisecond) // let it join the flight
			close(g.release)
			<-first
			s2 := <-second
			t.Logf("update returned v%d; Get begun after it returned v%d (backend Gets: %d)", u.Version(), s2.Version(), g.gets.Load())
			if s2.Version() < u.Version() {
				t.Errorf("own write not seen: Get begun after Update(v%d) returned v%d", u.Version(), s2.Version())
			}
		})
	}
}

// DESIGN C6 for Delete with CacheSize -1 (and the not-found memory off,
// which would otherwise answer first).
func TestGetAfterOwnDeleteNeverSharesAnOlderRead(t *testing.T) {
	ctx := context.Background()
	m := memoryNode(t, Config{CacheSize: -1, NotFoundCacheSize: -1})
	s, err := m.Create(ctx, "", map[string]any{"k": 1})
	if err != nil {
		t.Fatal(err)
	}
	g := gate(m)
	go m.Get(ctx, s.Token(), NoTouch())
	select {
	case <-g.started:
	case <-time.After(5 * time.Second):
		t.Fatal("no read")
	}
	if err := m.Delete(ctx, s.ID()); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := m.Get(ctx, s.Token(), NoTouch())
		res <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(g.release)
	if err := <-res; err == nil {
		t.Errorf("Get begun after this node's Delete returned still found the session")
	}
}

// A Get in flight before CreateWithToken (same node) answers a Get begun
// after the create returned with ErrNotFound, and then the not-found memory
// keeps answering ErrNotFound for the live session.
func TestNotFoundReadRacingACreateIsNotRemembered(t *testing.T) {
	for _, size := range []int{0, -1} {
		t.Run(map[int]string{0: "cache on", -1: "cache off"}[size], func(t *testing.T) {
			ctx := context.Background()
			m := memoryNode(t, Config{CacheSize: size})
			token, _ := newToken()
			g := gate(m)
			go m.Get(ctx, token, NoTouch())
			<-g.started // read: not found
			_, err := m.CreateWithToken(ctx, token, "", map[string]any{"k": 1})
			if err != nil {
				t.Fatal(err)
			}
			res := make(chan error, 1)
			go func() {
				_, err := m.Get(ctx, token, NoTouch())
				res <- err
			}()
			time.Sleep(50 * time.Millisecond)
			close(g.release)
			err = <-res
			t.Logf("Get begun after CreateWithToken returned: %v", err)
			time.Sleep(10 * time.Millisecond)
			if m.cache != nil {
				m.cache.DropAll() // what eviction, CacheMaxAge or a listener reconnect do
			}
			_, err = m.Get(ctx, token, NoTouch())
			t.Logf("later Get: %v", err)
			fresh, ferr := m.Get(ctx, token, ForceRefresh(), NoTouch())
			_, err = m.Get(ctx, token, NoTouch())
			t.Logf("ForceRefresh Get: err=%v live=%v; Get after it: %v", ferr, fresh != nil, err)
			if errors.Is(err, ErrNotFound) && ferr == nil {
				t.Errorf("session is live (ForceRefresh finds it) but this node answers ErrNotFound from its not-found memory")
			}
		})
	}
}

// Memory backend: a CreateWithToken that fails with ErrSessionExists under
// a per-user cap has already evicted the user's oldest session, with no event.
func TestMemoryDuplicateCreateEvictsNothing(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore()
	cfg := Config{TouchInterval: -1, SweepInterval: -1, MaxSessionsPerUser: 2}
	a, _ := NewMemory(st, cfg)
	b, _ := NewMemory(st, cfg)
	defer a.Close(ctx)
	defer b.Close(ctx)
	t1, _ := newToken()
	t2, _ := newToken()
	s1, err := a.CreateWithToken(ctx, t1, "u", nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := a.CreateWithToken(ctx, t2, "u", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, t1); err != nil { // cached on b
		t.Fatal(err)
	}
	_, err = a.CreateWithToken(ctx, t2, "u", nil)
	t.Logf("duplicate create: %v", err)
	_, errA := a.Get(ctx, t1, ForceRefresh())
	_, errB := b.Get(ctx, t1)
	t.Logf("s1 in store: %v; s1 on node b (cache): %v", errA, errB)
	if errors.Is(errA, ErrNotFound) {
		t.Errorf("failed create evicted session %v; node b still serves it: %v", s1.ID(), errB == nil)
	}
}
