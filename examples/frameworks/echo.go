package main

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// echoApp: the middleware wraps the whole Echo, which is an http.Handler,
// so everything echo writes (its error pages too) passes through it.
// Handlers reach the session through c.Request().
func echoApp(mw *httpsession.Middleware) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.GET("/", func(c echo.Context) error {
		r := c.Request()
		n := 0
		if s := mw.Session(r); s != nil {
			n = pgsession.AttrOr(s, "visits", 0)
		}
		mw.Set(r, "visits", n+1) // saved before the response's first byte
		return c.String(http.StatusOK, fmt.Sprintf("echo: visit %d, %s", n+1, who(mw.Session(r))))
	})
	e.POST("/login", func(c echo.Context) error {
		// ... check the password first ...
		if _, err := mw.LogIn(c.Request(), c.FormValue("user"), httpsession.KeepKeys("visits")); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		return c.NoContent(http.StatusOK)
	})
	e.POST("/logout", func(c echo.Context) error {
		if err := mw.LogOut(c.Request()); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
		}
		return c.NoContent(http.StatusOK)
	})
	return mw.Handler(e)
}
