package profile_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/audit"

	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestPasswordChangeMessages: an empty current password is asked for, not
// called wrong; the current password again as the new one is refused under
// the new password's field; broken rules give one message and the list
// marks them; nothing changes until a good new password.
func TestPasswordChangeMessages(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a := e.newAccount(t)
		b := e.browser()
		b.SignIn(t, a.ID)
		reauthenticate(t, e, b)
		const next = "Nqv7#Lzr2!wX"
		for _, tc := range []struct {
			current, pw, lang, field, want string
		}{
			{"", next, "", "current_password", "Текущий пароль: введите текущий пароль"},
			{"", next, "en", "current_password", "Current password: enter your current password"},
			{"Wrong#Pass1x", next, "", "current_password", "Текущий пароль: неверный пароль"},
			{goodPassword, goodPassword, "", "password", "Новый пароль: совпадает с текущим — придумайте другой"},
			{goodPassword, goodPassword, "en", "password", "New password: it is your current password — choose another one"},
		} {
			b.Lang = tc.lang
			b.Post(t, "/account/password", url.Values{"current_password": {tc.current}, "password": {tc.pw}, "password_confirm": {tc.pw}}).
				ExpectField(t, 422, tc.field, tc.want)
		}
		b.Lang = ""
		p := b.Post(t, "/account/password", url.Values{"current_password": {goodPassword}, "password": {"zqxwvu"}, "password_confirm": {"zqxwvu"}})
		p.ExpectField(t, 422, "password", "Пароль: выполните требования, отмеченные в списке ниже")
		p.ExpectRulesMarked(t, "не выполнено", password.CodeMinLength, password.CodeUpper, password.CodeDigit, password.CodeSpecial)
		b.Lang = "en"
		b.Post(t, "/account/password", url.Values{"current_password": {goodPassword}, "password": {"zqxwvu"}, "password_confirm": {"zqxwvu"}}).
			ExpectRulesMarked(t, "not met", password.CodeMinLength, password.CodeUpper, password.CodeDigit, password.CodeSpecial)
		b.Lang = ""
		if ok, _, _ := e.Hasher.Verify(t.Context(), e.Account(t, a.ID).PasswordHash, goodPassword); !ok {
			t.Fatal("a refused change changed the password")
		}
		if p := b.Get(t, "/account/password"); p.Has(`class="unmet"`) {
			t.Error("the fresh form marks rules unmet")
		}
		p = b.Post(t, "/account/password", url.Values{"current_password": {goodPassword}, "password": {next}, "password_confirm": {next}})
		if p.Status != 200 || len(p.FieldErrors()) != 0 {
			t.Fatalf("a good change: %d %v", p.Status, p.FieldErrors())
		}
		if ok, _, _ := e.Hasher.Verify(t.Context(), e.Account(t, a.ID).PasswordHash, next); !ok {
			t.Fatal("the good change did not set the password")
		}
		// Only the change is in «Действия», not the refused tries.
		entries, err := e.Activity.List(t.Context(), a.ID, time.Time{}, 0)
		if err != nil || len(entries) != 1 || entries[0].Action != audit.ActionPasswordChanged {
			t.Fatalf("activity log: %+v %v", entries, err)
		}
	})
}
