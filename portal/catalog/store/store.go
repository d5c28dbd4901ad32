package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gosid/gosid/portal/catalog"

	"github.com/gosid/gosid/internal/sqldb"
)

// Store keeps the catalogue in portal_services and its version in
// portal_catalog_version.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns the catalogue store on db; now is the clock of
// updated_at.
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// Filter narrows List; empty fields match everything.
type Filter struct {
	Category string
	Agency   string // agency code
}

// Import checks services and writes them all in one transaction, replacing
// the definitions of ids already present, and bumps the catalogue version:
// all or nothing. Invalid definitions give catalog.Problems and write nothing. It
// returns the new version.
func (s *Store) Import(ctx context.Context, services []catalog.Service) (int64, error) {
	var probs catalog.Problems
	seen := map[string]bool{}
	for _, svc := range services {
		for _, p := range svc.Check() {
			probs = append(probs, svc.ID+": "+p)
		}
		if seen[svc.ID] {
			probs = append(probs, svc.ID+": id: given twice")
		}
		seen[svc.ID] = true
	}
	if len(probs) > 0 {
		return 0, probs
	}
	now := sqldb.Micros(s.now())
	var version int64
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE portal_catalog_version SET version = version + 1, updated_at = $1
			WHERE id = 1 RETURNING version`, now).Scan(&version); err != nil {
			return fmt.Errorf("bump version: %w", err)
		}
		for _, svc := range services {
			def, err := json.Marshal(svc)
			if err != nil {
				return fmt.Errorf("encode %s: %w", svc.ID, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO portal_services (id, definition, category, agency, version, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, category = excluded.category,
					agency = excluded.agency, version = excluded.version, updated_at = excluded.updated_at`,
				svc.ID, string(def), svc.Category, svc.Agency.Code, version, now); err != nil {
				return fmt.Errorf("write %s: %w", svc.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("catalog: import: %w", err)
	}
	return version, nil
}

// Version returns the catalogue's version: 0 before the first import, then
// one more for every import.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRow(ctx, `SELECT version FROM portal_catalog_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog: version: %w", err)
	}
	return v, nil
}

// Get returns the service id; sqldb.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (catalog.Service, error) {
	var def string
	if err := s.db.QueryRow(ctx, `SELECT definition FROM portal_services WHERE id = $1`, id).Scan(&def); err != nil {
		return catalog.Service{}, fmt.Errorf("catalog: get service: %w", err)
	}
	return decodeDefinition(def)
}

// List returns the services that f matches, ordered by id.
func (s *Store) List(ctx context.Context, f Filter) ([]catalog.Service, error) {
	rows, err := s.db.Query(ctx, `SELECT definition FROM portal_services
		WHERE ($1 = '' OR category = $1) AND ($2 = '' OR agency = $2) ORDER BY id`, f.Category, f.Agency)
	if err != nil {
		return nil, fmt.Errorf("catalog: list: %w", err)
	}
	out, err := sqldb.Collect(rows, scanService)
	if err != nil {
		return nil, fmt.Errorf("catalog: list: %w", err)
	}
	return out, nil
}

// Snapshot returns the version and every service as of one moment (one
// transaction), for building a search index that knows which version it
// holds.
func (s *Store) Snapshot(ctx context.Context) (int64, []catalog.Service, error) {
	var version int64
	var out []catalog.Service
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM portal_catalog_version WHERE id = 1`).Scan(&version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT definition FROM portal_services ORDER BY id`)
		if err != nil {
			return err
		}
		out, err = sqldb.Collect(rows, scanService)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("catalog: snapshot: %w", err)
	}
	return version, out, nil
}

// scanService reads a row of one column, the definition.
func scanService(r sqldb.Scanner) (catalog.Service, error) {
	var def string
	if err := r.Scan(&def); err != nil {
		return catalog.Service{}, err
	}
	return decodeDefinition(def)
}

func decodeDefinition(def string) (catalog.Service, error) {
	var svc catalog.Service
	if err := json.Unmarshal([]byte(def), &svc); err != nil {
		return catalog.Service{}, fmt.Errorf("decode definition: %w", err)
	}
	return svc, nil
}

// Export writes every service to dir (created if missing) as ID.yaml, one
// service a file, which catalog.Load and Import read back into the same
// definitions. It returns the files written.
func (s *Store) Export(ctx context.Context, dir string) ([]string, error) {
	svcs, err := s.List(ctx, Filter{})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: export: %w", err)
	}
	var files []string
	for _, svc := range svcs {
		data, err := catalog.Marshal([]catalog.Service{svc})
		if err != nil {
			return files, err
		}
		// Ids are slugs (checked at import), so the name stays in dir.
		name := filepath.Join(dir, svc.ID+".yaml")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return files, fmt.Errorf("catalog: export: %w", err)
		}
		files = append(files, name)
	}
	return files, nil
}

// SeedDefaults imports the embedded default services when the catalogue
// has none, and reports whether it did. The portal calls it at start; two
// replicas starting at once both may import, which writes the same
// definitions twice.
func SeedDefaults(ctx context.Context, s *Store) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM portal_services`).Scan(&n); err != nil {
		return false, fmt.Errorf("catalog: seed: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	svcs, err := catalog.Defaults()
	if err != nil {
		return false, fmt.Errorf("catalog: embedded defaults: %w", err)
	}
	if _, err := s.Import(ctx, svcs); err != nil {
		return false, err
	}
	return true, nil
}
