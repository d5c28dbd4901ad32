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
