package scsstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/pgsession/pgsession"
)

// The interfaces scs looks for; the ctx ones are used when present.
var (
	_ scs.Store            = (*Store)(nil)
	_ scs.CtxStore         = (*Store)(nil)
	_ scs.IterableStore    = (*Store)(nil)
	_ scs.IterableCtxStore = (*Store)(nil)
)

// DefaultAttributeKey is the attribute that holds scs's data.
const DefaultAttributeKey = "scs"

// DefaultSeenCapacity is how many sessions a Store remembers having seen.
const DefaultSeenCapacity = 200_000

// errBadToken is a commit of something that is neither an scs token nor a
// key from All: scs never does that, so it is a fault, not "no session".
var errBadToken = errors.New("not an scs token or a key from All")

// Store is an scs session store on a pgsession Manager. Create it with New;
// it is safe for concurrent use. It owns nothing: close the Manager as
// usual.
type Store struct {
	m      *pgsession.Manager
	key    string   // attribute holding the blob
	secret [32]byte // HMAC key of the keys All returns; never leaves the process
	seen   seenSet  // sessions found, created or deleted here: never recreated
	get    []pgsession.GetOption

	userKey string    // scs key holding the user ID; "" binds no user
	codec   scs.Codec // decodes scs's data to read userKey
}

// Option adjusts a Store.
type Option func(*Store)

// WithAttributeKey names the attribute that holds scs's data. Give each scs
// SessionManager that shares a Manager its own key. Defaults to "scs".
func WithAttributeKey(key string) Option {
	return func(s *Store) { s.key = key }
}

// WithSeenCapacity bounds how many sessions the Store remembers having
// seen, so that a commit never recreates one deleted meanwhile (see the
// package documentation). Each costs about 50 bytes. Values below 2 keep
// the default, 200,000.
func WithSeenCapacity(n int) Option {
	return func(s *Store) {
		if n >= 2 {
			s.seen.half = n / 2
		}
	}
}

// WithFreshReads reads every session from the database (one round trip
// per request, as scs's postgresstore does) instead of from the node's
// cache, so a request sees every write committed before it began, on any
// node. Without it, another node's write reaches this node's cache within
// pgsession's staleness bound (milliseconds while its listener is healthy):
// a request that follows a write on another node more closely than that can
// read the older data and, if it commits, write it back over the newer (as
// two concurrent requests can with any scs store). Use it when one client's
// requests can land on different nodes back to back (no sticky routing)
// and such a loss is not acceptable. Defaults to off: reads are cache hits.
func WithFreshReads() Option {
	return func(s *Store) { s.get = append(s.get, pgsession.ForceRefresh()) }
}

// New returns a Store that keeps scs sessions in m.
func New(m *pgsession.Manager, opts ...Option) *Store {
	s := &Store{m: m, key: DefaultAttributeKey, get: []pgsession.GetOption{pgsession.NoTouch()}, codec: scs.GobCodec{}}
	s.seen.half = DefaultSeenCapacity / 2
	for _, o := range opts {
		o(s)
	}
	rand.Read(s.secret[:]) // never fails (crypto/rand panics rather than return weak bytes)
	return s
}

// Find returns the data of the session token names; see FindCtx.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx returns the data of the session token names (an scs token or a
// key from All). A token that is malformed, unknown, tampered with, expired
// or deleted gives found false and a nil error; errors are system faults.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var sess *pgsession.Session
	var err error
	if id, ok := s.parseKey(token); ok {
		sess, err = s.m.GetByID(ctx, id, s.get...)
	} else {
		sess, err = s.m.Get(ctx, token, s.get...)
	}
	switch {
	case errors.Is(err, pgsession.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("scsstore: find: %w", err)
	}
	raw, ok := sess.Raw(s.key)
	if !ok {
		return nil, false, nil // a session, but not one of ours
	}
	b, err := decodeBlob(raw)
	if err != nil {
		return nil, false, fmt.Errorf("scsstore: find: attribute %q: %w", s.key, err)
	}
	s.seen.add(sess.ID())
	return b, true, nil
}

// Commit saves a session's data; see CommitCtx.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx saves a session's data and moves its expiry to expiry (read
// from this node's clock, applied as a duration to the database's). A
// session this Store has seen, or one named by a key from All, is updated
// and never recreated: if it was deleted meanwhile, the commit does nothing
// and returns nil. A token never seen here, one scs has just generated,
// starts a session. An expiry already past deletes the session. With
// WithUserKey, the session is bound to the user the data names, and a
// commit that changes the user rebinds it (see the package documentation).
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	d := time.Until(expiry) // at once: the database applies it to its own clock
	id, byKey, ok := s.resolve(token)
	if !ok {
		return fmt.Errorf("scsstore: commit: %w", errBadToken)
	}
	if d <= 0 {
		return s.delete(ctx, "commit", id)
	}
	user, err := s.userOf(b)
	if err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	raw := encodeBlob(b)
	if byKey {
		if ok, err := s.checkKeyUser(ctx, id, user); !ok {
			if err != nil {
				err = fmt.Errorf("scsstore: commit: %w", err)
			}
			return err
		}
		return s.update(ctx, "", id, user, raw, d)
	}
	if s.seen.has(id) {
		return s.update(ctx, token, id, user, raw, d)
	}
	err = s.create(ctx, token, user, raw, d)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgsession.ErrSessionExists):
		// Not seen here but stored: created by another Store, or seen so
		// long ago that it was forgotten. It exists, so update it.
		s.seen.add(id)
		return s.update(ctx, token, id, user, raw, d)
	}
	return fmt.Errorf("scsstore: commit: %w", err)
}

// create starts the session of a token scs generated, bound to user.
func (s *Store) create(ctx context.Context, token, user string, raw json.RawMessage, d time.Duration) error {
	sess, err := s.m.CreateWithToken(ctx, token, user, map[string]any{s.key: raw},
		pgsession.WithLifetime(d), pgsession.WithIdleTimeout(-1))
	if err == nil {
		s.seen.add(sess.ID())
	}
	return err
}

// update writes the blob to a session that must already exist. A session
// gone meanwhile stays gone: that is what its deleter wanted. The update's
// result names the session's user, so a change of user costs nothing until
// it happens; then the session of token is rebound.
func (s *Store) update(ctx context.Context, token string, id pgsession.ID, user string, raw json.RawMessage, d time.Duration) error {
	sess, err := s.m.Update(ctx, id, new(pgsession.Patch).SetRaw(s.key, raw), pgsession.SetLifetime(d))
	switch {
	case errors.Is(err, pgsession.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("scsstore: commit: %w", err)
	case s.userKey == "" || sess.UserID() == user:
		return nil
	case token == "": // a key from All, rebound meanwhile
		return fmt.Errorf("scsstore: commit: %w", errNoRebind)
	}
	return s.rebind(ctx, token, id, user, raw, d)
}

// Delete ends a session; see DeleteCtx.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteCtx ends the session token names (an scs token or a key from All).
// Deleting a session that does not exist is not an error.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	id, _, ok := s.resolve(token)
	if !ok {
		return nil // names no session that could exist
	}
	return s.delete(ctx, "delete", id)
}

func (s *Store) delete(ctx context.Context, name string, id pgsession.ID) error {
	s.seen.add(id) // a commit still in flight for it must not recreate it
	if err := s.m.Delete(ctx, id); err != nil {
		return fmt.Errorf("scsstore: %s: %w", name, err)
	}
	return nil
}

// All returns the data of every live scs session; see AllCtx.
func (s *Store) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}

// AllCtx returns the data of every live session holding scs data, keyed not
// by token (pgsession keeps none) but by a key this Store accepts in place
// of one: "i.<session ID in hex>.<HMAC tag>". The keys are valid only in
// this process; never hand one to a client. The map holds every session at
// once; pgsession reads them in pages.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	for sess, err := range s.m.All(ctx, 0) {
		if err != nil {
			return nil, fmt.Errorf("scsstore: all: %w", err)
		}
		raw, ok := sess.Raw(s.key)
		if !ok {
			continue
		}
		b, err := decodeBlob(raw)
		if err != nil {
			return nil, fmt.Errorf("scsstore: all: attribute %q: %w", s.key, err)
		}
		out[s.mintKey(sess.ID())] = b
	}
	return out, nil
}

// resolve returns the session ID a token or key names, and whether it was a
// key from All.
func (s *Store) resolve(token string) (id pgsession.ID, byKey, ok bool) {
	if id, ok := s.parseKey(token); ok {
		return id, true, true
	}
	id, ok = tokenID(token)
	return id, false, ok
}

// encodeBlob returns b as a JSON string in standard base64, as json.Marshal
// writes a []byte, in one allocation.
func encodeBlob(b []byte) json.RawMessage {
	n := base64.StdEncoding.EncodedLen(len(b))
	raw := make([]byte, n+2)
	raw[0] = '"'
	base64.StdEncoding.Encode(raw[1:], b)
	raw[n+1] = '"'
	return raw
}

// decodeBlob reverses encodeBlob, and reads any other JSON encoding of a
// []byte too.
func decodeBlob(raw json.RawMessage) ([]byte, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		in := raw[1 : n-1]
		b := make([]byte, base64.StdEncoding.DecodedLen(len(in)))
		if m, err := base64.StdEncoding.Decode(b, in); err == nil {
			return b[:m], nil
		}
	}
	var b []byte
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	return b, nil
}
