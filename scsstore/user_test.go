package scsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/scsstore"
)

// userApp is an scs application that logs users in under the "user" key:
// /login the scs way (RenewToken, then Put), /as without RenewToken.
func userApp(sm *scs.SessionManager) http.Handler {
	mux := http.NewServeMux()
	put := func(path string, f func(r *http.Request) any, renew bool) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if renew {
				if err := sm.RenewToken(r.Context()); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			if v := f(r); v != nil {
				sm.Put(r.Context(), "user", v)
			} else {
				sm.Remove(r.Context(), "user")
			}
		})
	}
	q := func(r *http.Request) any {
		if u := r.URL.Query().Get("u"); u != "" {
			return u
		}
		return nil
	}
	put("/login", q, true)
	put("/as", q, false)
	put("/logout-renew", func(*http.Request) any { return nil }, true)
	put("/login-int", func(r *http.Request) any { n, _ := strconv.Atoi(r.URL.Query().Get("n")); return n }, true)
	put("/bad", func(r *http.Request) any { return badUsers[r.URL.Query().Get("k")] }, false)
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "msg", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		u := ""
		if v := sm.Get(r.Context(), "user"); v != nil {
			u = fmt.Sprint(v)
		}
		io.WriteString(w, sm.GetString(r.Context(), "msg")+"|"+u)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return sm.LoadAndSave(mux)
}

// badUsers are values under the user key that bind no user.
var badUsers = map[string]any{
	"float": 1.5,
	"bool":  true,
	"slice": []string{"ada"},
	"nul":   "a\x00b",
	"utf8":  "\xff",
	"long":  strings.Repeat("u", 257),
}

// withUser is newSCS with the user key "user".
func withUser(t *testing.T, m *pgsession.Manager) *client {
	return &client{t: t, h: userApp(newSCS(t, m, scsstore.WithUserKey("user")))}
}

// userOf returns the user the session of cookie is bound to, read from the
// database.
func userOf(t *testing.T, m *pgsession.Manager, cookie string) string {
	t.Helper()
	s, err := m.Get(ctxT(t), cookie, pgsession.ForceRefresh())
	require.NoError(t, err)
	return s.UserID()
}

// listed returns the IDs of a user's sessions, newest first.
func listed(t *testing.T, m *pgsession.Manager, user string) []pgsession.ID {
	t.Helper()
	ss, err := m.ListUser(ctxT(t), user)
	require.NoError(t, err)
	ids := make([]pgsession.ID, len(ss))
	for i, s := range ss {
		ids[i] = s.ID()
	}
	return ids
}

// idOf returns the session ID of an scs token.
func idOf(t *testing.T, m *pgsession.Manager, cookie string) pgsession.ID {
	t.Helper()
	s, err := m.Get(ctxT(t), cookie, pgsession.ForceRefresh())
	require.NoError(t, err)
	return s.ID()
}

// Logging in the scs way (RenewToken, then Put) creates the new token's
// session bound to the user; later commits keep it bound; a session without
// the key stays anonymous.
func TestUserKeyLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := withUser(t, m)
		cl.do("/put?v=cart")
		anon := cl.cookie
		require.Empty(t, userOf(t, m, anon))

		cl.do("/login?u=ada")
		require.NotEqual(t, anon, cl.cookie)
		require.Equal(t, "ada", userOf(t, m, cl.cookie))
		require.Equal(t, []pgsession.ID{idOf(t, m, cl.cookie)}, listed(t, m, "ada"))
		_, err := m.Get(ctxT(t), anon, pgsession.ForceRefresh())
		require.ErrorIs(t, err, pgsession.ErrNotFound, "the anonymous token is gone")

		cl.do("/put?v=more")
		require.Equal(t, "more|ada", cl.do("/get"))
		require.Equal(t, []pgsession.ID{idOf(t, m, cl.cookie)}, listed(t, m, "ada"), "an update keeps the binding")

		other := withUser(t, m)
		other.do("/put?v=x")
		require.Empty(t, userOf(t, m, other.cookie), "no user key: anonymous")

		// Another node lists it too.
		require.Len(t, listed(t, c.node(), "ada"), 1)
	})
}

// An integer user ID is bound as its decimal form.
func TestUserKeyInteger(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := withUser(t, m)
		cl.do("/login-int?n=42")
		require.Equal(t, "42", userOf(t, m, cl.cookie))
		require.Len(t, listed(t, m, "42"), 1)
	})
}

// DeleteUser logs a user out everywhere: each of their scs clients gets a
// fresh session on its next request; other users are untouched.
func TestUserKeyDeleteUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		phone, laptop, bob := withUser(t, m), withUser(t, m), withUser(t, m)
		for _, cl := range []*client{phone, laptop} {
			cl.do("/put?v=mine")
			cl.do("/login?u=ada")
		}
		bob.do("/login?u=bob")
		require.Len(t, listed(t, m, "ada"), 2)

		n, err := m.DeleteUser(ctxT(t), "ada")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for _, cl := range []*client{phone, laptop} {
			old := cl.cookie
			require.Equal(t, "|", cl.do("/get"), "a fresh session")
			cl.do("/put?v=new")
			require.NotEqual(t, old, cl.cookie, "the old token is not recreated")
			require.Empty(t, userOf(t, m, cl.cookie))
		}
		require.Empty(t, listed(t, m, "ada"))
		require.Equal(t, "|bob", bob.do("/get"))
	})
}

// MaxSessionsPerUser evicts the user's oldest scs session at a new log in.
func TestUserKeyCap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.nodeWith(pgsession.Config{MaxSessionsPerUser: 2})
		devices := []*client{withUser(t, m), withUser(t, m), withUser(t, m)}
		for _, cl := range devices {
			cl.do("/login?u=ada")
			time.Sleep(5 * time.Millisecond) // distinct creation times
		}
		require.Equal(t, "|", devices[0].do("/get"), "the oldest was evicted")
		require.Equal(t, "|ada", devices[1].do("/get"))
		require.Equal(t, "|ada", devices[2].do("/get"))
		require.Equal(t, []pgsession.ID{idOf(t, m, devices[2].cookie), idOf(t, m, devices[1].cookie)}, listed(t, m, "ada"))
	})
}

// Logging out removes the session from the user's list: Destroy ends it;
// RenewToken with the key removed starts an anonymous one.
func TestUserKeyLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		a, b := withUser(t, m), withUser(t, m)
		a.do("/login?u=ada")
		b.do("/login?u=ada")
		b.do("/put?v=kept")
		require.Len(t, listed(t, m, "ada"), 2)

		a.do("/logout")
		require.Empty(t, a.cookie)
		require.Equal(t, []pgsession.ID{idOf(t, m, b.cookie)}, listed(t, m, "ada"))

		old := b.cookie
		b.do("/logout-renew")
		require.NotEqual(t, old, b.cookie)
		require.Empty(t, userOf(t, m, b.cookie))
		require.Equal(t, "kept|", b.do("/get"))
		require.Empty(t, listed(t, m, "ada"))
	})
}

// Without RenewToken the user changes under the same token: the session is
// started again under it, bound to the new user (or none), data kept.
func TestUserKeyChangeWithoutRenew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		cl := withUser(t, m)
		cl.do("/put?v=cart")
		token := cl.cookie
		for _, u := range []string{"ada", "bob", ""} {
			cl.do("/as?u=" + u)
			require.Equal(t, token, cl.cookie, "scs keeps its token")
			require.Equal(t, u, userOf(t, m, token))
			require.Equal(t, "cart|"+u, cl.do("/get"))
		}
		require.Empty(t, listed(t, m, "ada"))
		require.Empty(t, listed(t, m, "bob"))

		cl.do("/as?u=bob")
		require.Len(t, listed(t, m, "bob"), 1)
		n, err := m.DeleteUser(ctxT(t), "bob")
		require.NoError(t, err)
		require.Equal(t, 1, n, "the rebound session is bob's")
		require.Equal(t, "|", cl.do("/get"))
	})
}

// A user ID that is not a string or an integer, or breaks pgsession's rules,
// fails the commit (scs answers 500) and writes nothing: a new session is
// not created, an existing one keeps its data and user.
func TestUserKeyBadValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		var errs []error
		sm := newSCS(t, m, scsstore.WithUserKey("user"))
		sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
			errs = append(errs, err)
			http.Error(w, "fail", http.StatusInternalServerError)
		}
		h := userApp(sm)
		cl := &client{t: t, h: h}
		cl.do("/login?u=ada")
		cl.do("/put?v=before")
		for k := range badUsers {
			errs = nil
			fresh := serve(h, "/bad?k="+k, "")
			require.Equal(t, http.StatusInternalServerError, fresh.Code, k)
			require.Empty(t, fresh.Result().Cookies(), "no session: %s", k)
			require.Equal(t, http.StatusInternalServerError, serve(h, "/bad?k="+k, cl.cookie).Code, k)
			require.Len(t, errs, 2)
			for _, err := range errs {
				require.ErrorIs(t, err, pgsession.ErrInvalidUserID, k)
			}
			require.Equal(t, "before|ada", cl.do("/get"), k)
			require.Equal(t, "ada", userOf(t, m, cl.cookie), k)
		}
		require.Len(t, listed(t, m, "ada"), 1)
	})
}

// Commits through scs's Iterate keep working while the user stays; one that
// would change it is refused (no token to rebind under), and Destroy ends a
// bound session.
func TestUserKeyIterate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := ctxT(t)
		m := c.node()
		sm := newSCS(t, m, scsstore.WithUserKey("user"))
		h := userApp(sm)
		ada, bob := &client{t: t, h: h}, &client{t: t, h: h}
		ada.do("/login?u=ada")
		bob.do("/login?u=bob")

		err := sm.Iterate(ctx, func(ctx context.Context) error {
			sm.Put(ctx, "msg", "seen")
			_, _, err := sm.Commit(ctx)
			return err
		})
		require.NoError(t, err)
		require.Equal(t, "seen|ada", ada.do("/get"))

		err = sm.Iterate(ctx, func(ctx context.Context) error {
			if sm.GetString(ctx, "user") == "bob" {
				return sm.Destroy(ctx)
			}
			sm.Put(ctx, "user", "eve")
			sm.Put(ctx, "msg", "changed")
			_, _, err := sm.Commit(ctx)
			return err
		})
		require.Error(t, err)
		require.Equal(t, "seen|ada", ada.do("/get"), "nothing written")
		require.Len(t, listed(t, m, "ada"), 1)
		require.Empty(t, listed(t, m, "eve"))

		err = sm.Iterate(ctx, func(ctx context.Context) error { return sm.Destroy(ctx) })
		require.NoError(t, err)
		require.Empty(t, listed(t, m, "ada"))
		require.Empty(t, listed(t, m, "bob"))
	})
}

// jsonCodec is an scs codec other than gob.
type jsonCodec struct{}

type jsonData struct {
	Deadline time.Time
	Values   map[string]any
}

func (jsonCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return json.Marshal(jsonData{deadline, values})
}

func (jsonCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var d jsonData
	err := json.Unmarshal(b, &d)
	return d.Deadline, d.Values, err
}

// WithCodec reads the user key with the SessionManager's own codec; a codec
// that cannot read the data fails the commit.
func TestUserKeyCodec(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		sm := newSCS(t, m, scsstore.WithUserKey("user"), scsstore.WithCodec(jsonCodec{}))
		sm.Codec = jsonCodec{}
		cl := &client{t: t, h: userApp(sm)}
		cl.do("/login?u=ada")
		require.Equal(t, "ada", userOf(t, m, cl.cookie))

		st := scsstore.New(m, scsstore.WithUserKey("user")) // gob, the default
		err := st.CommitCtx(ctxT(t), newToken(), []byte(`{"Values":{"user":"ada"}}`), time.Now().Add(time.Hour))
		require.ErrorContains(t, err, "WithCodec")
		require.Len(t, listed(t, m, "ada"), 1)
	})
}

// Without WithUserKey the data is not read: sessions are anonymous, and one
// bound by other code (pgsession import scs -user-key) keeps its user.
func TestUserKeyOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		m := c.node()
		sm := newSCS(t, m)
		cl := &client{t: t, h: userApp(sm)}
		cl.do("/login?u=ada")
		require.Empty(t, userOf(t, m, cl.cookie))

		b, err := scs.GobCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{"user": "ada"})
		require.NoError(t, err)
		tok := newToken()
		require.NoError(t, scsstore.New(m, scsstore.WithUserKey("user")).CommitCtx(ctxT(t), tok, b, time.Now().Add(time.Hour)))
		require.NoError(t, scsstore.New(m).CommitCtx(ctxT(t), tok, []byte("x"), time.Now().Add(time.Hour)))
		require.Equal(t, "ada", userOf(t, m, tok))
	})
}
