package main

// opRatioTable restates the single operations as ratios: every measure of
// pgsession over the same measure of the pgx floor and of scs+pgxstore,
// and of scs+pgxstore over the floor, so each figure of the main table can
// be read against both references at a glance. ops/s: higher is better;
// the rest: lower is better.
func (r *report) opRatioTable() table {
	t := table{
		title:  "Single operations as ratios (library / reference, the same run; ops/s: higher is better, the rest: lower is better)",
		header: []string{"operation", "library / reference", "ops/s", "p50", "p99", "allocs/op", "stmts/op"},
	}
	pairs := [][2]string{{libPgsession, libFloor}, {libPgsession, libSCS}, {libSCS, libFloor}}
	for _, op := range opNames {
		for _, p := range pairs {
			a, b := r.find(op, p[0]), r.find(op, p[1])
			if a == nil || b == nil {
				continue
			}
			t.rows = append(t.rows, []string{op, p[0] + " / " + p[1],
				ratio(a.opsPerS, b.opsPerS),
				ratio(float64(a.p50), float64(b.p50)),
				ratio(float64(a.p99), float64(b.p99)),
				ratio(a.allocs, b.allocs),
				ratio(a.stmts, b.stmts)})
		}
	}
	return t
}
