package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

const (
	supportStaffBank  = "sandbox-0002"
	supportStaffPhone = "+79160000002"
)

var supportNumberRe = regexp.MustCompile(`Обращение № (\d{10}) зарегистрировано`)

// TestBrowserSupport: «Обратная связь» end to end in headless Chromium on
// the embedded default. A citizen signed in to the portal writes to
// support with a screenshot and gets the request's number; a support
// staff member (role support of Gosid's support organisation, signed in
// with a passkey: the second factor the console asks for) finds it in the
// queue, takes it, inserts a canned answer and resolves it; the citizen
// reopens it with a message; staff resolve it again. With
// GOSID_E2E_SCREENSHOTS=1 the citizen's request and the console are saved
// at 1280 and 360 px, in Russian and English, to
// docs/screenshots/portal-support*.png.
func TestBrowserSupport(t *testing.T) {
	requireChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		supportWalk(t, os.Getenv("GOSID_E2E_SCREENSHOTS") == "1")
	})
	t.Run("postgres", func(t *testing.T) {
		supportWalk(t, false, "--database-url", sqldbtest.EmptyPostgresURL(t))
	})
}

func supportWalk(t *testing.T, screenshots bool, db ...string) {
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
			b.screenshot(w, filepath.Join("..", "docs", "screenshots", name+"-"+strconv.FormatInt(w, 10)+".png"))
		}
	}
	files := t.TempDir()
	screen := writeFile(t, files, "снимок экрана.pdf", portalPDF(t, "Error: SMS code not received"))

	// The citizen writes to support.
	c := newBrowser(t, public)
	registerWithBank(c, s, portalCitizenBank, portalCitizenPhone, func(string) {})
	cp := c.at(portalURL)
	cp.open("/")
	cp.click(`main a.button[href^="/login"]`, "/", 200)
	cp.open("/support/new")
	cp.expectText("Тема обращения", "Описание проблемы", "Контакт для ответа")
	// Sent empty: every field says what is wrong with it.
	cp.fill("contact", "не контакт")
	cp.click(`form[action="/support/new"] button[type=submit]`, "/support/new", 422)
	cp.expectText("Тема обращения: выберите тему", "Описание проблемы: напишите", "Контакт для ответа: укажите")
	cp.do("choose the topic", chromedp.SetValue(chromedp.CSS(`select[name=topic]`), "technical"))
	typeInto(cp, "description", "Не приходит SMS с кодом подтверждения при входе.")
	cp.fill("contact", "ivanov@example.ru")
	cp.do("attach the screenshot", chromedp.SetUploadFiles(chromedp.CSS(`#files`), []string{screen}))
	req := clickTo(cp, `form[action="/support/new"] button[type=submit]`, 200)
	if !strings.HasPrefix(req, "/support/") {
		cp.fatalf("sending ended on %s, want /support/ID", req)
	}
	m := supportNumberRe.FindStringSubmatch(cp.text())
	if m == nil {
		cp.fatalf("no request number shown:\n%s", cp.text())
	}
	number := m[1]
	cp.expectText("Новое", "Технические проблемы", "snimok_ekrana.pdf")
	if head := fetchHead(cp, evalIn[string](cp, "find the file", `document.querySelector('a[href*="/files/"]').getAttribute('href')`)); head != "%PDF" {
		cp.fatalf("the attachment downloads as %q", head)
	}

	// The support staff member: a passkey, the role, the console.
	admin := &deskAdmin{t: t, dir: dir, db: db}
	admin.run("orgs", "add", "--code", "gosid-support", "--kind", "support", "--name-ru", "Служба поддержки Gosid", "--name-en", "Gosid support",
		"--region", "77")
	o := newBrowser(t, public)
	authn := addVirtualAuthenticator(o)
	setPresence(o, authn, false)
	registerWithBank(o, s, supportStaffBank, supportStaffPhone, func(string) {})
	admin.run("staff", "grant", "--login", supportStaffPhone, "--role", "support", "--org", "gosid-support")
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
	op.do("open the console", chromedp.Navigate(portalURL+"/support/console"))
	waitJS(op, "reach the portal's console", fmt.Sprintf(`location.origin === %q && location.pathname === "/support/console" && document.readyState === "complete"`, portalURL))
	op.expectText(number, "Технические проблемы", "Новое")
	id := strings.TrimPrefix(req, "/support/")
	console := "/support/console/" + id
	op.click(`a[href="`+console+`"]`, console, 200)
	op.expectText("iv***@example.ru", "Не приходит SMS с кодом подтверждения", "snimok_ekrana.pdf")
	if strings.Contains(op.text(), "ivanov@example.ru") {
		op.fatalf("the console shows the citizen's whole contact")
	}
	op.click(`form[action="`+console+`/take"] button[type=submit]`, console, 200)
	op.expectText("В работе")
	// A canned answer, inserted without script, then resolved.
	op.do("choose the template", chromedp.SetValue(chromedp.CSS(`select[name=template]`), "sms"))
	op.click(`form[method=get] button[type=submit]`, console, 200)
	if got := fieldValue(op, "message"); !strings.Contains(got, "не блокирует сообщения от государственных сервисов") {
		op.fatalf("the template did not fill the answer: %q", got)
	}
	shoot(op, "portal-support-console")
	op.click(`button[formaction="`+console+`/resolve"]`, console, 200)
	op.expectText("Решено")

	// The citizen: the answer, then reopened.
	cp.open(req)
	cp.expectText("Решено", "Специалист поддержки", "не блокирует сообщения от государственных сервисов", "Проблема не решена — открыть снова")
	typeInto(cp, "message", "Код по-прежнему не приходит.")
	cp.click(`form[action="`+req+`/reopen"] button[type=submit]`, req, 200)
	cp.expectText("В работе", "Код по-прежнему не приходит.")
	shoot(cp, "portal-support")

	// Staff resolve it again.
	op.open(console)
	op.expectText("В работе", "Код по-прежнему не приходит.")
	typeInto(op, "message", "Код отправлен повторно, проверьте SMS.")
	op.click(`button[formaction="`+console+`/resolve"]`, console, 200)
	op.expectText("Решено")
	cp.open(req)
	cp.expectText("Решено", "Код отправлен повторно, проверьте SMS.")
	// The inbox holds the request's notices (created, answered, resolved,
	// resolved), and the newest leads to the request.
	cp.open("/notices?kind=support")
	if n := evalIn[int](cp, "count the support notices", fmt.Sprintf(`[...document.querySelectorAll('main ul.results li a')].filter(a => a.innerText.includes('№ %s')).length`, number)); n < 3 {
		cp.fatalf("%d notices of the request, want created, resolved, resolved", n)
	}
	cp.click(`main ul.results li a`, evalIn[string](cp, "read the newest notice's link", `document.querySelector('main ul.results li a').getAttribute('href')`), 200)
	if n := evalIn[int](cp, "look for the link to the request", fmt.Sprintf(`document.querySelectorAll('main a[href="/support/%s"]').length`, id)); n != 1 {
		cp.fatalf("the notice does not lead to the request")
	}

	if screenshots {
		cp.open(req + "?lang=en")
		cp.expectText("Request No. "+number, "Resolved")
		shoot(cp, "portal-support-en")
		cp.open("/support/new?lang=en")
		shoot(cp, "portal-support-new-en")
		cp.open("/support/new?lang=ru")
		shoot(cp, "portal-support-new")
		op.open("/support/console?status=resolved&lang=en")
		shoot(op, "portal-support-console-en")
	}
}
