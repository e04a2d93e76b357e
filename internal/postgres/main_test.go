package postgres

import (
	"testing"

	"github.com/pgsession/pgsession/pgsessiontest"
)

// TestMain closes the shared test pool and checks that no goroutine leaked.
func TestMain(m *testing.M) { pgsessiontest.Main(m) }
