package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/cmdline"
)

func runAccounts(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "accounts", args, []cmdline.Command{
		{Name: "create", Synopsis: "create an account with verified contacts (operators, tests)", Run: runAccountsCreate},
		{Name: "show", Synopsis: "show an account by id, phone, e-mail or SNILS", Run: runAccountsShow},
		{Name: "lock", Synopsis: "block an account: no sign-in until unlocked", Run: accountStatus(account.StatusBlocked)},
		{Name: "unlock", Synopsis: "unblock an account and clear a password lock-out", Run: accountStatus(account.StatusActive)},
		{Name: "delete", Synopsis: "delete an account and its sessions", Run: runAccountsDelete},
	})
}

// accountsCommand runs an accounts subcommand with the operators' side of
// the account store (idp/account.Admin): the same validation, password
// policy and activity log as the identity provider's own pages.
func accountsCommand(ctx context.Context, env *cmdline.Env, c *dbCommand, s *cmdline.Set, args []string, check func(p *cmdline.Problems), fn func(admin *account.Admin) error) int {
	return c.run(ctx, env, s, args, true, check, func(o opened) error {
		admin, err := account.NewAdmin(o.db, o.km, o.log, time.Now)
		if err != nil {
			return err
		}
		return fn(admin)
	})
}

// operator is the activity log's actor of a change made at the command
// line: the operating-system user who ran it.
func operator(env *cmdline.Env) audit.Actor {
	return audit.Actor{Kind: audit.ActorAdmin, ID: env.Getenv("USER")}
}

func printAccount(w io.Writer, a *account.Account, asJSON bool) {
	if v := a.OperatorView(time.Now()); asJSON {
		cmdline.WriteJSON(w, v)
	} else {
		cmdline.WritePairs(w, v.Rows())
	}
}

func runAccountsCreate(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var ap account.Applicant
	s := c.flags("accounts create", "Creates an account whose phone and e-mail count as verified, e.g. for operators and tests. Prints the id.", true)
	s.String(&ap.Phone, "phone", "", "Mobile phone, any common writing.")
	s.String(&ap.Email, "email", "", "E-mail address.")
	s.SecretString(&ap.Password, "password", "", "Password (checked against the policy). Prefer GOSID_PASSWORD to a flag.")
	s.String(&ap.FamilyName, "family-name", "", "Family name, Cyrillic.")
	s.String(&ap.GivenName, "given-name", "", "Given name, Cyrillic.")
	s.String(&ap.MiddleName, "middle-name", "", "Patronymic, optional.")
	s.String(&ap.BirthDate, "birthdate", "", "Birth date, YYYY-MM-DD.")
	s.String(&ap.SNILS, "snils", "", "SNILS, optional: stored as the citizen's claim, unverified until evidence (an e-signature, later a registry or an operator) proves it.")
	return accountsCommand(ctx, env, &c, s, args, func(p *cmdline.Problems) {
		// Registration's rules, checked before anything is opened.
		_, errs := ap.Check(password.DefaultPolicy(), time.Now())
		for _, fe := range errs {
			p.Add("%s: %s", s.Source(strings.ReplaceAll(fe.Field, "_", "-")), fe.EN)
		}
	}, func(admin *account.Admin) error {
		acc, err := admin.Create(ctx, operator(env), ap)
		var taken *account.TakenError
		if errors.As(err, &taken) {
			return fmt.Errorf("the %s already belongs to another account", taken.Kind)
		} else if err == nil {
			printAccount(env.Stdout, acc, c.JSON)
		}
		return err
	})
}

// oneAccount runs a subcommand that takes one account reference.
func oneAccount(ctx context.Context, env *cmdline.Env, name, synopsis string, args []string, fn func(c *dbCommand, admin *account.Admin, acc *account.Account) error) int {
	return accountCommand(ctx, env, "accounts "+name, synopsis, true, args, func(c *dbCommand, _ opened, admin *account.Admin, acc *account.Account) error {
		return fn(c, admin, acc)
	})
}

// accountCommand is a command about one account given as its argument.
func accountCommand(ctx context.Context, env *cmdline.Env, name, synopsis string, json bool, args []string, fn func(c *dbCommand, o opened, admin *account.Admin, acc *account.Account) error) int {
	var c dbCommand
	s := c.flags(name, synopsis, json)
	s.AllowArgs("ACCOUNT (id, phone, e-mail or SNILS)")
	return c.run(ctx, env, s, args, true, func(p *cmdline.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one account: its id, phone, e-mail or SNILS")
		}
	}, func(o opened) error {
		admin, err := account.NewAdmin(o.db, o.km, o.log, time.Now)
		if err != nil {
			return err
		}
		acc, err := admin.Accounts.Find(ctx, s.Args()[0])
		if err != nil {
			return err
		}
		return fn(&c, o, admin, acc)
	})
}

func runAccountsShow(ctx context.Context, env *cmdline.Env, args []string) int {
	return oneAccount(ctx, env, "show", "Shows an account.", args, func(c *dbCommand, _ *account.Admin, acc *account.Account) error {
		printAccount(env.Stdout, acc, c.JSON)
		return nil
	})
}

func accountStatus(st account.Status) func(context.Context, *cmdline.Env, []string) int {
	name, synopsis := "lock", "Blocks an account: it cannot sign in until unlocked."
	change := (*account.Admin).Block
	if st == account.StatusActive {
		name, synopsis, change = "unlock", "Unblocks an account and clears a password lock-out.", (*account.Admin).Unblock
	}
	return func(ctx context.Context, env *cmdline.Env, args []string) int {
		return oneAccount(ctx, env, name, synopsis, args, func(c *dbCommand, admin *account.Admin, acc *account.Account) error {
			if err := change(admin, ctx, operator(env), acc.ID); err != nil {
				return err
			}
			acc, err := admin.Accounts.Get(ctx, acc.ID)
			if err == nil {
				printAccount(env.Stdout, acc, c.JSON)
			}
			return err
		})
	}
}

func runAccountsDelete(ctx context.Context, env *cmdline.Env, args []string) int {
	return oneAccount(ctx, env, "delete", "Erases an account at once, with its contacts and sessions; its sign-in events lose their link and network details, the activity log keeps its random id.", args,
		func(_ *dbCommand, admin *account.Admin, acc *account.Account) error {
			err := admin.Erase(ctx, operator(env), acc.ID)
			if err == nil {
				fmt.Fprintf(env.Stdout, "Deleted account %s.\n", acc.ID)
			}
			return err
		})
}
