package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// TestAuditCommands: `gosid audit verify` passes on an untouched log and
// names the first broken entry after a row is edited by hand in SQL.
func TestAuditCommands(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir}}
		c.ok("migrate")
		auditCommands(t, c, dir, "")
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		dir := t.TempDir()
		auditCommands(t, cli{t, []string{"--data-dir", dir, "--database-url", url}}, dir, url)
	})
}

// commandKeys makes the master key file in the data dir and opens the
// database and the keys.Manager from it as the commands open theirs, for
// a test to write what the server would; closed when the test ends.
func commandKeys(t *testing.T, dir, url string) (*sqldb.DB, *keys.Manager) {
	t.Helper()
	ctx := context.Background()
	mk, err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url, SQLitePath: filepath.Join(dir, "gosid.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	km, err := keys.Open(ctx, db, mk, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db, km
}

func auditCommands(t *testing.T, c cli, dir, url string) {
	ctx := context.Background()
	// The log the server would write.
	db, km := commandKeys(t, dir, url)
	log := audit.New(db, km, time.Now)
	for _, e := range []audit.Entry{
		{AccountID: "acc-1", Actor: audit.Actor{Kind: audit.ActorCitizen, ID: "acc-1"}, Action: audit.ActionContactChanged, Detail: map[string]string{"field": "phone"}, IP: "192.0.2.1"},
		{AccountID: "acc-1", Actor: audit.Actor{Kind: audit.ActorCitizen, ID: "acc-1"}, Action: audit.ActionPasswordChanged, IP: "192.0.2.1"},
		{AccountID: "acc-2", Actor: audit.Actor{Kind: audit.ActorOperator, ID: "op-1"}, Action: audit.ActionDocumentsUpdated, Detail: map[string]string{"fields": "passport"}},
	} {
		if _, err := log.Append(ctx, db, e); err != nil {
			t.Fatal(err)
		}
	}

	// acc-1's entries and acc-2's are in chains of their own.
	c1, c2 := audit.ChainOf("acc-1"), audit.ChainOf("acc-2")
	if c2 >= c1 {
		t.Fatalf("chains of acc-1 and acc-2: %d, %d; the test wants acc-2's first", c1, c2)
	}
	if out, want := c.ok("audit", "verify"), fmt.Sprintf("chain %d: 1 entry, intact\nchain %d: 2 entries, intact\n"+
		"audit log: 3 entries in 2 chains, every chain intact\n", c2, c1); out != want {
		t.Errorf("verify: %q, want %q", out, want)
	}

	r := c.run("audit", "export", "--account", "acc-1", "--lang", "en")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "\uFEFFDate and time (Moscow),Action,By,IP address,Details\r\n") ||
		!strings.Contains(r.stdout, ",Password changed,You,192.0.2.1,") || !strings.Contains(r.stdout, ",Phone number changed,You,192.0.2.1,field=phone") {
		t.Errorf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The export is recorded in the account's log.
	if list, err := log.List(ctx, "acc-1", time.Time{}, 1); err != nil || len(list) != 1 || list[0].Action != audit.ActionExportDownloaded || list[0].Actor.Kind != audit.ActorAdmin {
		t.Errorf("export not recorded: %v %v", list, err)
	}
	if out, want := c.ok("audit", "verify"), fmt.Sprintf("chain %d: 1 entry, intact\nchain %d: 3 entries, intact\n"+
		"audit log: 4 entries in 2 chains, every chain intact\n", c2, c1); out != want {
		t.Errorf("verify after export: %q, want %q", out, want)
	}

	if _, err := db.Exec(ctx, `UPDATE audit_log SET detail = '{"field":"email"}' WHERE chain = $1 AND seq = 2`, c1); err != nil {
		t.Fatal(err)
	}
	r = c.run("audit", "verify")
	if want := fmt.Sprintf("chain %d: 1 entry, intact\nchain %d: entry 2 is broken: entry 2: hash does not match its content (edited?)\n"+
		"audit log: 4 entries in 2 chains, 1 broken\n", c2, c1); r.code != exitFailed || r.stdout != want {
		t.Errorf("verify after an edit: exit %d\n%s%s\nwant\n%s", r.code, r.stdout, r.stderr, want)
	}
	r = c.run("audit", "verify", "--json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitFailed || rep.OK || rep.Entries != 4 || len(rep.Chains) != 2 ||
		rep.Chains[0] != (audit.ChainReport{Chain: c2, Entries: 1, OK: true}) ||
		rep.Chains[1] != (audit.ChainReport{Chain: c1, Entries: 3, FirstBroken: 2, Reason: "entry 2: hash does not match its content (edited?)"}) {
		t.Errorf("verify --json: exit %d, %+v, %v\n%s", r.code, rep, err, r.stdout)
	}
}

func TestAuditProblems(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	for _, args := range [][]string{
		{"audit", "export"},
		{"audit", "export", "--account", "acc-1", "--since", "22.11.2026"},
		{"audit", "export", "--account", "acc-1", "--lang", "de"},
		{"audit", "frobnicate"},
	} {
		if r := c.run(args...); r.code != exitConfig || r.stderr == "" {
			t.Errorf("gosid %s: exit %d, want %d with a message\n%s", strings.Join(args, " "), r.code, exitConfig, r.stderr)
		}
	}
	if r := c.run("audit", "--help"); r.code != exitOK || !strings.Contains(r.stdout, "verify") {
		t.Errorf("audit --help: exit %d\n%s", r.code, r.stdout)
	}
}
