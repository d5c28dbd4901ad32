package main

import (
	"context"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/cmdline"
)

func runAudit(ctx context.Context, env *cmdline.Env, args []string) int {
	return cmdline.Dispatch(ctx, env, "audit", args, []cmdline.Command{
		{Name: "verify", Synopsis: "check every hash chain of the activity log and name each chain's first broken entry", Run: runAuditVerify},
		{Name: "export", Synopsis: "write one account's activity log as CSV to stdout", Run: runAuditExport},
	})
}

// The activity log's hashes are keyed with the keys.Manager, so the audit
// commands take the same options as the keys commands.

func runAuditVerify(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	s := c.flags("audit verify", "Checks every chain of the activity log (accounts' entries are spread over several chains, each on its own): "+
		"each entry's keyed hash against its content, each entry's link to the one before, numbering without gaps, and the chain's head "+
		"naming its last entry. Prints one line per chain. Exits 0 when every chain is intact, 1 naming each broken chain's first broken entry. "+
		"Reads only, and may run while serve runs.", true)
	return c.run(ctx, env, s, args, true, nil, func(o opened) error {
		rep, err := audit.New(o.db, o.km, time.Now).Verify(ctx, nil)
		switch {
		case err != nil:
			return err
		case c.JSON:
			cmdline.WriteJSON(env.Stdout, rep)
		default:
			rep.WriteText(env.Stdout)
		}
		if !rep.OK {
			return cmdline.ErrReported
		}
		return nil
	})
}

func runAuditExport(ctx context.Context, env *cmdline.Env, args []string) int {
	var c dbCommand
	var accountID, since, lang string
	s := c.flags("audit export", "Writes an account's activity log as CSV (UTF-8 with BOM, for Excel) to stdout, newest first, "+
		"with times in Moscow time. The export itself is recorded in the account's log.", false)
	s.String(&accountID, "account", "", "The account id.")
	s.String(&since, "since", "", "Only entries from this day on, YYYY-MM-DD (Moscow time).")
	s.Enum(&lang, "lang", "ru", []string{"ru", "en"}, "Language of the header, the actions and the actors.")
	var from time.Time
	return c.run(ctx, env, s, args, true, func(p *cmdline.Problems) {
		p.Required(s, "account", accountID)
		if since != "" {
			var err error
			if from, err = time.ParseInLocation("2006-01-02", since, time.FixedZone("MSK", 3*3600)); err != nil {
				p.Add("%s: %q is not a date YYYY-MM-DD", s.Source("since"), since)
			}
		}
	}, func(o opened) error {
		csv, err := audit.New(o.db, o.km, time.Now).Export(ctx, accountID, from, lang, operator(env), "cli")
		if err == nil {
			_, err = env.Stdout.Write(csv)
		}
		return err
	})
}
