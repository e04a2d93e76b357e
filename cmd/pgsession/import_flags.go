package main

import (
	"flag"
	"fmt"
)

// importFlags are the flags every import command takes.
type importFlags struct {
	batch  *int
	dryRun *bool
}

func addImportFlags(fs *flag.FlagSet) importFlags {
	return importFlags{
		batch:  fs.Int("batch", 500, "rows read per batch"),
		dryRun: fs.Bool("dry-run", false, "count what would be imported, writing nothing"),
	}
}

// problem says what is wrong with the flags, or "".
func (f importFlags) problem() string {
	if *f.batch < 1 {
		return fmt.Sprintf("-batch must be 1 or more, got %d", *f.batch)
	}
	return ""
}

// rowSkipper returns how an import reports a row it skips as malformed:
// counted, on its own line (the progress line cleared first), named by the
// part of its key that key shows.
func (c *cli) rowSkipper(name string, progress *importProgress, malformed *int, key func(string) string) func(id, format string, args ...any) {
	return func(id, format string, args ...any) {
		*malformed++
		progress.clear()
		c.note(name, "skipped %s: %s", key(id), fmt.Sprintf(format, args...))
	}
}
