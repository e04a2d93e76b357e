package scsstore_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/pgsession/pgsession/pgsessiontest"
)

// scs.New starts a cleanup goroutine for its default memstore that nothing
// stops once Store is replaced (scs's behaviour, not ours).
func TestMain(m *testing.M) {
	pgsessiontest.Main(m, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}
