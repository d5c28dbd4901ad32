package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestActivityCreate: every way an account comes to be writes its
// «Учётная запись создана» entry with the account, in one transaction: a
// citizen's registration (the actor is the new account), a bank opening
// one for its customer, an operator; an account refused (a contact
// verified elsewhere) leaves neither an account nor an entry. The activity
// page's label and actor read in both languages.
func TestActivityCreate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		admin, _, log := newAdmin(t, db)
		acts := admin.Activity
		phone := func(n int) account.Contact {
			return account.Contact{Value: "+7916555000" + string(rune('0'+n)), VerifiedAt: time.Now()}
		}
		name := account.Name{Family: "Банкова", Given: "Алла"}
		for i, tc := range []struct {
			by  audit.Actor
			via string
		}{
			{audit.Actor{Kind: audit.ActorCitizen}, "registration"},
			{audit.Actor{Kind: audit.ActorBank, ID: "bank-1"}, "bank"},
			{op, "admin"},
		} {
			a, err := acts.Create(ctx, account.New{Name: name, Phone: phone(i)}, tc.by, tc.via, "192.0.2.7")
			if err != nil {
				t.Fatal(err)
			}
			want := tc.by
			if want.Kind == audit.ActorCitizen {
				want.ID = a.ID
			}
			entries, err := log.List(ctx, a.ID, time.Time{}, 0)
			if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionAccountCreated || entries[0].Actor != want ||
				entries[0].Detail["via"] != tc.via || entries[0].IP != "192.0.2.7" {
				t.Fatalf("%s: entries %+v %v", tc.via, entries, err)
			}
			if got := entries[0].Label("ru"); got != "Учётная запись создана" {
				t.Errorf("%s: label %q", tc.via, got)
			}
			if got := entries[0].Label("en"); got != "Account created" {
				t.Errorf("%s: English label %q", tc.via, got)
			}
		}

		var taken *account.TakenError
		_, err := acts.Create(ctx, account.New{Name: name, Phone: phone(0)}, audit.Actor{Kind: audit.ActorBank, ID: "bank-1"}, "bank", "")
		if !errors.As(err, &taken) {
			t.Fatalf("a taken phone: %v", err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("%d accounts after a refused one (%v), want 3", n, err)
		}
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = $1`, audit.ActionAccountCreated).Scan(&n); err != nil || n != 3 {
			t.Fatalf("%d creation entries after a refused account (%v), want 3", n, err)
		}
	})
}
