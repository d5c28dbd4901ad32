package sqldbtest

import (
	"context"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
)

// WithoutTable runs fn while table is renamed away, as a store that
// cannot be read: every statement on it fails (an error that is no
// sqldb.ErrNotFound), and the table comes back, rows intact, when fn
// returns. Tests of "a store's failure is no verdict" use it.
func WithoutTable(t testing.TB, db *sqldb.DB, table string, fn func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Exec(ctx, `ALTER TABLE `+table+` RENAME TO `+table+`_away`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := db.Exec(ctx, `ALTER TABLE `+table+`_away RENAME TO `+table); err != nil {
			t.Fatal(err)
		}
	}()
	fn()
}

// ReadOnlyTable runs fn while table can be read but not written: every
// UPDATE on it fails as a store that stopped answering would (an error
// that is no sqldb.ErrNotFound or ErrConflict), and writes work again
// when fn returns. It tests a step that read its state and then could
// not save it.
func ReadOnlyTable(t testing.TB, db *sqldb.DB, table string, fn func()) {
	t.Helper()
	ctx := context.Background()
	trigger := table + "_read_only"
	create := []string{`CREATE TRIGGER ` + trigger + ` BEFORE UPDATE ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'table is read-only'); END`}
	drop := []string{`DROP TRIGGER ` + trigger}
	if db.Dialect() == sqldb.Postgres {
		create = []string{
			`CREATE FUNCTION ` + trigger + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'table is read-only'; END $$`,
			`CREATE TRIGGER ` + trigger + ` BEFORE UPDATE ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION ` + trigger + `()`,
		}
		drop = []string{`DROP TRIGGER ` + trigger + ` ON ` + table, `DROP FUNCTION ` + trigger + `()`}
	}
	for _, stmt := range create {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, stmt := range drop {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	}()
	fn()
}
