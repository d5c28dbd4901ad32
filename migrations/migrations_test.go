package migrations_test

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/migrations"
)

func TestMain(m *testing.M) { sqldbtest.Main(m) }

// TestDialectsInStep: both dialects have the same versions, names and
// tables, so that a store written once finds the same schema on either.
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
	names := func(sql string) []string {
		var out []string
		for _, m := range table.FindAllStringSubmatch(sql, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version || pg[i].Name != lite[i].Name {
			t.Errorf("migration %d: postgres %04d_%s, sqlite %04d_%s", i, pg[i].Version, pg[i].Name, lite[i].Version, lite[i].Name)
		}
		if a, b := names(pg[i].SQL), names(lite[i].SQL); !slices.Equal(a, b) {
			t.Errorf("migration %04d creates %v on postgres but %v on sqlite", pg[i].Version, a, b)
		}
	}
}

func TestUpFromEmpty(t *testing.T) {
	sqldbtest.RunEmpty(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, _, err := migrations.Status(ctx, db); err == nil {
			t.Fatal("Status on an empty database: want an error (no schema_migrations yet)")
		}
		applied, err := migrations.Up(ctx, db)
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		head := migrations.Head(db.Dialect())
		if head == 0 || len(applied) != head {
			t.Fatalf("Up applied %v, want 1..%d", applied, head)
		}
		current, atHead, err := migrations.Status(ctx, db)
		if err != nil || current != head || !atHead {
			t.Fatalf("Status = %d, %v, %v; want %d, true, nil", current, atHead, err, head)
		}
		again, err := migrations.Up(ctx, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Up applied %v (err %v), want nothing", again, err)
		}
	})
}

// TestConcurrentUp: replicas starting at once against one empty database
// each run Up; every version ends applied exactly once.
func TestConcurrentUp(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.EmptyPostgresURL(t)
		raceUp(t, sqldb.Config{URL: url})
	})
	t.Run("sqlite", func(t *testing.T) {
		raceUp(t, sqldb.Config{SQLitePath: t.TempDir() + "/race.db"})
	})
}

func raceUp(t *testing.T, cfg sqldb.Config) {
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
	var wg sync.WaitGroup
	results := make([][]int, n)
	errs := make([]error, n)
	for i, db := range dbs {
		wg.Go(func() { results[i], errs[i] = migrations.Up(ctx, db) })
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("runner %d: %v", i, errs[i])
		}
		total += len(results[i])
	}
	head := migrations.Head(dbs[0].Dialect())
	if total != head {
		t.Errorf("runners applied %d migrations in all, want %d (each exactly once)", total, head)
	}
	var rows int
	if err := dbs[0].QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != head {
		t.Errorf("schema_migrations has %d rows (err %v), want %d", rows, err, head)
	}
}
