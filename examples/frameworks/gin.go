package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// ginApp: gin's middleware are gin.HandlerFuncs, not net/http ones, so the
// middleware wraps the whole engine, which is an http.Handler. Handlers
// reach the session through c.Request.
func ginApp(mw *httpsession.Middleware) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.GET("/", func(c *gin.Context) {
		n := 0
		if s := mw.Session(c.Request); s != nil {
			n = pgsession.AttrOr(s, "visits", 0)
		}
		mw.Set(c.Request, "visits", n+1) // saved before the response's first byte
		c.String(http.StatusOK, "gin: visit %d, %s", n+1, who(mw.Session(c.Request)))
	})
	g.POST("/login", func(c *gin.Context) {
		// ... check the password first ...
		if _, err := mw.LogIn(c.Request, c.PostForm("user"), httpsession.KeepKeys("visits")); err != nil {
			c.String(http.StatusBadRequest, err.Error())
		}
	})
	g.POST("/logout", func(c *gin.Context) {
		if err := mw.LogOut(c.Request); err != nil {
			c.String(http.StatusServiceUnavailable, "try again")
		}
	})
	return mw.Handler(g)
}
