package main

import (
	"context"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/cmdline"
)

// runAudit is `gosid audit` (idp/audit/command.go).
func runAudit(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "audit", args, audit.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *audit.Command) int {
		var c dbCommand
		s := c.flags(cmd.Name, cmd.Help, cmd.JSON)
		cmd.Register(s)
		return c.run(ctx, env, s, args, true, cmd.Check, func(o opened) error {
			return cmd.Run(ctx, audit.Env{DB: o.db, Keys: o.km, Actor: operator(env), Out: env.Stdout, JSON: c.JSON})
		})
	}))
}
