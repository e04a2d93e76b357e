package main

import (
	"encoding/json"
	"fmt"
)

// writeJSON prints v as indented JSON, with the hostile characters of
// client text escaped (jsonForTerminal), and returns the exit status.
func (c *cli) writeJSON(name string, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		_, err = c.stdout.Write(append(jsonForTerminal(b), '\n'))
	}
	if err != nil {
		return c.fail(name, err)
	}
	return exitOK
}

// humanBytes formats a size in bytes with binary units: "812 B", "64.0 KiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// note prints a remark about a command's result on stderr, where it stays
// out of output that scripts read.
func (c *cli) note(name, format string, args ...any) {
	fmt.Fprintf(c.stderr, "pgsession %s: %s\n", name, fmt.Sprintf(format, args...))
}
