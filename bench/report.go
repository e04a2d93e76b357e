package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	settings  settings
	started   time.Time
	elapsed   time.Duration
	pgVersion string
	ops       []opResult
	http      []httpResult
	httpRead  []httpResult // the HTTP read path (httpread.go)
	bare      *bareResult  // the read path beside a bare handler (httpbare.go)
	memory    []memResult
	touch     []touchResult // touchwal.go
	sweep     *sweepResult  // sweepload.go
	big       []bigResult   // bigtable.go
	nodes     []nodesResult // nodes.go
}

// table is a header and rows of cells; the first two columns are text
// (left-aligned), the rest numbers (right-aligned).
type table struct {
	title  string
	header []string
	rows   [][]string
}

func (r *report) find(op, lib string) *opResult {
	for i := range r.ops {
		if r.ops[i].op == op && r.ops[i].lib == lib {
			return &r.ops[i]
		}
	}
	return nil
}

// reqPerSVsSCS is h's req/s over scs+pgxstore's in the same workload of
// results, or "-" for scs itself or when scs did not run it.
func reqPerSVsSCS(results []httpResult, h httpResult) string {
	if h.lib == libSCS {
		return "-"
	}
	for _, o := range results {
		if o.lib == libSCS && o.workload == h.workload {
			return ratio(h.reqPerS, o.reqPerS)
		}
	}
	return "-"
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.1f us", float64(d)/1e3)
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

func (r *report) tables() []table {
	ops := table{
		title: fmt.Sprintf("Single operations (%d timed per row, one at a time, the libraries taking turns)", r.settings.ops),
		header: []string{"operation", "library", "ops/s", "p50", "p99", "allocs/op", "stmts/op", "bg stmts/op",
			"ops/s vs floor", "ops/s vs scs", "note"},
	}
	for _, o := range r.ops {
		vsFloor, vsSCS := "-", "-"
		if o.lib != libFloor {
			if f := r.find(o.op, libFloor); f != nil {
				vsFloor = ratio(o.opsPerS, f.opsPerS)
			}
		}
		if o.lib != libSCS {
			if s := r.find(o.op, libSCS); s != nil {
				vsSCS = ratio(o.opsPerS, s.opsPerS)
			}
		}
		ops.rows = append(ops.rows, []string{o.op, o.lib, fmt.Sprintf("%.0f", o.opsPerS), ms(o.p50), ms(o.p99),
			fmt.Sprintf("%.1f", o.allocs), fmt.Sprintf("%.2f", o.stmts), fmt.Sprintf("%.2f", o.bgStmts), vsFloor, vsSCS, o.note})
	}
	web := table{
		title: fmt.Sprintf("HTTP workload (2 nodes, %d clients, %s per library: 90%% read, 9%% write, 1%% log out + log in)",
			r.settings.clients, r.settings.duration),
		header: []string{"workload", "library", "req/s", "p50", "p99", "stmts/1k reads", "of which background", "stmts/1k req (all)",
			"requests", "errors", "req/s vs scs"},
	}
	for _, h := range r.http {
		vs := reqPerSVsSCS(r.http, h)
		web.rows = append(web.rows, []string{h.workload, h.lib, fmt.Sprintf("%.0f", h.reqPerS), ms(h.p50), ms(h.p99),
			fmt.Sprintf("%.1f", h.stmtsPer1kReads), fmt.Sprintf("%.1f", h.bgPer1kReads), fmt.Sprintf("%.1f", h.stmtsPer1kReqAll),
			fmt.Sprint(h.requests), fmt.Sprint(h.errors), vs})
	}
	mem := table{
		title:  "Memory per cached session (five small attributes)",
		header: []string{"workload", "library", "sessions", "cached", "bytes/session", "target"},
	}
	for _, m := range r.memory {
		mem.rows = append(mem.rows, []string{"cache fill, " + m.backend, libPgsession, fmt.Sprint(m.sessions), fmt.Sprint(m.cached),
			fmt.Sprintf("%.0f", m.bytesPerSession), "< 1024"})
	}
	ts := []table{ops, r.opRatioTable(), web, r.readTable()}
	if r.bare != nil {
		ts = append(ts, r.bareTable())
	}
	return append(append(ts, mem), r.loadTables()...)
}

// loadTables are the tables of the workloads on writes, sweeps and large
// tables, of those that ran.
func (r *report) loadTables() []table {
	var ts []table
	if len(r.touch) > 0 {
		ts = append(ts, touchTable(r.touch, r.settings))
	}
	if r.sweep != nil {
		ts = append(ts, sweepTable(r.sweep, r.settings))
	}
	if len(r.big) > 0 {
		ts = append(ts, bigTable(r.big, r.settings))
	}
	if len(r.nodes) > 0 {
		ts = append(ts, nodesTable(r.nodes, r.settings))
	}
	return ts
}

// printText writes the tables with aligned columns.
func (r *report) printText(w io.Writer) {
	fmt.Fprintf(w, "pgsession benchmarks: %s; %s\n", machine(), r.pgVersion)
	for _, t := range r.tables() {
		fmt.Fprintf(w, "\n%s\n", t.title)
		width := make([]int, len(t.header))
		for _, row := range append([][]string{t.header}, t.rows...) {
			for i, c := range row {
				width[i] = max(width[i], len(c))
			}
		}
		line := func(row []string) {
			var b strings.Builder
			for i, c := range row {
				if i > 0 {
					b.WriteString("  ")
				}
				if i < 2 || i == len(row)-1 && t.header[i] == "note" {
					fmt.Fprintf(&b, "%-*s", width[i], c)
				} else {
					fmt.Fprintf(&b, "%*s", width[i], c)
				}
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
		line(t.header)
		for _, row := range t.rows {
			line(row)
		}
	}
	for _, h := range append(slices.Clip(r.http), r.httpRead...) {
		if h.firstErr != "" {
			fmt.Fprintf(w, "\n%s, %s: first error: %s\n", h.workload, h.lib, h.firstErr)
		}
	}
	fmt.Fprintf(w, "\ntotal time %s\n", r.elapsed.Round(time.Second))
}

// markdown is docs/BENCHMARKS.md.
func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`cd bench && go run . -out ../docs`); do not edit by hand.\n")
	b.WriteString("`make bench-quick` runs the same command briefly and prints the tables only. On a terminal\n")
	b.WriteString("both show a progress bar for the whole run on stderr.\n\n")
	fmt.Fprintf(&b, "- Run: %s, %s in all\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %s\n", machine())
	fmt.Fprintf(&b, "- PostgreSQL: %s (same server for every library, a fresh schema each)\n\n", r.pgVersion)
	b.WriteString("![ops/s per workload and library, log scale](bench.svg)\n")
	for _, t := range r.tables() {
		fmt.Fprintf(&b, "\n## %s\n\n", t.title)
		b.WriteString("| " + strings.Join(t.header, " | ") + " |\n|")
		for i := range t.header {
			if i < 2 || t.header[i] == "note" {
				b.WriteString(" --- |")
			} else {
				b.WriteString(" ---: |")
			}
		}
		b.WriteString("\n")
		for _, row := range t.rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	b.WriteString(`
## How it is measured

- **Libraries.** pgsession: a ` + "`Manager`" + ` on a pgx pool, default settings (cache, batched
  last-access writes) but no sweep. scs+pgxstore: scs v2's pgxstore on the table its documentation
  asks for (` + "`sessions(token, data, expiry)`" + ` plus an index on expiry), called through the store
  API (` + "`Find`, `Commit`, `Delete`" + `); scs has no cache, so both get rows are one ` + "`Find`" + `, and
  renew is what scs's ` + "`RenewToken`" + ` sends (` + "`Delete`" + ` then ` + "`Commit`" + `). pgx floor: one
  raw pgx statement per operation (SELECT by key, INSERT, UPDATE, DELETE, UPDATE of the key for
  renew) on a table of pgsession's shape.
- **Single operations** run one at a time on one goroutine after a warm-up, the three libraries
  taking turns on each operation in 20 slices (the first rotating), so a stall of the machine
  lands on all of them alike. allocs/op is the difference of ` + "`runtime.MemStats.Mallocs`" + `
  around each slice; stmts/op counts what the pool sent (a pgx tracer: each Query or Exec is one,
  each SendBatch is one), background work included (counted over the whole operation's run).
  Get (cache miss) is pgsession's ` + "`Get`" + ` with ` + "`ForceRefresh`" + `.
- **HTTP workload.** Two nodes per library, each an ` + "`http.Server`" + ` on its own port of 127.0.0.1:
  two pgsession Managers (a pool each) on one schema behind ` + "`httpsession`" + `, or two scs managers
  on one pgxstore. Each client goroutine has its own cookie jar, logs in once, then sends one request
  at a time to a node picked at random (no affinity): 90% GET reading a session value, 9% POST
  setting one, 1% log out and log in again; then the same with each client sticking to one node
  (as behind a load balancer with affinity). stmts/1k reads counts, for pgsession, the statements
  sent on behalf of read requests plus the background work other than write announcements
  (last-access writes, listener), charged to the reads ("of which background"); for scs, the store
  calls of read requests (one statement each). With a random node, a read just after a write on
  the other node must load the newer version: that is most of pgsession's count there. Clients,
  servers and PostgreSQL share the machine's CPUs, so req/s is bounded by the machine as much as
  by the libraries.
` + r.readHow() + bareHow + `
- **Memory.** One memory-backend Manager without a cache creates K sessions; a second one on the
  same store reads each once, so its cache holds them all. bytes/session is the live heap after a
  GC, after minus before the reads, divided by the number cached; on the memory backend at two
  sizes, the larger a million sessions in the full run. On the memory backend a cached
  copy shares its attribute values with the store, so the same is measured on PostgreSQL too, where
  the reading node decodes each session from its row and shares nothing (the figure there also
  holds whatever the pool keeps alive).
` + touchHow + sweepHow + bigTableHow + nodesHow())
	return b.String()
}

// svg is a horizontal bar chart of ops/s (or req/s) per workload and
// library, on a log scale.
func (r *report) svg() string {
	type bar struct {
		lib   string
		value float64
	}
	type group struct {
		name string
		bars []bar
	}
	var groups []group
	for _, op := range opNames {
		g := group{name: op}
		for _, lib := range []string{libPgsession, libSCS, libFloor} {
			if o := r.find(op, lib); o != nil {
				g.bars = append(g.bars, bar{lib, o.opsPerS})
			}
		}
		groups = append(groups, g)
	}
	for _, h := range append(slices.Clip(r.http), r.httpRead...) {
		if len(groups) == 0 || groups[len(groups)-1].name != h.workload+" (req/s)" {
			groups = append(groups, group{name: h.workload + " (req/s)"})
		}
		g := &groups[len(groups)-1]
		g.bars = append(g.bars, bar{h.lib, h.reqPerS})
	}

	colors := map[string]string{libPgsession: "#2f6fbd", libSCS: "#d9822b", libFloor: "#8a8a8a"}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range groups {
		for _, b := range g.bars {
			if b.value > 0 {
				lo, hi = math.Min(lo, b.value), math.Max(hi, b.value)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	d0, d1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if d1 == d0 {
		d1++
	}
	const left, right, top, barH, gap, plotW = 200, 90, 50, 14, 14, 560
	height := top + 30
	for _, g := range groups {
		height += len(g.bars)*barH + gap
	}
	x := func(v float64) float64 {
		if v <= 0 {
			return left
		}
		return left + (math.Log10(v)-d0)/(d1-d0)*plotW
	}
	var b strings.Builder
	width := left + plotW + right
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13" font-weight="bold">Operations per second (log scale; higher is better)</text>`+"\n", left)
	lx := left
	for _, lib := range []string{libPgsession, libSCS, libFloor} {
		fmt.Fprintf(&b, `<rect x="%d" y="28" width="10" height="10" fill="%s"/><text x="%d" y="37">%s</text>`+"\n",
			lx, colors[lib], lx+14, html.EscapeString(lib))
		lx += 120
	}
	bottom := height - 30
	for d := d0; d <= d1; d++ {
		gx := x(math.Pow(10, d))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd"/>`+"\n", gx, top-4, gx, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555555">%s</text>`+"\n", gx, bottom+14, humanCount(math.Pow(10, d)))
	}
	y := top
	for _, g := range groups {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+len(g.bars)*barH/2+4, html.EscapeString(g.name))
		for _, br := range g.bars {
			w := x(br.value) - left
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.0f</title></rect>`+"\n",
				left, y, math.Max(w, 1), barH-2, colors[br.lib], html.EscapeString(br.lib), br.value)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#333333">%s</text>`+"\n", left+math.Max(w, 1)+4, y+barH-4, humanCount(br.value))
			y += barH
		}
		y += gap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
