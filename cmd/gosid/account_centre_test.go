package main

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/assurance"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestChangePhone: a code goes to the new phone and a notice to the old;
// the old phone no longer signs in, the new one does; a phone verified on
// another account is refused after its code, with nothing changed; the
// activity log has the change.
func TestChangePhone(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		idp, km := startOP(t, db, sqldbtest.NewClock(time.Now()))
		b := newBrowser(t, idp)
		b.register("phone", "+79121110011", "+79121110011", "Телефонов", "Пётр")
		other := newBrowser(t, idp)
		other.register("phone", "+79121110099", "+79121110099", "Другой", "Иван")

		// Bad input names the field; the same number is refused.
		if p := b.post("/account/contacts/phone", url.Values{"value": {"12"}}); p.Status != 422 || !strings.Contains(firstError(p.Body), "елефон") {
			t.Fatalf("malformed phone: %d %q", p.Status, firstError(p.Body))
		}
		if p := b.post("/account/contacts/phone", url.Values{"value": {"+7 912 111-00-11"}}); p.Status != 422 {
			t.Fatalf("the same phone: %d", p.Status)
		}

		b.post("/account/contacts/phone", url.Values{"value": {"8 (916) 222-33-44"}}).expectRedirect(t, "/account/contacts/phone/code")
		code := b.latestCode("+79162223344", "code.contact")
		if p := b.post("/account/contacts/phone/code", url.Values{"code": {"12a"}}); p.Status != 422 || !strings.Contains(firstError(p.Body), "6 цифр") {
			t.Fatalf("typo in the code: %d %q", p.Status, firstError(p.Body))
		}
		b.post("/account/contacts/phone/code", url.Values{"code": {code}}).expectRedirect(t, "/account?done=contact_phone")
		if msgs := b.messages("+79121110011"); len(msgs) == 0 || msgs[0].Kind != "notice.contact_changed" || !strings.Contains(msgs[0].Text, "***") {
			t.Fatalf("old phone not told (or told the full new number): %+v", msgs)
		}

		// Sign-in: old phone refused, new phone works.
		c := newBrowser(t, idp)
		if p := c.post("/login", url.Values{"login": {"+79121110011"}, "password": {goodPassword}}); p.Status != 401 {
			t.Fatalf("sign-in with the old phone: %d", p.Status)
		}
		c.post("/login", url.Values{"login": {"+79162223344"}, "password": {goodPassword}}).expectRedirect(t, "/account")

		// Another account's verified phone: refused after the code, nothing changes.
		b.post("/account/contacts/phone", url.Values{"value": {"+79121110099"}}).expectRedirect(t, "/account/contacts/phone/code")
		code = b.latestCode("+79121110099", "code.contact")
		if p := b.post("/account/contacts/phone/code", url.Values{"code": {code}}); p.Status != 409 || !strings.Contains(p.Body, "другой учётной записи") {
			t.Fatalf("a phone of another account: %d %q", p.Status, firstError(p.Body))
		}
		c2 := newBrowser(t, idp)
		c2.post("/login", url.Values{"login": {"+79162223344"}, "password": {goodPassword}}).expectRedirect(t, "/account")

		act := b.get("/account/activity")
		if !strings.Contains(act.Body, "Изменён номер телефона") {
			t.Errorf("activity page lacks the phone change:\n%.2000s", act.Body)
		}
		rep, err := audit.New(db, km, time.Now).Verify(context.Background(), nil)
		if err != nil || !rep.OK || rep.Entries == 0 {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
	})
}

// TestVerifiedDataWaits: on a standard account, a new name waits for
// verification; the account (and so every token) keeps the verified name.
// Gender applies at once. Withdrawing the change clears it.
func TestVerifiedDataWaits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		idp, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		b := newBrowser(t, idp)
		b.register("phone", "+79121110021", "+79121110021", "Проверенный", "Олег")
		a, err := parts.Accounts.FindByLogin(ctx, account.Phone, "+79121110021")
		if err != nil {
			t.Fatal(err)
		}
		// The registries confirmed the account (what verification I will do).
		if _, err := parts.Verifier.Verify(ctx, assurance.Verification{Evidence: assurance.Evidence{AccountID: a.ID,
			Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "test"},
			Claims: []string{"family_name", "given_name"}, Level: assurance.Standard}}); err != nil {
			t.Fatal(err)
		}
		if p := b.post("/account/details", url.Values{"family_name": {"Smith"}, "given_name": {"Олег"}}); p.Status != 422 || !strings.Contains(firstError(p.Body), "Фамилия") {
			t.Fatalf("Latin surname: %d %q", p.Status, firstError(p.Body))
		}
		b.post("/account/details", url.Values{"family_name": {"Новиков"}, "given_name": {"Олег"}, "gender": {"male"}}).expectRedirect(t, "/account?done=pending")
		got, _ := parts.Accounts.Get(ctx, a.ID)
		if got.Name.Family != "Проверенный" || got.Pending == nil || got.Pending.Name.Family != "Новиков" || got.Gender != "male" {
			t.Fatalf("after the change: name %+v pending %+v gender %q", got.Name, got.Pending, got.Gender)
		}
		if p := b.get("/account"); !strings.Contains(p.Body, "На проверке") || !strings.Contains(p.Body, "Проверенный Олег") {
			t.Errorf("overview does not show the waiting change beside the verified name")
		}
		b.post("/account/details/pending/cancel", nil).expectRedirect(t, "/account?done=pending_cancelled")
		if got, _ := parts.Accounts.Get(ctx, a.ID); got.Pending != nil {
			t.Errorf("withdrawn change still waits: %+v", got.Pending)
		}
		// A simplified account's name changes at once.
		s := newBrowser(t, idp)
		s.register("phone", "+79121110022", "+79121110022", "Простой", "Иван")
		s.post("/account/details", url.Values{"family_name": {"Сложный"}, "given_name": {"Иван"}}).expectRedirect(t, "/account?done=details")
		if p := s.get("/account"); !strings.Contains(p.Body, "Сложный Иван") {
			t.Error("simplified account's name not changed")
		}
	})
}

// TestNewDeviceHistorySettings: a sign-in from a new browser notifies the
// owner and is highlighted in the history; with the notice turned off it
// is still recorded but not sent; the idle-timeout choice is validated.
func TestNewDeviceHistorySettings(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		idp, _ := startOP(t, db, sqldbtest.NewClock(time.Now()))
		b := newBrowser(t, idp)
		b.register("phone", "+79121110031", "+79121110031", "Устройств", "Анна")
		if msgs := b.messages("+79121110031"); msgs[0].Kind == "notice.new_device" {
			t.Fatal("the registration browser counted as a new device")
		}
		c := newBrowser(t, idp)
		c.post("/login", url.Values{"login": {"+79121110031"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		if msgs := b.messages("+79121110031"); msgs[0].Kind != "notice.new_device" {
			t.Fatalf("no new-device notice: %+v", msgs[0])
		}
		// The same browser again is not new.
		c.post("/logout", nil)
		c.post("/login", url.Values{"login": {"+79121110031"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		if n := countKind(b.messages("+79121110031"), "notice.new_device"); n != 1 {
			t.Fatalf("%d new-device notices, want 1", n)
		}
		h := b.get("/account/history?show=suspicious")
		if h.Status != 200 || !strings.Contains(h.Body, `class="suspicious"`) || !strings.Contains(h.Body, "Вход с нового устройства") {
			t.Fatalf("history does not highlight the new device:\n%.3000s", h.Body)
		}
		// Wrong password shows as suspicious too.
		c.post("/logout", nil)
		c.post("/login", url.Values{"login": {"+79121110031"}, "password": {"wrong-Password1!"}})
		if h := b.get("/account/history?show=failures&days=7"); !strings.Contains(h.Body, "Неудачная попытка входа") {
			t.Errorf("failed sign-in missing from the filtered history")
		}

		// Settings: an idle timeout outside the bounds is refused; notice off.
		if p := b.post("/account/security/settings", url.Values{"idle": {"1"}}); p.Status != 422 || !strings.Contains(firstError(p.Body), "бездействия") {
			t.Fatalf("idle 1 min: %d %q", p.Status, firstError(p.Body))
		}
		if p := b.post("/account/security/settings", url.Values{"idle": {"15"}}); p.Status != 200 || !strings.Contains(p.Body, "Настройки сохранены") {
			t.Fatalf("save settings: %d", p.Status)
		}
		d := newBrowser(t, idp)
		d.post("/login", url.Values{"login": {"+79121110031"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		if n := countKind(b.messages("+79121110031"), "notice.new_device"); n != 1 {
			t.Errorf("notice sent with notifications off: %d", n)
		}
		if h := b.get("/account/history"); strings.Count(h.Body, "Вход с нового устройства") != 2 {
			t.Errorf("the quiet new-device sign-in is not in the history")
		}
		if p := b.get("/account/security"); !strings.Contains(p.Body, `value="15" selected`) || strings.Contains(p.Body, `id="notify_new_device" name="notify_new_device" type="checkbox" checked`) {
			t.Errorf("settings not shown as saved")
		}
	})
}

func countKind(msgs []devMessage, kind string) int {
	n := 0
	for _, m := range msgs {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// TestExportAndDeletion: the JSON export holds the account's data; a
// deletion confirmed by an SMS code ends every session; signing in cancels
// it; a second request is erased by the sweeper after the grace period,
// leaving the activity log intact with a pseudonymous reference.
func TestExportAndDeletion(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		idp, km, parts := startOPParts(t, db, c)
		b := newBrowser(t, idp)
		b.register("phone", "+79121110041", "+79121110041", "Удалёнов", "Борис")
		b.post("/account/details", url.Values{"snils": {"112-233-445 95"}}).expectRedirect(t, "/account")

		x := b.get("/account/export.json")
		var doc struct {
			Account struct {
				ID    string                 `json:"id"`
				SNILS string                 `json:"snils"`
				Phone struct{ Value string } `json:"phone"`
			} `json:"account"`
			Sessions []any            `json:"sessions"`
			Activity []map[string]any `json:"activity_log"`
			Other    map[string]any   `json:"other"`
		}
		if err := json.Unmarshal([]byte(x.Body), &doc); err != nil {
			t.Fatalf("export is not JSON: %v\n%.300s", err, x.Body)
		}
		if doc.Account.SNILS != "112-233-445 95" || doc.Account.Phone.Value != "+79121110041" || len(doc.Sessions) != 1 || len(doc.Activity) == 0 || doc.Other["passkeys"] == nil {
			t.Fatalf("export: %+v", doc)
		}
		id := doc.Account.ID

		other := newBrowser(t, idp)
		other.post("/login", url.Values{"login": {"+79121110041"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		p := b.postStep("/account/delete/start", nil)
		ch := regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || ch == nil {
			t.Fatalf("start deletion: %d", p.Status)
		}
		if p := b.post("/account/delete", url.Values{"challenge": {ch[1]}, "code": {"000000"}}); p.Status != 422 {
			t.Fatalf("wrong code: %d", p.Status)
		}
		if a, _ := parts.Accounts.Get(ctx, id); !a.DeleteAfter.IsZero() {
			t.Fatal("deletion scheduled by a wrong code")
		}
		code := b.latestCode("+79121110041", "code.login")
		b.post("/account/delete", url.Values{"challenge": {ch[1]}, "code": {code}}).expectRedirect(t, "/account/deleted")
		b.get("/account").expectRedirect(t, "/login")
		other.get("/account").expectRedirect(t, "/login")
		if msgs := b.messages("+79121110041"); msgs[0].Kind != "notice.deletion_requested" {
			t.Errorf("no deletion notice: %+v", msgs[0])
		}

		// Signing in cancels it.
		b.post("/login", url.Values{"login": {"+79121110041"}, "password": {goodPassword}}).expectRedirect(t, "/account")
		if a, _ := parts.Accounts.Get(ctx, id); !a.DeleteAfter.IsZero() {
			t.Fatal("sign-in did not cancel the deletion")
		}
		if n := countKind(b.messages("+79121110041"), "notice.deletion_cancelled"); n != 1 {
			t.Errorf("%d cancellation notices", n)
		}

		// Again, and this time the grace period passes.
		p = b.postStep("/account/delete/start", nil)
		ch = regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(p.Body)
		c.Advance(61 * time.Second) // the resend cool-down
		if ch == nil {
			p = b.postStep("/account/delete/start", nil)
			ch = regexp.MustCompile(`name="challenge" value="([^"]+)"`).FindStringSubmatch(p.Body)
		}
		if ch == nil {
			t.Fatalf("second deletion start: %d %s", p.Status, firstError(p.Body))
		}
		code = b.latestCode("+79121110041", "code.login")
		b.post("/account/delete", url.Values{"challenge": {ch[1]}, "code": {code}}).expectRedirect(t, "/account/deleted")
		c.Advance(29 * 24 * time.Hour)
		runSweepers(t, parts)
		if _, err := parts.Accounts.Get(ctx, id); err != nil {
			t.Fatalf("erased before the grace period ended: %v", err)
		}
		c.Advance(2 * 24 * time.Hour)
		runSweepers(t, parts)
		if _, err := parts.Accounts.Get(ctx, id); err == nil {
			t.Fatal("not erased after the grace period")
		}
		if _, err := parts.Accounts.FindByLogin(ctx, account.SNILS, "112-233-445 95"); err == nil {
			t.Error("SNILS still finds an account")
		}
		log := audit.New(db, km, c.Now)
		entries, _ := log.List(ctx, id, time.Time{}, 0)
		if len(entries) == 0 || entries[0].Action != audit.ActionAccountErased {
			t.Errorf("activity log after erasure: %+v", entries)
		}
		if rep, err := log.Verify(ctx, nil); err != nil || !rep.OK {
			t.Errorf("audit chain after erasure: %+v %v", rep, err)
		}
	})
}

func runSweepers(t *testing.T, parts *idp.IdP) {
	t.Helper()
	for _, s := range parts.Sweeps {
		if _, err := s.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
