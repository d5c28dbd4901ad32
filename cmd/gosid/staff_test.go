package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestStaffCommands: gosid orgs add (flags and a YAML file), list,
// update; gosid staff grant, list, revoke by a login; every bad input
// named by its option; on SQLite and on PostgreSQL.
func TestStaffCommands(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir}}
		c.ok("migrate")
		staffCommands(t, c, dir, "")
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir, "--database-url", url}}
		c.ok("migrate")
		staffCommands(t, c, dir, url)
	})
}

func staffCommands(t *testing.T, c cli, dir, url string) {
	ctx := context.Background()
	db, km := commandKeys(t, dir, url)
	accounts := account.NewStore(db, km, time.Now)
	phone := "+79161234567"
	if url != "" {
		phone = "+79161234568" // the PostgreSQL cluster is shared by the package's tests
	}
	op, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Петрова", Given: "Анна"}, Phone: account.Contact{Value: phone, VerifiedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := accounts.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, Email: account.Contact{Value: "ivanov" + phone[8:] + "@example.ru", VerifiedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.SetLevel(ctx, op.ID, op.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}

	c.ok("orgs", "add", "--code", "mfc-77-001", "--kind", "service_centre", "--name-ru", "МФЦ Тверской", "--region", "77",
		"--address", "Москва, ул. Тверская, 1", "--hours", "пн–пт 8:00–20:00")
	config := filepath.Join(dir, "agency.yaml")
	if err := os.WriteFile(config, []byte("code: agency-x\nkind: agency\nname-ru: Ведомство Икс\nname-en: Agency X\nregion: 77\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("orgs", "add", "--config", config)
	if r := c.run("orgs", "add", "--config", config); r.code != exitConfig || !strings.Contains(r.stderr, "line 1: code: organisation \"agency-x\" exists already") {
		t.Errorf("adding a code again: %d %s", r.code, r.stderr)
	}
	lines := problems(t, c.run("orgs", "add", "--code", "MFC", "--kind", "bank", "--region", "7", "--hours", "a\nb"))
	text := strings.Join(lines, "\n")
	for _, want := range []string{"flag --code:", "flag --kind:", "flag --region:", "flag --hours:", "--name-ru is required"} {
		if !strings.Contains(text, want) {
			t.Errorf("orgs add with bad options: no %q in\n%s", want, text)
		}
	}
	if lines := problems(t, c.run("orgs", "add", "--config", writeFile(t, dir, "bad.yaml", "code: x y\nkind: agency\nname-ru: X\nregion: 77\n"))); len(lines) != 1 || !strings.Contains(lines[0], "line 1: code:") {
		t.Errorf("a bad code in the file: %v", lines)
	}
	if out := c.ok("orgs", "list"); !strings.Contains(out, "agency-x    agency          77      Ведомство Икс") || !strings.Contains(out, "mfc-77-001") {
		t.Fatalf("orgs list:\n%s", out)
	}
	if out := c.ok("orgs", "list", "--kind", "service_centre", "--region", "77"); strings.Contains(out, "agency-x") || !strings.Contains(out, "Москва, ул. Тверская, 1") {
		t.Fatalf("orgs list --kind service_centre:\n%s", out)
	}
	problems(t, c.run("orgs", "list", "--kind", "bank"))
	c.ok("orgs", "update", "--code", "mfc-77-001", "--hours", "ежедневно 9:00–21:00")
	var orgs []struct{ Code, Kind, Name_RU, Address, Hours string }
	c.json(&orgs, "orgs", "list", "--region", "77", "--kind", "service_centre")
	if len(orgs) != 1 || orgs[0].Hours != "ежедневно 9:00–21:00" || orgs[0].Address != "Москва, ул. Тверская, 1" || orgs[0].Name_RU != "МФЦ Тверской" {
		t.Fatalf("after update (only --hours changed): %+v", orgs)
	}
	problems(t, c.run("orgs", "update", "--code", "mfc-77-001"))
	if r := c.run("orgs", "update", "--code", "nope", "--hours", "x"); r.code != exitConfig || !strings.Contains(r.stderr, "flag --code: no organisation") {
		t.Errorf("updating an unknown org: %d %s", r.code, r.stderr)
	}

	// The activity log and the list name the administrator ($USER).
	if code := run(ctx, append([]string{"staff", "grant", "--login", phone, "--role", "operator", "--org", "mfc-77-001"}, c.base...),
		[]string{"USER=admin-ivanova"}, io.Discard, io.Discard); code != exitOK {
		t.Fatalf("staff grant: exit %d", code)
	}
	c.ok("staff", "grant", "--login", phone, "--role", "operator", "--org", "mfc-77-001") // twice: one role
	c.ok("staff", "grant", "--login", op.ID, "--role", "officer", "--org", "agency-x")
	for _, bad := range []struct{ args, want string }{
		{"--login " + plain.Email.Value + " --role operator --org mfc-77-001", "flag --login: the account is at level simplified"},
		{"--login +79990000000 --role operator --org mfc-77-001", "flag --login: no account with that phone"},
		{"--login " + phone + " --role officer --org mfc-77-001", "--role: a service_centre has no \"officer\" role"},
		{"--login " + phone + " --role operator --org nope", "flag --org: no organisation \"nope\""},
		{"--login " + phone + " --role boss --org mfc-77-001", "flag --role: \"boss\" is not one of"},
		{"--role operator", "--login is required"},
		{"--login nonsense --role operator --org mfc-77-001", "flag --login: \"nonsense\" is neither an account id nor a phone, e-mail or SNILS"},
	} {
		if r := c.run(append([]string{"staff", "grant"}, strings.Fields(bad.args)...)...); r.code != exitConfig || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("staff grant %s: %d %s", bad.args, r.code, r.stderr)
		}
	}
	out := c.ok("staff", "list", "--org", "mfc-77-001")
	if !strings.Contains(out, op.ID) || !strings.Contains(out, "Петрова Анна") || !strings.Contains(out, "operator") || strings.Contains(out, phone) ||
		!strings.Contains(out, "+7 (916) ***-**-"+phone[10:]) || strings.Contains(out, "officer") {
		t.Fatalf("staff list --org:\n%s", out)
	}
	var members []struct{ Account_ID, Login, Role, Org, Granted_By string }
	c.json(&members, "staff", "list")
	if len(members) != 2 || members[0].Org != "agency-x" || members[1].Role != "operator" || members[1].Granted_By != "admin-ivanova" {
		t.Fatalf("staff list: %+v", members)
	}
	c.ok("staff", "revoke", "--login", phone, "--role", "operator", "--org", "mfc-77-001")
	if r := c.run("staff", "revoke", "--login", phone, "--role", "operator", "--org", "mfc-77-001"); r.code != exitConfig || !strings.Contains(r.stderr, "holds no operator role") {
		t.Errorf("revoking again: %d %s", r.code, r.stderr)
	}
	if out := c.ok("staff", "list", "--org", "mfc-77-001"); strings.Contains(out, op.ID) {
		t.Fatalf("staff list after revoke:\n%s", out)
	}
	entries, err := audit.New(db, km, time.Now).List(ctx, op.ID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range entries {
		if e.Actor.Kind == audit.ActorAdmin {
			acts = append(acts, e.Action)
		}
	}
	if strings.Join(acts, " ") != "staff.revoked staff.granted staff.granted" && strings.Join(acts, " ") != "staff.granted staff.granted staff.revoked" {
		t.Fatalf("activity log: %v", acts)
	}
}

// TestClientsStaffRoles: --staff-roles only with --first-party, the
// problem naming the flag; shown and changed by update.
func TestClientsStaffRoles(t *testing.T) {
	dir := t.TempDir()
	c := cli{t, []string{"--data-dir", dir}}
	c.ok("migrate")
	base := []string{"clients", "create", "--id", "backoffice", "--name", "Портал: кабинет ведомства", "--redirect-uri", "https://portal.example.ru/cb"}
	lines := problems(t, c.run(append(base, "--staff-roles")...))
	if len(lines) != 1 || !strings.Contains(lines[0], "flag --staff-roles: only a first-party client") {
		t.Fatalf("staff roles for a third-party client: %v", lines)
	}
	c.ok(append(base, "--staff-roles", "--first-party")...)
	if out := c.ok("clients", "show", "backoffice"); !strings.Contains(out, "gosid_roles claim") {
		t.Fatalf("show:\n%s", out)
	}
	lines = problems(t, c.run("clients", "update", "backoffice", "--first-party=false"))
	if len(lines) != 1 || !strings.Contains(lines[0], "--staff-roles (current value)") {
		t.Fatalf("dropping first party under staff roles: %v", lines)
	}
	c.ok("clients", "update", "backoffice", "--first-party=false", "--staff-roles=false")
	if out := c.ok("clients", "show", "backoffice"); strings.Contains(out, "gosid_roles") {
		t.Fatalf("show after update:\n%s", out)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAccessCodeServed: `gosid serve` mounts the temporary access code's
// pages: the citizen's without a session, the operator's behind the staff
// gate.
func TestAccessCodeServed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		idp := startIdP(t, db, newMasterKey(t), sqldbtest.NewClock(time.Now()))
		b := newBrowser(t, idp)
		// The sign-in page leads there: a citizen who lost their phone
		// comes with the code an operator gave them.
		if p := b.get("/login"); p.Status != 200 || !strings.Contains(p.Body, `href="/access-code"`) {
			t.Fatalf("/login: %d, no link to /access-code", p.Status)
		}
		if p := b.get("/access-code"); p.Status != 200 || !strings.Contains(p.Body, "Вход по коду доступа") {
			t.Fatalf("/access-code: %d", p.Status)
		}
		if p := b.get("/desk/access-code?account=x"); p.Status != 302 || !strings.HasPrefix(p.Location, "/login?next=") {
			t.Fatalf("/desk/access-code without a session: %d %q", p.Status, p.Location)
		}
		if p := b.get("/static/access-code.css"); p.Status != 200 {
			t.Fatalf("/static/access-code.css: %d", p.Status)
		}
	})
}
