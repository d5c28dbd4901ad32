package main

import (
	"context"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/verification/bank"
	"github.com/gosid/gosid/verification/letter"
)

func runBanks(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "banks", args, []cmdline.Command{
		{Name: "add", Synopsis: "connect a bank's ID service (or any OpenID provider) for confirmation, registration and sign-in", Run: bankChange("add")},
		{Name: "list", Synopsis: "list the connected banks", Run: bankChange("list")},
		{Name: "update", Synopsis: "change a bank's settings (only the options given)", Run: bankChange("update")},
		{Name: "remove", Synopsis: "disconnect a bank: its links to accounts go too", Run: bankChange("remove")},
	})
}

// bankChange is one of the banks subcommands; its options, for add and
// update, come from flags, GOSID_* variables or --config FILE (YAML).
func bankChange(name string) func(context.Context, *cmdline.Env, []string) int {
	return func(ctx context.Context, env *cmdline.Env, args []string) int {
		var c dbCommand
		s := c.flags("banks "+name, "Banks are upstream OpenID providers (docs/verification.md, «Banks»). Running servers see a change at once.", false)
		cmd := bank.NewCommand(name, s)
		return c.run(ctx, env, s, args, false, cmd.Check, func(o opened) error { return cmd.Run(ctx, o.db, env.Stdout) })
	}
}

// runLetters is `gosid letters`: codes by registered letter (verification/letter).
func runLetters(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "letters", args, letter.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *letter.Command) int {
		var c dbCommand
		s := c.flags("letters "+cmd.Name, cmd.Synopsis, false)
		cmd.Register(s)
		return c.run(ctx, env, s, args, true, cmd.Check, func(o opened) error { return cmd.Run(ctx, o.db, o.km, env.Stdout) })
	}))
}
