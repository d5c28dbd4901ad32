package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gosid/gosid/cmd/gosid/internal/config"
	"github.com/gosid/gosid/idp/audit"
)

func runAudit(ctx context.Context, env *environment, args []string) int {
	return dispatch(ctx, env, "audit", args, []command{
		{"verify", "check every hash chain of the activity log and name each chain's first broken entry", runAuditVerify},
		{"export", "write one account's activity log as CSV to stdout", runAuditExport},
	})
}

// The activity log's hashes are keyed with the keys.Manager, so the audit
// commands take the same options as the keys commands.

func runAuditVerify(ctx context.Context, env *environment, args []string) int {
	var k keysCommand
	s := k.flags("audit verify", "Checks every chain of the activity log (accounts' entries are spread over several chains, each on its own): "+
		"each entry's keyed hash against its content, each entry's link to the one before, numbering without gaps, and the chain's head "+
		"naming its last entry. Prints one line per chain. Exits 0 when every chain is intact, 1 naming each broken chain's first broken entry. "+
		"Reads only, and may run while serve runs.")
	s.Bool(&k.JSON, "json", false, "Print the report as JSON.")
	if code, ok := k.prepare(ctx, env, s, args, nil); !ok {
		return code
	}
	km, db, done, code, err := k.open(ctx, env)
	if err != nil {
		return env.fail(code, err)
	}
	defer done()
	rep, err := audit.New(db, km, time.Now).Verify(ctx, nil)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	if k.JSON {
		writeJSON(env.stdout, rep)
	} else {
		for _, c := range rep.Chains {
			if c.OK {
				fmt.Fprintf(env.stdout, "chain %d: %s, intact\n", c.Chain, entries(c.Entries))
			} else {
				fmt.Fprintf(env.stdout, "chain %d: entry %d is broken: %s\n", c.Chain, c.FirstBroken, c.Reason)
			}
		}
		if rep.OK {
			fmt.Fprintf(env.stdout, "audit log: %s in %d chains, every chain intact\n", entries(rep.Entries), len(rep.Chains))
		} else {
			fmt.Fprintf(env.stdout, "audit log: %s in %d chains, %d broken\n", entries(rep.Entries), len(rep.Chains), len(rep.Broken()))
		}
	}
	if !rep.OK {
		return exitFailed
	}
	return exitOK
}

// entries counts entries in English.
func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func runAuditExport(ctx context.Context, env *environment, args []string) int {
	var k keysCommand
	var accountID, since, lang string
	s := k.flags("audit export", "Writes an account's activity log as CSV (UTF-8 with BOM, for Excel) to stdout, newest first, "+
		"with times in Moscow time. The export itself is recorded in the account's log.")
	s.String(&accountID, "account", "", "The account id.")
	s.String(&since, "since", "", "Only entries from this day on, YYYY-MM-DD (Moscow time).")
	s.Enum(&lang, "lang", "ru", []string{"ru", "en"}, "Language of the header, the actions and the actors.")
	var from time.Time
	code, ok := k.prepare(ctx, env, s, args, func(p *config.Problems) {
		if accountID == "" {
			p.Add("%s: required", s.Source("account"))
		}
		if since != "" {
			var err error
			if from, err = time.ParseInLocation("2006-01-02", since, time.FixedZone("MSK", 3*3600)); err != nil {
				p.Add("%s: %q is not a date YYYY-MM-DD", s.Source("since"), since)
			}
		}
	})
	if !ok {
		return code
	}
	km, db, done, code, err := k.open(ctx, env)
	if err != nil {
		return env.fail(code, err)
	}
	defer done()
	log := audit.New(db, km, time.Now)
	entries, err := log.List(ctx, accountID, from, 0)
	if err != nil {
		return env.fail(exitFailed, err)
	}
	var buf bytes.Buffer
	if err := audit.WriteCSV(&buf, entries, lang); err != nil {
		return env.fail(exitFailed, err)
	}
	if len(entries) > 0 {
		// Reading a citizen's log is itself an access to their data: it
		// is recorded before the data leaves.
		_, err := log.Append(ctx, db, audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorAdmin, ID: auditAdmin(env)},
			Action: audit.ActionExportDownloaded, Detail: map[string]string{"what": "activity_log", "via": "cli"}})
		if err != nil {
			return env.fail(exitFailed, err)
		}
	}
	if _, err := env.stdout.Write(buf.Bytes()); err != nil {
		return env.fail(exitFailed, err)
	}
	return exitOK
}

// auditAdmin names the administrator for the log: the login user ($USER),
// or "" when unknown.
func auditAdmin(env *environment) string {
	for _, kv := range env.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "USER" {
			return v
		}
	}
	return ""
}
