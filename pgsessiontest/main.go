package pgsessiontest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main is a TestMain for packages tested against a real database: it runs
// the tests, closes the shared pool, then fails the run if any goroutine
// was left behind (a Manager not closed, a listener still running). opts
// can ignore goroutines a dependency leaves on purpose.
//
//	func TestMain(m *testing.M) { pgsessiontest.Main(m) }
func Main(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	Close()
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
