package main

import (
	"context"

	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/cmdline"
)

// staffGroup is `gosid orgs` or `gosid staff` (idp/staff/command.go).
func staffGroup(group string) func(context.Context, *cmdline.Env, []string) int {
	return func(ctx context.Context, env *cmdline.Env, args []string) int {
		return cmdline.Dispatch(ctx, env, group, args, staff.Commands(group, func(ctx context.Context, env *cmdline.Env, args []string, cmd *staff.Command) int {
			var c dbCommand
			s := c.flags(cmd.Name, cmd.Synopsis, true)
			cmd.Register(s)
			return c.run(ctx, env, s, args, true, cmd.Check, func(o opened) error {
				return cmd.Run(ctx, staff.Env{DB: o.db, Keys: o.km, Log: o.log, Actor: operator(env), Out: env.Stdout, JSON: c.JSON})
			})
		}))
	}
}
