package gorillastore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/token"
)

// A gorilla/sessions application moves to pgsession by changing its store.
// Here on the in-memory backend; with pgsession.New on a pgx pool it is
// PostgreSQL, shared by every node.
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)
	// In production: token.ParseKeys(os.Getenv("SESSION_KEYS")), the same
	// keys on every node.
	key, _ := token.GenerateKey("k1")
	keys, _ := token.NewRing(key)
	store, err := gorillastore.New(m, keys, gorillastore.WithUserKey("user"))
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		sess, err := store.Get(r, "app")
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		n, _ := sess.Values["visits"].(int)
		sess.Values["visits"] = n + 1
		if err := sess.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "visit %d", n+1)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		sess, _ := store.Get(r, "app")
		sess.Values["user"] = "ada" // bound to ada, under a new token
		sess.Save(r, w)
	})
	srv := httptest.NewTLSServer(mux) // the cookie is Secure
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)

	for range 2 {
		fmt.Println(get(client, srv.URL+"/visit"))
	}
	get(client, srv.URL+"/login")
	fmt.Println(get(client, srv.URL+"/visit"))

	devices, _ := m.ListUser(ctx, "ada")
	fmt.Println("ada's sessions:", len(devices))
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// ada's sessions: 1
}

func get(client *http.Client, u string) string {
	resp, err := client.Get(u)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
