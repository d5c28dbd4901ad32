package main

import (
	"context"
	"errors"
	"strings"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/verification/bank"
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
		var o bank.Options
		s := c.flags("banks "+name, "Banks are upstream OpenID providers (docs/verification.md, «Banks»). Running servers see a change at once.", false)
		switch name {
		case "add":
			o.Register(s)
		case "update":
			o.Register(s)
			s.AllowArgs("BANK_ID")
		case "remove":
			s.AllowArgs("BANK_ID")
		}
		var b bank.Bank
		return c.run(ctx, env, s, args, false, func(p *cmdline.Problems) {
			if name == "update" || name == "remove" {
				if len(s.Args()) != 1 {
					p.Add("give exactly one bank id")
				}
			} else if name == "add" {
				var probs []string
				b, probs = o.Bank()
				for _, pr := range probs {
					p.Add("%s", pr)
				}
			}
		}, func(op opened) error {
			st := bank.NewStore(op.db, nil)
			switch name {
			case "add":
				return st.Add(ctx, b)
			case "list":
				banks, err := st.List(ctx)
				if err == nil {
					bank.WriteList(env.Stdout, banks)
				}
				return err
			case "remove":
				return st.Remove(ctx, s.Args()[0])
			}
			old, err := st.Get(ctx, s.Args()[0])
			if err != nil {
				return err
			}
			b, probs := o.Over(*old)
			if len(probs) > 0 {
				return cmdline.Usage(errors.New(strings.Join(probs, "; ")))
			}
			return st.Update(ctx, b)
		})
	}
}
