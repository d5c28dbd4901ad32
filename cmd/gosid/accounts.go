package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
)

func runAccounts(ctx context.Context, env *environment, args []string) int {
	return dispatch(ctx, env, "accounts", args, []command{
		{"create", "create an account with verified contacts (operators, tests)", runAccountsCreate},
		{"show", "show an account by id, phone, e-mail or SNILS", runAccountsShow},
		{"lock", "block an account: no sign-in until unlocked", accountStatus(account.StatusBlocked)},
		{"unlock", "unblock an account and clear a password lock-out", accountStatus(account.StatusActive)},
		{"delete", "delete an account and its sessions", runAccountsDelete},
	})
}

// dispatch runs one of a group's subcommands, or prints the group's usage.
func dispatch(ctx context.Context, env *environment, group string, args []string, subs []command) int {
	if len(args) > 0 {
		for _, c := range subs {
			if c.name == args[0] {
				return c.run(ctx, env, args[1:])
			}
		}
	}
	w, code := env.stderr, exitConfig
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		w, code = env.stdout, exitOK
	} else if len(args) > 0 {
		fmt.Fprintf(w, "gosid: unknown %s command %q\n", group, args[0])
	}
	fmt.Fprintf(w, "Usage: gosid %s COMMAND [options]\n", group)
	for _, c := range subs {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.synopsis)
	}
	return code
}

// accountsCommand is the common shape of the accounts subcommands.
type accountsCommand struct {
	keysCommand
	idp idpOptions
}

func (a *accountsCommand) flags(name, synopsis string) *config.Set {
	s := a.keysCommand.flags("accounts "+name, synopsis)
	s.Bool(&a.JSON, "json", false, "Print JSON.")
	return s
}

// admin opens the database and the keys, and returns the operators' side
// of the account store (idp/account.Admin): the same validation, password
// policy and activity log as the identity provider's own pages.
func (a *accountsCommand) admin(ctx context.Context, env *environment) (*account.Admin, func(), int, error) {
	km, db, done, code, err := a.open(ctx, env)
	if err != nil {
		return nil, nil, code, err
	}
	hasher, err := password.NewHasher(a.idp.argon2Default(), 0)
	if err != nil {
		done()
		return nil, nil, exitFailed, err
	}
	st := account.NewStore(db, km, time.Now)
	return &account.Admin{Accounts: st, Activity: account.NewActivity(db, st, audit.New(db, km, time.Now)), Hash: hasher.Hash,
		Policy: password.DefaultPolicy(), Log: a.log.logger(env.stderr), Now: time.Now}, done, 0, nil
}

// operator is the activity log's actor of a change made at the command
// line: the operating-system user who ran it.
func operator() audit.Actor { return audit.Actor{Kind: audit.ActorAdmin, ID: os.Getenv("USER")} }

func printAccount(w io.Writer, a *account.Account, asJSON bool) {
	v := a.OperatorView(time.Now())
	if asJSON {
		writeJSON(w, v)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range v.Rows() {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
}

func runAccountsCreate(ctx context.Context, env *environment, args []string) int {
	var a accountsCommand
	var ap account.Applicant
	s := a.flags("create", "Creates an account whose phone and e-mail count as verified, e.g. for operators and tests. Prints the id.")
	s.String(&ap.Phone, "phone", "", "Mobile phone, any common writing.")
	s.String(&ap.Email, "email", "", "E-mail address.")
	s.SecretString(&ap.Password, "password", "", "Password (checked against the policy). Prefer GOSID_PASSWORD to a flag.")
	s.String(&ap.FamilyName, "family-name", "", "Family name, Cyrillic.")
	s.String(&ap.GivenName, "given-name", "", "Given name, Cyrillic.")
	s.String(&ap.MiddleName, "middle-name", "", "Patronymic, optional.")
	s.String(&ap.BirthDate, "birthdate", "", "Birth date, YYYY-MM-DD.")
	s.String(&ap.SNILS, "snils", "", "SNILS, optional: stored as the citizen's claim, unverified until evidence (an e-signature, later a registry or an operator) proves it.")
	code, ok := a.prepare(ctx, env, s, args, func(p *config.Problems) {
		// Registration's rules, checked before anything is opened.
		_, errs := ap.Check(password.DefaultPolicy(), time.Now())
		for _, fe := range errs {
			p.Add("%s: %s", s.Source(strings.ReplaceAll(fe.Field, "_", "-")), fe.EN)
		}
	})
	if !ok {
		return code
	}
	admin, done, code, err := a.admin(ctx, env)
	if err != nil {
		return env.fail(code, err)
	}
	defer done()
	acc, err := admin.Create(ctx, ap)
	var taken *account.TakenError
	if errors.As(err, &taken) {
		return env.fail(exitFailed, fmt.Errorf("the %s already belongs to another account", taken.Kind))
	}
	if err != nil {
		return env.fail(exitFailed, err)
	}
	printAccount(env.stdout, acc, a.JSON)
	return exitOK
}

// oneAccount parses a subcommand that takes one account reference.
func oneAccount(ctx context.Context, env *environment, name, synopsis string, args []string, run func(*accountsCommand, *account.Admin, *account.Account) int) int {
	var a accountsCommand
	s := a.flags(name, synopsis)
	s.AllowArgs("ACCOUNT (id, phone, e-mail or SNILS)")
	code, ok := a.prepare(ctx, env, s, args, func(p *config.Problems) {
		if len(s.Args()) != 1 {
			p.Add("give exactly one account: its id, phone, e-mail or SNILS")
		}
	})
	if !ok {
		return code
	}
	admin, done, code, err := a.admin(ctx, env)
	if err != nil {
		return env.fail(code, err)
	}
	defer done()
	acc, err := admin.Accounts.Find(ctx, s.Args()[0])
	if err != nil {
		return env.fail(exitFailed, err)
	}
	return run(&a, admin, acc)
}

func runAccountsShow(ctx context.Context, env *environment, args []string) int {
	return oneAccount(ctx, env, "show", "Shows an account.", args, func(a *accountsCommand, _ *account.Admin, acc *account.Account) int {
		printAccount(env.stdout, acc, a.JSON)
		return exitOK
	})
}

func accountStatus(st account.Status) func(context.Context, *environment, []string) int {
	name, synopsis := "lock", "Blocks an account: it cannot sign in until unlocked."
	change := (*account.Admin).Block
	if st == account.StatusActive {
		name, synopsis, change = "unlock", "Unblocks an account and clears a password lock-out.", (*account.Admin).Unblock
	}
	return func(ctx context.Context, env *environment, args []string) int {
		return oneAccount(ctx, env, name, synopsis, args, func(a *accountsCommand, admin *account.Admin, acc *account.Account) int {
			if err := change(admin, ctx, operator(), acc.ID); err != nil {
				return env.fail(exitFailed, err)
			}
			acc, err := admin.Accounts.Get(ctx, acc.ID)
			if err != nil {
				return env.fail(exitFailed, err)
			}
			printAccount(env.stdout, acc, a.JSON)
			return exitOK
		})
	}
}

func runAccountsDelete(ctx context.Context, env *environment, args []string) int {
	return oneAccount(ctx, env, "delete", "Erases an account at once, with its contacts and sessions; its sign-in events lose their link and network details, the activity log keeps its random id.", args,
		func(a *accountsCommand, admin *account.Admin, acc *account.Account) int {
			if err := admin.Erase(ctx, operator(), acc.ID); err != nil {
				return env.fail(exitFailed, err)
			}
			fmt.Fprintf(env.stdout, "Deleted account %s.\n", acc.ID)
			return exitOK
		})
}
