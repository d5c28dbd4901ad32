package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestUnavailable: a statement while PostgreSQL is down (a pooled
// connection the shutdown ended, then no server to connect to) is an
// outage; a missing row, a duplicate and a statement that cannot run are
// not.
func TestUnavailable(t *testing.T) {
	pg := sqldbtest.Restartable(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: pg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&one)
	if !errors.Is(err, sqldb.ErrNotFound) || sqldb.Unavailable(err) {
		t.Errorf("no row: %v, Unavailable %v", err, sqldb.Unavailable(err))
	}
	if _, err := db.Exec(ctx, `SELECT no_such_column FROM no_such_table`); err == nil || sqldb.Unavailable(err) {
		t.Errorf("a wrong statement: %v, Unavailable %v", err, sqldb.Unavailable(err))
	}
	if sqldb.Unavailable(fmt.Errorf("wrapped: %w", sqldb.ErrConflict)) || sqldb.Unavailable(nil) {
		t.Error("a conflict or no error is an outage")
	}
	pg.Stop()
	for i := range 3 {
		err := db.QueryRow(ctx, `SELECT 1`).Scan(&one)
		if err == nil || !sqldb.Unavailable(err) {
			t.Errorf("statement %d with the server down: %v, want an outage", i, err)
		}
	}
	pg.Start()
	if err := db.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Errorf("after the restart: %v", err)
	}
}
