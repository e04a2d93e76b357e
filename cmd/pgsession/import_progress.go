package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// importProgress is one line on stderr, rewritten after each batch, and
// only when stderr is a terminal.
type importProgress struct {
	w     io.Writer // nil: not a terminal
	total int64
	shown bool
}

func newImportProgress(w io.Writer, total int64) *importProgress {
	p := &importProgress{total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.w = w
		}
	}
	return p
}

func (p *importProgress) show(n importCounts) {
	if p.w == nil {
		return
	}
	pct := 100
	if p.total > 0 {
		pct = int(min(int64(n.read)*100/p.total, 100))
	}
	fmt.Fprintf(p.w, "\r\x1b[K%3d%%  %d/%s rows read, %d imported, %d already there",
		pct, n.read, strconv.FormatInt(p.total, 10), n.imported, n.exists)
	p.shown = true
}

// clear removes the line, before other output.
func (p *importProgress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
