package frameworktest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	ginsessions "github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	gsessions "github.com/gorilla/sessions"
	echosession "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/pgsession/pgsession/gorillastore"
	"github.com/pgsession/pgsession/gorillastore/ginstore"
)

// The same small application written for each framework, as its users
// write one, with gorillastore as the store:
//
//	/count        adds one to "n" and prints it
//	/put          stores values of several types and a flash
//	/show         prints the flashes, then each value as "key=%T:%v"
//	/login?user=  stores the user ID under "uid"
//	/logout       saves with MaxAge -1
//	/bad          stores a value JSON cannot encode; 500 with Save's error
type framework struct {
	name string
	app  func(store *gorillastore.Store) http.Handler
}

var frameworks = []framework{
	{"echo", echoApp},
	{"gin", ginApp},
}

const sessionName = "app"

// putValues are the values /put stores.
func putValues() map[string]any {
	return map[string]any{
		"int":   7,
		"float": 2.0,
		"str":   "tea",
		"bool":  true,
		"list":  []any{"a", 1, 1.5},
		"obj":   map[string]any{"k": "v"},
	}
}

// show prints flashes and values in a stable order.
func show(flashes []any, values map[any]any) string {
	var lines []string
	for k, v := range values {
		lines = append(lines, fmt.Sprintf("%v=%T:%v", k, v, v))
	}
	slices.Sort(lines)
	return fmt.Sprintf("flashes=%v\n%s", flashes, strings.Join(lines, "\n"))
}

func echoApp(store *gorillastore.Store) http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.Use(echosession.Middleware(store))
	// edit loads the session, lets f change it, saves it, and answers
	// with what f returned.
	edit := func(f func(c echo.Context, sess *gsessions.Session) string) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, err := echosession.Get(sessionName, c)
			if err != nil {
				return err
			}
			body := f(c, sess)
			if err := sess.Save(c.Request(), c.Response()); err != nil {
				return c.String(http.StatusInternalServerError, err.Error())
			}
			return c.String(http.StatusOK, body)
		}
	}
	e.GET("/count", edit(func(c echo.Context, sess *gsessions.Session) string {
		n, _ := sess.Values["n"].(int)
		sess.Values["n"] = n + 1
		return strconv.Itoa(n + 1)
	}))
	e.GET("/put", edit(func(c echo.Context, sess *gsessions.Session) string {
		for k, v := range putValues() {
			sess.Values[k] = v
		}
		sess.AddFlash("hello")
		return "ok"
	}))
	e.GET("/show", edit(func(c echo.Context, sess *gsessions.Session) string {
		flashes := sess.Flashes()
		return show(flashes, sess.Values)
	}))
	e.GET("/login", edit(func(c echo.Context, sess *gsessions.Session) string {
		sess.Values["uid"] = c.QueryParam("user")
		return "ok"
	}))
	e.GET("/logout", edit(func(c echo.Context, sess *gsessions.Session) string {
		sess.Options.MaxAge = -1
		return "bye"
	}))
	e.GET("/bad", edit(func(c echo.Context, sess *gsessions.Session) string {
		sess.Values["n"] = 1000
		sess.Values["ch"] = make(chan int)
		return "saved?"
	}))
	return e
}

func ginApp(store *gorillastore.Store) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginsessions.Sessions(sessionName, ginstore.New(store)))
	edit := func(f func(c *gin.Context, s ginsessions.Session) string) gin.HandlerFunc {
		return func(c *gin.Context) {
			s := ginsessions.Default(c)
			body := f(c, s)
			if err := s.Save(); err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			c.String(http.StatusOK, body)
		}
	}
	r.GET("/count", edit(func(c *gin.Context, s ginsessions.Session) string {
		n, _ := s.Get("n").(int)
		s.Set("n", n+1)
		return strconv.Itoa(n + 1)
	}))
	r.GET("/put", edit(func(c *gin.Context, s ginsessions.Session) string {
		for k, v := range putValues() {
			s.Set(k, v)
		}
		s.AddFlash("hello")
		return "ok"
	}))
	r.GET("/show", edit(func(c *gin.Context, s ginsessions.Session) string {
		flashes := s.Flashes()
		values := map[any]any{}
		for _, k := range []string{"n", "uid", "int", "float", "str", "bool", "list", "obj"} {
			if v := s.Get(k); v != nil {
				values[k] = v
			}
		}
		return show(flashes, values)
	}))
	r.GET("/login", edit(func(c *gin.Context, s ginsessions.Session) string {
		s.Set("uid", c.Query("user"))
		return "ok"
	}))
	r.GET("/logout", edit(func(c *gin.Context, s ginsessions.Session) string {
		// gin-contrib's Options replaces every option: pass them all.
		s.Options(ginsessions.Options{Path: "/", MaxAge: -1, Secure: true, HttpOnly: true})
		return "bye"
	}))
	r.GET("/bad", edit(func(c *gin.Context, s ginsessions.Session) string {
		s.Set("n", 1000)
		s.Set("ch", make(chan int))
		return "saved?"
	}))
	return r
}
