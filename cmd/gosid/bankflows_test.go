package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification"
	"github.com/gosid/gosid/verification/bank"
)

// startSandboxBank serves the development sandbox bank on 127.0.0.1 and
// registers it with i as the bank "sandbox", as `gosid serve
// --sandbox-bank-addr` does.
func startSandboxBank(t *testing.T, i *idp.IdP) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, err := verification.SandboxBank(context.Background(), i, "http://"+ln.Addr().String(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// abs is do for an absolute URL (the bank's pages, the callback).
func (b *browser) abs(method, u string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(raw)}
}

var sandboxTokenRe = regexp.MustCompile(`name="request" value="([^"]+)"`)

// atBank goes from Gosid's redirect to the bank (p) through the sandbox's
// page as customer and returns the callback URL the bank sends back to.
func (b *browser) atBank(p page, customer string) string {
	b.t.Helper()
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "/authorize?") {
		b.t.Fatalf("want a redirect to the bank, got %d → %q\n%s", p.Status, p.Location, firstError(p.Body))
	}
	at := b.abs("GET", p.Location, nil)
	m := sandboxTokenRe.FindStringSubmatch(at.Body)
	if at.Status != 200 || m == nil {
		b.t.Fatalf("the sandbox's page: %d", at.Status)
	}
	back := b.abs("POST", p.Location, url.Values{"request": {m[1]}, "customer": {customer}})
	if back.Status/100 != 3 || !strings.Contains(back.Location, "/bank/callback?") {
		b.t.Fatalf("the sandbox did not send back: %d → %q", back.Status, back.Location)
	}
	return back.Location
}

// bankSignIn signs in with the sandbox bank as customer and returns the
// callback's answer and its URL.
func (b *browser) bankSignIn(next, customer string) (page, string) {
	b.t.Helper()
	form := url.Values{"bank": {"sandbox"}}
	if next != "" {
		form.Set("next", next)
	}
	cb := b.atBank(b.post("/login/bank", form), customer)
	return b.abs("GET", cb, nil), cb
}

func links(t *testing.T, db *sqldb.DB, accountID string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM bank_links WHERE account_id = $1`, accountID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBankSignIn: through the real server and the sandbox bank, a bank
// identity linked to no account is offered linking; after a password
// sign-in the citizen links it (logged); then the bank alone signs in
// (amr fed, the OIDC request resumed), a replayed callback is refused, an
// account with a second factor is asked for it, a removed link is offered
// linking again, and locked-out and blocked accounts are refused.
func TestBankSignIn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		srv, _, parts := startOPParts(t, db, c)
		startSandboxBank(t, parts)
		const phone = "+79121110071"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Иванов", "Иван")
		a, err := parts.Accounts.FindByLogin(ctx, account.Phone, phone)
		if err != nil {
			t.Fatal(err)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")

		if p := b.get("/login"); !strings.Contains(p.Body, "Войти через Песочница банка") || !strings.Contains(p.Body, `action="/login/bank"`) {
			t.Fatalf("the sign-in page offers no bank:\n%s", firstError(p.Body))
		}

		// Not linked: no session, the choice to link or register.
		p, cb := b.bankSignIn("", "sandbox-0001")
		if p.Status != 200 || !strings.Contains(p.Body, "ещё не связан с учётной записью Gosid") || !strings.Contains(p.Body, `id="bank-register"`) {
			t.Fatalf("unlinked bank identity: %d\n%s", p.Status, firstError(p.Body))
		}
		if p := b.get("/account"); p.Status/100 != 3 {
			t.Fatal("an unlinked bank identity signed in")
		}
		// The callback again (a replay): refused, nothing happens.
		if p := b.abs("GET", cb, nil); p.Status != 400 || !strings.Contains(p.Body, "устарела или уже использована") {
			t.Fatalf("replayed callback: %d %q", p.Status, firstError(p.Body))
		}
		// Link after a password sign-in.
		b.get("/bank/link").expectRedirect(t, "/login?next=%2Fbank%2Flink")
		b.post("/login", url.Values{"login": {phone}, "password": {goodPassword}, "next": {"/bank/link"}}).expectRedirect(t, "/bank/link")
		if p := b.get("/bank/link"); p.Status != 200 || !strings.Contains(p.Body, "Привязать вход через банк «Песочница банка»") {
			t.Fatalf("link confirmation: %d %q", p.Status, firstError(p.Body))
		}
		if n := links(t, db, a.ID); n != 0 {
			t.Fatalf("linked before the confirmation: %d", n)
		}
		b.post("/bank/link", nil).expectRedirect(t, "/account/banks?notice=linked")
		if n := links(t, db, a.ID); n != 1 {
			t.Fatalf("%d links after linking, want 1", n)
		}
		if p := b.post("/bank/link", nil); p.Status != 400 {
			t.Fatalf("linking twice with one flow: %d", p.Status)
		}
		if p := b.get("/account/banks"); p.Status != 200 || !strings.Contains(p.Body, "Песочница банка") || !strings.Contains(p.Body, `id="bank-remove-sandbox"`) {
			t.Fatalf("linked banks: %d\n%s", p.Status, firstError(p.Body))
		}
		if p := b.get("/account/activity"); !strings.Contains(p.Body, "Привязан вход через банк") {
			t.Fatalf("the link is not in the activity log")
		}
		b.post("/logout", nil).expectRedirect(t, "/login")

		// Linked: the bank signs in and the OIDC request resumes; amr fed,
		// the account's level in acr.
		cl, secret, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
			RedirectURIs: []string{"http://127.0.0.1:9/cb"}, Scopes: []string{"openid"}, GrantTypes: []string{"authorization_code"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		verifier, challenge := pkce()
		q := url.Values{"client_id": {cl.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		p = b.get("/authorize?" + q.Encode())
		for i := 0; i < 3 && p.Status/100 == 3 && !strings.HasPrefix(p.Location, "/login"); i++ {
			p = b.get(p.Location)
		}
		p.expectRedirect(t, "/login")
		lu, _ := url.Parse(p.Location)
		next := lu.Query().Get("next")
		p, _ = b.bankSignIn(next, "sandbox-0001")
		p.expectRedirect(t, "/authorize")
		cbq := authorizeFrom(t, b, p)
		tr := tokenRequest(t, srv.URL, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cbq.Get("code")},
			"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {verifier}})
		set, err := jwk.Fetch(ctx, srv.URL+"/keys")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Parse([]byte(tr.IDToken), jwt.WithKeySet(set), jwt.WithIssuer(srv.URL), jwt.WithAudience(cl.ID), jwt.WithValidate(true))
		if err != nil {
			t.Fatalf("ID token: %v (%+v)", err, tr)
		}
		var acr string
		var amr []any
		_ = tok.Get("acr", &acr)
		_ = tok.Get("amr", &amr)
		if acr != "urn:gosid:loa:simplified" || !slices.Equal(amr, []any{"fed"}) {
			t.Fatalf("ID token acr %q amr %v, want the account's level and [fed]", acr, amr)
		}
		if got, _ := parts.Accounts.Get(ctx, a.ID); got.Level != a.Level {
			t.Fatalf("a bank sign-in changed the level: %s → %s", a.Level, got.Level)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")

		// A second factor is still asked for.
		b.post("/login", url.Values{"login": {phone}, "password": {goodPassword}}).expectRedirect(t, "/account")
		p = b.postStep("/account/security/totp", nil)
		m := secretRe.FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("TOTP enrolment page: %d", p.Status)
		}
		totpSecret := strings.ReplaceAll(m[1], " ", "")
		code, _ := totp.GenerateCode(totpSecret, c.Now())
		if p := b.postStep("/account/security/totp/confirm", url.Values{"code": {code}}); p.Status != 200 {
			t.Fatalf("TOTP confirm: %d", p.Status)
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		p, _ = b.bankSignIn("", "sandbox-0001")
		p.expectRedirect(t, "/login/2fa")
		if p := b.get("/account"); p.Status/100 != 3 {
			t.Fatal("signed in with a bank before the second factor")
		}
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(totpSecret, c.Now())
		b.post("/login/2fa", url.Values{"code": {code}}).expectRedirect(t, "/account")

		// Removing the link needs a recent authentication.
		c.Advance(20 * time.Minute)
		b.post("/account/banks/remove", url.Values{"bank": {"sandbox"}}).stale(t, "/account/banks")
		if n := links(t, db, a.ID); n != 1 {
			t.Fatalf("a stale session removed the link: %d", n)
		}
		c.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(totpSecret, c.Now())
		b.reauth("/account/banks", url.Values{"password": {goodPassword}, "code": {code}})
		if p := b.postStep("/account/banks/remove", url.Values{"bank": {"sandbox"}}); p.Status != 200 || !strings.Contains(p.Body, "отвязан") {
			t.Fatalf("remove: %d %q", p.Status, firstError(p.Body))
		}
		if n := links(t, db, a.ID); n != 0 {
			t.Fatalf("%d links after removal", n)
		}
		if p := b.get("/account/activity"); !strings.Contains(p.Body, "Отвязан вход через банк") {
			t.Fatalf("the removal is not in the activity log")
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		// Back to the real time: the bank's ID tokens are checked against it.
		c.Set(time.Now())
		if p, _ := b.bankSignIn("", "sandbox-0001"); p.Status != 200 || !strings.Contains(p.Body, "ещё не связан") {
			t.Fatalf("after removal: %d %q", p.Status, firstError(p.Body))
		}
		// «Зарегистрироваться через банк» from there: registration with the
		// data the sign-in brought, without going to the bank again.
		b.post("/register/bank", url.Values{}).expectRedirect(t, "/register")
		if p := b.get("/register"); !strings.Contains(p.Body, "Данные из банка «Песочница банка»: Иванов Иван") {
			t.Fatalf("registration from an unlinked sign-in is not pre-filled:\n%s", firstError(p.Body))
		}
		if p := b.post("/register/bank", url.Values{}); p.Status != 400 {
			t.Fatalf("the unlinked sign-in used twice: %d", p.Status)
		}

		// A blocked account: refused as at /login.
		other := newBrowser(t, srv)
		const phone2 = "+79121110072"
		other.register("phone", phone2, phone2, "Сёмина-Петрова", "Алёна")
		a2, err := parts.Accounts.FindByLogin(ctx, account.Phone, phone2)
		if err != nil {
			t.Fatal(err)
		}
		other.bankLink(t, "sandbox-0002", phone2)
		other.post("/logout", nil).expectRedirect(t, "/login")
		// Locked out after wrong passwords: the bank does not get round it.
		for _, pw := range []string{"Wrong#Pass1", "Wrong#Pass2", "Wrong#Pass3"} {
			other.post("/login", url.Values{"login": {phone2}, "password": {pw}})
		}
		if p, _ := other.bankSignIn("", "sandbox-0002"); p.Status != 403 || !strings.Contains(p.Body, "временно заблокирован") || !strings.Contains(p.Body, `href="/recover"`) {
			t.Fatalf("locked-out account: %d %q", p.Status, firstError(p.Body))
		}
		if p := other.get("/account"); p.Status/100 != 3 {
			t.Fatal("a locked-out account signed in with a bank")
		}
		if err := parts.Accounts.SetStatus(ctx, a2.ID, account.StatusBlocked); err != nil {
			t.Fatal(err)
		}
		if p, _ := other.bankSignIn("", "sandbox-0002"); p.Status != 403 || !strings.Contains(p.Body, "заблокирована") {
			t.Fatalf("blocked account: %d %q", p.Status, firstError(p.Body))
		}
		if p := other.get("/account"); p.Status/100 != 3 {
			t.Fatal("a blocked account signed in with a bank")
		}
	})
}

// bankLink links the sandbox's customer to the browser's signed-in
// account.
func (b *browser) bankLink(t *testing.T, customer, phone string) {
	t.Helper()
	p, _ := b.bankSignIn("", customer)
	if p.Status != 200 || !strings.Contains(p.Body, "ещё не связан") {
		t.Fatalf("unlinked: %d %q", p.Status, firstError(p.Body))
	}
	if p := b.get("/bank/link"); p.Status != 200 {
		t.Fatalf("link page: %d %q", p.Status, firstError(p.Body))
	}
	b.post("/bank/link", nil).expectRedirect(t, "/account/banks")
}

// authorizeFrom follows an authorization in progress (p) to the client's
// redirect and returns its query.
func authorizeFrom(t *testing.T, b *browser, p page) url.Values {
	t.Helper()
	for i := 0; i < 5 && p.Status/100 == 3 && strings.HasPrefix(p.Location, "/"); i++ {
		if strings.HasPrefix(p.Location, "/authorize/consent") {
			id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
			p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
			continue
		}
		p = b.get(p.Location)
	}
	u, err := url.Parse(p.Location)
	if err != nil || u.Query().Get("code") == "" {
		t.Fatalf("no code for the client: %d %q", p.Status, p.Location)
	}
	return u.Query()
}

// registerWithBank runs registration through the sandbox bank as
// customer, confirming phone by code, and posts the profile with form's
// names (which the bank's vouched ones override).
func (b *browser) registerWithBank(t *testing.T, customer, phone string, form url.Values) (profile page) {
	t.Helper()
	p := b.abs("GET", b.atBank(b.post("/register/bank", url.Values{"bank": {"sandbox"}}), customer), nil)
	p.expectRedirect(t, "/register")
	start := b.get("/register")
	if !strings.Contains(start.Body, "Данные из банка «Песочница банка»") || !strings.Contains(start.Body, strings.TrimPrefix(phone, "+")+`"`) {
		t.Fatalf("registration start does not show the bank's data and phone:\n%s", start.Body)
	}
	b.post("/register", url.Values{"by": {"phone"}, "phone": {phone}}).expectRedirect(t, "/register/code")
	b.post("/register/code", url.Values{"code": {b.latestCode(phone, "code.register")}}).expectRedirect(t, "/register/profile")
	profile = b.get("/register/profile")
	form.Set("password", goodPassword)
	form.Set("password_confirm", goodPassword)
	form.Set("consent", "yes")
	b.post("/register/profile", form).expectRedirect(t, "/account/details")
	return profile
}

// TestBankRegistration: registration through the sandbox bank. A full
// vouch (SNILS and passport) gives a confirmed account with the bank's
// name whatever the form said; a customer without a passport gets the
// vouched data but no higher level; a bank vouching for less leaves the
// rest as claims and queues the registry check; a SNILS verified on
// another account is refused; the callback works once.
func TestBankRegistration(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
		startSandboxBank(t, parts)

		if p := newBrowser(t, srv).get("/register"); !strings.Contains(p.Body, `action="/register/bank"`) || !strings.Contains(p.Body, "Зарегистрироваться через банк") {
			t.Fatalf("the registration page offers no bank")
		}
		// A full vouch: confirmed, named as at the bank.
		b := newBrowser(t, srv)
		profile := b.registerWithBank(t, "sandbox-0002", "+79160000002",
			url.Values{"family_name": {"Подменова"}, "given_name": {"Алёна"}, "middle_name": {"Сергеевна"}})
		if !strings.Contains(profile.Body, `value="Сёмина-Петрова"`) || !strings.Contains(profile.Body, "подтверждено банком «Песочница банка»") ||
			!regexp.MustCompile(`id="family_name"[^>]*readonly`).MatchString(profile.Body) {
			t.Fatalf("profile step not pre-filled as vouched:\n%s", profile.Body)
		}
		a, err := parts.Accounts.FindByLogin(ctx, account.Phone, "+79160000002")
		if err != nil {
			t.Fatal(err)
		}
		if a.Name.Family != "Сёмина-Петрова" || string(a.Level) != "confirmed" || !a.SNILSVerified() || a.Passport == nil {
			t.Fatalf("full vouch: name %q level %s SNILS verified %v passport %v", a.Name.Family, a.Level, a.SNILSVerified(), a.Passport != nil)
		}
		if links(t, db, a.ID) != 1 {
			t.Fatal("the bank identity is not linked")
		}
		b.post("/logout", nil).expectRedirect(t, "/login")
		if p, _ := b.bankSignIn("", "sandbox-0002"); p.Status/100 != 3 || p.Location != "/account" {
			t.Fatalf("bank sign-in after registration: %d %q", p.Status, p.Location)
		}

		// No passport: the vouched data, the level unchanged.
		k := newBrowser(t, srv)
		k.registerWithBank(t, "sandbox-0003", "+79160000003", url.Values{"family_name": {"Ким"}, "given_name": {"Виктор"}})
		ka, err := parts.Accounts.FindByLogin(ctx, account.Phone, "+79160000003")
		if err != nil {
			t.Fatal(err)
		}
		if string(ka.Level) == "confirmed" || !ka.SNILSVerified() || ka.BirthDate.IsZero() || links(t, db, ka.ID) != 1 {
			t.Fatalf("no passport: level %s SNILS verified %v birth date %v links %d", ka.Level, ka.SNILSVerified(), ka.BirthDate, links(t, db, ka.ID))
		}

		// A bank vouching for the names, birth date and SNILS only: the
		// passport it sent is a claim, and the registry check is queued.
		sb, err := verificationBanks(parts).Get(ctx, "sandbox")
		if err != nil {
			t.Fatal(err)
		}
		sb.Vouches = []string{"family_name", "given_name", "middle_name", "birthdate", "snils"}
		if err := verificationBanks(parts).Update(ctx, *sb); err != nil {
			t.Fatal(err)
		}
		iv := newBrowser(t, srv)
		iv.registerWithBank(t, "sandbox-0001", "+79160000001", url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"}, "middle_name": {"Иванович"}})
		ia, err := parts.Accounts.FindByLogin(ctx, account.Phone, "+79160000001")
		if err != nil {
			t.Fatal(err)
		}
		var pendingChecks int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM verification_checks WHERE account_id = $1 AND status = 'pending'`, ia.ID).Scan(&pendingChecks); err != nil {
			t.Fatal(err)
		}
		if string(ia.Level) == "confirmed" || ia.Passport == nil || pendingChecks != 1 {
			t.Fatalf("partial vouch: level %s passport %v pending checks %d", ia.Level, ia.Passport != nil, pendingChecks)
		}

		// The SNILS verified on another account: refused, with the way to
		// sign in and link.
		if _, err := db.Exec(ctx, `DELETE FROM bank_links WHERE account_id = $1`, a.ID); err != nil {
			t.Fatal(err)
		}
		n := newBrowser(t, srv)
		cb := n.atBank(n.post("/register/bank", url.Values{"bank": {"sandbox"}}), "sandbox-0002")
		p := n.abs("GET", cb, nil)
		if p.Status != 409 || !strings.Contains(p.Body, "Учётная запись с этим СНИЛС уже есть") || !strings.Contains(p.Body, `href="/recover"`) {
			t.Fatalf("SNILS verified elsewhere: %d %q", p.Status, firstError(p.Body))
		}
		if p := n.get("/register"); strings.Contains(p.Body, "Данные из банка") {
			t.Fatal("a refused bank registration still pre-fills /register")
		}
		// The same callback again: refused.
		if p := n.abs("GET", cb, nil); p.Status != 400 {
			t.Fatalf("replayed registration callback: %d", p.Status)
		}

		// Flows started without signing in are bounded per address.
		limited := 0
		for i := 0; i < 40 && limited == 0; i++ {
			if p := n.post("/login/bank", url.Values{"bank": {"sandbox"}}); p.Status == 429 {
				limited = i + 1
				if !strings.Contains(p.Body, "Слишком много попыток входа через банк") {
					t.Fatalf("429 without saying why: %q", firstError(p.Body))
				}
			}
		}
		if limited == 0 || limited > 31 {
			t.Fatalf("bank flows per address: limited after %d (0: never), want at most 30 more", limited)
		}
	})
}

func verificationBanks(i *idp.IdP) *bank.Store { return bank.NewStore(i.DB, i.Now) }

// TestBankConfirmSessionOutage: the bank answers a confirmation while the
// sessions cannot be read: «начато в другой учётной записи» would be a
// verdict nobody made; the answer is 503.
func TestBankConfirmSessionOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		srv, _, parts := startOPParts(t, db, c)
		startSandboxBank(t, parts)
		b := newBrowser(t, srv)
		b.register("phone", "+79121110079", "+79121110079", "Иванов", "Иван")
		cb := b.atBank(b.post("/account/confirm/bank", url.Values{"bank": {"sandbox"}}), "sandbox-0001")
		var p page
		sqldbtest.WithoutTable(t, db, "sessions", func() { p = b.abs("GET", cb, nil) })
		if p.Status != http.StatusServiceUnavailable || strings.Contains(p.Body, "другой учётной записи") {
			t.Fatalf("the bank's answer while the sessions could not be read: %d %q", p.Status, firstError(p.Body))
		}
	})
}

// TestBankLinkOutage: linking while the links or the flows cannot be
// reached is 503, never «устарела»; the flow is not spent, so the same
// confirmation links once the store is back, and only once.
func TestBankLinkOutage(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		srv, _, parts := startOPParts(t, db, c)
		startSandboxBank(t, parts)
		const phone = "+79121110081"
		b := newBrowser(t, srv)
		b.register("phone", phone, phone, "Иванов", "Иван")
		a, err := parts.Accounts.FindByLogin(context.Background(), account.Phone, phone)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := b.bankSignIn("", "sandbox-0002"); p.Status != 200 || !strings.Contains(p.Body, "ещё не связан") {
			t.Fatalf("unlinked: %d %q", p.Status, firstError(p.Body))
		}
		for _, table := range []string{"flows", "bank_links"} {
			var p page
			sqldbtest.WithoutTable(t, db, table, func() { p = b.post("/bank/link", nil) })
			if p.Status != http.StatusServiceUnavailable || strings.Contains(p.Body, "устарела") {
				t.Fatalf("linking without %s: %d %q", table, p.Status, firstError(p.Body))
			}
		}
		if n := links(t, db, a.ID); n != 0 {
			t.Fatalf("%d links after the failed attempts", n)
		}
		b.post("/bank/link", nil).expectRedirect(t, "/account/banks?notice=linked")
		if n := links(t, db, a.ID); n != 1 {
			t.Fatalf("%d links after the retry, want 1", n)
		}
		if p := b.post("/bank/link", nil); p.Status != http.StatusBadRequest {
			t.Fatalf("linking twice with one flow: %d", p.Status)
		}
	})
}

// TestSessionOutagePages: while the sessions cannot be read, the pages of
// the modules beside the account centre (banks, certificates, passkeys)
// do not send a signed-in citizen to sign in again: 503, then the same
// pages work.
func TestSessionOutagePages(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		srv, _, parts := startOPWith(t, db, sqldbtest.NewClock(time.Now()), func(o *idpOptions) {
			o.Esign = esignOptions{TrustDir: filepath.Join(certFixtures, "trust")}
		})
		startSandboxBank(t, parts)
		b := newBrowser(t, srv)
		b.register("phone", "+79121110082", "+79121110082", "Иванов", "Иван")
		pages := []string{"/account/banks", "/account/certificates", "/account/passkeys"}
		sqldbtest.WithoutTable(t, db, "sessions", func() {
			for _, path := range pages {
				if p := b.get(path); p.Status != http.StatusServiceUnavailable || p.Location != "" {
					t.Errorf("GET %s during the outage: %d → %q", path, p.Status, p.Location)
				}
			}
			if p := b.post("/account/confirm/bank", url.Values{"bank": {"sandbox"}}); p.Status != http.StatusServiceUnavailable || p.Location != "" {
				t.Errorf("a bank confirmation during the outage: %d → %q", p.Status, p.Location)
			}
		})
		for _, path := range pages {
			if p := b.get(path); p.Status != http.StatusOK {
				t.Errorf("GET %s after the outage: %d → %q", path, p.Status, p.Location)
			}
		}
	})
}

// TestBankSignInBoundToBrowser: a bank flow finishes only in the browser
// that started it (login CSRF). An attacker whose account is linked to
// their bank identity starts a sign-in with the bank, signs in there and
// sends the callback's address to a victim: the victim's browser is told
// the sign-in began elsewhere and stays in the victim's own account; the
// flow is used up, and the attacker's own browser signs in as before.
func TestBankSignInBoundToBrowser(t *testing.T) {
	db := sqldbtest.SQLite(t)
	srv, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
	startSandboxBank(t, parts)
	const phone = "+79121110081"
	attacker := newBrowser(t, srv)
	attacker.register("phone", phone, phone, "Злоумышленников", "Захар")
	attacker.post("/logout", nil).expectRedirect(t, "/login")
	attacker.bankSignIn("", "sandbox-0002")
	attacker.post("/login", url.Values{"login": {phone}, "password": {goodPassword}, "next": {"/bank/link"}}).expectRedirect(t, "/bank/link")
	attacker.post("/bank/link", nil).expectRedirect(t, "/account/banks?notice=linked")
	attacker.post("/logout", nil).expectRedirect(t, "/login")

	sent := attacker.atBank(attacker.post("/login/bank", url.Values{"bank": {"sandbox"}}), "sandbox-0002")
	victim := newBrowser(t, srv)
	victim.register("phone", "+79121110082", "+79121110082", "Доверчивая", "Вера")
	if p := victim.abs("GET", sent, nil); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "начат в другом браузере") {
		t.Fatalf("the attacker's callback in the victim's browser: %d\n%s", p.Status, firstError(p.Body))
	} else {
		shootPage(t, srv.URL, p.Body, "bank-other-browser")
		en := attacker.atBank(attacker.post("/login/bank", url.Values{"bank": {"sandbox"}}), "sandbox-0002")
		shootPage(t, srv.URL, victim.abs("GET", en+"&lang=en", nil).Body, "bank-other-browser-en")
	}
	if p := victim.get("/account/details"); p.Status != 200 || !strings.Contains(p.Body, "Доверчивая") || strings.Contains(p.Body, "Злоумышленников") {
		t.Fatalf("the victim's account after the attacker's callback: %d", p.Status)
	}
	// Each flow's failure is told on its own page and leads back to where
	// it started (the callback that fails knows the flow it used up).
	for _, c := range []struct{ start, title, back, backText string }{
		{"/login/bank", "Вход через банк", "/login", "Вернуться ко входу"},
		{"/register/bank", "Регистрация через банк", "/register", "Вернуться к регистрации"},
	} {
		other := newBrowser(t, srv)
		p := newBrowser(t, srv).abs("GET", other.atBank(other.post(c.start, url.Values{"bank": {"sandbox"}}), "sandbox-0002"), nil)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "<h1>"+c.title+"</h1>") ||
			!strings.Contains(p.Body, `href="`+c.back+`">`+c.backText+`</a>`) || strings.Contains(p.Body, "К способам подтверждения") {
			t.Errorf("%s's callback in another browser: %d\n%s", c.start, p.Status, p.Body)
		}
		if c.back == "/register" {
			shootPage(t, srv.URL, p.Body, "bank-register-other-browser")
		}
	}
	unknown, err := url.Parse(victim.atBank(victim.post("/account/confirm/bank", url.Values{"bank": {"sandbox"}}), "sandbox-0002"))
	if err != nil {
		t.Fatal(err)
	}
	q := unknown.Query()
	q.Set("state", "unknown")
	q.Set("lang", "ru")
	unknown.RawQuery = q.Encode()
	if p := victim.abs("GET", unknown.String(), nil); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, "<h1>Подтверждение через банк</h1>") || !strings.Contains(p.Body, `href="/account/confirm">К способам подтверждения</a>`) {
		t.Errorf("an unknown confirmation's callback: %d\n%s", p.Status, p.Body)
	} else {
		shootPage(t, srv.URL, p.Body, "bank-confirm-expired")
		q.Set("lang", "en")
		unknown.RawQuery = q.Encode()
		shootPage(t, srv.URL, victim.abs("GET", unknown.String(), nil).Body, "bank-confirm-expired-en")
	}
	if p := attacker.abs("GET", sent, nil); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "устарела или уже использована") {
		t.Fatalf("the callback after another browser used it up: %d\n%s", p.Status, firstError(p.Body))
	}
	if p, _ := attacker.bankSignIn("", "sandbox-0002"); p.Status/100 != 3 {
		t.Fatalf("the attacker's own bank sign-in: %d\n%s", p.Status, firstError(p.Body))
	}
	if p := attacker.get("/account/details"); p.Status != 200 || !strings.Contains(p.Body, "Злоумышленников") {
		t.Fatalf("the attacker's own account: %d", p.Status)
	}
}
