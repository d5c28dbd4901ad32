package main

import (
	"context"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/migrations"
)

func runMigrate(ctx context.Context, env *cmdline.Env, args []string) int {
	var st storageOptions
	var lo logOptions
	s := cmdline.NewSet("gosid migrate", "Applies every schema migration the database lacks, module by module (idp, verification, portal), prints what it applied, then exits. `gosid serve` does the same at start; several may run at once.")
	st.register(s)
	lo.register(s, "info")
	return env.Run(s, args, func(p *cmdline.Problems) {
		st.resolve()
		if db := st.check(ctx, s, p); db != nil {
			db.Close()
		}
	}, func() error {
		db, err := st.open(ctx, false)
		if err != nil {
			return err
		}
		defer db.Close()
		applied, err := migrate(ctx, db, lo.logger(env.Stderr))
		var report migrations.Report
		if err == nil {
			report, err = migrations.Status(ctx, db)
		}
		// What was applied before a failure stays applied: say so.
		migrations.WriteSummary(env.Stdout, db.Dialect(), applied, report)
		return err
	})
}
