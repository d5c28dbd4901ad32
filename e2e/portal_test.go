package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/chromedp/chromedp"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// The portal's people: the citizen is the sandbox bank's customer
// sandbox-0001 and the officer its sandbox-0002, both confirmed by the bank.
const (
	portalCitizenBank  = "sandbox-0001"
	portalCitizenPhone = "+79160000001"
	portalOfficerBank  = "sandbox-0002"
	portalOfficerPhone = "+79160000002"
)

var tenDigits = regexp.MustCompile(`\b\d{10}\b`)

// TestBrowserPortal: the citizen portal end to end on the embedded default
// (identity provider, portal and sandbox bank in one `gosid serve`), in
// headless Chromium. A citizen confirmed through the sandbox bank signs in
// to the portal through Gosid, finds «загранпаспорт», applies, sees the
// draft pre-filled, types, waits for the autosave, reloads and finds the
// typed values kept, attaches a PDF and is refused a file over 5 MB,
// submits with the SMS code and sees the 10-digit number. An officer of
// the agency (staff role officer of org mvd, signed in with a passkey)
// takes it into work and asks for more information; the citizen sees the
// notice, adds a file and replies; the officer approves with a PDF result,
// which the citizen's application page offers and which downloads as a
// PDF. Signing out of Gosid signs the citizen out of the portal
// (back-channel logout). With GOSID_E2E_SCREENSHOTS=1 the pages are saved
// at 1280 and 360 px to docs/screenshots/portal-*.png.
//
// The walk runs on SQLite (the embedded default, which takes the
// screenshots) and on PostgreSQL.
func TestBrowserPortal(t *testing.T) {
	requireChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		portalWalk(t, os.Getenv("GOSID_E2E_SCREENSHOTS") == "1")
	})
	t.Run("postgres", func(t *testing.T) {
		portalWalk(t, false, "--database-url", sqldbtest.EmptyPostgresURL(t))
	})
}

// portalWalk is TestBrowserPortal on a server started with db, the
// database options (none: the data directory's SQLite).
func portalWalk(t *testing.T, screenshots bool, db ...string) {
	start := time.Now()
	dir := t.TempDir()
	s, public := startLocalhost(t, append([]string{"--data-dir", dir, "--sandbox-bank-addr", "localhost:0", "--portal-addr", "localhost:0"}, db...)...)
	portalURL, _ := s.record("gosid serving")["portal"].(string)
	if !strings.HasPrefix(portalURL, "http://localhost:") {
		t.Fatalf("the \"gosid serving\" line gives the portal as %q, want http://localhost:PORT", portalURL)
	}
	shoot := func(b *browser, name string) {
		if !screenshots {
			return
		}
		for _, w := range []int64{1280, 360} {
			b.screenshot(w, filepath.Join("..", "docs", "screenshots", "portal-"+name+"-"+strconv.FormatInt(w, 10)+".png"))
		}
	}
	files := t.TempDir()
	scan := writeFile(t, files, "скан паспорта.pdf", portalPDF(t, "Passport scan"))
	extra := writeFile(t, files, "dopolnenie.pdf", portalPDF(t, "Additional page"))
	result := writeFile(t, files, "result.pdf", portalPDF(t, "Decision: approved"))
	// Over 5 MB, and a PDF by content: refused for its size alone.
	big := writeFile(t, files, "big.pdf", append(portalPDF(t, "Too big"), bytes.Repeat([]byte("%0123456789abcdef\n"), 6<<20/18)...))

	// The officer's organisation and role, as an administrator gives them.
	admin := &deskAdmin{t: t, dir: dir, db: db}
	admin.run("orgs", "add", "--code", "mvd", "--kind", "agency", "--name-ru", "МВД России", "--name-en", "Ministry of Internal Affairs",
		"--region", "77")

	// The citizen: registered through the bank (confirmed), then signed in
	// to the portal through Gosid's single sign-on.
	c := newBrowser(t, public)
	registerWithBank(c, s, portalCitizenBank, portalCitizenPhone, func(string) {})
	cp := c.at(portalURL)
	cp.open("/")
	cp.expectText("Войти через Gosid")
	cp.click(`main a.button[href^="/login"]`, "/", 200)
	cp.expectText("Здравствуйте, Иван Иванович!", "Уровень учётной записи: подтверждённая.")

	// Search, the service, apply.
	cp.fill("q", "загранпаспорт")
	cp.click(`form[action="/services"] button[type=submit]`, "/services", 200)
	cp.expectText("Оформление загранпаспорта нового образца")
	shoot(cp, "catalogue")
	cp.click(`main a[href="/services/foreign-passport"]`, "/services/foreign-passport", 200)
	app := clickTo(cp, `form[action="/services/foreign-passport/apply"] button[type=submit]`, 200)
	if !strings.HasPrefix(app, "/applications/") {
		cp.fatalf("applying ended on %s, want /applications/ID", app)
	}
	id := strings.TrimPrefix(app, "/applications/")
	if got := fieldValue(cp, "family_name"); got != "Иванов" {
		cp.fatalf("family_name pre-filled with %q, want the profile's Иванов", got)
	}

	// Typed values survive a reload once the autosave says so.
	typed := map[string]string{
		"previous_names":     "Петров Иван Иванович",
		"work_last_10_years": "2015–2025: ООО «Ромашка», инженер, Москва",
	}
	for _, name := range []string{"previous_names", "work_last_10_years"} {
		typeInto(cp, name, typed[name])
	}
	// As a choice with the mouse does: the value, then the change event.
	cp.do("choose secrecy", chromedp.SetValue(chromedp.CSS(`select[name=secrecy]`), "no"))
	evalIn[bool](cp, "announce the choice", `document.querySelector('select[name=secrecy]').dispatchEvent(new Event('change', {bubbles: true}))`)
	typed["secrecy"] = "no"
	waitJS(cp, "the autosave", `document.getElementById('autosave-state').textContent === 'Сохранено'`)
	evalIn[bool](cp, "leave the field", `(document.activeElement.blur(), true)`)
	shoot(cp, "draft")
	cp.do("reload", chromedp.Reload())
	for name, want := range typed {
		if got := fieldValue(cp, name); got != want {
			cp.fatalf("after the reload %s holds %q, want %q", name, got, want)
		}
	}

	// A PDF is attached; a file over 5 MB is refused with the limit named.
	cp.upload("passport-scan", scan, app, 200)
	cp.expectText("skan_pasporta.pdf")
	cp.upload("passport-scan", big, app+"/files", 422)
	cp.expectText("5 МБ")
	if n := evalIn[int](cp, "count the files", `document.querySelectorAll('#doc-passport-scan a[href*="/files/"]').length`); n != 1 {
		cp.fatalf("%d files attached after the refused one, want 1", n)
	}

	// Complete, review, code, submit.
	cp.open(app)
	if fieldValue(cp, "address") == "" {
		typeInto(cp, "address", "Москва, ул. Тверская, д. 1, кв. 1")
	}
	cp.click(`#draft button[name=action][value=review]`, app+"/review", 200)
	cp.expectText("Оформление загранпаспорта нового образца", "Иванов", "skan_pasporta.pdf")
	cp.click(`form[action="`+app+`/code"] button[type=submit]`, app+"/review", 0)
	code, _ := s.devCode(t, portalCitizenPhone, "portal.submit_code", 0)
	cp.fill("code", code)
	cp.click(`form[action="`+app+`/submit"] button[type=submit]`, app, 200)
	number := tenDigits.FindString(cp.text())
	if number == "" {
		cp.fatalf("no 10-digit number on the page after submitting:\n%s", cp.text())
	}
	cp.expectText("Заявление отправлено. Номер заявления: " + number)
	cp.open("/")
	cp.expectText(number)
	shoot(cp, "home")

	// The officer: confirmed by the bank, granted the role, a passkey;
	// signed out, they open /office and sign in with the passkey alone
	// (possession and user verification: the second factor the portal's
	// acr_values urn:gosid:ac:mfa asks for).
	o := newBrowser(t, public)
	authn := addVirtualAuthenticator(o)
	setPresence(o, authn, false)
	registerWithBank(o, s, portalOfficerBank, portalOfficerPhone, func(string) {})
	admin.run("staff", "grant", "--login", portalOfficerPhone, "--role", "officer", "--org", "mvd")
	setPresence(o, authn, true)
	o.open("/account/passkeys")
	o.do("add a passkey", chromedp.Click(chromedp.CSS(`[data-passkey-register] [data-passkey-button]:not([disabled])`)))
	waitLocation(o, "/account/passkeys", "?done=added")
	setPresence(o, authn, false)
	signOut(o)
	// The sign-in page signOut left asks for a passkey by autofill: leave
	// it before presence is back.
	o.do("leave the sign-in page", chromedp.Navigate("about:blank"))
	setPresence(o, authn, true)
	op := o.at(portalURL)
	op.do("open /office", chromedp.Navigate(portalURL+"/office"))
	waitJS(op, "reach the portal's /office", fmt.Sprintf(`location.origin === %q && location.pathname === "/office" && document.readyState === "complete"`, portalURL))
	op.expectText(number, "Оформление загранпаспорта нового образца")
	shoot(op, "office")
	op.click(`a[href="/office/applications/`+id+`"]`, "/office/applications/"+id, 200)
	op.expectText("Иванов", "skan_pasporta.pdf")
	op.click(`button[name=to][value=in_review]`, "/office/applications/"+id, 200)
	op.expectText("На проверке")
	const ask = "Приложите, пожалуйста, страницу паспорта с прежней регистрацией."
	op.do("type the comment", chromedp.SendKeys(chromedp.CSS(`#comment`), ask))
	op.click(`button[name=to][value=info_requested]`, "/office/applications/"+id, 200)
	op.expectText("Требуется дополнительная информация")

	// The citizen sees the notice, adds a file and replies. Every status
	// change is a notice: received, in review, more information asked.
	cp.open("/")
	if n := evalIn[string](cp, "read the unread count", `(document.querySelector('header .count') || {innerText: ''}).innerText`); n != "3" {
		cp.fatalf("the header's unread count is %q, want 3", n)
	}
	cp.click(`header a[href="/notices"]`, "/notices", 200)
	cp.expectText(number, "Требуется дополнительная информация")
	// The newest notice opens with its delivery per channel; opening it
	// reads it, and «Отметить все как прочитанные» the rest.
	notice := evalIn[string](cp, "read the newest notice's link", `document.querySelector('main ul.results li a').getAttribute('href')`)
	cp.click(`main ul.results li a`, notice, 200)
	cp.expectText("Требуется дополнительная информация", "Доставка", "SMS")
	if n := evalIn[string](cp, "read the unread count", `(document.querySelector('header .count') || {innerText: ''}).innerText`); n != "2" {
		cp.fatalf("the header's unread count is %q after opening one notice, want 2", n)
	}
	cp.click(`header a[href="/notices"]`, "/notices", 200)
	cp.submit("/notices/read-all", "/notices")
	if n := evalIn[int](cp, "look for the unread count", `document.querySelectorAll('header .count').length`); n != 0 {
		cp.fatalf("the notices are still counted unread after «mark all read»")
	}
	cp.open(notice)
	cp.click(`main a.button[href="`+app+`"]`, app, 200)
	cp.expectText(ask)
	cp.upload("passport-scan", extra, app, 200)
	cp.expectText("dopolnenie.pdf")
	cp.do("type the reply", chromedp.SendKeys(chromedp.CSS(`#comment`), "Приложил страницу с прежней регистрацией."))
	cp.click(`form[action="`+app+`/respond"] button[type=submit]`, app, 200)

	// The officer approves with a PDF result.
	op.open("/office/applications/" + id)
	op.expectText("dopolnenie.pdf", "Приложил страницу с прежней регистрацией.")
	if evalIn[bool](op, "look for the take button", `!!document.querySelector('button[name=to][value=in_review]')`) {
		op.click(`button[name=to][value=in_review]`, "/office/applications/"+id, 200)
	}
	op.do("attach the result", chromedp.SetUploadFiles(chromedp.CSS(`#result`), []string{result}))
	op.do("type the comment", chromedp.SendKeys(chromedp.CSS(`#comment`), "Паспорт готов, приходите в подразделение."))
	op.click(`button[name=to][value=approved]`, "/office/applications/"+id, 200)
	op.expectText("Одобрено")

	// The citizen's page: approved, the result downloads as a PDF.
	cp.open(app)
	cp.expectText("Одобрено", "Паспорт готов, приходите в подразделение.", ask)
	href := evalIn[string](cp, "find the result link", `(() => { const h = Array.from(document.querySelectorAll('main h2')).find(h => h.innerText.startsWith('Результат'));
		const a = h && h.nextElementSibling && h.nextElementSibling.querySelector('a'); return a ? a.getAttribute('href') : ''; })()`)
	if !strings.HasPrefix(href, app+"/files/") {
		cp.fatalf("the result link is %q, want %s/files/ID", href, app)
	}
	if head := fetchHead(cp, href); head != "%PDF" {
		cp.fatalf("the result %s starts with %q, want %%PDF", href, head)
	}
	shoot(cp, "history")

	// Signing out of Gosid signs the citizen out of the portal.
	c.open("/account")
	signOut(c)
	// The identity provider posts the logout token to the portal, which
	// takes it; the browser's portal cookie is left as it was.
	deadline := time.Now().Add(10 * time.Second)
	for !backchannelTaken(s) {
		if time.Now().After(deadline) {
			t.Fatalf("no back-channel logout reached the portal within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The next portal page asks to sign in.
	cp.open("/")
	if !evalIn[bool](cp, "look for the sign-in button", `!!document.querySelector('main a.button[href^="/login"]') && !document.querySelector('header form[action="/logout"]')`) {
		cp.fatalf("the portal still shows the citizen signed in after the back-channel logout")
	}
	cp.do("open the application", chromedp.Navigate(portalURL+app))
	waitJS(cp, "reach Gosid's sign-in page", fmt.Sprintf(`location.origin === %q && location.pathname === "/login"`, strings.TrimSuffix(public, "/")))

	for _, b := range []*browser{c, o} {
		for _, p := range b.consoleProblems() {
			t.Errorf("browser console: %s", p)
		}
	}
	t.Logf("the walk took %v", time.Since(start).Round(time.Millisecond))
}

// backchannelTaken reports whether the portal has answered a back-channel
// logout with 200, as its request log says.
func backchannelTaken(s *server) bool {
	for _, line := range strings.Split(s.out.String(), "\n") {
		var rec struct {
			Msg, Server, Method, Path string
			Status                    int
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "http request" && rec.Server == "portal" &&
			rec.Method == "POST" && rec.Path == "/auth/backchannel-logout" && rec.Status == 200 {
			return true
		}
	}
	return false
}

// at is the same tab with paths resolved against base (another origin of
// the same server, e.g. the portal's listener). Console messages stay with
// b.
func (b *browser) at(base string) *browser {
	return &browser{t: b.t, ctx: b.ctx, base: strings.TrimSuffix(base, "/")}
}

// fieldValue is the value of the form field named name.
func fieldValue(b *browser, name string) string {
	b.t.Helper()
	return evalIn[string](b, "read "+name, fmt.Sprintf(`(document.querySelector('[name=%q]') || {value: ''}).value`, name))
}

// typeInto types value into the empty field named name (chromedp.Clear,
// which fill uses, fails on an empty textarea).
func typeInto(b *browser, name, value string) {
	b.t.Helper()
	b.do("type into "+name, chromedp.SendKeys(chromedp.CSS(fmt.Sprintf(`[name=%q]`, name)), value))
	if got := fieldValue(b, name); got != value {
		b.fatalf("field %s holds %q after typing %q", name, got, value)
	}
}

// upload chooses file for the document kind's upload form and sends it,
// expecting to land on wantPath with wantStatus.
func (b *browser) upload(kind, file, wantPath string, wantStatus int64) {
	b.t.Helper()
	b.do("choose "+filepath.Base(file), chromedp.SetUploadFiles(chromedp.CSS(`#file-`+kind), []string{file}))
	b.click(`#doc-`+kind+` form.upload button[type=submit]`, wantPath, wantStatus)
}

// fetchHead downloads path in the page (its cookies) and returns the first
// four bytes of the response.
func fetchHead(b *browser, path string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	head, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q).then(r => r.ok ? r.arrayBuffer() : Promise.reject(new Error('status ' + r.status)))
		.then(b => String.fromCharCode(...new Uint8Array(b.slice(0, 4))))`, path), chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("download %s: %v", path, err)
	}
	return head
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// portalPDF is a one-page PDF saying text.
func portalPDF(t *testing.T, text string) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Cell(40, 10, text)
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
