package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The desk's people: the citizen is the registry simulator's passing
// identity; the operator is the sandbox bank's customer sandbox-0002, whom
// the bank confirms.
var (
	deskCitizen  = registrant{Phone: "+7 916 700-66-01", E164: "+79167006601", Family: "Иванов", Given: "Иван", Middle: "Иванович", Password: browserPassword}
	deskOperator = registrant{Phone: "+7 916 700-66-02", E164: "+79167006602", Family: "Семина-Петрова", Given: "Алена", Middle: "Сергеевна", Password: browserPassword}
)

const (
	deskOffice     = "mfc-77-001"
	deskOfficeName = "МФЦ района Хамовники"
)

// TestBrowserDesk: the in-person desk end to end on the embedded default,
// in headless Chromium. A citizen whose data the registries confirmed gets
// a code on /account/confirm/desk (two groups, a QR image that decodes to
// it); an operator confirmed by the sandbox bank and granted the operator
// role is stopped at /desk while signed in with a password only, adds a
// passkey and signs in with it (virtual authenticator), finds the citizen
// by the code typed in lower case, cannot open their own account, refuses
// (the citizen is told and sees the reason), then confirms; the citizen's
// next ID token through the openid-client relying party has acr
// urn:gosid:loa:confirmed and verified_claims with document evidence naming
// the office; a supervisor's report counts it; the revoked operator's open
// session loses the desk at its next request. With
// GOSID_E2E_SCREENSHOTS=1 the pages are saved to docs/screenshots/desk-*.png.
func TestBrowserDesk(t *testing.T) {
	requireChromium(t)
	node := requireNode(t)
	schemas, err := loadIDASchemas(filepath.Join("..", "idp", "oidc", "testdata", "oidc-ida"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := []string{"--data-dir", dir}
	s, public := startLocalhost(t, append(data, "--sandbox-bank-addr", "localhost:0", "--registry-simulator-latency", "0s")...)
	shoot := func(b *browser, name string, widths ...int64) {
		if os.Getenv("GOSID_E2E_SCREENSHOTS") != "1" {
			return
		}
		for _, w := range widths {
			b.screenshot(w, filepath.Join("..", "docs", "screenshots", name+"-"+strconv.FormatInt(w, 10)+".png"))
		}
	}

	// The citizen: registered, documents confirmed by the registries.
	c := newBrowser(t, public)
	registerByPhone(c, s, deskCitizen, func(string) {})
	fillDocuments(c, "15.03.1985", "112-233-445 95", "4505", "123456", "02.04.2005", "ОВД района Хамовники г. Москвы", "772-093")
	waitText(c, "Данные подтверждены в государственных реестрах.", 30*time.Second)

	// The operator: registered, confirmed through the sandbox bank.
	o := newBrowser(t, public)
	authn := addVirtualAuthenticator(o)
	setPresence(o, authn, false)
	registerByPhone(o, s, deskOperator, func(string) {})
	o.open("/account/confirm")
	o.click(`form[action="/account/confirm/bank"] button[value="sandbox"]`, "/authorize", 200)
	o.click(`#customer-sandbox-0002`, "/bank/callback", 200)
	o.expectText("Подтверждённая")

	// The office and the roles, as an administrator gives them.
	admin := &deskAdmin{t: t, dir: dir}
	admin.run("orgs", "add", "--code", deskOffice, "--kind", "service_centre", "--name-ru", deskOfficeName, "--name-en", "Khamovniki service centre",
		"--region", "77", "--address", "Москва, Комсомольский проспект, 28", "--hours", "пн–вс 8:00–20:00")
	admin.run("staff", "grant", "--login", deskOperator.E164, "--role", "operator", "--org", deskOffice)
	admin.run("staff", "grant", "--login", deskOperator.E164, "--role", "supervisor", "--org", deskOffice)

	// A password-only session (the registration's) is stopped at the desk.
	openStatus(o, "/desk", 403)
	o.expectText("Для работы сотрудника войдите со вторым фактором, ключом доступа (passkey) или электронной подписью.")
	shoot(o, "desk-denied", 1280)

	// A passkey, then a sign-in with it alone: /desk → /login → /desk.
	setPresence(o, authn, true)
	o.open("/account/passkeys")
	o.do("add a passkey", chromedp.Click(chromedp.CSS(`[data-passkey-register] [data-passkey-button]:not([disabled])`)))
	waitLocation(o, "/account/passkeys", "?done=added")
	setPresence(o, authn, false)
	signOut(o)
	// The sign-in page signOut left asks for a passkey by autofill, which
	// would sign in to /account once presence is back: leave it first.
	o.do("leave the sign-in page", chromedp.Navigate("about:blank"))
	setPresence(o, authn, true)
	o.open("/desk")
	waitLocation(o, "/desk", "")
	o.expectText("Поиск заявителя", "По коду подтверждения", "По СНИЛС и дате рождения")
	shoot(o, "desk-search", 1280, 768)

	// The citizen gets a code.
	c.open("/account/confirm")
	c.expectText("Лично в центре обслуживания")
	c.click(`a[href="/account/confirm/desk"]`, "/account/confirm/desk", 200)
	c.expectText("Москва (1)")
	c.do("choose Moscow", chromedp.SetValue(chromedp.CSS(`select[name=region]`), "77"))
	c.click(`form[method="get"][action="/account/confirm/desk"] button[type=submit]`, "/account/confirm/desk", 200)
	c.expectText(deskOfficeName, "Москва, Комсомольский проспект, 28", "пн–вс 8:00–20:00")
	c.click(`form[method="post"][action="/account/confirm/desk"] button[type=submit]`, "/account/confirm/desk", 200)
	code := evalIn[string](c, "read the code", `document.getElementById('desk-code').innerText`)
	if len(code) != 9 || code[4] != '-' || strings.ContainsAny(code, "01OIL") {
		c.fatalf("the code shown is %q", code)
	}
	if qr := deskQR(c); qr != strings.ReplaceAll(code, "-", "") {
		c.fatalf("the QR code holds %q, the page shows %q", qr, code)
	}
	shoot(c, "desk-code", 1280, 360)
	c.open("/account/confirm/desk?lang=en")
	c.expectText("Your confirmation code", "Cancel the code")
	shoot(c, "desk-code-en", 1280, 360)
	c.open("/account/confirm/desk?lang=ru")

	// The operator finds the citizen by the code, typed in lower case.
	o.fill("code", strings.ToLower(code[:4]+" "+code[5:]))
	citizenPage := clickTo(o, `#find-code button[type=submit]`, 200)
	if !strings.HasPrefix(citizenPage, "/desk/citizen/") {
		o.fatalf("the search by code ended on %s", citizenPage)
	}
	o.expectText("Иванов Иван Иванович", "15.03.1985", "4505 123456", "02.04.2005", "ОВД района Хамовники г. Москвы", "772-093", "112-233-445 95")
	shoot(o, "desk-citizen", 1280, 768)
	citizenURL := citizenPage + "?org=" + deskOffice
	// The temporary access code is one link away (verification/access).
	o.click(`a[href^="/desk/access-code?account="]`, "/desk/access-code", 200)

	// The operator's own account: found by SNILS, refused.
	o.open("/desk")
	o.fill("snils", "112-233-460 94")
	o.fill("birthdate", "20.05.1993")
	own := clickTo(o, `#find-snils button[type=submit]`, 403)
	o.expectText("Оператор не может работать со своей учётной записью.")
	evalIn[bool](o, "post a confirmation of the own account", `(() => { const f = document.createElement('form');
		f.method = 'post'; f.action = location.pathname + '/confirm';
		for (const [k, v] of [['org', '`+deskOffice+`'], ['doc_passport', 'on']]) { const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
		const b = document.createElement('button'); b.type = 'submit'; f.appendChild(b); document.body.appendChild(f); return true; })()`)
	o.click(`body > form button[type=submit]`, own+"/confirm", 403)
	o.expectText("Оператор не может работать со своей учётной записью.")

	// A refusal reaches the citizen.
	o.open(citizenURL)
	o.do("open the refusal", chromedp.Click(chromedp.CSS(`details:has(#refuse) > summary`)))
	o.do("choose the reason", chromedp.SetValue(chromedp.CSS(`select[name=reason]`), "no_documents"))
	o.do("type the note", chromedp.SendKeys(chromedp.CSS(`#note`), "Нет СНИЛС и паспорта при себе"))
	o.click(`#refuse button[type=submit]`, citizenPage, 200)
	o.expectText("Отказ записан. Заявитель получит уведомление.")
	s.waitMessage(t, deskCitizen.E164, "notice.desk_refused", "документы не предъявлены")
	c.open("/account/confirm/desk")
	c.expectText("В подтверждении личности отказано", "документы не предъявлены", "Нет СНИЛС и паспорта при себе", deskOfficeName)
	shoot(c, "desk-refused", 1280, 360)
	c.open("/account/confirm")
	c.expectText("В подтверждении отказано: документы не предъявлены.")

	// The confirmation.
	o.open(citizenURL)
	o.do("tick the documents", chromedp.Click(chromedp.CSS(`input[name=doc_passport]`)), chromedp.Click(chromedp.CSS(`input[name=doc_snils]`)))
	o.click(`#confirm button[type=submit]`, citizenPage, 200)
	o.expectText("Личность подтверждена. Заявитель получит уведомление.", "Подтверждённая")
	s.waitMessage(t, deskCitizen.E164, "notice.desk_confirmed", deskOfficeName)
	c.open("/account")
	c.expectText("Подтверждённая")
	c.open("/account/activity")
	c.expectText("Оператор центра обслуживания просмотрел ваши данные", "Личность подтверждена в центре обслуживания")

	// The citizen's next ID token, through openid-client.
	web := newWebClient(t, s.at(public))
	web.expect(web.do("POST", "/login", url.Values{"login": {deskCitizen.E164}, "password": {deskCitizen.Password}}), 303, "/account")
	rig := &oidcRig{node: node, srv: s.at(public), redirect: "http://127.0.0.1:9/cb", browser: web.c}
	site := rig.createClient(t, data, "Сайт, которому нужна подтверждённая личность", "--redirect-uri", rig.redirect,
		"--scopes", "openid fullname birthdate")
	site.AuthMethod = "default"
	claims := `{"id_token":{"verified_claims":{"verification":{"trust_framework":null,"evidence":[{"type":{"value":"document"}}]},` +
		`"claims":{"family_name":null,"given_name":null,"birthdate":null}}}}`
	if err := schemas.Request([]byte(claims)); err != nil {
		t.Fatalf("the claims parameter does not validate: %v", err)
	}
	tok := rig.consentedFlow(t, site, "openid fullname birthdate", map[string]string{"claims": claims}, "")
	if tok.Claims["acr"] != "urn:gosid:loa:confirmed" {
		t.Errorf("ID token acr %v, want urn:gosid:loa:confirmed", tok.Claims["acr"])
	}
	raw, _ := json.Marshal(map[string]any{"sub": tok.Claims["sub"], "verified_claims": tok.Claims["verified_claims"]})
	if err := schemas.Response(raw); err != nil {
		t.Errorf("the ID token's verified_claims do not validate: %v\n%s", err, raw)
	}
	var vc []struct {
		Verification struct {
			Evidence []struct {
				Type         string `json:"type"`
				Method       string `json:"method"`
				CheckDetails []struct {
					CheckMethod  string `json:"check_method"`
					Organization string `json:"organization"`
					CheckID      string `json:"check_id"`
				} `json:"check_details"`
				Verifier struct{ Organization, Txn string } `json:"verifier"`
			} `json:"evidence"`
		} `json:"verification"`
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(must(json.Marshal(tok.Claims["verified_claims"])), &vc); err != nil || len(vc) != 1 || len(vc[0].Verification.Evidence) != 1 {
		t.Fatalf("ID token verified_claims %s (%v): want one element", raw, err)
	}
	ev := vc[0].Verification.Evidence[0]
	if ev.Type != "document" || ev.Method != "pipp" || len(ev.CheckDetails) != 1 || ev.CheckDetails[0].Organization != deskOfficeName ||
		ev.Verifier.Organization != deskOfficeName || ev.Verifier.Txn == "" || ev.CheckDetails[0].CheckID != ev.Verifier.Txn ||
		vc[0].Claims["family_name"] != "Иванов" {
		t.Errorf("ID token verified_claims %s: want document evidence naming %s", raw, deskOfficeName)
	}

	// The supervisor's report counts the day's operations.
	o.open("/desk/reports?org=" + deskOffice)
	o.expectText("Операции офиса", "Семина-Петрова Алена Сергеевна")
	// Five views: every page that showed the data unmasked (the search's,
	// the two opened for the refusal and the confirmation, and the two
	// each of them returned to).
	if got := evalIn[string](o, "read the report", `document.querySelector('#report tfoot').innerText`); !strings.Contains(got, "1\t1\t5") {
		o.fatalf("report totals %q: want 1 confirmation, 1 refusal, 5 views", got)
	}
	shoot(o, "desk-reports", 1280)

	// Revoked: the open session loses the desk at its next request.
	admin.run("staff", "revoke", "--login", deskOperator.E164, "--role", "operator", "--org", deskOffice)
	admin.run("staff", "revoke", "--login", deskOperator.E164, "--role", "supervisor", "--org", deskOffice)
	openStatus(o, "/desk", 403)
	o.expectText("У вашей учётной записи нет роли сотрудника для этой страницы.")
	openStatus(o, citizenURL, 403)
	o.expectText("У вашей учётной записи нет роли сотрудника для этой страницы.")

	for _, b := range []*browser{o, c} {
		for _, p := range b.consoleProblems() {
			t.Errorf("browser console: %s", p)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// at is s as seen at the public URL (localhost), for HTTP clients that
// must share the browser's host.
func (s *server) at(public string) *server {
	c := *s
	c.URL = strings.TrimSuffix(public, "/")
	return &c
}

// openStatus opens path and expects status.
func openStatus(b *browser, path string, want int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil || resp == nil || resp.Status != want {
		b.fatalf("open %s: %v (status %v), want %d", path, err, status(resp), want)
	}
}

// clickTo clicks css, waits for the navigation to end with status and
// returns the path it ended on.
func clickTo(b *browser, css string, want int64) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil || resp == nil || resp.Status != want {
		b.fatalf("click %s: %v (status %v), want status %d", css, err, status(resp), want)
	}
	return b.path()
}

// deskQR checks the citizen's QR image (loaded, inline) and returns what
// it decodes to.
func deskQR(b *browser) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const i = document.querySelector('main img.qr'); return !!i && i.complete; })()`)); err != nil {
		b.fatalf("the QR image never finished loading: %v", err)
	}
	type img struct {
		Src   string `json:"src"`
		Alt   string `json:"alt"`
		Width int    `json:"width"`
	}
	i := evalIn[img](b, "read the QR image", `(() => { const i = document.querySelector('main img.qr'); return {src: i.getAttribute('src'), alt: i.alt, width: i.naturalWidth}; })()`)
	const prefix = "data:image/png;base64,"
	if i.Width <= 0 || !strings.HasPrefix(i.Src, prefix) || !strings.Contains(i.Alt, "QR") {
		b.fatalf("the QR image: width %d, alt %q, src %.40q", i.Width, i.Alt, i.Src)
	}
	return b.decodeQR(i.Src)
}

// waitMessage waits until the dev sink holds a message of kind to to whose
// text contains want.
func (s *server) waitMessage(t *testing.T, to, kind, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape(to))
		var msgs []devMessage
		_ = json.Unmarshal(body, &msgs)
		for _, m := range msgs {
			if m.Kind == kind && strings.Contains(m.Text, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message to %s saying %q in the dev sink; messages:\n%s", kind, to, want, body)
		}
	}
}

// deskAdmin gives organisations and roles with `gosid orgs …` and `gosid
// staff …` on the server's data directory, as an administrator does.
type deskAdmin struct {
	t   *testing.T
	dir string
	db  []string // the database options, when not the data directory's SQLite
}

func (a *deskAdmin) run(args ...string) {
	a.t.Helper()
	if code, out, errOut := gosid(a.t, append(append(args, "--data-dir", a.dir), a.db...)...); code != 0 {
		a.t.Fatalf("gosid %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
}
