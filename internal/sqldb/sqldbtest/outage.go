package sqldbtest

import (
	"context"
	"strings"
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
	refuse(t, db, table, "UPDATE", "read_only", "", fn)
}

// NoInserts runs fn while no row can be inserted into table: every INSERT
// fails as a store that stopped answering would (an error that is no
// sqldb.ErrNotFound or ErrConflict, and rolls its transaction back);
// reads, updates and deletes work, and inserts again when fn returns.
// With the activity log's table (audit_log) it tests that a change whose
// entry cannot be written is not made either.
func NoInserts(t testing.TB, db *sqldb.DB, table string, fn func()) {
	t.Helper()
	refuse(t, db, table, "INSERT", "no_inserts", "", fn)
}

// NoInsertsWhere is NoInserts for the rows that match when, an SQL
// condition on NEW that both dialects read alike (NEW.action =
// 'session.ended'): the other rows are inserted.
func NoInsertsWhere(t testing.TB, db *sqldb.DB, table, when string, fn func()) {
	t.Helper()
	refuse(t, db, table, "INSERT", "no_inserts", when, fn)
}

// NoDeletes runs fn while no row of table can be deleted, as NoInserts
// refuses inserts: it tests that a change whose last step cannot be done
// leaves nothing of its first.
func NoDeletes(t testing.TB, db *sqldb.DB, table string, fn func()) {
	t.Helper()
	refuse(t, db, table, "DELETE", "no_deletes", "", fn)
}

// refuse runs fn while a trigger named table_suffix aborts every op
// (UPDATE, INSERT, DELETE) on table, or those of the rows matching when.
func refuse(t testing.TB, db *sqldb.DB, table, op, suffix, when string, fn func()) {
	t.Helper()
	ctx := context.Background()
	trigger := table + "_" + suffix
	msg := "'" + table + ": " + strings.ToLower(op) + " refused (test fault)'"
	if when != "" {
		when = ` WHEN (` + when + `)`
	}
	create := []string{`CREATE TRIGGER ` + trigger + ` BEFORE ` + op + ` ON ` + table + when + ` BEGIN SELECT RAISE(ABORT, ` + msg + `); END`}
	drop := []string{`DROP TRIGGER ` + trigger}
	if db.Dialect() == sqldb.Postgres {
		create = []string{
			`CREATE FUNCTION ` + trigger + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION ` + msg + `; END $$`,
			`CREATE TRIGGER ` + trigger + ` BEFORE ` + op + ` ON ` + table + ` FOR EACH ROW` + when + ` EXECUTE FUNCTION ` + trigger + `()`,
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
