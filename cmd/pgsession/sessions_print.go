package main

import (
	"fmt"
	"text/tabwriter"
	"time"
)

// sessionJSON is a session as `sessions list -json` prints it.
type sessionJSON struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Version   int64     `json:"version"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	Expires   time.Time `json:"expires"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// printSessions prints a session list as a table, with a USER column if
// withUser, or as a JSON array. What clients sent is escaped either way.
func (c *cli) printSessions(name string, list []sessionJSON, withUser, asJSON bool) int {
	if asJSON {
		if list == nil {
			list = []sessionJSON{}
		}
		return c.writeJSON(name, list)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	user := func(s sessionJSON) string {
		if !withUser {
			return ""
		}
		return orDash(clip(forTerminal(s.User), 32)) + "\t"
	}
	fmt.Fprintln(tw, "ID\t"+user(sessionJSON{User: "USER"})+"CREATED\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\n", s.ID, user(s), stamp(s.Created), stamp(s.LastSeen),
			stamp(s.Expires), orDash(forTerminal(s.IP)), orDash(clip(forTerminal(s.UserAgent), 60)))
	}
	if err := tw.Flush(); err != nil {
		return c.fail(name, err)
	}
	return exitOK
}
