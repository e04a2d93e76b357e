package demo

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/pgsession/pgsession"
	"github.com/pgsession/pgsession/httpsession"
)

// The JSON API. Each handler answers with a status and a body that the
// package documentation lists; tests use it, and so can curl.

type meResponse struct {
	User    string `json:"user"`
	Node    string `json:"node"`
	Version int64  `json:"version"`
	Counter *int64 `json:"counter,omitempty"`
	// When and how the user last logged in, as LogIn recorded it.
	AuthenticatedAt *time.Time `json:"authenticated_at,omitempty"`
	AuthMethod      string     `json:"auth_method,omitempty"`
}

type counterResponse struct {
	Counter int64  `json:"counter"`
	Node    string `json:"node"`
	Version int64  `json:"version"`
}

type sessionInfo struct {
	ID        string    `json:"id"`
	Current   bool      `json:"current"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	UserAgent string    `json:"user_agent"`
	// Device sums up UserAgent, and IP is the address the session began
	// from, as the page shows them (live.js redraws the page's list from
	// this one).
	Device string `json:"device"`
	IP     string `json:"ip"`
}

type errorResponse struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorResponse{Error: msg})
}

// writeFailure answers for an error from the session layer: a session that
// ended meanwhile is 401, a log-in too old for the action 403, a busy
// counter 503, anything else 500 (with a generic message; the details go to
// the log).
func (n *Node) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, pgsession.ErrNotFound):
		writeError(w, http.StatusUnauthorized, "no live session")
	case errors.Is(err, httpsession.ErrReauthRequired):
		writeError(w, http.StatusForbidden, reauthMessage(err))
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errBusy.Error())
	default:
		n.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeNoSession(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "not logged in")
}

// POST /api/login {"user": NAME, "remember": false}
func (n *Node) apiLogIn(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User     string `json:"user"`
		Remember bool   `json:"remember"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `want a JSON body {"user": NAME}`)
		return
	}
	user, err := cleanUser(req.User)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := n.logIn(r, user, req.Remember)
	if err != nil {
		n.writeFailure(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meResponse{User: s.UserID(), Node: n.Name, Version: s.Version()})
}

// GET /api/me
func (n *Node) apiMe(w http.ResponseWriter, r *http.Request) {
	s, ok := n.user(r)
	if !ok {
		writeNoSession(w)
		return
	}
	count := pgsession.AttrOr(s, counterKey, int64(0))
	resp := meResponse{User: s.UserID(), Node: n.Name, Version: s.Version(), Counter: &count}
	if at, method, ok := n.mw.AuthenticatedAt(r); ok {
		resp.AuthenticatedAt, resp.AuthMethod = &at, method
	}
	writeJSON(w, http.StatusOK, resp)
}

// POST /api/counter
func (n *Node) apiIncrement(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		writeNoSession(w)
		return
	}
	count, s, err := n.increment(r, cur)
	if err != nil {
		n.writeFailure(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, counterResponse{Counter: count, Node: n.Name, Version: s.Version()})
}

// GET /api/sessions
func (n *Node) apiSessions(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		writeNoSession(w)
		return
	}
	list, err := n.m.ListUser(r.Context(), cur.UserID())
	if err != nil {
		n.writeFailure(w, r, err)
		return
	}
	out := make([]sessionInfo, len(list))
	for i, s := range list {
		out[i] = sessionInfo{
			ID: s.ID().String(), Current: s.ID() == cur.ID(),
			Created: s.CreatedAt(), LastSeen: s.LastSeenAt(), UserAgent: s.UserAgent(),
			Device: device(s.UserAgent()), IP: s.IP(),
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// DELETE /api/sessions/{id}
func (n *Node) apiRevoke(w http.ResponseWriter, r *http.Request) {
	cur, ok := n.user(r)
	if !ok {
		writeNoSession(w)
		return
	}
	switch err := n.revoke(r, cur, r.PathValue("id")); {
	case errors.Is(err, errNotYours):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		n.writeFailure(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// POST /api/logout
func (n *Node) apiLogOut(w http.ResponseWriter, r *http.Request) {
	if err := n.mw.LogOut(r); err != nil {
		n.writeFailure(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/logout-everywhere
func (n *Node) apiLogOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if _, err := n.mw.LogOutEverywhere(r); err != nil {
		n.writeFailure(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/logout-others
func (n *Node) apiLogOutOthers(w http.ResponseWriter, r *http.Request) {
	if _, ok := n.user(r); !ok {
		writeNoSession(w)
		return
	}
	if err := n.recentAuth(r); err != nil {
		n.writeFailure(w, r, err)
		return
	}
	ended, err := n.mw.LogOutOtherDevices(r)
	if err != nil {
		n.writeFailure(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"ended": ended})
}
