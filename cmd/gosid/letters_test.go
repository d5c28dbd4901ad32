package main

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/verification/letter"
	"github.com/gosid/gosid/verification/letter/lettertest"
)

// TestLetters is the acceptance of the code by registered letter (issue
// 16), through the real server and `gosid letters` on one database, on
// both dialects: a standard citizen orders a letter (a bad address is
// refused field by field, nothing kept); `letters export` writes the PDF,
// whose text (pdftotext) holds the code and the address, and the
// register; `letters sent` refuses a file with bad lines (naming them,
// recording nothing) and records a good one; the code from the PDF
// confirms the account (evidence: the letter by its tracking number; a
// site's ID token from the token endpoint has acr confirmed and
// verified_claims with the letter as document evidence; the citizen told). Another citizen, whose sign-in is no longer recent,
// re-authenticates to order; three wrong codes spend the code, and a
// second order within 30 days is refused.
func TestLetters(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		c := cli{t, []string{"--data-dir", dir}}
		c.ok("migrate")
		lettersFlow(t, c, dir, "")
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqldbtest.PostgresURL(t)
		dir := t.TempDir()
		lettersFlow(t, cli{t, []string{"--data-dir", dir, "--database-url", url}}, dir, url)
	})
}

// letterCitizen registers a citizen and raises them to standard, as the
// registries would.
func letterCitizen(t *testing.T, b *browser, parts *idp.IdP, phone, family string) *account.Account {
	t.Helper()
	ctx := context.Background()
	b.register("phone", phone, phone, family, "Иван")
	a, err := parts.Accounts.FindByLogin(ctx, account.Phone, phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parts.Verifier.Verify(ctx, assurance.Verification{Evidence: assurance.Evidence{AccountID: a.ID,
		Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "test"},
		Claims: []string{"family_name", "given_name"}, Level: assurance.Standard}}); err != nil {
		t.Fatal(err)
	}
	return a
}

var letterAddress = url.Values{"index": {"101000"}, "region": {"Москва"}, "city": {"Москва"}, "street": {"ул. Мясницкая"}, "house": {"26"}, "flat": {"15"}}

// exportLetters runs `gosid letters export` and returns the PDF's text
// and the register's rows.
func exportLetters(t *testing.T, c cli, site string) (string, [][]string) {
	t.Helper()
	out := strings.Fields(c.ok("letters", "export", "--out", filepath.Join(t.TempDir(), "batch"), "--public-url", site))
	if len(out) != 4 || out[1] != "letters" {
		t.Fatalf("export printed %q", out)
	}
	f, err := os.Open(out[3])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return lettertest.PDFText(t, out[2]), rows
}

func writeTracking(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tracking.csv")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func lettersFlow(t *testing.T, c cli, dir, dbURL string) {
	ctx := context.Background()
	db, km := commandKeys(t, dir, dbURL)
	clock := sqldbtest.NewClock(time.Now())
	srv, _, parts := startOPKeys(t, db, clock, km, nil)
	const phone = "+79121110091"
	b := newBrowser(t, srv)
	a := letterCitizen(t, b, parts, phone, "Письмов")

	if p := b.get("/account/confirm"); !strings.Contains(p.Body, "Код подтверждения письмом") || !strings.Contains(p.Body, `href="/account/confirm/letter"`) {
		t.Fatalf("the confirmation page offers no letter:\n%s", p.Body)
	}
	if p := b.get("/account/confirm/letter"); p.Status != 200 || !strings.Contains(p.Body, `name="index"`) || !strings.Contains(p.Body, "Получить код письмом") {
		t.Fatalf("the letter page: %d\n%s", p.Status, firstError(p.Body))
	}
	// A bad address: every wrong field named, nothing kept.
	bad := url.Values{"index": {"12"}, "region": {"Нарния"}, "city": {"Москва"}, "house": {"26"}}
	p := b.post("/account/confirm/letter", bad)
	for _, want := range []string{"Поле «Почтовый индекс» заполнено неверно", "Выберите значение поля «Регион» из списка", "Заполните поле «Улица»"} {
		if p.Status != 422 || !strings.Contains(p.Body, want) {
			t.Errorf("a bad address: %d, no %q\n%s", p.Status, want, firstError(p.Body))
		}
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM letters`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a refused form kept %d letters (%v)", n, err)
	}
	b.post("/account/confirm/letter", letterAddress).expectRedirect(t, "/account/confirm/letter")
	if p := b.get("/account/confirm/letter"); !strings.Contains(p.Body, "Письмо заказано") {
		t.Fatalf("after the order:\n%s", p.Body)
	}
	if p := b.post("/account/confirm/letter", letterAddress); p.Status != 409 || !strings.Contains(p.Body, "новое можно заказать через 30 дней") {
		t.Fatalf("a second order: %d %s", p.Status, firstError(p.Body))
	}

	// The batch: the PDF holds the code and the address, the register the
	// letter.
	text, rows := exportLetters(t, c, srv.URL)
	m := lettertest.CodeRe.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no code in the letter:\n%s", text)
	}
	code := m[1]
	for _, want := range []string{"Письмов Иван", "ул. Мясницкая, д. 26, кв. 15", "101000", "Москва", srv.URL + "/account/confirm/letter", "30 дней с даты отправки"} {
		if !strings.Contains(text, want) {
			t.Errorf("the letter lacks %q:\n%s", want, text)
		}
	}
	if len(rows) != 2 || rows[0][1] != "ФИО адресата" || rows[1][1] != "Письмов Иван" || rows[1][2] != "101000" || rows[1][4] != "заказное письмо" {
		t.Fatalf("register %q", rows)
	}
	id := rows[1][5]
	if out := c.ok("letters", "list", "--status", "exported"); !strings.Contains(out, id) {
		t.Fatalf("list --status exported:\n%s", out)
	}
	if out := strings.TrimSpace(c.ok("letters", "export", "--out", t.TempDir(), "--public-url", srv.URL)); out != "no letters to export" {
		t.Errorf("a second export: %q", out)
	}

	// Tracking numbers: a file with bad lines records nothing.
	r := c.run("letters", "sent", "--tracking", writeTracking(t, "letter,tracking\n"+id+",RA123456784RU\nnonsense,RA123456785RU\n"))
	if r.code != exitConfig || !strings.Contains(r.stderr, "line 2") || !strings.Contains(r.stderr, "line 3") {
		t.Fatalf("bad tracking file: exit %d\n%s", r.code, r.stderr)
	}
	if out := c.ok("letters", "list", "--status", "sent"); strings.Contains(out, id) {
		t.Fatal("a refused tracking file recorded a letter")
	}
	if out := c.ok("letters", "sent", "--tracking", writeTracking(t, id+";RA123456785RU\n")); !strings.HasPrefix(out, "1 letters sent") {
		t.Fatalf("sent: %q", out)
	}
	if p := b.get("/account/confirm/letter"); !strings.Contains(p.Body, "трек-номер RA123456785RU") || !strings.Contains(p.Body, `name="code"`) {
		t.Fatalf("after dispatch:\n%s", p.Body)
	}

	// A wrong code uses a try; the right one confirms.
	if p := b.post("/account/confirm/letter/code", url.Values{"code": {"ZZZZZZZZ"}}); p.Status != 422 || !strings.Contains(p.Body, "Неверный код. Осталось попыток: 2") {
		t.Fatalf("a wrong code: %d %s", p.Status, firstError(p.Body))
	}
	if p := b.post("/account/confirm/letter/code", url.Values{"code": {strings.ToLower(code)}}); p.Status != 200 || !strings.Contains(p.Body, "Личность подтверждена") {
		t.Fatalf("the code from the letter: %d %s", p.Status, firstError(p.Body))
	}
	if got, _ := parts.Accounts.Get(ctx, a.ID); got.Level != assurance.Confirmed {
		t.Fatalf("level after the code: %s", got.Level)
	}
	evs, err := parts.Verifier.Evidence(ctx, a.ID)
	found := false
	for _, e := range evs {
		found = found || e.Method == assurance.MethodLetter && e.Document.Number == "RA123456785RU" && e.Level == assurance.Confirmed
	}
	if err != nil || !found {
		t.Fatalf("no letter evidence with the tracking number: %+v %v", evs, err)
	}
	// A site gets the confirmation through the real token endpoint: acr
	// confirmed, and verified_claims with the letter as document evidence.
	claims := idTokenClaims(t, b, db, srv.URL, `{"id_token":{"verified_claims":{"verification":{"trust_framework":null,`+
		`"evidence":[{"type":{"value":"document"}}]},"claims":{"family_name":null,"given_name":null}}}}`)
	vc, _ := json.Marshal(claims["verified_claims"])
	if claims["acr"] != "urn:gosid:loa:confirmed" || !strings.Contains(string(vc), `"document_number":"RA123456785RU"`) ||
		!strings.Contains(string(vc), `"type":"ru_registered_letter"`) || !strings.Contains(string(vc), `"family_name":"Письмов"`) {
		t.Fatalf("ID token acr %v, verified_claims %s", claims["acr"], vc)
	}
	told := false
	for _, msg := range b.messages(phone) {
		told = told || msg.Kind == "notice.letter_confirmed"
	}
	if !told {
		t.Error("the citizen was not told of the confirmation")
	}

	// Another citizen: three wrong codes spend the code; a second order
	// within 30 days is refused.
	b2 := newBrowser(t, srv)
	letterCitizen(t, b2, parts, "+79121110092", "Ошибкин")
	// Ordering needs a recent sign-in: a stale session goes to
	// re-authentication before the form and at the order, and comes back.
	clock.Advance(session.DefaultReauthMaxAge + time.Minute)
	b2.get("/account/confirm/letter").expectRedirect(t, "/account/reauth")
	b2.post("/account/confirm/letter", letterAddress).expectRedirect(t, "/account/reauth")
	b2.reauth("/account/confirm/letter", url.Values{"password": {goodPassword}})
	b2.post("/account/confirm/letter", letterAddress).expectRedirect(t, "/account/confirm/letter")
	text, rows = exportLetters(t, c, srv.URL)
	code2 := lettertest.CodeRe.FindStringSubmatch(text)
	if code2 == nil || len(rows) != 2 {
		t.Fatalf("second batch: %q\n%s", rows, text)
	}
	c.ok("letters", "sent", "--tracking", writeTracking(t, rows[1][5]+",80085022123452\n"))
	for i, want := range []string{"Осталось попыток: 2", "Осталось попыток: 1", "Код заблокирован после трёх неверных попыток"} {
		if p := b2.post("/account/confirm/letter/code", url.Values{"code": {"ZZZZZZZZ"}}); p.Status != 422 || !strings.Contains(p.Body, want) {
			t.Fatalf("wrong code %d: %d, want %q: %s", i+1, p.Status, want, firstError(p.Body))
		}
	}
	if p := b2.post("/account/confirm/letter/code", url.Values{"code": {code2[1]}}); p.Status != 410 || !strings.Contains(p.Body, "Код заблокирован") {
		t.Fatalf("the right code after three wrong: %d %s", p.Status, firstError(p.Body))
	}
	if p := b2.post("/account/confirm/letter", letterAddress); p.Status != 409 {
		t.Fatalf("a second order within 30 days: %d %s", p.Status, firstError(p.Body))
	}
	if out := c.ok("letters", "list", "--status", "spent"); !strings.Contains(out, rows[1][5]) {
		t.Errorf("list --status spent:\n%s", out)
	}

	// Only a letter not yet sent can be cancelled.
	if r := c.run("letters", "cancel", rows[1][5]); r.code != exitFailed || !strings.Contains(r.stderr, "the letter is spent") {
		t.Errorf("cancel of a spent letter: exit %d %s", r.code, r.stderr)
	}
	problems(t, c.run("letters", "cancel", "nonsense"))
	if p := b2.get("/account/confirm/letter?lang=en"); !strings.Contains(p.Body, "The code from the letter is blocked: three wrong tries.") ||
		!strings.Contains(p.Body, "You can order a new letter from") {
		t.Errorf("the page in English:\n%s", p.Body)
	}

	// A cross-site post of a code is refused before it reaches the page.
	req, _ := http.NewRequest("POST", srv.URL+"/account/confirm/letter/code", strings.NewReader("code=ZZZZZZZZ"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b2.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site code post: %d, want 403", resp.StatusCode)
	}
	// Posts from one address are rate-limited.
	limited := false
	for i := 0; i < letter.PerIP.Limit+1 && !limited; i++ {
		limited = b2.post("/account/confirm/letter/code", url.Values{"code": {"x"}}).Status == http.StatusTooManyRequests
	}
	if !limited {
		t.Errorf("%d code posts from one address, none refused with 429", letter.PerIP.Limit+1)
	}
}

// idTokenClaims runs the authorization code flow for the signed-in
// browser b at a new client asking for the claims parameter claims (scope
// openid fullname), consents, and returns the ID token's claims as the
// token endpoint issued them.
func idTokenClaims(t *testing.T, b *browser, db *sqldb.DB, issuer, claims string) map[string]any {
	t.Helper()
	const redirect = "http://127.0.0.1:9/callback"
	cl, secret, err := client.NewStore(db, time.Now).Create(context.Background(), client.Client{Name: "Сайт", AuthMethod: "client_secret_basic",
		RedirectURIs: []string{redirect}, Scopes: []string{"openid", "fullname"}, GrantTypes: []string{"authorization_code"}})
	if err != nil {
		t.Fatal(err)
	}
	verifier, challenge := pkce()
	q := url.Values{"client_id": {cl.ID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid fullname"},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "claims": {claims}}
	p := b.get("/authorize?" + q.Encode())
	for i := 0; i < 3 && !strings.HasPrefix(p.Location, redirect); i++ {
		if strings.HasPrefix(p.Location, "/authorize/consent") {
			id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
			p = b.post("/authorize/consent", url.Values{"id": {id}, "decision": {"allow"}})
			continue
		}
		p = b.get(p.Location)
	}
	cb, err := url.Parse(p.Location)
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("no authorization code: %d → %q %s", p.Status, p.Location, firstError(p.Body))
	}
	tr := tokenRequest(t, issuer, cl.ID, secret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}})
	parts := strings.Split(tr.IDToken, ".")
	if tr.Status != 200 || len(parts) != 3 {
		t.Fatalf("token: %d %+v", tr.Status, tr)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var out map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	if err != nil {
		t.Fatalf("ID token payload: %v", err)
	}
	return out
}
