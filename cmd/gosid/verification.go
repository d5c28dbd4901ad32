package main

import (
	"context"
	"fmt"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/verification"
)

func runVerification(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "verification", args, []cmdline.Command{
		{Name: "show", Synopsis: "list an account's evidence and registry checks (no document numbers)", Run: verificationCommand("show")},
		{Name: "recheck", Synopsis: "queue a registry check of an account's current data (an invalid passport lowers the level)", Run: verificationCommand("recheck")},
	})
}

func verificationCommand(name string) func(context.Context, *cmdline.Env, []string) int {
	return func(ctx context.Context, env *cmdline.Env, args []string) int {
		return accountCommand(ctx, env, "verification "+name, "", false, args, func(_ *dbCommand, o opened, _ *account.Admin, acc *account.Account) error {
			op, err := verification.OpenOperator(o.db, o.km, o.log)
			if err != nil {
				return err
			} else if name == "show" {
				return op.Show(ctx, env.Stdout, acc.ID)
			}
			id, err := op.Checks.Start(ctx, acc.ID, "recheck")
			if err == nil {
				fmt.Fprintf(env.Stdout, "check %s queued; a serving replica works it\n", id)
			}
			return err
		})
	}
}
