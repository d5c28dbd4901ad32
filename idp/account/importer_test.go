package account_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// importPassword is the password of the test records; importHash a hash
// of it made with the tests' fast parameters.
const importPassword = "Vt9#kqzmRw-long"

var importHash, _ = fastHasher.Hash(context.Background(), importPassword)

// importCSV: two good records and one bad of each kind the brief names,
// the line of each in the comment.
func importCSV() string {
	return "\uFEFFexternal_id,phone,email,password_hash,password,family_name,given_name,middle_name,birthdate,snils\n" + // 1
		"old-1,+79161112233,anna@example.ru,\"" + importHash + "\",,Иванова,Анна,Петровна,1990-05-17,112-233-445 95\n" + // 2: good
		"old-2,,boris@example.ru,,\"" + importPassword + "\",Борисов,Борис,,,\n" + // 3: good, plain password
		"old-3,+74951234567,vera@example.ru,\"" + importHash + "\",,Верина,Вера,,,\n" + // 4: a landline
		"old-4,+79161112299,ANNA@example.ru,\"" + importHash + "\",,Аннина,Анна,,,\n" + // 5: anna's e-mail again
		"old-5,+79161112200,gleb@example.ru,\"$argon2id$v=19$m=0,t=1$bad\",,Глебов,Глеб,,,\n" + // 6: a malformed hash
		"old-6,,,\"" + importHash + "\",,Дмитриев,Дмитрий,,,\n" // 7: no contact
}

// importJSONL: the same kinds of lines, and the reader's own problems.
func importJSONL() string {
	return `{"phone":"+79170000001","email":"olga@example.ru","password_hash":"` + importHash + `","family_name":"Ольгина","given_name":"Ольга","snils":"112-233-445 95"}` + "\n" + // 1: good; the SNILS Anna claims too
		`{"phone":"8 917 000-00-02","password":"` + importPassword + `","family_name":"Павлов","given_name":"Павел","inn":"500100732259","passport_series":"4508","passport_number":"123456"}` + "\n" + // 2: good
		"\n" + // 3: blank
		`{"phone":"+7 (812) 000-00-03","password_hash":"` + importHash + `","family_name":"Романов","given_name":"Роман"}` + "\n" + // 4: a landline
		`{"email":"Olga@Example.ru","password_hash":"` + importHash + `","family_name":"Семёнова","given_name":"Ольга"}` + "\n" + // 5: olga's e-mail again
		`{"phone":"+79170000006","password_hash":"$argon2i$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA","family_name":"Тимофеев","given_name":"Тимофей"}` + "\n" + // 6: argon2i
		`{"password_hash":"` + importHash + `","family_name":"Ульянов","given_name":"Ульян"}` + "\n" + // 7: no contact
		`{"phone":"+79170000008","password_hash":"` + importHash + `","family_name":"Фёдоров","given_name":"Фёдор","nickname":"fed"}` + "\n" + // 8: unknown field
		`{"phone":79170000009}` + "\n" + // 9: a number
		`not json` + "\n" // 10
}

type problemKey struct {
	Line  int
	Field string
}

// runImport imports text and returns the report and the problems' lines
// and fields, after checking that no problem quotes a secret or a value.
func runImport(t *testing.T, admin *account.Admin, format account.ImportFormat, text string, opts account.ImportOptions) (account.ImportReport, []problemKey) {
	t.Helper()
	r, err := account.NewImportReader(strings.NewReader(text), format)
	if err != nil {
		t.Fatal(err)
	}
	var got []problemKey
	opts.Problem = func(p account.ImportProblem) {
		got = append(got, problemKey{p.Line, p.Field})
		for _, secret := range []string{importPassword, importHash, "t=1$bad", "c2FsdHNhbHQ", "112-233-445", "9161112", "anna@", "olga@", "4508", "79170000009"} {
			if strings.Contains(p.RU+p.EN+p.Error(), secret) {
				t.Errorf("the problem of line %d quotes a value: %q / %q", p.Line, p.RU, p.EN)
			}
		}
		if p.RU == "" || p.EN == "" || p.RU == p.EN {
			t.Errorf("line %d: want a message in Russian and in English: %q / %q", p.Line, p.RU, p.EN)
		}
	}
	rep, err := admin.Import(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep, got
}

// TestImport: good records land, bad ones are reported with their line and
// field and the others go on; imported accounts sign in with their
// passwords, their SNILS is a claim and their level simplified; one
// activity-log entry each; a re-run imports nothing new.
func TestImport(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, st, log := newAdmin(t, db)
		opts := account.ImportOptions{ContactsVerified: true, Batch: 2}

		rep, problems := runImport(t, admin, account.ImportCSV, importCSV(), opts)
		wantProblems := []problemKey{{4, "phone"}, {5, "email"}, {6, "password_hash"}, {7, "phone"}}
		if want := (account.ImportReport{Read: 6, Imported: 2, Failed: 4}); rep != want || !slices.Equal(problems, wantProblems) {
			t.Fatalf("CSV: %+v, problems %v; want %+v, %v", rep, problems, want, wantProblems)
		}
		rep, problems = runImport(t, admin, account.ImportJSONL, importJSONL(), opts)
		wantProblems = []problemKey{{4, "phone"}, {5, "email"}, {6, "password_hash"}, {7, "phone"}, {8, "nickname"}, {9, "phone"}, {10, ""}}
		if want := (account.ImportReport{Read: 9, Imported: 2, Failed: 7}); rep != want || !slices.Equal(problems, wantProblems) {
			t.Fatalf("JSONL: %+v, problems %v; want %+v, %v", rep, problems, want, wantProblems)
		}

		// Every imported account signs in with its password (verified
		// contacts find it; the stored hash verifies), is simplified, has
		// its SNILS as a claim, and one «created» entry by the system.
		for _, login := range [][2]string{{account.Phone, "+79161112233"}, {account.Email, "boris@example.ru"},
			{account.Email, "olga@example.ru"}, {account.Phone, "+79170000002"}} {
			acc, err := st.FindByLogin(ctx, login[0], login[1])
			if err != nil {
				t.Fatalf("%s: %v", login[1], err)
			}
			if ok, _, err := fastHasher.Verify(ctx, acc.PasswordHash, importPassword); err != nil || !ok {
				t.Errorf("%s: the stored hash does not verify the password (%v)", login[1], err)
			}
			if acc.Level != assurance.Simplified || acc.SNILSVerified() || acc.Status != account.StatusActive {
				t.Errorf("%s: level %s, SNILS verified %v, status %s", login[1], acc.Level, acc.SNILSVerified(), acc.Status)
			}
			entries, err := log.List(ctx, acc.ID, time.Time{}, 0)
			if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionAccountCreated ||
				entries[0].Actor.Kind != audit.ActorSystem || entries[0].Detail["via"] != account.ImportVia {
				t.Errorf("%s: activity log %v (%v), want one created entry by the system via import", login[1], entries, err)
			}
		}
		anna, _ := st.FindByLogin(ctx, account.Phone, "+79161112233")
		if anna.SNILS != "112-233-445 95" || anna.Name.Middle != "Петровна" || anna.BirthDate.Format("2006-01-02") != "1990-05-17" || !anna.Email.Verified() {
			t.Errorf("Anna as imported: %+v", anna)
		}
		// Two accounts claim the SNILS; a claim finds nobody.
		if holder, err := st.SNILSHolder(ctx, "112-233-445 95"); err != nil || holder != "" {
			t.Errorf("a claimed SNILS has a holder: %q, %v", holder, err)
		}
		pavel, _ := st.FindByLogin(ctx, account.Phone, "+79170000002")
		if pavel.INN != "500100732259" || pavel.Passport == nil || pavel.Passport.Number != "123456" {
			t.Errorf("Pavel's documents: INN %q, passport %+v", pavel.INN, pavel.Passport)
		}
		if rep, err := log.Verify(ctx, nil); err != nil || !rep.OK || rep.Entries != 4 {
			t.Errorf("activity log after the import: %+v, %v", rep, err)
		}

		// A re-run writes nothing: what was imported is skipped, by its
		// external_id (CSV) or its contacts and name (JSONL); the bad lines
		// are bad again.
		rep, _ = runImport(t, admin, account.ImportCSV, importCSV(), opts)
		if want := (account.ImportReport{Read: 6, Skipped: 2, Failed: 4}); rep != want {
			t.Errorf("CSV again: %+v, want %+v", rep, want)
		}
		rep, _ = runImport(t, admin, account.ImportJSONL, importJSONL(), opts)
		if want := (account.ImportReport{Read: 9, Skipped: 2, Failed: 7}); rep != want {
			t.Errorf("JSONL again: %+v, want %+v", rep, want)
		}
		if n := countAccounts(t, db); n != 4 {
			t.Errorf("%d accounts after the re-runs, want 4", n)
		}

		// A contact of an account already here, under another external id
		// or another name, is a duplicate, not a re-run.
		rep, problems = runImport(t, admin, account.ImportJSONL,
			`{"external_id":"new-1","phone":"+79161112233","password":"`+importPassword+`","family_name":"Иванова","given_name":"Анна"}`+"\n"+
				`{"phone":"+79170000002","password":"`+importPassword+`","family_name":"Павлова","given_name":"Полина"}`+"\n", opts)
		if want := (account.ImportReport{Read: 2, Failed: 2}); rep != want || !slices.Equal(problems, []problemKey{{1, "phone"}, {2, "phone"}}) {
			t.Errorf("duplicates of accounts here: %+v, %v", rep, problems)
		}
	})
}

func countAccounts(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportUnverified: without ContactsVerified the contacts are stored
// unverified (no sign-in by them until a code confirms them), yet a
// duplicate of one is still refused; a dry run writes nothing and counts
// what it would import.
func TestImportUnverified(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, st, log := newAdmin(t, db)
		one := `{"external_id":"x1","phone":"+79180000001","password_hash":"` + importHash + `","family_name":"Жуков","given_name":"Иван"}` + "\n"
		two := `{"external_id":"x2","phone":"+79180000001","password_hash":"` + importHash + `","family_name":"Зуев","given_name":"Иван"}` + "\n"

		rep, _ := runImport(t, admin, account.ImportJSONL, one, account.ImportOptions{DryRun: true})
		if want := (account.ImportReport{Read: 1, Imported: 1}); rep != want || countAccounts(t, db) != 0 {
			t.Fatalf("dry run: %+v, %d accounts", rep, countAccounts(t, db))
		}
		if rep, err := log.Verify(ctx, nil); err != nil || rep.Entries != 0 {
			t.Fatalf("a dry run wrote to the activity log: %+v, %v", rep, err)
		}

		rep, _ = runImport(t, admin, account.ImportJSONL, one, account.ImportOptions{})
		if want := (account.ImportReport{Read: 1, Imported: 1}); rep != want {
			t.Fatalf("import: %+v", rep)
		}
		if _, err := st.FindByLogin(ctx, account.Phone, "+79180000001"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("an unverified imported phone signs in: %v", err)
		}
		rep, problems := runImport(t, admin, account.ImportJSONL, two, account.ImportOptions{})
		if want := (account.ImportReport{Read: 1, Failed: 1}); rep != want || !slices.Equal(problems, []problemKey{{1, "phone"}}) {
			t.Errorf("a duplicate of an unverified phone: %+v, %v", rep, problems)
		}
		rep, _ = runImport(t, admin, account.ImportJSONL, two, account.ImportOptions{DryRun: true})
		if rep.Failed != 1 {
			t.Errorf("dry run of a duplicate: %+v", rep)
		}
	})
}

// genRecords is n records with distinct contacts from start on.
func genRecords(start, n int, hash string) string {
	var b strings.Builder
	for i := start; i < start+n; i++ {
		fmt.Fprintf(&b, `{"external_id":"src-%d","phone":"+7910%07d","email":"user%d@example.ru","password_hash":"%s","family_name":"Иванов","given_name":"Иван","snils":"%s"}`+"\n",
			i, i, i, hash, validate.GenerateSNILS(1001999+i))
	}
	return b.String()
}

// TestImportBatchRetried: a batch whose transaction fails is written record
// by record: the good records land, each once, with their entries, and
// the bad one is reported.
func TestImportBatchRetried(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, _, log := newAdmin(t, db)
		if rep, _ := runImport(t, admin, account.ImportJSONL, genRecords(100, 1, importHash), account.ImportOptions{}); rep.Imported != 1 {
			t.Fatalf("first import: %+v", rep)
		}
		// Line 4 has the phone of the account imported first.
		lines := strings.SplitAfter(genRecords(0, 7, importHash), "\n")
		lines[3] = strings.Replace(lines[3], "+79100000003", "+79100000100", 1)
		rep, problems := runImport(t, admin, account.ImportJSONL, strings.Join(lines, ""), account.FailingBatches(account.ImportOptions{Batch: 3}))
		if want := (account.ImportReport{Read: 7, Imported: 6, Failed: 1}); rep != want || !slices.Equal(problems, []problemKey{{4, "phone"}}) {
			t.Fatalf("%+v, %v; want %+v and line 4's phone", rep, problems, want)
		}
		if n := countAccounts(t, db); n != 7 {
			t.Errorf("%d accounts, want 7", n)
		}
		if rep, err := log.Verify(ctx, nil); err != nil || !rep.OK || rep.Entries != 7 {
			t.Errorf("activity log: %+v, %v", rep, err)
		}
	})
}

// TestImportRace: two imports of one file race on two handles of the
// database, as two operators (or a re-run started too early) would:
// every account is written once, the two reports add up, and the activity
// log has one entry per account.
func TestImportRace(t *testing.T) {
	run := func(t *testing.T, cfg sqldb.Config) {
		ctx := context.Background()
		var dbs [2]*sqldb.DB
		for i := range dbs {
			db, err := sqldb.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		km := newKeys(t, dbs[0])
		text := genRecords(0, 60, importHash)
		var reps [2]account.ImportReport
		var wg sync.WaitGroup
		for i, db := range dbs {
			admin := importAdmin(db, km)
			wg.Go(func() {
				r, err := account.NewImportReader(strings.NewReader(text), account.ImportJSONL)
				if err == nil {
					reps[i], err = admin.Import(ctx, r, account.ImportOptions{Batch: 10, ContactsVerified: true})
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := countAccounts(t, dbs[0]); n != 60 {
			t.Errorf("%d accounts, want 60", n)
		}
		if got := reps[0].Imported + reps[1].Imported; got != 60 || reps[0].Imported+reps[0].Skipped+reps[0].Failed != 60 {
			t.Errorf("reports %+v and %+v: want 60 imported between them", reps[0], reps[1])
		}
		if rep, err := audit.New(dbs[0], km, time.Now).Verify(ctx, nil); err != nil || !rep.OK || rep.Entries != 60 {
			t.Errorf("activity log: %+v, %v", rep, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)}) })
	t.Run("postgres", func(t *testing.T) { run(t, sqldb.Config{URL: sqldbtest.PostgresURL(t)}) })
}

// importAdmin is the operators' side over db with km (keys that several
// handles of one database share), the tests' fast hasher and the wall
// clock.
func importAdmin(db *sqldb.DB, km account.AdminKeys) *account.Admin {
	st := account.NewStore(db, km, time.Now)
	return &account.Admin{Accounts: st, Activity: account.NewActivity(db, st, audit.New(db, km, time.Now)), Hash: fastHasher.Hash,
		Policy: password.DefaultPolicy(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
}

// TestImportReader: the readers' layouts and their problems, with lines.
func TestImportReader(t *testing.T) {
	read := func(format account.ImportFormat, text string) ([]account.ImportRecord, error) {
		r, err := account.NewImportReader(strings.NewReader(text), format)
		if err != nil {
			return nil, err
		}
		var out []account.ImportRecord
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, rec)
		}
	}
	recs, err := read(account.ImportCSV, "\uFEFFPhone;family_name\r\n+79161112233;\"Иванова\nмульти\"\r\n+7916;Петров;лишнее\r\n\r\nx;y\r\n")
	if err != nil || len(recs) != 3 {
		t.Fatalf("semicolon CSV: %+v, %v", recs, err)
	}
	if recs[0].Line != 2 || recs[0].Phone != "+79161112233" || recs[0].FamilyName != "Иванова\nмульти" || len(recs[0].Problems) != 0 {
		t.Errorf("record 1: %+v", recs[0])
	}
	if recs[1].Line != 4 || len(recs[1].Problems) != 1 || recs[2].Line != 6 || recs[2].FamilyName != "y" {
		t.Errorf("records 2 and 3: %+v %+v", recs[1], recs[2])
	}
	for _, header := range []string{"phone,nickname\n", "phone,phone\n", ""} {
		if _, err := read(account.ImportCSV, header); err == nil {
			t.Errorf("header %q accepted", header)
		}
	}
	long := `{"phone":"` + strings.Repeat("1", 70<<10) + `"}`
	recs, err = read(account.ImportJSONL, "{}\r\n"+long+"\n\n"+`{"phone":null,"email":"a@b.ru","given_name":"\u0000"}`)
	if err != nil || len(recs) != 3 || recs[0].Line != 1 || recs[1].Line != 2 || len(recs[1].Problems) != 1 || recs[2].Line != 4 || recs[2].Email != "a@b.ru" ||
		len(recs[2].Problems) != 1 || recs[2].Problems[0].Field != "given_name" {
		t.Errorf("JSONL: %+v, %v", recs, err)
	}
	if _, err := account.NewImportReader(strings.NewReader(""), "xml"); err == nil {
		t.Error("an unknown format accepted")
	}
}

// FuzzImportRecord: neither reader panics or loops on any input, every
// record has a line that grows, and validation of whatever they return
// never panics and never quotes a value.
func FuzzImportRecord(f *testing.F) {
	f.Add([]byte(importCSV()), true)
	f.Add([]byte(importJSONL()), false)
	f.Add([]byte("phone;email\n\"+7916\";\"a\"\"b\"\n"), true)
	f.Add([]byte("phone\n\"unterminated\n+79161112233\n"), true)
	f.Add([]byte(`{"phone":["x"],"email":{"a":1}}`+"\n"+`[1,2]`+"\n"+`{"password_hash":"$argon2id$v=19$m=65536,t=3,p=4$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"}`), false)
	admin := &account.Admin{Policy: password.DefaultPolicy(), Now: func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := account.ImportJSONL
		if csv {
			format = account.ImportCSV
		}
		r, err := account.NewImportReader(bytes.NewReader(data), format)
		if err != nil {
			return
		}
		last := 0
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("more records than bytes")
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading from memory failed: %v", err)
			}
			if rec.Line <= last && !csv || rec.Line < last || rec.Line < 1 {
				t.Fatalf("line %d after %d", rec.Line, last)
			}
			last = rec.Line
			for _, p := range account.CheckImportRecord(admin, rec) {
				if p.Line != rec.Line || p.RU == "" || p.EN == "" {
					t.Fatalf("problem %+v of line %d", p, rec.Line)
				}
			}
			// No message quotes a value: with every secret or identifying
			// value marked by a character no message has, none has it.
			marked := rec
			for _, v := range []*string{&marked.Password, &marked.PasswordHash, &marked.SNILS, &marked.INN, &marked.PassportSeries,
				&marked.PassportNumber, &marked.Phone, &marked.Email, &marked.ExternalID} {
				if *v != "" {
					*v = "\x7f" + *v + "\x7f"
				}
			}
			for _, p := range account.CheckImportRecord(admin, marked) {
				if strings.Contains(p.RU+p.EN+p.Field, "\x7f") {
					t.Fatalf("problem %+v quotes a value", p)
				}
			}
		}
	})
}
