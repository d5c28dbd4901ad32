package main

import (
	"context"
	"fmt"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/migrations"
)

func runMigrate(ctx context.Context, env *environment, args []string) int {
	var st storageOptions
	var lo logOptions
	s := config.NewSet("gosid migrate", "Applies every schema migration the database lacks, then exits. `gosid serve` does the same at start; several may run at once.")
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
	db, err := st.openMigrated(ctx, false, log)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	defer db.Close()
	current, _, err := migrations.Status(ctx, db)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	fmt.Fprintf(env.stdout, "Schema at version %d (%s).\n", current, db.Dialect())
	return exitOK
}
