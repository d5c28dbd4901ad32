package bank_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/bank"
)

// confirmRig adds to a rig what confirmation writes to: evidence, levels
// and the activity log.
type confirmRig struct {
	*rig
	verifier *assurance.Service
	activity *account.Activity
	c        *bank.Confirmer
}

func newConfirmRig(t *testing.T, db *sqldb.DB) *confirmRig {
	r := &confirmRig{rig: newRig(t, db)}
	log := audit.New(db, r.km, r.clock.Now)
	r.verifier = assurance.New(db, func(q sqldb.Runner) assurance.Accounts { return r.accounts.With(q) }, log, r.km, r.clock.Now)
	r.activity = account.NewActivity(db, r.accounts, log)
	r.c = &bank.Confirmer{Banks: r.banks, Accounts: r.accounts, Verifier: r.verifier, Activity: r.activity}
	return r
}

// citizen is an account as registration leaves it: names typed, nothing
// else.
func (r *confirmRig) citizen(t *testing.T, family, given, middle string) *account.Account {
	t.Helper()
	a, err := r.accounts.Create(context.Background(), account.New{Name: account.Name{Family: family, Given: given, Middle: middle},
		Phone: account.Contact{Value: "+7912" + digits(7), VerifiedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vouch is what the fake bank vouches for Иванов Иван Иванович.
func vouch() map[string]string {
	return map[string]string{bank.FamilyName: "ИВАНОВ", bank.GivenName: "Иван", bank.MiddleName: "Иванович",
		bank.BirthDate: "1985-03-15", bank.SNILS: "112-233-445 95", bank.PassportSeries: "4505", bank.PassportNumber: "123456",
		bank.PassportIssueDate: "2005-04-02"}
}

func (r *confirmRig) result(t *testing.T, accountID, subject string, vouched map[string]string) *bank.Result {
	t.Helper()
	b, err := r.banks.Get(context.Background(), "fake")
	if err != nil {
		t.Fatal(err)
	}
	return &bank.Result{Bank: *b, Purpose: bank.Confirm, AccountID: accountID, Subject: subject, Values: vouched, Vouched: vouched, At: r.clock.Now()}
}

// unchanged checks that a's level, evidence and links are as before.
func (r *confirmRig) unchanged(t *testing.T, a *account.Account) {
	t.Helper()
	ctx := context.Background()
	now, err := r.accounts.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := r.verifier.Evidence(ctx, a.ID)
	links, _ := r.banks.Links(ctx, a.ID)
	if now.Level != a.Level || len(ev) != 0 || len(links) != 0 || now.SNILSVerified() || !now.BirthDate.Equal(a.BirthDate) || (now.Passport == nil) != (a.Passport == nil) {
		t.Errorf("the account changed: level %s, %d evidence, %d links, SNILS verified %v", now.Level, len(ev), len(links), now.SNILSVerified())
	}
}

// TestConfirm: a bank's vouched data confirm an account whose names are
// the same (case, ё/е aside) and fill in what it lacks, with vouch
// evidence and the bank identity linked, in one transaction; a different
// birth date, too little vouched, a SNILS verified elsewhere or a bank
// identity linked to another account change nothing.
func TestConfirm(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newConfirmRig(t, db)

		a := r.citizen(t, "Иванов", "Иван", "Иванович")
		got, err := r.c.Confirm(ctx, r.result(t, a.ID, "sub-1", vouch()), "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Level != assurance.Confirmed || !got.Raised || len(got.Mismatches) > 0 || got.TooLittle {
			t.Fatalf("Confirm: %+v, want raised to confirmed", got)
		}
		now, _ := r.accounts.Get(ctx, a.ID)
		if !now.SNILSVerified() || now.SNILS != "112-233-445 95" || now.BirthDate.Format(time.DateOnly) != "1985-03-15" ||
			now.Passport == nil || now.Passport.Number != "123456" || now.Level != assurance.Confirmed {
			t.Errorf("the account after: %+v", now)
		}
		ev, err := r.verifier.Evidence(ctx, a.ID)
		if err != nil || len(ev) != 1 || ev[0].Method != assurance.MethodBank || ev[0].Verifier.ID != "fake" ||
			ev[0].Values["id_doc"] != "4505 123456" || ev[0].Document.Number != "sub-1" {
			t.Errorf("evidence %+v %v", ev, err)
		}
		if id, err := r.banks.AccountFor(ctx, "fake", "sub-1"); err != nil || id != a.ID {
			t.Errorf("link: %q %v", id, err)
		}

		// Another birth date: the page names it; nothing changes but the
		// activity log.
		b := r.citizen(t, "Петрова", "Анна", "")
		if err := r.accounts.UpdateDocuments(ctx, b.ID, account.Documents{BirthDate: time.Date(1992, 7, 22, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		b, _ = r.accounts.Get(ctx, b.ID)
		v := vouch()
		v[bank.FamilyName], v[bank.GivenName], v[bank.BirthDate], v[bank.SNILS] = "Петрова", "Анна", "1992-07-23", "112-233-447 97"
		delete(v, bank.MiddleName)
		got, err = r.c.Confirm(ctx, r.result(t, b.ID, "sub-2", v), "192.0.2.1")
		if err != nil || len(got.Mismatches) != 1 || got.Mismatches[0].Field != bank.BirthDate ||
			got.Mismatches[0].Bank != "23.07.1992" || got.Mismatches[0].Account != "22.07.1992" {
			t.Fatalf("a different birth date: %+v %v", got, err)
		}
		r.unchanged(t, b)
		entries, err := r.activity.List(ctx, b.ID, time.Time{}, 10)
		if err != nil || len(entries) == 0 || entries[0].Action != audit.ActionBankMismatch || entries[0].Detail["fields"] != "birthdate" ||
			entries[0].Actor.Kind != audit.ActorBank {
			t.Errorf("activity: %+v %v", entries, err)
		}

		// Names, birth date and SNILS only, for a simplified account.
		c := r.citizen(t, "Сёмина-Петрова", "Алёна", "")
		v = map[string]string{bank.FamilyName: "семина петрова", bank.GivenName: "Алена", bank.BirthDate: "1993-05-20", bank.SNILS: "112-233-460 94"}
		if got, err = r.c.Confirm(ctx, r.result(t, c.ID, "sub-3", v), ""); err != nil || !got.TooLittle || len(got.Mismatches) > 0 {
			t.Fatalf("too little vouched: %+v %v", got, err)
		}
		r.unchanged(t, c)

		// The SNILS is verified on a's account.
		d := r.citizen(t, "Иванов", "Иван", "Иванович")
		if _, err = r.c.Confirm(ctx, r.result(t, d.ID, "sub-4", vouch()), ""); !errors.Is(err, bank.ErrSNILSTaken) {
			t.Fatalf("a SNILS verified elsewhere: %v, want ErrSNILSTaken", err)
		}
		r.unchanged(t, d)

		// The bank identity of a, used from another account.
		e := r.citizen(t, "Сёмина-Петрова", "Алёна", "")
		v = vouch()
		v[bank.FamilyName], v[bank.GivenName], v[bank.BirthDate], v[bank.SNILS] = "Семина-Петрова", "Алена", "1993-05-20", "112-233-460 94"
		delete(v, bank.MiddleName)
		if _, err = r.c.Confirm(ctx, r.result(t, e.ID, "sub-1", v), ""); !errors.Is(err, bank.ErrOtherAccount) {
			t.Fatalf("a bank identity linked elsewhere: %v, want ErrOtherAccount", err)
		}
		r.unchanged(t, e)
	})
}
