package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

// files holds MODULE/DIALECT/NNNN_name.sql. A module without migrations has
// no folder at all; the pattern picks up a new module's folder by itself.
//
//go:embed */postgres/*.sql */sqlite/*.sql
var files embed.FS

// modules own schema, in the order Up migrates them.
var modules = []string{"idp", "verification", "portal"}

// gosid is the schema embedded in the binary.
var gosid = &schema{fsys: files, modules: modules}

// Modules returns the modules that own schema, in the order Up migrates
// them.
func Modules() []string { return slices.Clone(modules) }

// Migration is one schema step of one module in one dialect.
type Migration struct {
	Module  string
	Version int
	Name    string
	SQL     string
}

// String names the migration as its file does: idp/0001_keys.
func (m Migration) String() string { return fmt.Sprintf("%s/%04d_%s", m.Module, m.Version, m.Name) }

// ModuleStatus is where one module's schema stands in a database.
type ModuleStatus struct {
	Module string
	// Current is the highest version recorded in the database (0: none).
	// It may exceed Head when a newer binary has migrated the database.
	Current int
	// Head is the highest version this binary knows (0: the module has no
	// migrations).
	Head int
	// Missing lists the versions this binary knows and the database lacks.
	Missing []int
}

// AtHead reports whether the database holds every migration of the module
// this binary knows. Versions beyond ours do not matter: rolling upgrades
// run old and new replicas side by side.
func (s ModuleStatus) AtHead() bool { return len(s.Missing) == 0 }

// Report is every module's status, in migration order.
type Report []ModuleStatus

// Behind names the modules that are not at their head.
func (r Report) Behind() []string {
	var out []string
	for _, s := range r {
		if !s.AtHead() {
			out = append(out, s.Module)
		}
	}
	return out
}

// Load returns the dialect's migrations module by module, in migration
// order, each module's in version order.
func Load(d sqldb.Dialect) ([]Migration, error) { return gosid.Load(d) }

// Head is the latest version of module this binary knows (0 for a module
// without migrations).
func Head(d sqldb.Dialect, module string) int { return gosid.Head(d, module) }

// Up applies, module by module, every migration the database lacks and
// returns those it applied itself (a concurrent runner may have applied
// others). It first converts the bookkeeping of a database created before
// schemas were per module.
func Up(ctx context.Context, db *sqldb.DB) ([]Migration, error) { return gosid.Up(ctx, db) }

// UpModules is Up for the named modules only: a module run apart (the
// portal with a database of its own) keeps only its own schema.
func UpModules(ctx context.Context, db *sqldb.DB, mods ...string) ([]Migration, error) {
	return (&schema{fsys: files, modules: modules, only: mods}).Up(ctx, db)
}

// Status reports each module's applied versions against this binary's. It
// fails on a database never migrated, or not yet converted to per-module
// bookkeeping (Up does that).
func Status(ctx context.Context, db *sqldb.DB) (Report, error) { return gosid.Status(ctx, db) }

// schema is a set of migrations: fsys holds MODULE/DIALECT/NNNN_name.sql
// for each of modules. The package's functions use Gosid's own, embedded;
// tests build others.
type schema struct {
	fsys    fs.FS
	modules []string
	// only, when set, limits Load to these of the modules.
	only []string
}

func (s *schema) Load(d sqldb.Dialect) ([]Migration, error) {
	dirs, err := fs.ReadDir(s.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range dirs {
		if !slices.Contains(s.modules, e.Name()) {
			return nil, fmt.Errorf("migrations/%s: not a module (modules are %s)", e.Name(), strings.Join(s.modules, ", "))
		}
	}
	var out []Migration
	for _, module := range s.modules {
		if s.only != nil && !slices.Contains(s.only, module) {
			continue
		}
		ms, err := s.loadModule(module, d)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

func (s *schema) loadModule(module string, d sqldb.Dialect) ([]Migration, error) {
	dir := path.Join(module, string(d))
	entries, err := fs.ReadDir(s.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no migrations yet
	}
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", dir, name)
		}
		body, err := fs.ReadFile(s.fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Module: module, Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := range out {
		if out[i].Version != i+1 {
			return nil, fmt.Errorf("%s migrations: expected version %d, found %d (each module's versions must be 1, 2, 3… without gaps)", dir, i+1, out[i].Version)
		}
	}
	return out, nil
}

func (s *schema) Head(d sqldb.Dialect, module string) int {
	ms, err := s.loadModule(module, d)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// bookkeepingColumns is schema_migrations' shape, the same in both
// dialects, whether created new or rebuilt from old bookkeeping.
const bookkeepingColumns = `(
	module     TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (module, version)
)`

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations ` + bookkeepingColumns

func ensureTable(ctx context.Context, db *sqldb.DB) error {
	// Two PostgreSQL sessions racing on CREATE TABLE IF NOT EXISTS can both
	// pass the existence check; the loser fails on the catalog's unique
	// index. By then the table exists, so one retry settles it.
	var err error
	for range 3 {
		if _, err = db.Exec(ctx, createTable); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("create schema_migrations: %w", err)
}

// Releases before per-module schemas kept one sequence, all of it idp's, in
// schema_migrations(version PRIMARY KEY, name, applied_at). convertSQL turns
// that table into today's shape in place, every row becoming an idp row
// with its name and time kept. The table keeps its name so that replicas of
// the older release, still serving during a rolling upgrade, keep finding
// their versions (they read only the version column) and stay ready.
// SQLite cannot change a primary key, so it rebuilds the table.
var convertSQL = map[sqldb.Dialect]string{
	sqldb.Postgres: `
ALTER TABLE schema_migrations ADD COLUMN module TEXT NOT NULL DEFAULT 'idp';
ALTER TABLE schema_migrations ALTER COLUMN module DROP DEFAULT;
ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey;
ALTER TABLE schema_migrations ADD PRIMARY KEY (module, version)`,
	sqldb.SQLite: `
CREATE TABLE schema_migrations_next ` + bookkeepingColumns + `;
INSERT INTO schema_migrations_next (module, version, name, applied_at)
	SELECT 'idp', version, name, applied_at FROM schema_migrations;
DROP TABLE schema_migrations;
ALTER TABLE schema_migrations_next RENAME TO schema_migrations`,
}

// hasModuleSQL counts schema_migrations' module column: 1 once the
// bookkeeping is per module. Neither query fails on the old shape, which
// matters inside a PostgreSQL transaction.
var hasModuleSQL = map[sqldb.Dialect]string{
	sqldb.Postgres: `SELECT count(*) FROM pg_attribute
		WHERE attrelid = to_regclass('schema_migrations') AND attname = 'module' AND NOT attisdropped`,
	sqldb.SQLite: `SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'module'`,
}

func perModule(ctx context.Context, q sqldb.Querier, d sqldb.Dialect) (bool, error) {
	var n int
	if err := q.QueryRow(ctx, hasModuleSQL[d]).Scan(&n); err != nil {
		return false, fmt.Errorf("inspect schema_migrations: %w", err)
	}
	return n == 1, nil
}

// convertSingleSequence converts old bookkeeping (see convertSQL), checking
// first without a transaction: nearly always there is nothing to do.
func convertSingleSequence(ctx context.Context, db *sqldb.DB) error {
	if done, err := perModule(ctx, db, db.Dialect()); err != nil || done {
		return err
	}
	return convertOnce(ctx, db)
}

// convertOnce converts old bookkeeping once, however many runners try at
// once. On SQLite the transaction holds the write lock from its start, so
// the check inside it is final. On PostgreSQL a racing runner's first ALTER
// waits for the winner's lock and then fails on the column the winner
// added; the check after the failure tells that from a real error.
func convertOnce(ctx context.Context, db *sqldb.DB) error {
	d := db.Dialect()
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		if done, err := perModule(ctx, tx, d); err != nil || done {
			return err
		}
		_, err := tx.Exec(ctx, convertSQL[d])
		return err
	})
	if err != nil {
		if done, _ := perModule(ctx, db, d); done {
			return nil // another runner converted it
		}
		return fmt.Errorf("convert schema_migrations to per-module versions: %w", err)
	}
	return nil
}

// applied returns the versions recorded in the database, by module.
func applied(ctx context.Context, db *sqldb.DB) (map[string]map[int]bool, error) {
	rows, err := db.Query(ctx, `SELECT module, version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	got := map[string]map[int]bool{}
	for rows.Next() {
		var module string
		var v int
		if err := rows.Scan(&module, &v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", sqldb.Classify(err))
		}
		if got[module] == nil {
			got[module] = map[int]bool{}
		}
		got[module][v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", sqldb.Classify(err))
	}
	return got, nil
}

// Up: each migration runs in its own transaction together with the row that
// records it, inserted first. That row is the lock: a racing runner's
// insert of the same (module, version) waits for the first to commit, then
// fails on the primary key, and the version is skipped.
func (s *schema) Up(ctx context.Context, db *sqldb.DB) ([]Migration, error) {
	ms, err := s.Load(db.Dialect())
	if err != nil {
		return nil, err
	}
	if err := ensureTable(ctx, db); err != nil {
		return nil, err
	}
	if err := convertSingleSequence(ctx, db); err != nil {
		return nil, err
	}
	have, err := applied(ctx, db)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range ms {
		if have[m.Module][m.Version] {
			continue
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
				m.Module, m.Version, m.Name, time.Now().UnixMicro())
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, m.SQL)
			return err
		})
		switch {
		case errors.Is(err, sqldb.ErrConflict) && isRecorded(ctx, db, m):
			// Another runner applied it meanwhile; our transaction rolled back.
		case err != nil:
			return done, fmt.Errorf("apply migration %s: %w", m, err)
		default:
			done = append(done, m)
		}
	}
	return done, nil
}

// isRecorded tells a lost race on the version row from a conflict raised by
// the migration's own SQL.
func isRecorded(ctx context.Context, db *sqldb.DB, m Migration) bool {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE module = $1 AND version = $2`, m.Module, m.Version).Scan(&n)
	return err == nil && n == 1
}

func (s *schema) Status(ctx context.Context, db *sqldb.DB) (Report, error) {
	ms, err := s.Load(db.Dialect())
	if err != nil {
		return nil, err
	}
	have, err := applied(ctx, db)
	if err != nil {
		return nil, err
	}
	report := make(Report, 0, len(s.modules))
	for _, module := range s.modules {
		st := ModuleStatus{Module: module}
		for v := range have[module] {
			st.Current = max(st.Current, v)
		}
		for _, m := range ms {
			if m.Module != module {
				continue
			}
			st.Head = m.Version
			if !have[module][m.Version] {
				st.Missing = append(st.Missing, m.Version)
			}
		}
		report = append(report, st)
	}
	return report, nil
}
