package ginstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/gorillastore/ginstore"
	"github.com/pgsession/pgsession/token"
)

// A gin application on gin-contrib/sessions switches to pgsession by
// changing the store given to sessions.Sessions.
func Example() {
	ctx := context.Background()
	m, err := pgsession.NewMemory(nil, pgsession.Config{})
	if err != nil {
		panic(err)
	}
	defer m.Close(ctx)
	key, _ := token.GenerateKey("k1") // in production: token.ParseKeys
	keys, _ := token.NewRing(key)
	gs, err := gorillastore.New(m, keys)
	if err != nil {
		panic(err)
	}

	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.Use(sessions.Sessions("app", ginstore.New(gs)))
	router.GET("/visit", func(c *gin.Context) {
		session := sessions.Default(c)
		n, _ := session.Get("visits").(int)
		session.Set("visits", n+1)
		if err := session.Save(); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.String(http.StatusOK, "visit %d", n+1)
	})
	srv := httptest.NewTLSServer(router) // the cookie is Secure
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for range 3 {
		resp, err := client.Get(srv.URL + "/visit")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}
