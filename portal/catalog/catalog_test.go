package catalog

import (
	"testing"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }
