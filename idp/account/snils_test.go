package account_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

const victimSNILS = "112-233-445 95"

// TestClaimedSNILS: a SNILS typed into an account is a claim: it neither
// finds the account, nor blocks anyone else, nor survives the real
// holder's proof. Only a verified SNILS is unique and finds an account.
func TestClaimedSNILS(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		// An attacker types the victim's SNILS into their own account.
		squatter, err := s.Create(ctx, account.New{Name: account.Name{Family: "Захватов", Given: "Пётр"}, Phone: account.Contact{Value: "+79000000011"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateDocuments(ctx, squatter.ID, account.Documents{SNILS: victimSNILS}); err != nil {
			t.Fatal(err)
		}
		a, _ := s.Get(ctx, squatter.ID)
		if a.SNILS != victimSNILS || a.SNILSVerified() {
			t.Fatalf("claim read back as %q verified=%v", a.SNILS, a.SNILSVerified())
		}
		if _, err := s.FindByLogin(ctx, account.SNILS, victimSNILS); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("a claimed SNILS finds an account: %v", err)
		}
		if taken, err := s.Taken(ctx, account.SNILS, victimSNILS); err != nil || taken {
			t.Fatalf("a claimed SNILS is taken: %v %v", taken, err)
		}
		// The holder registers and types it too: claims never conflict.
		holder, err := s.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван"}, SNILS: victimSNILS, Phone: account.Contact{Value: "+79000000012"}})
		if err != nil {
			t.Fatalf("a second claim of one SNILS: %v", err)
		}

		// A certificate proves the holder's SNILS: the holder's becomes
		// verified, the squatter's claim is dropped and reported.
		dropped, err := s.VerifySNILS(ctx, holder.ID, victimSNILS, "qualified_esignature")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dropped, []string{squatter.ID}) {
			t.Fatalf("dropped claims %v, want the squatter's %s", dropped, squatter.ID)
		}
		h, _ := s.Get(ctx, holder.ID)
		if !h.SNILSVerified() || h.SNILSVerifiedBy != "qualified_esignature" || h.SNILS != victimSNILS {
			t.Fatalf("holder after proof: %q verified=%v by %q", h.SNILS, h.SNILSVerified(), h.SNILSVerifiedBy)
		}
		sq, _ := s.Get(ctx, squatter.ID)
		if sq.SNILS != "" || sq.Level != assurance.Simplified {
			t.Fatalf("squatter keeps SNILS %q, level %s", sq.SNILS, sq.Level)
		}
		if got, err := s.FindByLogin(ctx, account.SNILS, victimSNILS); err != nil || got.ID != holder.ID {
			t.Fatalf("verified SNILS finds %v, %v", got, err)
		}
		// Typing it again elsewhere is still only a claim, finds nothing
		// new, and is dropped by the next proof.
		if err := s.UpdateDocuments(ctx, squatter.ID, account.Documents{SNILS: victimSNILS}); err != nil {
			t.Fatalf("a claim of a verified SNILS: %v", err)
		}
		if got, _ := s.FindByLogin(ctx, account.SNILS, victimSNILS); got == nil || got.ID != holder.ID {
			t.Fatalf("the claim changed who the SNILS finds: %v", got)
		}
		// A second account cannot have it verified too.
		var te *account.TakenError
		if _, err := s.VerifySNILS(ctx, squatter.ID, victimSNILS, "qualified_esignature"); !errors.As(err, &te) || te.Kind != account.SNILS {
			t.Fatalf("second verification of one SNILS: %v, want TakenError{snils}", err)
		}
		// The verified value cannot be replaced by typing, only repeated.
		if err := s.UpdateDocuments(ctx, holder.ID, account.Documents{SNILS: "111-111-111 45"}); !errors.Is(err, account.ErrSNILSVerified) {
			t.Fatalf("replacing a verified SNILS by a claim: %v", err)
		}
		if err := s.UpdateDocuments(ctx, holder.ID, account.Documents{SNILS: victimSNILS, Gender: "male"}); err != nil {
			t.Fatalf("retyping the verified SNILS: %v", err)
		}
		if h, _ := s.Get(ctx, holder.ID); !h.SNILSVerified() || h.Gender != "male" {
			t.Fatalf("after retyping: verified=%v gender=%q", h.SNILSVerified(), h.Gender)
		}
		if _, err := s.VerifySNILS(ctx, holder.ID, "111-111-111 45", "qualified_esignature"); !errors.Is(err, account.ErrSNILSVerified) {
			t.Fatalf("verifying another SNILS over a verified one: %v", err)
		}
	})
}

// TestRacingSNILSProofs: replicas verifying one SNILS on two accounts at
// once end with exactly one verified holder.
func TestRacingSNILSProofs(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		var ids []string
		for _, phone := range []string{"+79000000021", "+79000000022", "+79000000023", "+79000000024"} {
			a, err := s.Create(ctx, account.New{Name: account.Name{Family: "Гонкин", Given: "Иван"}, SNILS: victimSNILS, Phone: account.Contact{Value: phone}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ids))
		for i, id := range ids {
			wg.Go(func() { _, errs[i] = s.VerifySNILS(ctx, id, victimSNILS, "qualified_esignature") })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, account.ErrTaken), errors.Is(err, sqldb.ErrConflict):
			default:
				t.Errorf("account %d: %v", i, err)
			}
		}
		var verified, withSNILS int
		if err := db.QueryRow(ctx, `SELECT COUNT(snils_verified_at), COUNT(snils_enc) FROM accounts`).Scan(&verified, &withSNILS); err != nil {
			t.Fatal(err)
		}
		if verified != 1 || withSNILS != 1 {
			t.Fatalf("%d verified, %d accounts with a SNILS after the race (%d won); want exactly one", verified, withSNILS, won)
		}
	})
}

// TestRaise: one verification's change of the account — its verified
// SNILS, verified data and level — in one statement; a SNILS among the
// data (a claim) is refused, and nothing is written then.
func TestRaise(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		a, err := s.Create(ctx, account.New{Name: account.Name{Family: "Иванов", Given: "Иван", Middle: "Иванович"}, Phone: account.Contact{Value: "+79000000021"}})
		if err != nil {
			t.Fatal(err)
		}
		inTx := func(f func(st *account.Store) error) error {
			return db.InTx(ctx, func(tx *sqldb.Tx) error { return f(s.With(tx)) })
		}
		bad := account.Documents{SNILS: victimSNILS, INN: "500100732259"}
		if err := inTx(func(st *account.Store) error {
			_, _, err := st.Raise(ctx, a.ID, assurance.Raise{Level: assurance.Standard, Data: bad})
			return err
		}); err == nil {
			t.Fatal("a SNILS among the verified data was taken")
		}
		passport := &account.Passport{Series: "4510", Number: "123456", IssueDate: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)}
		var before assurance.State
		if err := inTx(func(st *account.Store) (err error) {
			before, _, err = st.Raise(ctx, a.ID, assurance.Raise{SNILS: victimSNILS, Method: "registry", Level: assurance.Standard,
				Data: account.Documents{Passport: passport, INN: "500100732259", Name: &account.Name{Family: "Иванов", Given: "Иван"}}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if before.Level != assurance.Simplified || before.SNILSVerified {
			t.Errorf("state before %+v", before)
		}
		got, _ := s.Get(ctx, a.ID)
		if got.Level != assurance.Standard || !got.SNILSVerified() || got.SNILS != victimSNILS || got.INN != "500100732259" ||
			got.Passport == nil || got.Passport.Number != "123456" || got.Name.Middle != "" {
			t.Fatalf("after the raise: %+v", got)
		}
		// Raise reads the level in the caller's transaction: after a
		// change there, it raises from the level that change left.
		if err := inTx(func(st *account.Store) error {
			if err := st.SetLevel(ctx, a.ID, assurance.Standard, assurance.Simplified); err != nil {
				return err
			}
			_, _, err := st.Raise(ctx, a.ID, assurance.Raise{Level: assurance.Confirmed})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, a.ID); got.Level != assurance.Confirmed {
			t.Fatalf("level %s after raising from the level read in the transaction", got.Level)
		}
	})
}

// TestRaiseAll: several accounts raised in a few statements end as the
// same raises one by one would leave them — verified SNILS, data, level,
// claims of other accounts dropped and reported to the right one — also
// when two of them touch each other (one claims the SNILS another
// verifies), which RaiseAll then raises one by one; a verified SNILS
// already on another account fails them all with nothing written.
func TestRaiseAll(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _ := newStore(t, db)
		person := func(phone, snils string) *account.Account {
			a, err := s.Create(ctx, account.New{Name: account.Name{Family: "Петров", Given: "Пётр"}, SNILS: snils, Phone: account.Contact{Value: phone}})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		const (
			snilsA = "112-233-445 95"
			snilsB = "087-654-303 00"
			snilsC = "123-456-789 64"
		)
		a, b := person("+79000000031", snilsA), person("+79000000032", snilsB)
		squatter := person("+79000000033", snilsB) // claims b's SNILS
		plain := person("+79000000034", "")        // no SNILS: only its level and data
		raiseAll := func(ids []string, rs []assurance.Raise) (before []assurance.State, dropped [][]string, err error) {
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				before, dropped, err = s.With(tx).RaiseAll(ctx, ids, rs)
				return err
			})
			return before, dropped, err
		}
		passport := &account.Passport{Series: "4510", Number: "123456", IssueDate: time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)}
		docs := account.Documents{Passport: passport, INN: "500100732259"}
		before, dropped, err := raiseAll([]string{a.ID, b.ID, plain.ID}, []assurance.Raise{
			{SNILS: snilsA, Method: "registry", Level: assurance.Standard, Data: docs},
			{SNILS: snilsB, Method: "registry", Level: assurance.Standard, Data: docs},
			{Level: assurance.Standard, Data: account.Documents{INN: "500100732259"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(before) != 3 || before[0].Level != assurance.Simplified || before[1].SNILSVerified || len(dropped[0]) != 0 ||
			!slices.Equal(dropped[1], []string{squatter.ID}) || len(dropped[2]) != 0 {
			t.Fatalf("before %+v, dropped %v", before, dropped)
		}
		for _, c := range []struct {
			id, snils string
		}{{a.ID, snilsA}, {b.ID, snilsB}, {plain.ID, ""}} {
			got, _ := s.Get(ctx, c.id)
			if got.Level != assurance.Standard || got.SNILS != c.snils || (c.snils != "") != got.SNILSVerified() || got.INN != "500100732259" {
				t.Errorf("account %s after RaiseAll: level %s, SNILS %q verified %v, INN %q", c.id, got.Level, got.SNILS, got.SNILSVerified(), got.INN)
			}
		}
		if got, _ := s.Get(ctx, squatter.ID); got.SNILS != "" {
			t.Errorf("the squatter's claim survived: %q", got.SNILS)
		}

		// Touching: d claims the SNILS c verifies, and is raised itself.
		c, d := person("+79000000035", snilsC), person("+79000000036", snilsC)
		before, dropped, err = raiseAll([]string{c.ID, d.ID}, []assurance.Raise{
			{SNILS: snilsC, Method: "registry", Level: assurance.Standard},
			{Level: assurance.Standard},
		})
		if err != nil || !slices.Equal(dropped[0], []string{d.ID}) || before[1].Level != assurance.Simplified {
			t.Fatalf("touching accounts: %v, dropped %v, before %+v", err, dropped, before)
		}
		if got, _ := s.Get(ctx, d.ID); got.SNILS != "" || got.Level != assurance.Standard {
			t.Errorf("d after: SNILS %q level %s", got.SNILS, got.Level)
		}

		// A SNILS verified elsewhere: all fail, nothing written.
		e, f := person("+79000000037", ""), person("+79000000038", "")
		_, _, err = raiseAll([]string{e.ID, f.ID}, []assurance.Raise{
			{Level: assurance.Standard},
			{SNILS: snilsA, Method: "registry", Level: assurance.Standard},
		})
		var taken *account.TakenError
		if !errors.As(err, &taken) {
			t.Fatalf("a verified SNILS raised on a second account: %v", err)
		}
		for _, id := range []string{e.ID, f.ID} {
			if got, _ := s.Get(ctx, id); got.Level != assurance.Simplified || got.SNILS != "" {
				t.Errorf("account %s written by a failed RaiseAll: level %s SNILS %q", id, got.Level, got.SNILS)
			}
		}
	})
}
