package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid accounts` (create, show, lock,
// unlock, delete): its options, its checks before the database is opened,
// and its work on it through the operators' side (Admin: the same
// validation, password policy and activity log as the identity
// provider's own pages). cmd/gosid opens the database and the keys (Env)
// and runs it, as it does idp/staff's commands.
type Command struct {
	// Name is "accounts create" and so on; Synopsis is the one line of
	// `gosid accounts`, Help the text of the subcommand's own --help.
	Name, Synopsis, Help string
	sub                  string
	s                    *cmdline.Set
	applicant            Applicant
	target               Target
}

// Env is what a command works on: the database, the keys the account
// store and the activity log need, the administrator acting, and where
// its output goes.
type Env struct {
	DB    *sqldb.DB
	Keys  AdminKeys
	Log   *slog.Logger
	Actor audit.Actor
	Out   io.Writer
	JSON  bool
}

// Commands are the subcommands of `gosid accounts`, each run by run,
// which parses the options Register adds and calls Check and Run. Every
// one takes --json and the keys.
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	subs := [][3]string{
		{"create", "create an account with verified contacts (operators, tests)",
			"Creates an account whose phone and e-mail count as verified, e.g. for operators and tests. Prints the id."},
		{"show", "show an account by id, phone, e-mail or SNILS", "Shows an account."},
		{"lock", "block an account: no sign-in until unlocked", "Blocks an account: it cannot sign in until unlocked."},
		{"unlock", "unblock an account and clear a password lock-out", "Unblocks an account and clears a password lock-out."},
		{"delete", "delete an account and its sessions",
			"Erases an account at once, with its contacts and sessions; its sign-in events lose their link and network details, the activity log keeps its random id."},
	}
	out := make([]cmdline.Command, 0, len(subs))
	for _, sc := range subs {
		out = append(out, cmdline.Command{Name: sc[0], Synopsis: sc[1], Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			// A fresh Command per run: it holds the parsed options.
			return run(ctx, env, args, &Command{Name: "accounts " + sc[0], Synopsis: sc[1], Help: sc[2], sub: sc[0]})
		}})
	}
	return out
}

// Register adds the subcommand's options to s (after the storage, keys
// and log options and --json cmd/gosid adds).
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	if c.sub != "create" {
		c.target.Register(s)
		return
	}
	ap := &c.applicant
	s.String(&ap.Phone, "phone", "", "Mobile phone, any common writing.")
	s.String(&ap.Email, "email", "", "E-mail address.")
	s.SecretString(&ap.Password, "password", "", "Password (checked against the policy). Prefer GOSID_PASSWORD to a flag.")
	s.String(&ap.FamilyName, "family-name", "", "Family name, Cyrillic.")
	s.String(&ap.GivenName, "given-name", "", "Given name, Cyrillic.")
	s.String(&ap.MiddleName, "middle-name", "", "Patronymic, optional.")
	s.String(&ap.BirthDate, "birthdate", "", "Birth date, YYYY-MM-DD.")
	s.String(&ap.SNILS, "snils", "", "SNILS, optional: stored as the citizen's claim, unverified until evidence (an e-signature, later a registry or an operator) proves it.")
}

// Check adds the problems of the options and arguments given, each naming
// its option: for create, registration's rules, checked before anything
// is opened.
func (c *Command) Check(p *cmdline.Problems) {
	if c.sub != "create" {
		c.target.Check(p)
		return
	}
	_, errs := c.applicant.Check(password.DefaultPolicy(), time.Now())
	for _, fe := range errs {
		p.Add("%s: %s", c.s.Source(strings.ReplaceAll(fe.Field, "_", "-")), fe.EN)
	}
}

// Run does the subcommand.
func (c *Command) Run(ctx context.Context, env Env) error {
	if c.sub == "create" {
		admin, err := NewAdmin(env.DB, env.Keys, env.Log, time.Now)
		if err != nil {
			return err
		}
		acc, err := admin.Create(ctx, env.Actor, c.applicant)
		var taken *TakenError
		if errors.As(err, &taken) {
			return fmt.Errorf("the %s already belongs to another account", taken.Kind)
		} else if err == nil {
			writeAccount(env, acc)
		}
		return err
	}
	admin, acc, err := c.target.Open(ctx, env)
	if err != nil {
		return err
	}
	switch c.sub {
	case "delete":
		err := admin.Erase(ctx, env.Actor, acc.ID)
		if err == nil {
			fmt.Fprintf(env.Out, "Deleted account %s.\n", acc.ID)
		}
		return err
	case "lock", "unlock":
		change := admin.Block
		if c.sub == "unlock" {
			change = admin.Unblock
		}
		if err := change(ctx, env.Actor, acc.ID); err != nil {
			return err
		}
		if acc, err = admin.Accounts.Get(ctx, acc.ID); err != nil {
			return err
		}
	}
	writeAccount(env, acc)
	return nil
}

// writeAccount prints what an operator may see of an account, as a
// table of pairs or as JSON.
func writeAccount(env Env, a *Account) {
	if v := a.OperatorView(time.Now()); env.JSON {
		cmdline.WriteJSON(env.Out, v)
	} else {
		cmdline.WritePairs(env.Out, v.Rows())
	}
}

// Target is the one account a command is about, given as its only
// argument: its id, phone, e-mail or SNILS. `gosid accounts` and
// `gosid verification` take it the same way.
type Target struct{ s *cmdline.Set }

// Register lets s take the argument.
func (t *Target) Register(s *cmdline.Set) {
	t.s = s
	s.AllowArgs("ACCOUNT (id, phone, e-mail or SNILS)")
}

// Check adds a problem unless exactly one argument was given.
func (t *Target) Check(p *cmdline.Problems) {
	if len(t.s.Args()) != 1 {
		p.Add("give exactly one account: its id, phone, e-mail or SNILS")
	}
}

// Open returns the operators' side over env's database and the account
// the argument names (Store.Find's errors when none).
func (t *Target) Open(ctx context.Context, env Env) (*Admin, *Account, error) {
	admin, err := NewAdmin(env.DB, env.Keys, env.Log, time.Now)
	if err != nil {
		return nil, nil, err
	}
	acc, err := admin.Accounts.Find(ctx, t.s.Args()[0])
	if err != nil {
		return nil, nil, err
	}
	return admin, acc, nil
}
