package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/sqldb"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Migration is one schema step of one dialect.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the dialect's migrations in version order.
func Load(d sqldb.Dialect) ([]Migration, error) {
	entries, err := fs.ReadDir(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", d, err)
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
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", d, name)
		}
		body, err := files.ReadFile(path.Join(string(d), name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := range out {
		if out[i].Version != i+1 {
			return nil, fmt.Errorf("%s migrations: expected version %d, found %d (versions must be 1, 2, 3… without gaps)", d, i+1, out[i].Version)
		}
	}
	return out, nil
}

// Head is the latest version this binary knows.
func Head(d sqldb.Dialect) int {
	ms, err := Load(d)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

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

// Applied returns the versions recorded in the database.
func Applied(ctx context.Context, db *sqldb.DB) (map[int]bool, error) {
	rows, err := db.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		got[v] = true
	}
	return got, rows.Err()
}

// Up applies every migration the database lacks and returns the versions it
// applied itself (a concurrent runner may have applied others).
func Up(ctx context.Context, db *sqldb.DB) ([]int, error) {
	ms, err := Load(db.Dialect())
	if err != nil {
		return nil, err
	}
	if err := ensureTable(ctx, db); err != nil {
		return nil, err
	}
	have, err := Applied(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	var applied []int
	for _, m := range ms {
		if have[m.Version] {
			continue
		}
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UnixMicro())
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, m.SQL)
			return err
		})
		switch {
		case errors.Is(err, sqldb.ErrConflict) && isVersionRow(ctx, db, m.Version):
			// Another runner applied it meanwhile; our transaction rolled back.
		case err != nil:
			return applied, fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
		default:
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// isVersionRow tells a lost race on the version row from a conflict raised by
// the migration's own SQL.
func isVersionRow(ctx context.Context, db *sqldb.DB, version int) bool {
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n)
	return err == nil && n == 1
}

// Status reports the highest applied version and whether every version this
// binary knows is applied. A database migrated by a newer binary (versions
// beyond ours) is still current for us: rolling upgrades run old and new
// replicas side by side.
func Status(ctx context.Context, db *sqldb.DB) (current int, atHead bool, err error) {
	ms, err := Load(db.Dialect())
	if err != nil {
		return 0, false, err
	}
	have, err := Applied(ctx, db)
	if err != nil {
		return 0, false, err
	}
	atHead = true
	for _, m := range ms {
		if !have[m.Version] {
			atHead = false
		}
	}
	for v := range have {
		current = max(current, v)
	}
	return current, atHead, nil
}
