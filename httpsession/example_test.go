package httpsession_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
	"github.com/pgsession/pgsession/token"
)

// A visit counter behind the middleware, on the in-memory backend, visited
// by a client that keeps cookies like a browser.
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)

	// In production: token.ParseKeys(os.Getenv("SESSION_KEYS")).
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	mw, err := httpsession.New(httpsession.Config{Manager: m, Keys: keys})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		if s := mw.Session(r); s != nil {
			n = pgsession.AttrOr(s, "visits", 0)
		}
		mw.Set(r, "visits", n+1) // saved before the body goes out
		fmt.Fprintf(w, "visit %d", n+1)
	})
	srv := httptest.NewTLSServer(mw.Handler(mux)) // the cookie is Secure
	defer srv.Close()

	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 3 {
		fmt.Println(fetch(client, "GET", srv.URL+"/"))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Log in renews the token and keeps the data the application chose from
// the anonymous session; log out ends the session and clears the cookie.
func ExampleMiddleware_LogIn() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	mw, _ := httpsession.New(httpsession.Config{Manager: m, Keys: keys})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		mw.Set(r, "cart", []string{"tea"})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		remember := r.URL.Query().Get("remember") == "on"
		// The cart filled before log in comes along; nothing else of the
		// anonymous session does.
		_, err := mw.LogIn(r, "ada", httpsession.RememberMe(remember), httpsession.KeepKeys("cart"))
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := mw.LogOut(r); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s := mw.Session(r)
		if s == nil || s.UserID() == "" {
			fmt.Fprint(w, "anonymous")
			return
		}
		fmt.Fprintf(w, "%s, cart %v", s.UserID(), pgsession.AttrOr[[]string](s, "cart", nil))
	})
	srv := httptest.NewTLSServer(mw.Handler(mux))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)

	fetch(client, "POST", srv.URL+"/cart")
	fetch(client, "POST", srv.URL+"/login?remember=on")
	fmt.Println(fetch(client, "GET", srv.URL+"/me"))
	fetch(client, "POST", srv.URL+"/logout")
	fmt.Println(fetch(client, "GET", srv.URL+"/me"))
	// Output:
	// ada, cart [tea]
	// anonymous
}

// An API client sends its token as a bearer token and reads new ones from
// X-Session-Token.
func ExampleConfig_bearer() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	mw, _ := httpsession.New(httpsession.Config{
		Manager: m, Keys: keys,
		Cookie: httpsession.CookieConfig{Disabled: true},
		Header: "Authorization",
	})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			mw.LogIn(r, "robot-7")
			return
		}
		if s := mw.Session(r); s != nil {
			fmt.Fprint(w, "hello ", s.UserID())
		}
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	tok := rec.Header().Get("X-Session-Token")

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String(), rec.Header().Get("Vary"))
	// Output: hello robot-7 Authorization
}

// A form on another site posting to ours, with the user's cookie attached,
// is refused before any session work; the same form on our own pages, and
// clients that are not browsers, are served.
func ExampleCrossOriginConfig() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	mw, _ := httpsession.New(httpsession.Config{
		Manager: m, Keys: keys,
		CrossOrigin: httpsession.CrossOriginConfig{
			// The payment provider calls back from its own origin.
			BypassPatterns: []string{"POST /payments/callback"},
		},
	})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "done")
	}))

	for _, site := range []string{"cross-site", "same-origin", ""} {
		req := httptest.NewRequest("POST", "https://shop.example/transfer", nil)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site) // set by browsers
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%q: %d %s\n", site, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// "cross-site": 403 cross-origin request refused
	// "same-origin": 200 done
	// "": 200 done
}

// A sensitive action asks for a recent log in: older than five minutes,
// the user is sent to log in again, which refreshes the time.
func ExampleMiddleware_RequireRecentAuth() {
	ctx := context.Background()
	m, _ := pgsession.NewMemory(nil, pgsession.Config{})
	defer m.Close(ctx)
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	mw, _ := httpsession.New(httpsession.Config{
		Manager: m, Keys: keys,
		OnReauth: func(w http.ResponseWriter, r *http.Request, err *httpsession.ReauthError) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		},
	})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		mw.LogIn(r, "ada", httpsession.AuthMethod("password"))
	})
	changePassword := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, method, _ := mw.AuthenticatedAt(r)
		fmt.Fprintf(w, "password changed (authenticated by %s)", method)
	})
	mux.Handle("POST /account/password", mw.RequireRecentAuth(5*time.Minute)(changePassword))
	srv := httptest.NewTLSServer(mw.Handler(mux))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp, _ := client.Post(srv.URL+"/account/password", "", nil)
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	resp.Body.Close()

	fetch(client, "POST", srv.URL+"/login")
	fmt.Println(fetch(client, "POST", srv.URL+"/account/password"))
	// Output:
	// 303 /login?next=%2Faccount%2Fpassword
	// password changed (authenticated by password)
}

// fetch makes a request and returns the body (examples only: errors panic).
func fetch(c *http.Client, method, url string) string {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
