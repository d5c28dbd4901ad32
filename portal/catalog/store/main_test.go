package store

import (
	"testing"
	"time"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// today is the tests' clock.
var today = time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
