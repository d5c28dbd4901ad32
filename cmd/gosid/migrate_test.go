package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/migrations"
)

// TestMigrateCommand: `gosid migrate` prints, per module, what it applied
// and where the schema stands; run again, it applies nothing.
func TestMigrateCommand(t *testing.T) {
	for _, tc := range []struct {
		dialect sqldb.Dialect
		args    func(t *testing.T) []string
	}{
		{sqldb.SQLite, func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} }},
		{sqldb.Postgres, func(t *testing.T) []string {
			return []string{"--data-dir", t.TempDir(), "--database-url", sqldbtest.EmptyPostgresURL(t)}
		}},
	} {
		t.Run(string(tc.dialect), func(t *testing.T) {
			c := cli{t, tc.args(t)}
			all, err := migrations.Load(tc.dialect)
			if err != nil {
				t.Fatal(err)
			}
			// Each module's line: what it applied, or that it has none.
			names := map[string][]string{}
			for _, m := range all {
				names[m.Module] = append(names[m.Module], fmt.Sprintf("%04d_%s", m.Version, m.Name))
			}
			first, again := fmt.Sprintf("Database: %s.\n", tc.dialect), fmt.Sprintf("Database: %s.\n", tc.dialect)
			for _, mod := range migrations.Modules() {
				if len(names[mod]) == 0 {
					first += mod + ": no migrations.\n"
					again += mod + ": no migrations.\n"
					continue
				}
				head := migrations.Head(tc.dialect, mod)
				first += fmt.Sprintf("%s: applied %s; at version %d.\n", mod, strings.Join(names[mod], ", "), head)
				again += fmt.Sprintf("%s: nothing to apply; at version %d.\n", mod, head)
			}
			if out := c.ok("migrate"); out != first {
				t.Errorf("first migrate printed\n%s\nwant\n%s", out, first)
			}
			if out := c.ok("migrate"); out != again {
				t.Errorf("second migrate printed\n%s\nwant\n%s", out, again)
			}
		})
	}
}

// TestSchemaReady: /readyz's database check passes at head and names the
// module whose migrations the database lacks.
func TestSchemaReady(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := schemaReady(ctx, db); err != nil {
			t.Fatalf("schemaReady on a migrated database: %v", err)
		}
		if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE module = 'idp' AND version = $1`, migrations.Head(db.Dialect(), "idp")); err != nil {
			t.Fatal(err)
		}
		if err := schemaReady(ctx, db); err == nil || !strings.Contains(err.Error(), "idp") {
			t.Fatalf("schemaReady with idp's last migration missing: %v, want an error naming idp", err)
		}
	})
}
