package migrations_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/migrations"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// TestDialectsInStep: for every module, both dialects have the same
// versions, names and tables, so that a store written once finds the same
// schema on either. A table that SQLite rebuilds (created under another
// name, renamed to the old one, its indexes created again) where
// PostgreSQL alters it adds no table to either.
func TestDialectsInStep(t *testing.T) {
	pg, err := migrations.Load(sqldb.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations.Load(sqldb.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) {
		t.Fatalf("postgres has %d migrations, sqlite %d", len(pg), len(lite))
	}
	table := regexp.MustCompile(`(?i)CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	renamed := regexp.MustCompile(`(?i)ALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\s+(\w+)`)
	pgSeen, liteSeen := map[string]bool{}, map[string]bool{}
	// names are the tables and indexes that sql adds to those seen.
	names := func(sql string, seen map[string]bool) []string {
		to := map[string]string{}
		for _, m := range renamed.FindAllStringSubmatch(sql, -1) {
			to[m[1]] = m[2]
		}
		var out []string
		for _, m := range table.FindAllStringSubmatch(sql, -1) {
			name := m[1]
			if final, ok := to[name]; ok {
				name = final
			}
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		return out
	}
	for i := range pg {
		if pg[i].Module != lite[i].Module || pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: postgres %s, sqlite %s", i, pg[i], lite[i])
		}
		if a, b := names(pg[i].SQL, pgSeen), names(lite[i].SQL, liteSeen); !slices.Equal(a, b) {
			t.Errorf("migration %s creates %v on postgres but %v on sqlite", pg[i], a, b)
		}
	}
}

// TestModules: the fixed order, and today's SQL all idp's (the signing keys
// included: they live with the identity provider).
func TestModules(t *testing.T) {
	if got, want := migrations.Modules(), []string{"idp", "verification", "portal"}; !slices.Equal(got, want) {
		t.Fatalf("Modules() = %v, want %v", got, want)
	}
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		ms, err := migrations.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[0].String() != "idp/0001_keys" {
			t.Fatalf("%s: first migration %v, want idp/0001_keys", d, ms)
		}
		// Modules in order, each module's versions 1, 2, 3…
		per := map[string]int{}
		last := 0
		for _, m := range ms {
			i := slices.Index(migrations.Modules(), m.Module)
			if i < last {
				t.Errorf("%s: %s out of module order", d, m)
			}
			last = i
			per[m.Module]++
			if m.Version != per[m.Module] {
				t.Errorf("%s: %s: want version %d", d, m, per[m.Module])
			}
		}
		for _, mod := range migrations.Modules() {
			if h := migrations.Head(d, mod); h != per[mod] || h == 0 {
				t.Errorf("%s: Head(%s) = %d, want %d", d, mod, h, per[mod])
			}
		}
	}
}

func TestUpFromEmpty(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := migrations.Status(ctx, db); err == nil {
			t.Fatal("Status on an empty database: want an error (no schema_migrations yet)")
		}
		applied, err := migrations.Up(ctx, db)
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		all, err := migrations.Load(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(applied, all, sameMigration) {
			t.Fatalf("Up applied %v, want %v", applied, all)
		}
		report, err := migrations.Status(ctx, db)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		var want migrations.Report
		for _, mod := range migrations.Modules() {
			h := migrations.Head(db.Dialect(), mod)
			want = append(want, migrations.ModuleStatus{Module: mod, Current: h, Head: h})
		}
		if fmt.Sprint(report) != fmt.Sprint(want) || len(report.Behind()) != 0 {
			t.Fatalf("Status = %+v, want %+v", report, want)
		}
		again, err := migrations.Up(ctx, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Up applied %v (err %v), want nothing", again, err)
		}
		got := bookkeeping(t, db)
		if len(got) != len(all) {
			t.Fatalf("schema_migrations has %d rows, want %d", len(got), len(all))
		}
		for _, m := range all {
			i := slices.IndexFunc(got, func(r row) bool { return r.module == m.Module && r.version == m.Version })
			if i < 0 || got[i].name != m.Name || got[i].appliedAt == 0 {
				t.Errorf("schema_migrations lacks %s (or its name or time)", m)
			}
		}
	})
}

// TestStatusBehind: a database lacking one of this binary's versions is
// reported behind, by module; versions beyond ours are not.
func TestStatusBehind(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		head := migrations.Head(db.Dialect(), "idp")
		if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE module = 'idp' AND version = $1`, head-1); err != nil {
			t.Fatal(err)
		}
		report, err := migrations.Status(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if b := report.Behind(); !slices.Equal(b, []string{"idp"}) || !slices.Equal(report[0].Missing, []int{head - 1}) {
			t.Fatalf("Status = %+v, want idp behind, missing %d", report, head-1)
		}
		// A newer binary's migrations, of a module we know and one we do not.
		for _, row := range []struct {
			module  string
			version int
		}{{"idp", head - 1}, {"idp", head + 1}, {"portal", migrations.Head(db.Dialect(), "portal") + 1}, {"payments", 1}} {
			if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ($1, $2, 'newer', 1)`, row.module, row.version); err != nil {
				t.Fatal(err)
			}
		}
		report, err = migrations.Status(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if b := report.Behind(); len(b) != 0 || report[0].Current != head+1 || report[2].Current != migrations.Head(db.Dialect(), "portal")+1 {
			t.Fatalf("Status with a newer binary's versions = %+v, want every module at head, idp at %d", report, head+1)
		}
	})
}

// TestGapsRefusedPerModule: versions run 1, 2, 3… within each module; a
// module's numbers are its own, so two modules may both have a version 1,
// and a gap in one module is refused naming it.
func TestGapsRefusedPerModule(t *testing.T) {
	ok := fstest.MapFS{
		"a/postgres/0001_one.sql": sqlFile("CREATE TABLE a1 (x INTEGER)"),
		"a/postgres/0002_two.sql": sqlFile("CREATE TABLE a2 (x INTEGER)"),
		"b/postgres/0001_one.sql": sqlFile("CREATE TABLE b1 (x INTEGER)"),
	}
	ms, err := migrations.NewSchema(ok, "a", "b").Load(sqldb.Postgres)
	if err != nil {
		t.Fatalf("Load with per-module versions: %v", err)
	}
	if got := fmt.Sprint(ms); got != "[a/0001_one a/0002_two b/0001_one]" {
		t.Fatalf("Load = %s", got)
	}
	for name, tc := range map[string]struct {
		fsys fstest.MapFS
		want string
	}{
		"gap": {fstest.MapFS{
			"a/postgres/0001_one.sql":   sqlFile(""),
			"a/postgres/0002_two.sql":   sqlFile(""),
			"b/postgres/0001_one.sql":   sqlFile(""),
			"b/postgres/0003_three.sql": sqlFile(""),
		}, "b/postgres migrations: expected version 2, found 3"},
		"not from 1": {fstest.MapFS{
			"a/postgres/0001_one.sql": sqlFile(""),
			"b/postgres/0002_two.sql": sqlFile(""),
		}, "b/postgres migrations: expected version 1, found 2"},
		"twice": {fstest.MapFS{
			"a/postgres/0001_one.sql":     sqlFile(""),
			"a/postgres/0001_another.sql": sqlFile(""),
		}, "a/postgres migrations: expected version 2, found 1"},
		"bad name": {fstest.MapFS{
			"a/postgres/one.sql": sqlFile(""),
		}, "migration a/postgres/one.sql: name must be NNNN_name.sql"},
		"unknown module": {fstest.MapFS{
			"a/postgres/0001_one.sql": sqlFile(""),
			"c/postgres/0001_one.sql": sqlFile(""),
		}, "migrations/c: not a module"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := migrations.NewSchema(tc.fsys, "a", "b").Load(sqldb.Postgres)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestModuleWithoutMigrations: a module with no folder at all (no
// placeholder files) is at head at version 0, and Up applies the modules in
// their fixed order, not in alphabetical or file order.
func TestModuleWithoutMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"zeta/postgres/0001_first.sql":  sqlFile("CREATE TABLE zeta_first (x INTEGER)"),
		"zeta/sqlite/0001_first.sql":    sqlFile("CREATE TABLE zeta_first (x INTEGER)"),
		"alpha/postgres/0001_first.sql": sqlFile("CREATE TABLE alpha_first (x INTEGER)"),
		"alpha/sqlite/0001_first.sql":   sqlFile("CREATE TABLE alpha_first (x INTEGER)"),
		"alpha/postgres/0002_more.sql":  sqlFile("CREATE TABLE alpha_more (x INTEGER)"),
		"alpha/sqlite/0002_more.sql":    sqlFile("CREATE TABLE alpha_more (x INTEGER)"),
	}
	s := migrations.NewSchema(fsys, "zeta", "empty", "alpha")
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		applied, err := s.Up(ctx, db)
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		if got := fmt.Sprint(applied); got != "[zeta/0001_first alpha/0001_first alpha/0002_more]" {
			t.Fatalf("Up applied %s, want zeta's, then alpha's", got)
		}
		report, err := s.Status(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := "[{zeta 1 1 []} {empty 0 0 []} {alpha 2 2 []}]"
		if fmt.Sprint(report) != want || len(report.Behind()) != 0 {
			t.Fatalf("Status = %v, want %s", report, want)
		}
		if again, err := s.Up(ctx, db); err != nil || len(again) != 0 {
			t.Fatalf("second Up applied %v (err %v), want nothing", again, err)
		}
	})
}

// TestFailedMigrationRollsBack: a migration that fails leaves neither its
// row nor its tables, and Up stops there (later modules wait).
func TestFailedMigrationRollsBack(t *testing.T) {
	fsys := fstest.MapFS{
		"a/postgres/0001_bad.sql": sqlFile("CREATE TABLE a_bad (x INTEGER); SELECT no_such_column FROM a_bad"),
		"a/sqlite/0001_bad.sql":   sqlFile("CREATE TABLE a_bad (x INTEGER); SELECT no_such_column FROM a_bad"),
		"b/postgres/0001_ok.sql":  sqlFile("CREATE TABLE b_ok (x INTEGER)"),
		"b/sqlite/0001_ok.sql":    sqlFile("CREATE TABLE b_ok (x INTEGER)"),
	}
	s := migrations.NewSchema(fsys, "a", "b")
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		applied, err := s.Up(ctx, db)
		if err == nil || !strings.Contains(err.Error(), "apply migration a/0001_bad") || len(applied) != 0 {
			t.Fatalf("Up = %v, %v; want nothing applied and an error naming a/0001_bad", applied, err)
		}
		if rows := bookkeeping(t, db); len(rows) != 0 {
			t.Errorf("schema_migrations after the failure: %+v, want empty", rows)
		}
		for _, table := range []string{"a_bad", "b_ok"} {
			if _, err := db.Exec(ctx, `SELECT 1 FROM `+table); err == nil {
				t.Errorf("table %s exists after the failed run", table)
			}
		}
	})
}

// TestConcurrentUp: replicas starting at once against one empty database
// each run Up; every migration ends applied exactly once.
func TestConcurrentUp(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		raceUp(t, sqldb.Config{URL: sqldbtest.EmptyPostgresURL(t)}, nil)
	})
	t.Run("sqlite", func(t *testing.T) {
		raceUp(t, sqldb.Config{SQLitePath: t.TempDir() + "/race.db"}, nil)
	})
}

// raceUp opens n handles on cfg's database (as n replicas would), lets
// prepare set the database up, races Up on all of them and checks that
// each migration the database lacked was applied exactly once. It returns
// the first handle.
func raceUp(t *testing.T, cfg sqldb.Config, prepare func(db *sqldb.DB) (before int)) *sqldb.DB {
	ctx := context.Background()
	const n = 6
	dbs := make([]*sqldb.DB, n)
	for i := range dbs {
		db, err := sqldb.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	before := 0
	if prepare != nil {
		before = prepare(dbs[0])
	}
	var wg sync.WaitGroup
	results := make([][]migrations.Migration, n)
	errs := make([]error, n)
	for i, db := range dbs {
		wg.Go(func() { results[i], errs[i] = migrations.Up(ctx, db) })
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("runner %d: %v", i, errs[i])
		}
		for _, m := range results[i] {
			seen[m.String()]++
		}
	}
	all, err := migrations.Load(dbs[0].Dialect())
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		want := 1
		if i < before {
			want = 0
		}
		if seen[m.String()] != want {
			t.Errorf("%s applied %d times, want %d", m, seen[m.String()], want)
		}
	}
	if rows := bookkeeping(t, dbs[0]); len(rows) != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", len(rows), len(all))
	}
	return dbs[0]
}

type row struct {
	module    string
	version   int
	name      string
	appliedAt int64
}

// bookkeeping returns schema_migrations in (module, version) order.
func bookkeeping(t *testing.T, db *sqldb.DB) []row {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT module, version, name, applied_at FROM schema_migrations ORDER BY module, version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.module, &r.version, &r.name, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameMigration(a, b migrations.Migration) bool { return a == b }

func sqlFile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// TestUpModules: the portal run apart migrates its own schema only.
func TestUpModules(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		applied, err := migrations.UpModules(ctx, db, "portal")
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != migrations.Head(db.Dialect(), "portal") || len(applied) == 0 {
			t.Fatalf("UpModules(portal) applied %v", applied)
		}
		for _, m := range applied {
			if m.Module != "portal" {
				t.Fatalf("UpModules(portal) applied %s", m)
			}
		}
		if _, err := db.Exec(ctx, `SELECT 1 FROM accounts`); err == nil {
			t.Fatal("the identity provider's tables exist in the portal's database")
		}
		if again, err := migrations.UpModules(ctx, db, "portal"); err != nil || len(again) != 0 {
			t.Fatalf("second UpModules applied %v, %v", again, err)
		}
	})
}
