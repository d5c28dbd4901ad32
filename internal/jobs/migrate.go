package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/riverqueue/river/rivermigrate"

	"github.com/gosid/gosid/internal/sqldb"
)

// Migrate brings River's own tables (river_job, river_leader, river_queue,
// river_client, river_migration) to the version this binary needs. Several
// replicas may run it at once: one that loses a race finds the work done.
func Migrate(ctx context.Context, db *sqldb.DB) ([]int, error) {
	m, err := rivermigrate.New(driver(db), nil)
	if err != nil {
		return nil, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		// A racing replica applied the same version first.
		if ready := Ready(ctx, db); ready == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("migrate the job queue's tables: %w", err)
	}
	var versions []int
	for _, v := range res.Versions {
		versions = append(versions, v.Version)
	}
	return versions, nil
}

// Ready reports whether River's tables are at the version this binary needs.
func Ready(ctx context.Context, db *sqldb.DB) error {
	m, err := rivermigrate.New(driver(db), nil)
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("job queue schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("job queue schema is behind this binary: %s", strings.Join(res.Messages, "; "))
	}
	return nil
}
