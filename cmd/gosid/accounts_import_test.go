package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestAccountsImport: `gosid accounts import` of a CSV and a JSONL file
// with good and bad lines loads the good ones, names each bad one's line
// and field on stderr (never a value) and exits 1; a re-run loads nothing
// new; an imported account signs in with its password, and its SNILS is a
// claim; --dry-run writes nothing; bad options are refused before
// anything is opened.
func TestAccountsImport(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir}}
		c.ok("migrate")
		accountsImport(t, c, dir, "")
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		dir := t.TempDir()
		accountsImport(t, cli{t, []string{"--data-dir", dir, "--database-url", url}}, dir, url)
	})
}

func accountsImport(t *testing.T, c cli, dir, url string) {
	ctx := context.Background()
	db, km := commandKeys(t, dir, url)
	accounts := account.NewStore(db, km, time.Now)
	const pw = "Vt9#kqzmRw-long"
	// A hash with cheap parameters, as another system might have stored.
	cheap, err := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := cheap.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}

	csvFile := writeFile(t, dir, "accounts.csv", "external_id,phone,email,password_hash,password,family_name,given_name,snils\n"+
		"a1,+79161112233,anna@example.ru,\""+hash+"\",,Иванова,Анна,112-233-445 95\n"+ // 2: good
		"a2,+79161112234,,,"+pw+",Петров,Пётр,\n"+ // 3: good, plain password
		"a3,+7 495 123-45-67,vera@example.ru,\""+hash+"\",,Верина,Вера,\n"+ // 4: a landline
		"a4,+79161112235,Anna@Example.ru,\""+hash+"\",,Аннина,Анна,\n"+ // 5: anna's e-mail again
		"a5,+79161112236,,\"$argon2id$v=19$m=1,t=1,p=1$x$y\",,Глебов,Глеб,\n"+ // 6: a malformed hash
		"a6,,,\""+hash+"\",,Дмитриев,Дмитрий,\n") // 7: no contact
	jsonlFile := writeFile(t, dir, "more.jsonl",
		`{"phone":"+79170000001","email":"olga@example.ru","password_hash":"`+hash+`","family_name":"Ольгина","given_name":"Ольга"}`+"\n"+ // 1: good
			`{"phone":"+79170000002","password_hash":"`+hash+`","family_name":"Павлов","given_name":"Павел","snils":"112-233-445 96"}`+"\n"+ // 2: bad checksum
			`{"email":"olga@example.ru","password_hash":"`+hash+`","family_name":"Ольгина","given_name":"Ольга","nick":"o"}`+"\n") // 3: unknown field

	r := c.run("accounts", "import", "--contacts-verified", "--batch", "2", csvFile)
	for _, want := range []string{"line 4: phone: ", "line 5: email: ", "line 6: password_hash: ", "line 7: phone: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != exitFailed || r.stdout != "read 6, imported 2, skipped 0 (imported before), failed 4\n" || strings.Count(r.stderr, "\n") != 4 {
		t.Fatalf("CSV import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, secret := range []string{pw, hash, "$x$y", "112-233-445", "79161112", "nna@"} {
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("the output quotes a value (%q):\n%s", secret, r.stderr)
		}
	}
	r = c.run("accounts", "import", "--contacts-verified", jsonlFile) // format from the extension
	if r.code != exitFailed || r.stdout != "read 3, imported 1, skipped 0 (imported before), failed 2\n" ||
		!strings.Contains(r.stderr, "line 2: snils: ") || !strings.Contains(r.stderr, "line 3: nick: ") {
		t.Fatalf("JSONL import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Signed in with the password: the verified phone finds the account
	// and the stored hash verifies, whether imported as a hash or hashed
	// here with serve's parameters.
	for _, phone := range []string{"+79161112233", "+79161112234", "+79170000001"} {
		acc, err := accounts.FindByLogin(ctx, account.Phone, phone)
		if err != nil {
			t.Fatalf("%s: %v", phone, err)
		}
		if ok, _, err := cheap.Verify(ctx, acc.PasswordHash, pw); !ok || err != nil {
			t.Errorf("%s: the password does not verify (%v)", phone, err)
		}
		if acc.Level != assurance.Simplified || acc.SNILSVerified() {
			t.Errorf("%s: level %s, SNILS verified %v", phone, acc.Level, acc.SNILSVerified())
		}
	}
	if anna, _ := accounts.FindByLogin(ctx, account.Phone, "+79161112233"); anna.SNILS != "112-233-445 95" {
		t.Errorf("Anna's SNILS claim: %q", anna.SNILS)
	}
	var show struct {
		Level           string `json:"level"`
		SNILS           string `json:"snils"`
		SNILSVerifiedBy string `json:"snils_verified_by"`
	}
	c.json(&show, "accounts", "show", "anna@example.ru")
	if show.Level != "simplified" || show.SNILS == "" || show.SNILSVerifiedBy != "" {
		t.Errorf("accounts show: %+v", show)
	}

	// Re-runs: nothing new.
	if r := c.run("accounts", "import", "--contacts-verified", "--format", "csv", csvFile); r.code != exitFailed ||
		r.stdout != "read 6, imported 0, skipped 2 (imported before), failed 4\n" {
		t.Errorf("CSV again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c.run("accounts", "import", "--contacts-verified", jsonlFile); r.stdout != "read 3, imported 0, skipped 1 (imported before), failed 2\n" {
		t.Errorf("JSONL again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := countRows(t, db, "accounts"); n != 3 {
		t.Errorf("%d accounts after the re-runs, want 3", n)
	}

	// A dry run of a good file: counted, not written; --json.
	good := writeFile(t, dir, "good.jsonl", `{"phone":"+79180000001","password_hash":"`+hash+`","family_name":"Жуков","given_name":"Жан"}`+"\n")
	var rep struct {
		Read, Imported, Failed int
		DryRun                 bool `json:"dry_run"`
		Problems               []any
	}
	c.json(&rep, "accounts", "import", "--dry-run", good)
	if rep.Read != 1 || rep.Imported != 1 || rep.Failed != 0 || !rep.DryRun || rep.Problems == nil || countRows(t, db, "accounts") != 3 {
		t.Errorf("dry run: %+v, %d accounts", rep, countRows(t, db, "accounts"))
	}
	if out := c.ok("accounts", "import", good); out != "read 1, imported 1, skipped 0 (imported before), failed 0\n" {
		t.Errorf("good file: %q", out)
	}
	// Imported unverified: the phone does not sign in until confirmed.
	if _, err := accounts.FindByLogin(ctx, account.Phone, "+79180000001"); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("an unverified imported phone signs in: %v", err)
	}

	// Refused before anything is opened or read.
	for _, bad := range [][]string{{}, {csvFile, jsonlFile}, {"--batch", "0", csvFile}, {"--format", "xml", csvFile}, {"--argon2-memory", "1", csvFile}} {
		if r := c.run(append([]string{"accounts", "import"}, bad...)...); r.code != exitConfig {
			t.Errorf("accounts import %v: exit %d, want %d\n%s", bad, r.code, exitConfig, r.stderr)
		}
	}
	bad := writeFile(t, dir, "bad.csv", "phone,nickname\n+79161112233,x\n")
	if r := c.run("accounts", "import", bad); r.code != exitConfig || !strings.Contains(r.stderr, `unknown field "nickname"`) {
		t.Errorf("unknown column: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("accounts", "import", dir+"/missing.csv"); r.code != exitConfig {
		t.Errorf("missing file: exit %d\n%s", r.code, r.stderr)
	}
}

func countRows(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
