// Package ginstore lets gin applications that use gin-contrib/sessions keep
// their sessions in pgsession, through gorillastore:
//
//	gs, err := gorillastore.New(m, keys) // m is a *pgsession.Manager
//	router.Use(sessions.Sessions("app", ginstore.New(gs)))
//
// gin-contrib/sessions wants a gorilla/sessions Store with one more method,
// Options, which this wrapper adds; everything else is gorillastore's (see
// its documentation for how values are stored and what Save does). It is a
// module of its own so that gorillastore's users do not depend on gin.
//
// gin-contrib's session.Options replaces all of a session's cookie options,
// so pass them all (Path "/" included). As with gorillastore, saving with
// MaxAge < 0 ends the session and expires the cookie (a log out), and so
// does MaxAge 0, although gin-contrib documents it as "no Max-Age".
package ginstore

import (
	"github.com/gin-contrib/sessions"

	"github.com/pgsession/pgsession/gorillastore"
)

var _ sessions.Store = (*Store)(nil)

// Store is a gorillastore.Store that gin-contrib/sessions accepts.
type Store struct {
	*gorillastore.Store
}

// New wraps s for gin-contrib/sessions.
func New(s *gorillastore.Store) *Store { return &Store{Store: s} }

// Options sets the cookie options new sessions start with (the Store's
// Options field), as gin-contrib's own stores do.
func (s *Store) Options(o sessions.Options) { s.Store.Options = o.ToGorillaOptions() }
