package gorillastore_test

import (
	"testing"

	"github.com/pgsession/pgsession/pgsessiontest"
)

func TestMain(m *testing.M) { pgsessiontest.Main(m) }
