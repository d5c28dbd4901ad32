package main

import (
	"context"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/cmdline"
)

// runAccounts is `gosid accounts` (idp/account/command.go).
func runAccounts(ctx context.Context, env *cmdline.Env, args []string) int {
	cmds := account.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *account.Command) int {
		var c dbCommand
		s := c.flags(cmd.Name, cmd.Help, true)
		cmd.Register(s)
		return c.run(ctx, env, s, args, true, cmd.Check, func(o opened) error {
			return cmd.Run(ctx, account.Env{DB: o.db, Keys: o.km, Log: o.log, Actor: operator(env), Out: env.Stdout, JSON: c.JSON})
		})
	})
	cmds = append(cmds, cmdline.Command{Name: "import", Synopsis: "load accounts from a CSV or JSONL file (test data, migrations)", Run: runAccountsImport})
	return cmdline.Dispatch(ctx, env, "accounts", args, cmds)
}

// operator is the activity log's actor of a change made at the command
// line: the operating-system user who ran it.
func operator(env *cmdline.Env) audit.Actor {
	return audit.Actor{Kind: audit.ActorAdmin, ID: env.Getenv("USER")}
}

// accountCommand is a command about one account given as its argument
// (account.Target), run with the operators' side of the account store.
func accountCommand(ctx context.Context, env *cmdline.Env, name, synopsis string, json bool, args []string, fn func(c *dbCommand, o opened, admin *account.Admin, acc *account.Account) error) int {
	var c dbCommand
	var t account.Target
	s := c.flags(name, synopsis, json)
	t.Register(s)
	return c.run(ctx, env, s, args, true, t.Check, func(o opened) error {
		admin, acc, err := t.Open(ctx, account.Env{DB: o.db, Keys: o.km, Log: o.log})
		if err != nil {
			return err
		}
		return fn(&c, o, admin, acc)
	})
}
