package gorillastore

import (
	"runtime"
	"sync"
	"weak"

	"github.com/gorilla/sessions"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/token"
)

// state is what the Store knows of a gorilla session it handed out: the
// pgsession snapshot it was loaded from (or last saved as), which Save
// diffs Values against, and the secret its cookie's token carries.
type state struct {
	snap      *pgsession.Session // nil: nothing stored (new, or ended)
	secret    [token.SecretSize]byte
	loadErr   error           // a fault while loading: Save refuses to write
	undecoded map[string]bool // stored keys left out of Values by New
}

// states maps each gorilla session a Store handed out to its state. A
// *sessions.Session has no room for a store's own data, and Save receives
// only the session, so the state is looked up by the session's address. The
// map holds weak pointers and each entry is removed once its session is
// garbage: a session dropped without a Save costs nothing lasting.
type states struct {
	m sync.Map // weak.Pointer[sessions.Session] -> *state
}

func (ss *states) track(sess *sessions.Session, st *state) {
	wp := weak.Make(sess)
	ss.m.Store(wp, st)
	runtime.AddCleanup(sess, func(wp weak.Pointer[sessions.Session]) { ss.m.Delete(wp) }, wp)
}

func (ss *states) lookup(sess *sessions.Session) *state {
	if v, ok := ss.m.Load(weak.Make(sess)); ok {
		return v.(*state)
	}
	return nil
}

// len counts the tracked sessions (for tests).
func (ss *states) len() int {
	n := 0
	ss.m.Range(func(any, any) bool { n++; return true })
	return n
}
