package main

import (
	"context"
	"os"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/cmdline"
)

// runAccountsImport is `gosid accounts import` (idp/account/import_command.go).
func runAccountsImport(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var cmd account.ImportCommand
	s := c.flags("accounts import", account.ImportHelp, true)
	cmd.Register(s)
	return c.run(ctx, env, s, args, true, cmd.Check, func(o opened) error {
		return cmd.Run(ctx, account.ImportEnv{DB: o.db, Keys: o.km, Log: o.log, In: os.Stdin, Out: env.Stdout, Err: env.Stderr, Prog: env.Prog, JSON: c.JSON})
	})
}
