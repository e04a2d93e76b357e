package scsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/pgsession/pgsession"
)

// errNoRebind is a change of user committed through a key from All: with no
// token to start the session again under, the binding cannot follow.
var errNoRebind = errors.New("cannot change the user of a session through a key from All; Destroy it instead")

// WithUserKey names the scs session key whose value is the user ID (a
// string, or an integer, bound as its decimal form). Each commit then binds
// the session to that user in pgsession, so Manager.ListUser, DeleteUser
// ("log out everywhere") and Config.MaxSessionsPerUser work for scs
// sessions. A session without the key, or with "", is anonymous. The Store
// reads the key by decoding scs's data with the SessionManager's codec (see
// WithCodec). An empty key turns binding off, the default.
func WithUserKey(key string) Option {
	return func(s *Store) { s.userKey = key }
}

// WithCodec is the codec the SessionManager encodes its data with (its
// Codec field), which WithUserKey needs to read the user ID. Defaults to
// scs.GobCodec, scs's default; nil keeps it.
func WithCodec(c scs.Codec) Option {
	return func(s *Store) {
		if c != nil {
			s.codec = c
		}
	}
}

// userOf returns the user ID scs's data b holds under the user key ("" for
// none). A value that is neither a string nor an integer, or breaks
// pgsession's rules, is an error wrapping pgsession.ErrInvalidUserID, so
// the commit writes nothing rather than leave a session its user's
// DeleteUser would miss.
func (s *Store) userOf(b []byte) (string, error) {
	if s.userKey == "" {
		return "", nil
	}
	_, values, err := s.codec.Decode(b)
	if err != nil {
		return "", fmt.Errorf("reading user key %q: decoding the data (is WithCodec the SessionManager's Codec?): %w", s.userKey, err)
	}
	// Checked in full here, before a rebind deletes anything.
	u, err := pgsession.UserIDOf(values[s.userKey])
	if err != nil {
		return "", fmt.Errorf("user key %q: %w", s.userKey, err)
	}
	return u, nil
}

// checkKeyUser refuses a commit through a key from All that would change the
// session's user: it has no token to rebind under (see rebind). A session
// gone meanwhile gives ok false: nothing to write.
func (s *Store) checkKeyUser(ctx context.Context, id pgsession.ID, user string) (ok bool, err error) {
	if s.userKey == "" {
		return true, nil
	}
	// A session's user never changes under one ID but by rebind, so the
	// cached copy will do.
	cur, err := s.m.GetByID(ctx, id, pgsession.NoTouch())
	switch {
	case errors.Is(err, pgsession.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case cur.UserID() != user:
		return false, errNoRebind
	}
	return true, nil
}

// rebind moves the session of token to user. pgsession changes a session's
// user only with a new token (Renew), which scs cannot take from a store, so
// the session is ended and started again under the same token with the new
// data. scs apps that call RenewToken at log in and log out never get here.
func (s *Store) rebind(ctx context.Context, token string, id pgsession.ID, user string, raw json.RawMessage, d time.Duration) error {
	if err := s.delete(ctx, "commit", id); err != nil {
		return err
	}
	if err := s.create(ctx, token, user, raw, d); err != nil {
		return fmt.Errorf("scsstore: commit: rebinding to user %q: %w", user, err)
	}
	return nil
}
