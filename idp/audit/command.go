package audit

import (
	"context"
	"io"
	"time"

	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
)

// Command is one subcommand of `gosid audit` (verify, export): its
// options, its checks before the database is opened, and its work on it.
// cmd/gosid opens the database and the keys (Env) and runs it, as it does
// idp/account's commands.
type Command struct {
	// Name is "audit verify" and so on; Synopsis is the one line of
	// `gosid audit`, Help the text of the subcommand's own --help. JSON
	// says whether it takes --json.
	Name, Synopsis, Help string
	JSON                 bool
	sub                  string
	s                    *cmdline.Set
	accountID, since     string
	lang                 string
	from                 time.Time
}

// Env is what a command works on: the database, the key of the log's
// hashes, the administrator acting (an export is itself logged), and
// where its output goes.
type Env struct {
	DB    *sqldb.DB
	Keys  MAC
	Actor Actor
	Out   io.Writer
	JSON  bool
}

// Commands are the subcommands of `gosid audit`, each run by run, which
// parses the options Register adds and calls Check and Run. The log's
// hashes are keyed with the keys.Manager, so both take the keys options.
func Commands(run func(ctx context.Context, env *cmdline.Env, args []string, c *Command) int) []cmdline.Command {
	subs := []struct {
		name, synopsis, help string
		json                 bool
	}{
		{"verify", "check every hash chain of the activity log and name each chain's first broken entry",
			"Checks every chain of the activity log (accounts' entries are spread over several chains, each on its own): " +
				"each entry's keyed hash against its content, each entry's link to the one before, numbering without gaps, and the chain's head " +
				"naming its last entry. Prints one line per chain. Exits 0 when every chain is intact, 1 naming each broken chain's first broken entry. " +
				"Reads only, and may run while serve runs.", true},
		{"export", "write one account's activity log as CSV to stdout",
			"Writes an account's activity log as CSV (UTF-8 with BOM, for Excel) to stdout, newest first, " +
				"with times in Moscow time. The export itself is recorded in the account's log.", false},
	}
	out := make([]cmdline.Command, 0, len(subs))
	for _, sc := range subs {
		out = append(out, cmdline.Command{Name: sc.name, Synopsis: sc.synopsis, Run: func(ctx context.Context, env *cmdline.Env, args []string) int {
			// A fresh Command per run: it holds the parsed options.
			return run(ctx, env, args, &Command{Name: "audit " + sc.name, Synopsis: sc.synopsis, Help: sc.help, JSON: sc.json, sub: sc.name})
		}})
	}
	return out
}

// Register adds the subcommand's options to s (after the storage, keys
// and log options cmd/gosid adds, and --json where JSON says).
func (c *Command) Register(s *cmdline.Set) {
	c.s = s
	if c.sub == "export" {
		s.String(&c.accountID, "account", "", "The account id.")
		s.String(&c.since, "since", "", "Only entries from this day on, YYYY-MM-DD (Moscow time).")
		s.Enum(&c.lang, "lang", "ru", []string{"ru", "en"}, "Language of the header, the actions and the actors.")
	}
}

// Check adds the problems of the options given, each naming its option.
func (c *Command) Check(p *cmdline.Problems) {
	if c.sub != "export" {
		return
	}
	p.Required(c.s, "account", c.accountID)
	if c.since != "" {
		var err error
		if c.from, err = time.ParseInLocation("2006-01-02", c.since, moscow); err != nil {
			p.Add("%s: %q is not a date YYYY-MM-DD", c.s.Source("since"), c.since)
		}
	}
}

// Run does the subcommand. verify returns cmdline.ErrReported (exit 1)
// when a chain is broken, after printing the report.
func (c *Command) Run(ctx context.Context, env Env) error {
	log := New(env.DB, env.Keys, time.Now)
	if c.sub == "export" {
		csv, err := log.Export(ctx, c.accountID, c.from, c.lang, env.Actor, "cli")
		if err == nil {
			_, err = env.Out.Write(csv)
		}
		return err
	}
	rep, err := log.Verify(ctx, nil)
	switch {
	case err != nil:
		return err
	case env.JSON:
		cmdline.WriteJSON(env.Out, rep)
	default:
		rep.WriteText(env.Out)
	}
	if !rep.OK {
		return cmdline.ErrReported
	}
	return nil
}
