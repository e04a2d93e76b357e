package scsstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/scsstore"
)

// An scs application moves to pgsession by changing its Store: one line.
// Here on the in-memory backend; with pgsession.New on a pgx pool it is
// PostgreSQL, shared by every node.
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)

	sessionManager := scs.New()
	sessionManager.Store = scsstore.New(m) // the switch

	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sessionManager.Put(r.Context(), "message", "Hello from a session!")
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sessionManager.GetString(r.Context(), "message"))
	})
	h := sessionManager.LoadAndSave(mux)

	// A browser: /put, then /get with the cookie it was given.
	put := httptest.NewRecorder()
	h.ServeHTTP(put, httptest.NewRequest(http.MethodGet, "/put", nil))
	cookie := put.Result().Cookies()[0]

	req := httptest.NewRequest(http.MethodGet, "/get", nil)
	req.AddCookie(cookie)
	get := httptest.NewRecorder()
	h.ServeHTTP(get, req)
	fmt.Println(get.Body.String())

	// The session is a pgsession session under the same token.
	s, _ := m.Get(ctx, cookie.Value)
	fmt.Println(s.Keys())
	// Output:
	// Hello from a session!
	// [scs]
}

// With WithUserKey, the session RenewToken starts at log in is bound to the
// user, so pgsession lists it and DeleteUser logs the user out everywhere.
func ExampleWithUserKey() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)

	sessionManager := scs.New()
	sessionManager.Store = scsstore.New(m, scsstore.WithUserKey("userID"))
	h := sessionManager.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessionManager.RenewToken(r.Context()); err != nil { // log in
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sessionManager.Put(r.Context(), "userID", 42)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))

	devices, _ := m.ListUser(ctx, "42")
	fmt.Println(len(devices))
	n, _ := m.DeleteUser(ctx, "42")
	fmt.Println(n)
	// Output:
	// 1
	// 1
}
