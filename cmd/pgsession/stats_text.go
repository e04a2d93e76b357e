package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// writeReport prints the stats report for people. Every text that came
// from clients or nodes (user IDs, node names) goes through forTerminal.
func writeReport(w io.Writer, r *report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("database %s, schema %s, prefix %s, at %s\n", forTerminal(r.Database), r.Schema, r.Prefix, stamp(r.At))

	s := r.Sessions
	p("\nsessions\n")
	p("  live\t%d\t%d user(s), %d anonymous\n", s.Live, s.Users, s.Anonymous)
	p("  expired, awaiting the sweep\t%d\tinvisible to reads\n", s.Expired)

	p("\ntop users by live sessions\n")
	switch {
	case len(r.TopUsers) == 0 && s.Users > 0:
		p("  not listed (-top 0)\n")
	case len(r.TopUsers) == 0:
		p("  none\n")
	default:
		p("  USER\tSESSIONS\n")
		for _, u := range r.TopUsers {
			p("  %s\t%d\n", clip(forTerminal(u.User), 60), u.Sessions)
		}
	}

	a := r.Attributes
	p("\nattributes per live session (%s)\n", sampleNote(a))
	p("  \tP50\tP90\tP99\tMAX\n")
	p("  size\t%s\t%s\t%s\t%s\n", humanBytes(a.Bytes.P50), humanBytes(a.Bytes.P90), humanBytes(a.Bytes.P99), humanBytes(a.Bytes.Max))
	p("  count\t%d\t%d\t%d\t%d\n", a.Keys.P50, a.Keys.P90, a.Keys.P99, a.Keys.Max)

	p("\ntables\n")
	p("  TABLE\tTOTAL\tDATA\tINDEXES\n")
	var all tableSize
	for _, t := range r.Tables {
		p("  %s\t%s\t%s\t%s\n", t.Table, humanBytes(t.Total), humanBytes(t.Data), humanBytes(t.Indexes))
		all.Total, all.Data, all.Indexes = all.Total+t.Total, all.Data+t.Data, all.Indexes+t.Indexes
	}
	p("  (all)\t%s\t%s\t%s\n", humanBytes(all.Total), humanBytes(all.Data), humanBytes(all.Indexes))

	p("\nnodes listening now: %d (by application_name %q, in this database, any schema)\n", len(r.Listeners), listenerPrefix+"NODE")
	if len(r.Listeners) > 0 {
		p("  NODE\tCONNECTED\n")
		for _, l := range r.Listeners {
			p("  %s\t%s\n", orDash(clip(forTerminal(l.Node), 60)), stamp(l.Since))
		}
	}

	p("\nsweep: %s\n", sweepNote(r.Sweep))
	return tw.Flush()
}

// sampleNote says which sessions the attribute figures describe.
func sampleNote(a attrStats) string {
	switch {
	case !a.Sampled && a.Sessions == 0:
		return "none"
	case !a.Sampled:
		return fmt.Sprintf("all %d", a.Sessions)
	}
	return fmt.Sprintf("a sample: %d live session(s) on %s%% of the table's pages, by TABLESAMPLE SYSTEM",
		a.Sessions, strconv.FormatFloat(a.SamplePercent, 'g', 3, 64))
}

// sweepNote describes the sweep's lease row.
func sweepNote(s sweepState) string {
	switch s.State {
	case "never":
		return "no pass has run yet"
	case "running":
		return fmt.Sprintf("a pass is running on %s (lease until %s), %s",
			forTerminal(s.Holder), stampPtr(s.LeaseUntil), position(s.Cursor))
	case "interrupted":
		return fmt.Sprintf("a pass stopped mid-way: %s's lease ran out at %s; the next pass resumes %s",
			forTerminal(s.Holder), stampPtr(s.LeaseUntil), position(s.Cursor))
	default:
		return fmt.Sprintf("the last pass finished; the next is due at %s (a pass sets this to its end plus 0.9 x SweepInterval)",
			stampPtr(s.LeaseUntil))
	}
}

// position says where a pass is, from its cursor (a session ID in hex).
func position(cursor string) string {
	if cursor == "" {
		return "at the start of the table"
	}
	return "past session " + clip(cursor, 17)
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}
