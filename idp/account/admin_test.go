package account_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestApplicantCheck: the rules registration and the operators' commands
// share — every field's error names its field, in both languages.
func TestApplicantCheck(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	good := account.Applicant{Phone: "8 (916) 111-22-33", FamilyName: "иванова", GivenName: "Анна", Password: "Vt9#kqzmRw-long"}
	n, errs := good.Check(password.DefaultPolicy(), now)
	if len(errs) > 0 {
		t.Fatalf("a good applicant: %v", errs)
	}
	if n.Phone.Value != "+79161112233" || n.Name.Family != "Иванова" || !n.Phone.VerifiedAt.IsZero() || n.PasswordHash != "" {
		t.Fatalf("checked: %+v", n)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*account.Applicant)
		field string
	}{
		{"no contact", func(a *account.Applicant) { a.Phone = "" }, "phone"},
		{"a landline", func(a *account.Applicant) { a.Phone = "+74951234567" }, "phone"},
		{"a bad e-mail", func(a *account.Applicant) { a.Email = "ivan@" }, "email"},
		{"a Latin family name", func(a *account.Applicant) { a.FamilyName = "Ivanova" }, "family_name"},
		{"no given name", func(a *account.Applicant) { a.GivenName = " " }, "given_name"},
		{"a bad birth date", func(a *account.Applicant) { a.BirthDate = "2030-01-01" }, "birthdate"},
		{"a SNILS with a wrong checksum", func(a *account.Applicant) { a.SNILS = "112-233-445 96" }, "snils"},
		{"a short password", func(a *account.Applicant) { a.Password = "Ab1#" }, "password"},
		{"the phone as the password", func(a *account.Applicant) { a.Password = "+79161112233" }, "password"},
	} {
		ap := good
		tc.edit(&ap)
		_, errs := ap.Check(password.DefaultPolicy(), now)
		if len(errs) != 1 || errs[0].Field != tc.field || errs[0].Message("ru") == "" || errs[0].Message("en") == "" || errs[0].Message("ru") == errs[0].Message("en") {
			t.Errorf("%s: %v, want one error of %s in two languages", tc.name, errs, tc.field)
		}
	}
}

// op is the operator at the command line in these tests.
var op = audit.Actor{Kind: audit.ActorAdmin, ID: "operator"}

var fastHasher, _ = password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)

func newAdmin(t *testing.T, db *sqldb.DB) (*account.Admin, *account.Store, *audit.Log) {
	km := newKeys(t, db)
	c := sqldbtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	st := account.NewStore(db, km, c.Now)
	log := audit.New(db, km, c.Now)
	h := fastHasher
	return &account.Admin{Accounts: st, Activity: account.NewActivity(db, st, log), Hash: h.Hash, Policy: password.DefaultPolicy(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}, st, log
}

// TestAdmin: an operator's account has verified contacts and a claimed
// SNILS; bad input writes nothing; blocking, unblocking and erasing go to
// the activity log with the operator as actor, and to the history.
func TestAdmin(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, st, log := newAdmin(t, db)
		ap := account.Applicant{Phone: "+79161112233", Email: "anna@example.ru", FamilyName: "Иванова", GivenName: "Анна",
			SNILS: "112-233-445 95", Password: "Vt9#kqzmRw-long"}
		a, err := admin.Create(ctx, op, ap)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Phone.Verified() || !a.Email.Verified() || a.SNILS == "" || a.SNILSVerified() {
			t.Fatalf("created: phone %v, e-mail %v, SNILS verified %v; want verified contacts and a claimed SNILS", a.Phone.Verified(), a.Email.Verified(), a.SNILSVerified())
		}
		if ok, _, err := fastHasher.Verify(ctx, a.PasswordHash, ap.Password); err != nil || !ok {
			t.Fatalf("the stored hash does not verify the password: %v", err)
		}
		var taken *account.TakenError
		if _, err := admin.Create(ctx, op, account.Applicant{Phone: ap.Phone, FamilyName: "Петров", GivenName: "Пётр", Password: ap.Password}); !errors.As(err, &taken) {
			t.Fatalf("a second account with the phone: %v, want TakenError", err)
		}
		var errs validate.Errors
		if _, err := admin.Create(ctx, op, account.Applicant{Phone: "+79169998877", FamilyName: "Smith", GivenName: "Пётр", Password: "x"}); !errors.As(err, &errs) || len(errs) != 2 {
			t.Fatalf("bad input: %v, want two field errors", err)
		}
		if _, err := st.FindByLogin(ctx, account.Phone, "+79169998877"); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("bad input left an account: %v", err)
		}

		if err := admin.Block(ctx, op, a.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get(ctx, a.ID); got.Status != account.StatusBlocked {
			t.Fatalf("status after Block: %s", got.Status)
		}
		if err := admin.Unblock(ctx, op, a.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Get(ctx, a.ID); got.Status != account.StatusActive {
			t.Fatalf("status after Unblock: %s", got.Status)
		}
		evs, err := st.Events(ctx, a.ID, time.Time{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			if e.Method == "admin" {
				kinds = append(kinds, e.Kind)
			}
		}
		if strings.Join(kinds, ",") != "unblocked,blocked,registered" {
			t.Errorf("history of an operator's account: %v", kinds)
		}
		if err := admin.Erase(ctx, op, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx, a.ID); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("after Erase: %v", err)
		}
		entries, err := log.List(ctx, a.ID, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Actor != op {
				t.Errorf("entry %s by %+v, want the operator", e.Action, e.Actor)
			}
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "account.erased,account.unblocked,account.blocked,account.created" {
			t.Errorf("activity log: %v", actions)
		}
	})
}

// TestEraseDue: accounts whose deletion is due are erased with their entry;
// a cancelled deletion and one not yet due are not; a second run (another
// replica) finds nothing.
func TestEraseDue(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, st, log := newAdmin(t, db)
		var ids []string
		for i, phone := range []string{"+79160000001", "+79160000002", "+79160000003"} {
			a, err := admin.Create(ctx, op, account.Applicant{Phone: phone, FamilyName: "Иванова", GivenName: "Анна", Password: "Vt9#kqzmRw-long"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
			if err := st.RequestDeletion(ctx, a.ID, admin.Now().Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.CancelDeletion(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}
		discard := slog.New(slog.NewTextHandler(io.Discard, nil))
		now := admin.Now().Add(time.Minute)
		if n, err := admin.Activity.EraseDue(ctx, now, discard); err != nil || n != 1 {
			t.Fatalf("EraseDue: %d, %v; want 1", n, err)
		}
		if n, err := admin.Activity.EraseDue(ctx, now, discard); err != nil || n != 0 {
			t.Fatalf("EraseDue again: %d, %v; want 0", n, err)
		}
		if _, err := st.Get(ctx, ids[0]); !errors.Is(err, sqldb.ErrNotFound) {
			t.Errorf("the due account: %v", err)
		}
		for _, id := range ids[1:] {
			if _, err := st.Get(ctx, id); err != nil {
				t.Errorf("an account not due: %v", err)
			}
		}
		if e, err := log.List(ctx, ids[0], time.Time{}, 0); err != nil || len(e) != 2 || e[0].Action != audit.ActionAccountErased || e[0].Actor.Kind != audit.ActorSystem ||
			e[1].Action != audit.ActionAccountCreated {
			t.Errorf("the erased account's log: %+v, %v", e, err)
		}
	})
}

// TestFindAndOperatorView: an operator finds an account by id or login and
// sees its SNILS masked, with the evidence once verified.
func TestFindAndOperatorView(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, st, _ := newAdmin(t, db)
		a, err := admin.Create(ctx, op, account.Applicant{Phone: "+79161112233", FamilyName: "Иванова", GivenName: "Анна",
			SNILS: "112-233-445 95", Password: "Vt9#kqzmRw-long"})
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{a.ID, "8 916 111-22-33", "+79161112233"} {
			if got, err := st.Find(ctx, ref); err != nil || got.ID != a.ID {
				t.Errorf("Find(%q): %v, %v", ref, got, err)
			}
		}
		// A claimed SNILS is no login.
		if _, err := st.Find(ctx, "112-233-445 95"); err == nil || !strings.Contains(err.Error(), "no account") {
			t.Errorf("Find by a claimed SNILS: %v", err)
		}
		if _, err := st.Find(ctx, "nobody"); err == nil {
			t.Error("Find(nobody) found something")
		}
		v := a.OperatorView(admin.Now())
		if v.SNILS == "" || strings.Contains(v.SNILS, "445") || v.SNILSVerifiedBy != "" || v.Phone != "+79161112233" {
			t.Errorf("operator view: %+v", v)
		}
		rows := v.Rows()
		if rows[0] != [2]string{"id", a.ID} || !slices.Contains(rows, [2]string{"name", "Иванова Анна"}) {
			t.Errorf("rows: %v", rows)
		}
	})
}
