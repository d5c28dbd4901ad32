package main

import (
	"context"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/verification/bank"
)

// runClients is `gosid clients` (idp/client/command.go); the partner
// check is verification/bank's, which idp may not import.
func runClients(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "clients", args, client.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *client.Command) int {
		var c dbCommand
		s := c.flags(cmd.Name, cmd.Help, true)
		cmd.Register(s)
		return c.run(ctx, env, s, args, false, cmd.Check, func(o opened) error {
			return cmd.Run(ctx, client.Env{DB: o.db, CheckPartner: bank.CheckPartner, Out: env.Stdout, JSON: c.JSON})
		})
	}))
}
