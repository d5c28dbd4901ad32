package partner_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/notice"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/partner"
)

var tokenRe = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// link returns the token of the latest message of kind sent to phone.
func (r *rig) link(t testing.TB, phone, kind string) string {
	t.Helper()
	m := r.message(t, phone, kind)
	tok := tokenRe.FindStringSubmatch(m.Text)
	if tok == nil {
		t.Fatalf("no link in %q", m.Text)
	}
	return tok[1]
}

// browser is a citizen's user agent with a cookie jar, not following
// redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func page(t testing.TB, c *http.Client, method, u string, form url.Values) (int, string, *http.Response) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = c.Get(u)
	} else {
		resp, err = c.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String(), resp
}

func TestDispute(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		ctx := context.Background()
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		a, snils := r.citizen(t, true)
		before := a.Level
		first := sber.call(t, "POST", "/partner/v1/confirmations", "d-1", person(snils))
		if first.Status != 201 {
			t.Fatalf("confirmation: %d %s", first.Status, first.Body)
		}
		m := r.message(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)
		if !strings.Contains(m.Text, "Ваша личность подтверждена в СберБанк") || !strings.Contains(m.Text, "Это были не вы?") {
			t.Fatalf("notice: %q", m.Text)
		}
		token := r.link(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)

		// Within 30 days, not signed in: a confirmation form; posting it
		// undoes the confirmation.
		r.Clock.Advance(29 * 24 * time.Hour)
		c := browser()
		status, body, _ := page(t, c, "GET", r.URL+"/account/dispute?token="+token, nil)
		if status != 200 || !strings.Contains(body, "Отменить подтверждение") || !strings.Contains(body, "СберБанк") {
			t.Fatalf("dispute page: %d %s", status, body)
		}
		status, body, _ = page(t, c, "POST", r.URL+"/account/dispute", url.Values{"token": {token}})
		if status != 200 || !strings.Contains(body, "Подтверждение отменено") || !strings.Contains(body, "поддержку") {
			t.Fatalf("dispute: %d %s", status, body)
		}
		got, _ := r.IdP.Accounts.Get(ctx, a.ID)
		if got.Level != before {
			t.Errorf("level after the dispute %s, want %s", got.Level, before)
		}
		ev, err := r.IdP.Verifier.Evidence(ctx, a.ID)
		if err != nil || len(ev) != 1 || ev[0].DisputedAt.IsZero() || len(assurance.Standing(ev)) != 0 {
			t.Errorf("evidence after the dispute: %+v, %v", ev, err)
		}
		// The bank reads it as disputed.
		sber.token = sber.getToken(t, client.ScopePartnerConfirmations)
		if g := sber.call(t, "GET", "/partner/v1/confirmations/"+first.JSON(t)["id"].(string), "", nil); g.Status != 200 ||
			g.JSON(t)["status"] != "disputed" || g.JSON(t)["disputed_at"] == nil {
			t.Errorf("the disputed confirmation through the API: %d %s", g.Status, g.Body)
		}
		// Once only.
		if status, body, _ := page(t, c, "POST", r.URL+"/account/dispute", url.Values{"token": {token}}); status != http.StatusGone || !strings.Contains(body, "поддержку") {
			t.Errorf("a second dispute: %d", status)
		}
		// A cross-site post is refused by the site's protection.
		req, _ := http.NewRequest("POST", r.URL+"/account/dispute", strings.NewReader("token="+token))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site dispute: %v %v", resp.StatusCode, err)
		}

		// Confirmed again afterwards another way (an operator saw the
		// passport): disputing the bank's confirmation undoes the bank's
		// evidence only, and the level the operator's supports stays.
		o, snilsO := r.citizen(t, true)
		sber.token = sber.getToken(t, client.ScopePartnerConfirmations)
		if rep := sber.call(t, "POST", "/partner/v1/confirmations", "d-3", person(snilsO)); rep.Status != 201 {
			t.Fatalf("confirmation: %d %s", rep.Status, rep.Body)
		}
		tokenO := r.link(t, o.Phone.Value, notice.KindNoticePartnerConfirmed)
		if _, err := r.IdP.Verifier.Verify(ctx, assurance.Verification{Evidence: assurance.Evidence{AccountID: o.ID,
			Method: assurance.MethodOperator, Verifier: assurance.Verifier{Kind: "operator", ID: "mfc-77-001"},
			Claims: []string{"family_name", "given_name", "passport"}, Level: assurance.Confirmed}}); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := page(t, browser(), "POST", r.URL+"/account/dispute", url.Values{"token": {tokenO}}); status != 200 {
			t.Fatalf("dispute after the operator's confirmation: %d", status)
		}
		if got, _ := r.IdP.Accounts.Get(ctx, o.ID); got.Level != assurance.Confirmed {
			t.Errorf("the dispute of the bank's confirmation undid the operator's: level %s", got.Level)
		}
		if ev, _ := r.IdP.Verifier.Evidence(ctx, o.ID); len(assurance.Standing(ev)) != 1 || assurance.Standing(ev)[0].Method != assurance.MethodOperator {
			t.Errorf("standing evidence after the dispute: %+v", assurance.Standing(ev))
		}

		// After 30 days: the link says it expired and points to support.
		b, snils2 := r.citizen(t, true)
		sber.token = sber.getToken(t, client.ScopePartnerConfirmations)
		p := person(snils2)
		p["confirmed_at"] = r.Clock.Now().Add(-time.Hour).Format(time.RFC3339)
		if rep := sber.call(t, "POST", "/partner/v1/confirmations", "d-2", p); rep.Status != 201 {
			t.Fatalf("second confirmation: %d %s", rep.Status, rep.Body)
		}
		token2 := r.link(t, b.Phone.Value, notice.KindNoticePartnerConfirmed)
		r.Clock.Advance(31 * 24 * time.Hour)
		status, body, _ = page(t, browser(), "GET", r.URL+"/account/dispute?token="+token2, nil)
		if status != http.StatusGone || !strings.Contains(body, "прошло больше 30 дней") || !strings.Contains(body, "поддержку") {
			t.Errorf("expired link: %d %s", status, body)
		}
		if got, _ := r.IdP.Accounts.Get(ctx, b.ID); got.Level != assurance.Confirmed {
			t.Errorf("an expired link changed the level: %s", got.Level)
		}
	})
}

func TestRegistration(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		r := newRig(t, db, partner.Config{})
		ctx := context.Background()
		if err := allowRegister(ctx, r, "sber"); err != nil {
			t.Fatal(err)
		}
		sber := r.partnerClient(t, "sber", client.ScopePartnerRegistrations)
		_, snils := r.citizen(t, false) // a claim elsewhere blocks nothing
		ph := phone()
		body := person(snils)
		body["phone"] = ph
		rep := sber.call(t, "POST", "/partner/v1/registrations", "r-1", body)
		if rep.Status != 201 || rep.JSON(t)["status"] != "pending_activation" {
			t.Fatalf("registration: %d %s", rep.Status, rep.Body)
		}
		acc, err := r.IdP.Accounts.FindByLogin(ctx, "phone", ph)
		if err != nil || acc.Level != assurance.Confirmed || !acc.SNILSVerified() || acc.Passport == nil || acc.PasswordHash != "" {
			t.Fatalf("registered account: %+v, %v", acc, err)
		}
		// The same key and body: the same answer, no second account.
		if again := sber.call(t, "POST", "/partner/v1/registrations", "r-1", body); again.Status != 201 || string(again.Body) != string(rep.Body) {
			t.Errorf("replayed registration: %d %s", again.Status, again.Body)
		}
		if n, err := sqldb.Strings(ctx, db, `SELECT id FROM partner_registrations`); err != nil || len(n) != 1 {
			t.Errorf("registrations after a replay: %v, %v", n, err)
		}
		// The SNILS is now verified: registering it again, or with the
		// same phone, is a conflict.
		body2 := person(snils)
		body2["phone"] = phone()
		if rep := sber.call(t, "POST", "/partner/v1/registrations", "r-2", body2); rep.Status != 409 || rep.kind(t) != partner.ProblemAccountExists {
			t.Errorf("SNILS verified elsewhere: %d %s", rep.Status, rep.Body)
		}
		_, other := r.citizen(t, false)
		body3 := person(other)
		body3["phone"] = ph
		if rep := sber.call(t, "POST", "/partner/v1/registrations", "r-3", body3); rep.Status != 409 || rep.kind(t) != partner.ProblemPhoneTaken {
			t.Errorf("phone taken: %d %s", rep.Status, rep.Body)
		}

		// Activation within 7 days sets a password and signs in.
		token := r.link(t, ph, notice.KindNoticeActivate)
		r.Clock.Advance(6 * 24 * time.Hour)
		c := browser()
		if status, body, _ := page(t, c, "GET", r.URL+"/activate?token="+token, nil); status != 200 || !strings.Contains(body, "Задать пароль") {
			t.Fatalf("activation page: %d %s", status, body)
		}
		if status, _, _ := page(t, c, "POST", r.URL+"/activate", url.Values{"token": {token}, "password": {"short"}, "password_confirm": {"short"}}); status != 422 {
			t.Errorf("weak password: %d", status)
		}
		status, _, resp := page(t, c, "POST", r.URL+"/activate", url.Values{"token": {token}, "password": {"Zx9!kPq#2mWv"}, "password_confirm": {"Zx9!kPq#2mWv"}})
		if status != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Fatalf("activation: %d %v", status, resp.Header)
		}
		if status, _, _ := page(t, c, "GET", r.URL+"/account", nil); status != 200 {
			t.Errorf("account centre after activation: %d, want signed in", status)
		}
		got, _ := r.IdP.Accounts.Get(ctx, acc.ID)
		if got.PasswordHash == "" {
			t.Error("no password after activation")
		}
		if status, _, _ := page(t, browser(), "GET", r.URL+"/activate?token="+token, nil); status != http.StatusGone {
			t.Errorf("a used activation link: %d", status)
		}

		// Another, never activated, is removed by the sweep after 7 days;
		// the activated one stays.
		_, s2 := r.citizen(t, false)
		ph2 := phone()
		b2 := person(s2)
		b2["phone"] = ph2
		b2["confirmed_at"] = r.Clock.Now().Add(-time.Minute).Format(time.RFC3339)
		sber.token = sber.getToken(t, client.ScopePartnerRegistrations)
		if rep := sber.call(t, "POST", "/partner/v1/registrations", "r-4", b2); rep.Status != 201 {
			t.Fatalf("second registration: %d %s", rep.Status, rep.Body)
		}
		if n, err := r.Partner.SweepRegistrations(ctx); err != nil || n != 0 {
			t.Errorf("sweep before 7 days: %d, %v", n, err)
		}
		r.Clock.Advance(7*24*time.Hour + time.Minute)
		if n, err := r.Partner.SweepRegistrations(ctx); err != nil || n != 1 {
			t.Errorf("sweep after 7 days: %d, %v; want 1", n, err)
		}
		if _, err := r.IdP.Accounts.FindByLogin(ctx, "phone", ph2); err == nil {
			t.Error("the unactivated account is still there")
		}
		if _, err := r.IdP.Accounts.Get(ctx, acc.ID); err != nil {
			t.Errorf("the activated account: %v", err)
		}
	})
}

// allowRegister lets the bank register accounts.
func allowRegister(ctx context.Context, r *rig, id string) error {
	b, err := r.Banks.Get(ctx, id)
	if err != nil {
		return err
	}
	b.MayRegister = true
	return r.Banks.Update(ctx, *b)
}

// TestNoticeSwept: the citizen hears of a bank's confirmation even when
// the SMS gateway fails at first: the confirmation's own notice fails,
// and the sweep sends it once the grace has passed, with a link that
// works; a notice that went out is never sent again.
func TestNoticeSwept(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, partner.Config{})
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		a, snils := r.citizen(t, true)
		r.failSends.Store(1)
		if rep := sber.call(t, "POST", "/partner/v1/confirmations", "n-1", person(snils)); rep.Status != 201 {
			t.Fatalf("confirmation: %d %s", rep.Status, rep.Body)
		}
		for deadline := time.Now().Add(10 * time.Second); r.failSends.Load() > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the confirmation's notice was never tried")
			}
		}
		if _, err := r.Sink.Latest(ctx, a.Phone.Value, notice.KindNoticePartnerConfirmed); err == nil {
			t.Fatal("a notice delivered although the gateway failed")
		}
		// Within the grace, the sweep leaves it alone; past it, it sends
		// it with a new link, once.
		if n, err := r.Partner.SweepNotices(ctx); n != 0 || err != nil {
			t.Fatalf("a sweep within the grace sent %d: %v", n, err)
		}
		r.Clock.Advance(3 * time.Minute)
		if n, err := r.Partner.SweepNotices(ctx); n != 1 || err != nil {
			t.Fatalf("the sweep sent %d notices, want 1: %v", n, err)
		}
		token := r.link(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)
		if status, body, _ := page(t, browser(), "GET", r.URL+"/account/dispute?token="+token, nil); status != 200 || !strings.Contains(body, "Отменить подтверждение") {
			t.Fatalf("the swept notice's link: %d %s", status, body)
		}
		if n, err := r.Partner.SweepNotices(ctx); n != 0 || err != nil {
			t.Fatalf("a second sweep sent %d: %v", n, err)
		}

		// A notice that went out at once is not swept.
		b, snils2 := r.citizen(t, true)
		if rep := sber.call(t, "POST", "/partner/v1/confirmations", "n-2", person(snils2)); rep.Status != 201 {
			t.Fatalf("confirmation: %d %s", rep.Status, rep.Body)
		}
		first := r.message(t, b.Phone.Value, notice.KindNoticePartnerConfirmed)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var notified *int64
			if err := db.QueryRow(ctx, `SELECT notified_at FROM partner_disputes WHERE account_id = $1`, b.ID).Scan(&notified); err != nil {
				t.Fatal(err)
			}
			if notified != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the notice that went out is not recorded")
			}
		}
		r.Clock.Advance(3 * time.Minute)
		if n, err := r.Partner.SweepNotices(ctx); n != 0 || err != nil {
			t.Fatalf("the sweep sent %d notices already sent: %v", n, err)
		}
		if m := r.message(t, b.Phone.Value, notice.KindNoticePartnerConfirmed); m.ID != first.ID {
			t.Errorf("a second notice: %q", m.Text)
		}
		token = r.link(t, b.Phone.Value, notice.KindNoticePartnerConfirmed)
		if status, body, _ := page(t, browser(), "GET", r.URL+"/account/dispute?token="+token, nil); status != 200 || !strings.Contains(body, "Отменить подтверждение") {
			t.Fatalf("the notice's own link: %d %s", status, body)
		}
	})
}

// oldNotice and priorNotice are notice jobs of confirmations as releases
// before enqueued them: the confirmation's id only, then also the bank's
// names and the confirmation's time.
type oldNotice struct {
	What string `json:"what"`
	ID   string `json:"id"`
}

func (oldNotice) Kind() string { return "partner.notice" }

type priorNotice struct {
	What   string `json:"what"`
	ID     string `json:"id"`
	BankRU string `json:"bank_ru"`
	BankEN string `json:"bank_en"`
	At     int64  `json:"at"`
}

func (priorNotice) Kind() string { return "partner.notice" }

// TestNoticeJobsOfReleasesBefore: a confirmation's notice job left by a
// release before this one still sends the same notice, with a new link.
func TestNoticeJobsOfReleasesBefore(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		r := newRig(t, db, partner.Config{})
		sber := r.partnerClient(t, "sber", client.ScopePartnerConfirmations)
		a, snils := r.citizen(t, true)
		rep := sber.call(t, "POST", "/partner/v1/confirmations", "c-1", person(snils))
		if rep.Status != 201 {
			t.Fatalf("confirmation: %d %s", rep.Status, rep.Body)
		}
		var conf struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(rep.Body, &conf); err != nil {
			t.Fatal(err)
		}
		first := r.message(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)
		var at int64
		if err := db.QueryRow(ctx, `SELECT confirmed_at FROM partner_confirmations WHERE id = $1`, conf.ID).Scan(&at); err != nil {
			t.Fatal(err)
		}
		last := first
		for _, job := range []interface{ Kind() string }{oldNotice{What: "confirmed", ID: conf.ID},
			priorNotice{What: "confirmed", ID: conf.ID, BankRU: "СберБанк", BankEN: "Sberbank", At: at}} {
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				_, err := r.Jobs.Enqueue(ctx, tx, job, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				m, err := r.Sink.Latest(ctx, a.Phone.Value, notice.KindNoticePartnerConfirmed)
				if err == nil && m.ID != last.ID {
					if m.Text[:strings.Index(m.Text, "token=")] != first.Text[:strings.Index(first.Text, "token=")] || m.Text == last.Text {
						t.Errorf("%T's notice:\n%s\nthe confirmation's own:\n%s", job, m.Text, first.Text)
					}
					last = m
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%T sent nothing", job)
				}
			}
		}
		token := r.link(t, a.Phone.Value, notice.KindNoticePartnerConfirmed)
		if status, body, _ := page(t, browser(), "GET", r.URL+"/account/dispute?token="+token, nil); status != 200 || !strings.Contains(body, "Отменить подтверждение") {
			t.Fatalf("the last notice's link: %d %s", status, body)
		}
	})
}
