package scsstore_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/pgsession/pgsession/pgsessiontest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgsessiontest.Close()
	if code == 0 {
		// scs.New starts a cleanup goroutine for its default memstore that
		// nothing stops once Store is replaced (scs's behaviour, not ours).
		err := goleak.Find(goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
