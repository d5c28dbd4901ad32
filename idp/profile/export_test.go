package profile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// TestExportKeysSnakeCase: every key of a full export — an account with
// every document, both contacts, a change waiting for verification, a
// deletion requested, a session, a sign-in event, a site's access and
// activity entries — is snake_case, nested ones included.
func TestExportKeysSnakeCase(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		passport := &account.Passport{Series: "4509", Number: "123456", IssueDate: time.Date(2015, 3, 4, 0, 0, 0, 0, time.UTC),
			Issuer: "ОВД Тверского района", DivisionCode: "770-001"}
		a := e.NewAccount(t, account.New{PasswordHash: e.Hash(t, goodPassword), Name: account.Name{Family: "Полнова", Given: "Ева", Middle: "Львовна"},
			BirthDate: time.Date(1985, 6, 7, 0, 0, 0, 0, time.UTC), Gender: "female", SNILS: "112-233-445 95", INN: "500100732259", Passport: passport,
			Phone: account.Contact{Value: idptest.NextPhone(), VerifiedAt: t0}, Email: account.Contact{Value: idptest.NextEmail()}})
		if err := e.Accounts.SetPending(ctx, a.ID, &account.PersonChange{Name: &account.Name{Family: "Новая", Given: "Ева"},
			BirthDate: a.BirthDate, SNILS: "112-233-445 95", Passport: passport, RequestedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := e.Accounts.AddEvent(ctx, account.Event{AccountID: a.ID, Kind: account.EventPasswordChanged, Result: account.ResultOK, Method: "pwd",
			IP: "203.0.113.5", UserAgent: "test", Flags: "new_device"}); err != nil {
			t.Fatal(err)
		}
		if err := e.Accounts.RequestDeletion(ctx, a.ID, t0.Add(30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		e.grants.add(a.ID, oidc.SiteGrant{ClientID: "library", ClientName: "Библиотека", Scopes: []string{"openid", "profile"}, GrantedAt: t0})
		b := e.browser()
		b.SignIn(t, a.ID)
		b.Post(t, "/account/details", url.Values{"gender": {"male"}}).Expect(t, 303, "/account?done=details&fields=gender")

		x := b.Get(t, "/account/export.json")
		var doc any
		if err := json.Unmarshal([]byte(x.Body), &doc); err != nil {
			t.Fatalf("export: %d %v\n%.300s", x.Status, err, x.Body)
		}
		var keys []string
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, sub := range v {
					keys = append(keys, path+"."+k)
					if !snakeCase.MatchString(k) {
						t.Errorf("export key %s.%s is not snake_case", path, k)
					}
					walk(path+"."+k, sub)
				}
			case []any:
				for i, sub := range v {
					walk(fmt.Sprintf("%s[%d]", path, i), sub)
				}
			}
		}
		walk("", doc)
		for _, want := range []string{".account.name.middle_name", ".account.passport.division_code", ".account.phone.verified_at",
			".account.email.value", ".account.pending_change.name.family_name", ".account.pending_change.passport.issue_date",
			".account.delete_after", ".sessions[0].last_seen", ".sign_in_history[0].user_agent", ".data_sharing[0].granted_at",
			".activity_log[0].detail.fields"} {
			found := false
			for _, k := range keys {
				found = found || k == want
			}
			if !found {
				t.Errorf("the export has no %s (the test's account should fill every part)", want)
			}
		}
	})
}
