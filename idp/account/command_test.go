package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/cmdline"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// runAccounts runs `gosid accounts args…` on db as cmd/gosid wires it,
// less the storage options, with environ as the process's environment.
func runAccounts(t *testing.T, db *sqldb.DB, km *keys.Manager, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cmdline.Env{Prog: "gosid", Environ: environ, Stdout: &out, Stderr: &errOut}
	ctx := context.Background()
	code := cmdline.Dispatch(ctx, env, "accounts", args, account.Commands(func(ctx context.Context, env *cmdline.Env, args []string, cmd *account.Command) int {
		var asJSON bool
		s := cmdline.NewSet("gosid "+cmd.Name, cmd.Help)
		s.Bool(&asJSON, "json", false, "Print JSON.")
		cmd.Register(s)
		return env.Run(s, args, cmd.Check, func() error {
			return cmd.Run(ctx, account.Env{DB: db, Keys: km, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Actor: op, Out: env.Stdout, JSON: asJSON})
		})
	}))
	return code, out.String(), errOut.String()
}

// TestAccountsCommand: `gosid accounts` creates an account with verified contacts
// through the operators' side, refuses bad options (each naming its
// option) and a taken phone without writing, finds an account by any of
// its verified logins, blocks, unblocks and erases it with the operator in the
// activity log, and reports a missing account as a failure, not a usage
// error.
func TestAccountsCommand(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		km := newKeys(t, db)
		st := account.NewStore(db, km, time.Now)
		pw := []string{"GOSID_PASSWORD=Vt9#kqzmRw-long"}
		create := []string{"create", "--phone", "8 (916) 111-22-33", "--email", "anna@example.ru", "--family-name", "иванова",
			"--given-name", "Анна", "--birthdate", "1990-05-17", "--snils", "112-233-445 95"}

		code, stdout, stderr := runAccounts(t, db, km, pw, "create", "--phone", "12", "--family-name", "Ivanova", "--given-name", "Анна", "--snils", "1")
		if want := "gosid: flag --phone: Mobile phone: enter the number as +7 (912) 345-67-89\n" +
			"gosid: flag --family-name: Surname: use Cyrillic letters only, as in the passport\n" +
			"gosid: flag --snils: SNILS: enter 11 digits in the format 123-456-789 01\n"; code != cmdline.ExitConfig || stdout != "" || stderr != want {
			t.Fatalf("bad options: exit %d %q %q, want %q", code, stdout, stderr, want)
		}
		if code, _, stderr := runAccounts(t, db, km, nil, create...); code != cmdline.ExitConfig || !strings.Contains(stderr, "Password") {
			t.Fatalf("no password: exit %d %q", code, stderr)
		}
		if _, err := st.FindByLogin(ctx, account.Phone, "+79161112233"); err == nil {
			t.Fatal("a refused create wrote an account")
		}

		code, stdout, stderr = runAccounts(t, db, km, pw, append(create, "--json")...)
		var v account.OperatorView
		if err := json.Unmarshal([]byte(stdout), &v); code != cmdline.ExitOK || err != nil {
			t.Fatalf("create: exit %d %v %q %q", code, err, stdout, stderr)
		}
		acc, err := st.Get(ctx, v.ID)
		if err != nil || acc.Phone.Value != "+79161112233" || acc.Phone.VerifiedAt.IsZero() || acc.Email.VerifiedAt.IsZero() ||
			acc.Name.Family != "Иванова" || acc.SNILS != "112-233-445 95" || acc.SNILSVerified() || v.SNILS != "112-***-*** 95" {
			t.Fatalf("created: %+v, %v", v, err)
		}

		taken := append([]string{}, create...)
		taken[4] = "olga@example.ru"
		if code, stdout, stderr := runAccounts(t, db, km, pw, taken...); code != cmdline.ExitFailed || stdout != "" ||
			stderr != "gosid: the phone already belongs to another account\n" {
			t.Fatalf("a taken phone: exit %d %q %q", code, stdout, stderr)
		}
		if _, err := st.FindByLogin(ctx, account.Email, "olga@example.ru"); err == nil {
			t.Fatal("a refused create wrote its e-mail")
		}

		for _, login := range []string{v.ID, "+7 916 111-22-33", "Anna@Example.ru"} {
			code, stdout, stderr := runAccounts(t, db, km, nil, "show", login)
			if code != cmdline.ExitOK || !strings.HasPrefix(stdout, "id         "+v.ID+"\nstatus     active\n") {
				t.Errorf("show %q: exit %d %q %q", login, code, stdout, stderr)
			}
		}
		// A claimed SNILS is no login until evidence verifies it.
		if code, _, stderr := runAccounts(t, db, km, nil, "show", "112-233-445 95"); code != cmdline.ExitFailed || stderr != "gosid: no account with that snils\n" {
			t.Errorf("show by an unverified SNILS: exit %d %q", code, stderr)
		}
		for _, args := range [][]string{{"show"}, {"lock", "a", "b"}, {"delete"}} {
			if code, _, stderr := runAccounts(t, db, km, nil, args...); code != cmdline.ExitConfig ||
				stderr != "gosid: give exactly one account: its id, phone, e-mail or SNILS\n" {
				t.Errorf("%v: exit %d %q", args, code, stderr)
			}
		}
		if code, _, stderr := runAccounts(t, db, km, nil, "lock", "nobody@example.ru"); code != cmdline.ExitFailed ||
			stderr != "gosid: no account with that email\n" {
			t.Fatalf("lock of no account: exit %d %q", code, stderr)
		}

		code, stdout, _ = runAccounts(t, db, km, nil, "lock", "anna@example.ru", "--json")
		if err := json.Unmarshal([]byte(stdout), &v); code != cmdline.ExitOK || err != nil || v.Status != string(account.StatusBlocked) {
			t.Fatalf("lock: exit %d %v %+v", code, err, v)
		}
		if acc, err := st.Get(ctx, v.ID); err != nil || acc.Status != account.StatusBlocked {
			t.Fatalf("after lock: %+v, %v", acc, err)
		}
		code, stdout, _ = runAccounts(t, db, km, nil, "unlock", v.ID)
		if acc, err := st.Get(ctx, v.ID); code != cmdline.ExitOK || err != nil || acc.Status != account.StatusActive ||
			!strings.Contains(stdout, "status     active\n") {
			t.Fatalf("unlock: exit %d %q %+v, %v", code, stdout, acc, err)
		}

		if code, stdout, _ := runAccounts(t, db, km, nil, "delete", "+79161112233"); code != cmdline.ExitOK || stdout != "Deleted account "+v.ID+".\n" {
			t.Fatalf("delete: exit %d %q", code, stdout)
		}
		if code, _, stderr := runAccounts(t, db, km, nil, "show", v.ID); code != cmdline.ExitFailed || stderr == "" {
			t.Fatalf("show after delete: exit %d %q", code, stderr)
		}

		entries, err := audit.New(db, km, time.Now).List(ctx, v.ID, time.Time{}, 0)
		if err != nil || len(entries) != 4 {
			t.Fatalf("activity log: %d entries, %v, want created, blocked, unblocked, erased", len(entries), err)
		}
		for _, e := range entries {
			if e.Actor != op {
				t.Errorf("%s by %+v, want the operator", e.Action, e.Actor)
			}
		}
	})
}
