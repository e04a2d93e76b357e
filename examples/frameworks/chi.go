package main

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// chiApp: httpsession's Handler has the shape of chi middleware, so it
// goes in with Use, and handlers are plain net/http ones.
func chiApp(mw *httpsession.Middleware) http.Handler {
	r := chi.NewRouter()
	r.Use(mw.Handler)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		if s := mw.Session(r); s != nil {
			n = pgsession.AttrOr(s, "visits", 0)
		}
		mw.Set(r, "visits", n+1) // saved before the response's first byte
		fmt.Fprintf(w, "chi: visit %d, %s", n+1, who(mw.Session(r)))
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		if _, err := mw.LogIn(r, r.FormValue("user"), httpsession.KeepKeys("visits")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := mw.LogOut(r); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	})
	return r
}
