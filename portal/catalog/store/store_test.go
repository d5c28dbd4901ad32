package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/portal/catalog"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

func newStore(db *sqldb.DB) *Store {
	return NewStore(db, func() time.Time { return today })
}

// The store's suite, on SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newStore(db)
		defs, err := catalog.Defaults()
		if err != nil {
			t.Fatal(err)
		}

		t.Run("seed", func(t *testing.T) {
			if v, err := s.Version(ctx); err != nil || v != 0 {
				t.Fatalf("empty catalogue at version %d, %v", v, err)
			}
			if seeded, err := SeedDefaults(ctx, s); err != nil || !seeded {
				t.Fatalf("seed: %v %v", seeded, err)
			}
			if seeded, err := SeedDefaults(ctx, s); err != nil || seeded {
				t.Fatalf("seeded a catalogue that has services: %v %v", seeded, err)
			}
			if v, _ := s.Version(ctx); v != 1 {
				t.Fatalf("version %d after one import", v)
			}
			all, err := s.List(ctx, Filter{})
			if err != nil || len(all) != len(defs) {
				t.Fatalf("list: %d services, %v; want %d", len(all), err, len(defs))
			}
		})

		t.Run("get and list", func(t *testing.T) {
			got, err := s.Get(ctx, "passport-20")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range defs {
				if d.ID == "passport-20" && !reflect.DeepEqual(d, got) {
					t.Fatalf("stored definition differs:\n%+v\n%+v", d, got)
				}
			}
			if _, err := s.Get(ctx, "no-such"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("missing service: %v", err)
			}
			fam, err := s.List(ctx, Filter{Category: "family"})
			if err != nil || len(fam) == 0 {
				t.Fatalf("family: %d, %v", len(fam), err)
			}
			for _, f := range fam {
				if f.Category != "family" {
					t.Errorf("%s in family", f.ID)
				}
			}
			mvd, err := s.List(ctx, Filter{Agency: "mvd", Category: "transport"})
			if err != nil || len(mvd) != 4 {
				t.Fatalf("mvd transport: %d, %v", len(mvd), err)
			}
		})

		// unchanged fails unless the catalogue is still as seeded.
		unchanged := func(t *testing.T, what string) {
			t.Helper()
			if got, _ := s.Get(ctx, defs[0].ID); got.Title != defs[0].Title {
				t.Fatalf("%s changed a service", what)
			}
			if v, _ := s.Version(ctx); v != 1 {
				t.Fatalf("%s bumped the version to %d", what, v)
			}
		}

		t.Run("invalid import writes nothing", func(t *testing.T) {
			bad := defs[0]
			bad.Title = catalog.Text{RU: "Новое", EN: "New"}
			broken := defs[1]
			broken.Form.Fields = append([]catalog.Field(nil), broken.Form.Fields...)
			broken.Form.Fields[0].Rules.Pattern = "(("
			_, err := s.Import(ctx, []catalog.Service{bad, broken})
			if !catalog.IsProblems(err) || !strings.Contains(err.Error(), broken.ID+": form.fields[0].rules.pattern: invalid regexp") {
				t.Fatalf("import of a broken service: %v", err)
			}
			unchanged(t, "a refused import")
		})

		t.Run("failed write rolls back", func(t *testing.T) {
			// The database refuses the second row of the import: a unique
			// index the import's rows of one category and one moment break.
			if _, err := db.Exec(ctx, fmt.Sprintf(`CREATE UNIQUE INDEX test_fault ON portal_services (category, updated_at)
				WHERE updated_at > %d`, sqldb.Micros(today))); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := db.Exec(ctx, `DROP INDEX test_fault`); err != nil {
					t.Fatal(err)
				}
			}()
			changed := defs[0]
			changed.Title = catalog.Text{RU: "Новое", EN: "New"}
			added := defs[0]
			added.ID = "added-service"
			later := NewStore(db, func() time.Time { return today.Add(time.Hour) })
			_, err := later.Import(ctx, []catalog.Service{changed, added})
			if !errors.Is(err, sqldb.ErrConflict) {
				t.Fatalf("import despite the refused row: %v", err)
			}
			if _, err := s.Get(ctx, "added-service"); !errors.Is(err, sqldb.ErrNotFound) {
				t.Fatalf("half an import stayed: %v", err)
			}
			unchanged(t, "a failed import")
		})

		t.Run("export import round trip", func(t *testing.T) {
			dir := t.TempDir()
			files, err := s.Export(ctx, dir)
			if err != nil || len(files) != len(defs) {
				t.Fatalf("export: %d files, %v", len(files), err)
			}
			var in []catalog.File
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				in = append(in, catalog.File{Name: filepath.Base(f), Data: data})
			}
			loaded, err := catalog.Load(in)
			if err != nil {
				t.Fatal(err)
			}
			// Into a fresh catalogue: the same definitions come out.
			other := newStore(sqldbtest.SQLite(t))
			if _, err := other.Import(ctx, loaded); err != nil {
				t.Fatal(err)
			}
			a, _ := s.List(ctx, Filter{})
			b, _ := other.List(ctx, Filter{})
			if !reflect.DeepEqual(a, b) {
				t.Fatal("export → import changed the catalogue")
			}
			// And a second export writes the same bytes.
			dir2 := t.TempDir()
			if _, err := other.Export(ctx, dir2); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				x, _ := os.ReadFile(f)
				y, _ := os.ReadFile(filepath.Join(dir2, filepath.Base(f)))
				if string(x) != string(y) {
					t.Fatalf("%s differs after the round trip", filepath.Base(f))
				}
			}
		})

		t.Run("reimport replaces and bumps", func(t *testing.T) {
			v0, _ := s.Version(ctx)
			changed := defs[0]
			changed.Fee = 12345
			v, err := s.Import(ctx, []catalog.Service{changed})
			if err != nil || v != v0+1 {
				t.Fatalf("import: version %d, %v (was %d)", v, err, v0)
			}
			got, _ := s.Get(ctx, changed.ID)
			if got.Fee != 12345 {
				t.Fatal("reimport did not replace")
			}
			sv, snap, err := s.Snapshot(ctx)
			if err != nil || sv != v || len(snap) != len(defs) {
				t.Fatalf("snapshot: v%d, %d services, %v", sv, len(snap), err)
			}
		})
	})
}
