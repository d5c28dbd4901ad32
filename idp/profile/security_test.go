package profile_test

import (
	"context"
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/idptest"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	qrRe     = regexp.MustCompile(`<img class="qr" src="([^"]*)"[^>]*alt="([^"]*)"`)
	backupRe = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

// signedIn is a fresh environment with a citizen signed in (a fresh
// session) in a browser.
func signedIn(t *testing.T, db *sqldb.DB) (*env, *account.Account, *idptest.Browser) {
	t.Helper()
	e := newEnv(t, db)
	a := e.newAccount(t)
	b := e.browser()
	b.SignIn(t, a.ID)
	return e, a, b
}

// codesOf is the backup codes a page shows, in order.
func codesOf(body string) string {
	var out []string
	for _, m := range backupRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " ")
}

// TestSecurityStepsSurviveReload: every step of the security page is
// post/redirect/get. The authenticator set-up and the backup codes are
// shown again, the same, on a reload and in the other language; a GET of
// a form's POST address (a reload after a refused code, the language
// switch there) goes to its step, never «Method Not Allowed». The QR code
// is a real data: URI of a PNG with an alt text, not #ZgotmplZ. Leaving
// for the security page ends the step: the codes are gone.
func TestSecurityStepsSurviveReload(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e, _, b := signedIn(t, db)

		p := postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		secret := p.Find(t, secretRe)
		m := qrRe.FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no QR image on the set-up page:\n%.2000s", p.Body)
		}
		const prefix = "data:image/png;base64,"
		m[1] = html.UnescapeString(m[1])
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(m[1], prefix))
		if !strings.HasPrefix(m[1], prefix) || err != nil || !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
			t.Fatalf("QR image src %.60q: want a data: URI of a PNG (%v)", m[1], err)
		}
		if alt := html.UnescapeString(m[2]); !strings.Contains(alt, "QR-код для приложения-аутентификатора") {
			t.Errorf("QR alt text %q", alt)
		}
		for _, path := range []string{"/account/security/totp", "/account/security/totp?lang=en"} {
			p := b.Get(t, path)
			if p.Status != 200 || p.Find(t, secretRe) != secret || !strings.Contains(p.Body, prefix) {
				t.Fatalf("GET %s: %d, secret %q, want the same set-up", path, p.Status, p.Find(t, secretRe))
			}
		}
		if p := b.Get(t, "/account/security/totp?lang=en"); !p.Has("QR code for the authenticator app") || !p.Has("Two-step verification") {
			t.Errorf("the set-up in English:\n%.2000s", p.Body)
		}
		b.Get(t, "/account/security?lang=ru&x=1") // back to Russian (keeps nothing: ends the step)
		p = postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		secret = p.Find(t, secretRe)

		// A wrong code shows the step again, QR included; the GET of the
		// form's address (reload, language switch) goes back to the step.
		p = b.Post(t, "/account/security/totp/confirm", url.Values{"code": {"000000"}})
		if p.Status != 422 || p.Find(t, secretRe) != secret || !strings.Contains(p.Body, prefix) || p.FieldError("code") == "" {
			t.Fatalf("wrong code: %d, want the step again with the error", p.Status)
		}
		b.Get(t, "/account/security/totp/confirm?lang=en").Expect(t, 303, "/account/security/totp?lang=en")

		code, _ := pqtotp.GenerateCode(strings.ReplaceAll(secret, " ", ""), e.Clock.Now())
		b.Post(t, "/account/security/totp/confirm", url.Values{"code": {code}}).Expect(t, 303, "/account/security/codes")
		p = b.Get(t, "/account/security/codes")
		codes := codesOf(p.Body)
		if p.Status != 200 || strings.Count(codes, " ") != 9 || !p.Has("Двухэтапная проверка включена") {
			t.Fatalf("backup codes page: %d, codes %q", p.Status, codes)
		}
		for _, path := range []string{"/account/security/codes", "/account/security/codes?lang=en"} {
			if p := b.Get(t, path); p.Status != 200 || codesOf(p.Body) != codes {
				t.Fatalf("GET %s: %d, codes %q, want %q", path, p.Status, codesOf(p.Body), codes)
			}
		}
		// The codes are not in the database in clear.
		if n := e.Count(t, `SELECT COUNT(*) FROM flows WHERE kind = 'security'`); n != 1 {
			t.Errorf("%d security flows, want 1", n)
		}

		// Leaving ends the step: the codes are not shown again.
		if p := b.Get(t, "/account/security"); p.Status != 200 || codesOf(p.Body) != "" {
			t.Fatalf("security page after the codes: %d, codes %q", p.Status, codesOf(p.Body))
		}
		b.Get(t, "/account/security/codes").Expect(t, 303, "/account/security")
		b.Get(t, "/account/security/codes.txt").Expect(t, 303, "/account/security")
		b.Get(t, "/account/security/totp").Expect(t, 303, "/account/security")
		if n := e.Count(t, `SELECT COUNT(*) FROM flows WHERE kind = 'security'`); n != 0 {
			t.Errorf("%d security flows after leaving, want 0", n)
		}
	})
}

// TestSecurityConfirmStepSurvivesReload: an SMS account's code to turn
// the second factor off is kept on its page across a reload and the
// language switch; so is the SMS set-up's code form.
func TestSecurityConfirmStepSurvivesReload(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e, a, b := signedIn(t, db)
		p := postStep(t, b, "/account/security/sms", nil, "/account/security/sms")
		ch := p.Find(t, smsChallengeRe)
		if p := b.Get(t, "/account/security/sms?lang=en"); p.Find(t, smsChallengeRe) != ch || !p.Has("We have sent a code by SMS") {
			t.Fatalf("SMS step in English: %d", p.Status)
		}
		b.Get(t, "/account/security/sms/confirm").Expect(t, 303, "/account/security/sms")
		b.Post(t, "/account/security/sms/confirm", url.Values{"challenge": {ch}, "code": {e.Messages.Code(t, a.Phone.Value)}}).
			Expect(t, 303, "/account/security/codes")
		b.Get(t, "/account/security?lang=ru")

		e.Clock.Advance(time.Minute) // the resend cool-down
		p = postStep(t, b, "/account/security/send", nil, "/account/security/disable")
		ch = p.Find(t, smsChallengeRe)
		if !p.Has("Мы отправили код по SMS") {
			t.Errorf("no notice of the code sent")
		}
		for _, path := range []string{"/account/security/disable", "/account/security/disable?lang=en"} {
			if p := b.Get(t, path); p.Status != 200 || p.Find(t, smsChallengeRe) != ch {
				t.Fatalf("GET %s: %d, want the form with the code sent", path, p.Status)
			}
		}
		b.Get(t, "/account/security/send?lang=en").Expect(t, 303, "/account/security/disable?lang=en")
		b.Post(t, "/account/security/disable", url.Values{"challenge": {ch}, "code": {e.Messages.Code(t, a.Phone.Value)}}).
			Expect(t, 303, "/account/security?done=disabled")
		if p := b.Get(t, "/account/security?done=disabled&lang=ru"); !p.Has("Двухэтапная проверка выключена") || e.Account(t, a.ID).MFA != "" {
			t.Fatalf("after turning off: %q, MFA %q", p.Notice(), e.Account(t, a.ID).MFA)
		}
	})
}

// TestBackupCodesDownload: the codes of the codes step download as a text
// file headed in both languages, not cached.
func TestBackupCodesDownload(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e, _, b := signedIn(t, db)
		p := postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		code, _ := pqtotp.GenerateCode(strings.ReplaceAll(p.Find(t, secretRe), " ", ""), e.Clock.Now())
		p = postStep(t, b, "/account/security/totp/confirm", url.Values{"code": {code}}, "/account/security/codes")
		codes := strings.Fields(codesOf(p.Body))
		for _, want := range []string{`href="/account/security/codes.txt" download>Скачать коды (текстовый файл)`, `data-print hidden>Распечатать коды`,
			`href="/static/codes-print.css" media="print"`, `src="/static/codes.js"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("codes page lacks %s", want)
			}
		}
		f := b.Get(t, "/account/security/codes.txt")
		if f.Status != 200 || f.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			f.Header.Get("Content-Disposition") != `attachment; filename="gosid-backup-codes.txt"` || f.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("download: %d %v", f.Status, f.Header)
		}
		for _, want := range append([]string{"Gosid — резервные коды для входа", "Gosid — backup codes for signing in", "Каждый код действует один раз", "Each code works once"}, codes...) {
			if !strings.Contains(f.Body, want) {
				t.Errorf("the file lacks %q:\n%s", want, f.Body)
			}
		}
		if len(codes) != 10 {
			t.Fatalf("%d codes", len(codes))
		}
		for _, path := range []string{"/static/codes.js", "/static/codes-print.css"} {
			if p := b.Get(t, path); p.Status != 200 || !strings.Contains(p.Body, "print") {
				t.Errorf("GET %s: %d", path, p.Status)
			}
		}
	})
}

// TestSecurityCodeOutage: while the authenticator's store cannot be read,
// a right code on the security page is not called wrong, and the same
// change goes through afterwards.
func TestSecurityCodeOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e, a, b := signedIn(t, db)
		p := postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		secret := strings.ReplaceAll(p.Find(t, secretRe), " ", "")
		code, _ := pqtotp.GenerateCode(secret, e.Clock.Now())
		postStep(t, b, "/account/security/totp/confirm", url.Values{"code": {code}}, "/account/security/codes")
		e.Clock.Advance(30 * time.Second)
		code, _ = pqtotp.GenerateCode(secret, e.Clock.Now())
		sqldbtest.WithoutTable(t, db, "totp_secrets", func() {
			// A missing table is an internal error (500); a database that
			// cannot be reached is 503 with Retry-After (webui's and
			// sqldb.Unavailable's tests). Either way, no verdict on the code.
			if p := b.Post(t, "/account/security/disable", url.Values{"code": {code}}); p.Status < 500 || strings.Contains(p.Body, "Неверный") {
				t.Fatalf("a right code during the outage: %d", p.Status)
			}
		})
		b.Post(t, "/account/security/disable", url.Values{"code": {code}}).Expect(t, 303, "/account/security?done=disabled")
		if e.Account(t, a.ID).MFA != "" {
			t.Fatal("the second factor stayed on")
		}
	})
}

// TestSessionOutage: while the sessions cannot be read, the account
// centre does not send a signed-in citizen to sign in again (and lose
// the form): 503 with Retry-After, then the same pages work.
func TestSessionOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		_, _, b := signedIn(t, db)
		sqldbtest.WithoutTable(t, db, "sessions", func() {
			for _, path := range []string{"/account", "/account/sessions", "/account/security"} {
				if p := b.Get(t, path); p.Status < 500 || p.Location != "" {
					t.Errorf("GET %s during the outage: %d → %q", path, p.Status, p.Location)
				}
			}
		})
		for _, path := range []string{"/account", "/account/sessions", "/account/security"} {
			if p := b.Get(t, path); p.Status != 200 {
				t.Errorf("GET %s after the outage: %d → %q", path, p.Status, p.Location)
			}
		}
	})
}

// TestSecurityActivity: turning the second factor on and off (app, SMS)
// and renewing backup codes are in «Действия», saying which factor, as the
// citizen's own changes.
func TestSecurityActivity(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e, a, b := signedIn(t, db)
		p := postStep(t, b, "/account/security/totp", nil, "/account/security/totp")
		secret := strings.ReplaceAll(p.Find(t, secretRe), " ", "")
		code, _ := pqtotp.GenerateCode(secret, e.Clock.Now())
		p = postStep(t, b, "/account/security/totp/confirm", url.Values{"code": {code}}, "/account/security/codes")
		codes := strings.Fields(codesOf(p.Body))
		postStep(t, b, "/account/security/backup", url.Values{"backup_code": {codes[0]}}, "/account/security/codes")
		e.Clock.Advance(30 * time.Second)
		code, _ = pqtotp.GenerateCode(secret, e.Clock.Now())
		b.Post(t, "/account/security/disable", url.Values{"code": {code}}).Expect(t, 303, "/account/security?done=disabled")
		p = postStep(t, b, "/account/security/sms", nil, "/account/security/sms")
		b.Post(t, "/account/security/sms/confirm", url.Values{"challenge": {p.Find(t, smsChallengeRe)}, "code": {e.Messages.Code(t, a.Phone.Value)}}).
			Expect(t, 303, "/account/security/codes")

		entries, err := e.Activity.List(context.Background(), a.ID, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range entries {
			if en.Actor != (audit.Actor{Kind: audit.ActorCitizen, ID: a.ID}) {
				t.Errorf("entry %+v: want the citizen's own", en)
			}
			got = append(got, en.Label("ru"))
		}
		want := []string{"Включена двухэтапная проверка: приложение-аутентификатор", "Выпущены новые резервные коды",
			"Отключена двухэтапная проверка: приложение-аутентификатор", "Включена двухэтапная проверка: код из SMS"}
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("activity log %q lacks %q", got, w)
			}
		}
		page := b.Get(t, "/account/activity")
		for _, w := range want {
			if !page.Has(w) {
				t.Errorf("«Действия» do not show %q", w)
			}
		}
		if en := b.Get(t, "/account/activity?lang=en"); !en.Has("Two-step verification turned on: authenticator app") {
			t.Error("the English activity page lacks the factor")
		}
	})
}

// TestHistoryWording: the sign-in history names methods in words, never
// raw codes (totp, sms, backup, passkey, esign), and a lock-out row says
// that password sign-in was blocked, not «успешно».
func TestHistoryWording(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		a := e.newAccount(t)
		ctx := context.Background()
		for _, ev := range []account.Event{
			{Kind: "mfa_enabled", Method: "totp", Result: account.ResultOK},
			{Kind: "mfa_enabled", Method: "sms", Result: account.ResultOK},
			{Kind: account.EventSignIn, Method: "backup", Result: account.ResultOK},
			{Kind: account.EventSignIn, Method: "passkey", Result: account.ResultOK},
			{Kind: account.EventSignIn, Method: "esign", Result: account.ResultOK},
			{Kind: account.EventLocked, Method: "pwd", Result: account.ResultOK},
		} {
			ev.AccountID, ev.At = a.ID, e.Clock.Now()
			if err := e.Accounts.AddEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.SignIn(t, a.ID)
		cellRe := regexp.MustCompile(`<td data-label="(Способ|Результат|Method|Result)">([^<]*)</td>`)
		for lang, want := range map[string][]string{
			"ru": {"Приложение-аутентификатор", "Код из SMS", "Резервный код", "Ключ доступа", "Электронная подпись", "Вход по паролю заблокирован"},
			"en": {"Authenticator app", "SMS code", "Backup code", "Passkey", "E-signature", "Password sign-in blocked"},
		} {
			p := b.Get(t, "/account/history?lang="+lang)
			cells := map[string]bool{}
			for _, m := range cellRe.FindAllStringSubmatch(p.Body, -1) {
				cells[html.UnescapeString(m[2])] = true
			}
			for _, w := range want {
				if !cells[w] {
					t.Errorf("%s history lacks %q; cells %v", lang, w, cells)
				}
			}
			for _, raw := range []string{"totp", "sms", "backup", "passkey", "esign"} {
				if cells[raw] {
					t.Errorf("%s history shows the raw method %q", lang, raw)
				}
			}
		}
		// The lock-out row is not «успешно».
		p := b.Get(t, "/account/history?lang=ru")
		row := regexp.MustCompile(`(?s)Вход заблокирован после неверных паролей.*?</tr>`).FindString(p.Body)
		if row == "" || strings.Contains(row, "успешно") || !strings.Contains(row, "Вход по паролю заблокирован") {
			t.Errorf("lock-out row: %q", row)
		}
	})
}

// TestOneNameForTwoStep: the security pages call the feature
// «Двухэтапная проверка» / "Two-step verification" and nothing else.
func TestOneNameForTwoStep(t *testing.T) {
	_, _, b := signedIn(t, sqldbtest.SQLite(t))
	for _, path := range []string{"/account/security?lang=ru", "/account/security?lang=en"} {
		p := b.Get(t, path)
		body := strings.ToLower(html.UnescapeString(p.Body))
		for _, other := range []string{"двухфактор", "вход с подтверждением", "two-factor", "two-step sign-in"} {
			if strings.Contains(body, other) {
				t.Errorf("%s says %q", path, other)
			}
		}
		if !p.Has("Двухэтапная проверка") && !p.Has("Two-step verification") {
			t.Errorf("%s does not name two-step verification", path)
		}
	}
}
