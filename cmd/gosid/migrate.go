package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/migrations"
)

func runMigrate(ctx context.Context, env *environment, args []string) int {
	var st storageOptions
	var lo logOptions
	s := config.NewSet("gosid migrate", "Applies every schema migration the database lacks, module by module (idp, verification, portal), prints what it applied, then exits. `gosid serve` does the same at start; several may run at once.")
	st.register(s)
	lo.register(s, "info")
	p, ok := env.parse(s, args)
	if !ok {
		return exitOK
	}
	st.resolve()
	if db := st.check(ctx, s, &p); db != nil {
		db.Close()
	}
	if !env.report(p) {
		return exitConfig
	}
	log := lo.logger(env.stderr)
	db, err := st.open(ctx, false)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer db.Close()
	applied, err := migrate(ctx, db, log)
	if err != nil {
		// What was applied before the failure stays applied: say so.
		printMigrated(env.stdout, db.Dialect(), applied, nil)
		return env.fail(exitFailed, err)
	}
	report, err := migrations.Status(ctx, db)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	printMigrated(env.stdout, db.Dialect(), applied, report)
	return exitOK
}

// printMigrated writes one line per module: what this run applied, and the
// version the database is at.
//
//	Database: sqlite.
//	idp: applied 0014_oidc_hardening, 0015_refresh_grace; at version 15.
//	verification: no migrations.
func printMigrated(w io.Writer, d sqldb.Dialect, applied []migrations.Migration, report migrations.Report) {
	fmt.Fprintf(w, "Database: %s.\n", d)
	for _, module := range migrations.Modules() {
		var names []string
		for _, m := range applied {
			if m.Module == module {
				names = append(names, fmt.Sprintf("%04d_%s", m.Version, m.Name))
			}
		}
		var parts []string
		if len(names) > 0 {
			parts = append(parts, "applied "+strings.Join(names, ", "))
		}
		for _, st := range report {
			switch {
			case st.Module != module:
			case st.Head == 0 && st.Current == 0:
				parts = append(parts, "no migrations")
			case len(names) == 0 && st.Current > st.Head:
				parts = append(parts, fmt.Sprintf("nothing to apply; at version %d (this binary knows up to %d)", st.Current, st.Head))
			case len(names) == 0:
				parts = append(parts, fmt.Sprintf("nothing to apply; at version %d", st.Current))
			default:
				parts = append(parts, fmt.Sprintf("at version %d", st.Current))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s: %s.\n", module, strings.Join(parts, "; "))
		}
	}
}
