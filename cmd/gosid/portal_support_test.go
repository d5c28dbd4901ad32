package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	supportIDRe      = regexp.MustCompile(`^/support/([0-9a-f]{32})\?created=1$`)
	supportNumberRe  = regexp.MustCompile(`Обращение № (\d{10}) зарегистрировано`)
	supportVersionRe = regexp.MustCompile(`name="version" value="(\d+)"`)
	supportFileRe    = regexp.MustCompile(`href="(/support/(?:console/)?[0-9a-f]{32}/files/[0-9a-f]{32})">screen\.png</a>`)
)

// signInSupport makes a confirmed account with an authenticator app a
// support staff member (role support of Gosid's support organisation) and
// signs it in to the console, which asks for the second factor.
func signInSupport(t *testing.T, db *sqldb.DB, op *testIdP, parts *idp.IdP, c *sqldbtest.Clock, portalURL, phone string) (*browser, page, string) {
	t.Helper()
	ctx := context.Background()
	b := newBrowser(t, op)
	b.register("phone", phone, phone, "Помощникова", "Мария")
	accounts := account.NewStore(db, parts.Keys, time.Now)
	a, err := accounts.FindByLogin(ctx, account.Phone, phone)
	if err == nil {
		err = accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed)
	}
	if err != nil {
		t.Fatal(err)
	}
	enrol := b.postStep("/account/security/totp", nil)
	m := secretRe.FindStringSubmatch(enrol.Body)
	if m == nil {
		t.Fatalf("TOTP enrolment: %d", enrol.Status)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, _ := totp.GenerateCode(secret, c.Now())
	b.postStep("/account/security/totp/confirm", url.Values{"code": {code}})
	st := staff.NewStore(db, parts.Activity, time.Now)
	if err := st.AddOrg(ctx, staff.Org{Code: "gosid-support", Kind: staff.KindSupport, NameRU: "Служба поддержки Gosid", Region: "77"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, a.ID, staff.RoleSupport, "gosid-support", audit.Actor{Kind: audit.ActorSystem}); err != nil {
		t.Fatal(err)
	}
	p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/support/console", nil))
	if !strings.Contains(at, "2fa") {
		t.Fatalf("the console did not ask for a second factor: %d at %s", p.Status, at)
	}
	c.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, c.Now())
	p, at = b.portalGo(t, op.URL, b.abs("POST", at, url.Values{"code": {code}}))
	return b, p, at
}

// TestPortalSupport: a citizen writes to support with a screenshot (every
// field's error names the field), gets a number and a notice; a support
// staff member (role support, second factor) finds it in the queue, takes
// it (a second take of the same version is 409), sees the contact masked
// and the file, answers from a template awaiting the citizen; the
// citizen answers; staff resolve; the citizen reopens it; staff resolve
// again; 15 days later the sweep closes it and reopening is refused. A
// citizen without the role gets 403 at the console; a cross-site form is
// refused; another citizen sees nothing.
func TestPortalSupport(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, ph, dataDir := startEmbeddedPortalIn(t, parts)
		const phone = "+79161117701"
		citizen := newBrowser(t, op)
		citizen.register("phone", phone, phone, "Просителев", "Пётр")
		if p, at := citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/support/new", nil)); p.Status != 200 || at != portalURL+"/support/new" ||
			!strings.Contains(html.UnescapeString(p.Body), `value="`+phone+`"`) || !strings.Contains(p.Body, "Технические проблемы") {
			t.Fatalf("the form (contact pre-filled from the profile): %d at %s\n%.3000s", p.Status, at, p.Body)
		}
		// The application page's link pre-fills a question about it; in
		// English, the form speaks English.
		if p := citizen.abs("GET", portalURL+"/support/new?ref=1234567890", nil); !strings.Contains(p.Body, "Вопрос по заявлению № 1234567890") ||
			!strings.Contains(p.Body, `<option value="applications" selected>`) || !strings.Contains(p.Body, `name="ref" value="1234567890"`) {
			t.Fatalf("the form about an application:\n%.3000s", p.Body)
		}
		if p := citizen.abs("GET", portalURL+"/support/new?lang=en", nil); !strings.Contains(p.Body, "Contact support") || !strings.Contains(p.Body, "Technical problems") {
			t.Fatalf("the English form:\n%.3000s", p.Body)
		}
		citizen.abs("GET", portalURL+"/support/new?lang=ru", nil)
		// The 404 page links to the form.
		if p := citizen.abs("GET", portalURL+"/nowhere", nil); p.Status != 404 || !strings.Contains(p.Body, `href="/support/new">Сообщить о проблеме`) {
			t.Fatalf("404 page without the support link: %d\n%.2000s", p.Status, p.Body)
		}

		// Every field's error names its field; nothing is stored.
		send := func(fields map[string]string, file string, data []byte) page {
			field := ""
			if file != "" {
				field = "files"
			}
			return citizen.multipart(portalURL+"/support/new", fields, field, file, data)
		}
		bad := send(map[string]string{"topic": "nope", "description": " ", "contact": "не контакт", "ref": "12"}, "screen.png", []byte("<html>not a png</html>"))
		if bad.Status != http.StatusUnprocessableEntity {
			t.Fatalf("an invalid form: %d", bad.Status)
		}
		for _, want := range []string{"Тема обращения: выберите тему", "Описание проблемы: напишите", "Контакт для ответа: укажите", "Номер заявления: 10 цифр", "Файлы: "} {
			if !strings.Contains(html.UnescapeString(bad.Body), want) {
				t.Errorf("the invalid form does not say %q:\n%s", want, firstError(bad.Body))
			}
		}
		long := send(map[string]string{"topic": "technical", "description": strings.Repeat("я", 5001), "contact": phone, "ref": "1234567890"}, "", nil)
		if body := html.UnescapeString(long.Body); long.Status != http.StatusUnprocessableEntity || !strings.Contains(body, "Описание проблемы: больше 5 000 знаков") ||
			!strings.Contains(body, "Номер заявления: среди ваших заявлений такого номера нет") {
			t.Fatalf("a too long description, another's application: %d", long.Status)
		}
		// Six files: one too many, named as such.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"topic": "technical", "description": "Шесть снимков", "contact": phone} {
			_ = mw.WriteField(k, v)
		}
		for i := range 6 {
			fw, _ := mw.CreateFormFile("files", fmt.Sprintf("screen%d.png", i))
			_, _ = fw.Write(testPNG(t))
		}
		_ = mw.Close()
		six, _ := http.NewRequest("POST", portalURL+"/support/new", &body)
		six.Header.Set("Content-Type", mw.FormDataContentType())
		if resp, err := citizen.c.Do(six); err != nil {
			t.Fatal(err)
		} else {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "Файлы: не больше 5 файлов") {
				t.Fatalf("six files: %d\n%s", resp.StatusCode, firstError(string(raw)))
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_support_requests`); n != 0 {
			t.Fatalf("%d requests stored from invalid forms", n)
		}
		// A form from another site is refused before it reaches the page.
		req, _ := http.NewRequest("POST", portalURL+"/support/new", strings.NewReader(url.Values{"topic": {"other"}, "description": {"x"}, "contact": {phone}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if resp, err := citizen.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a cross-site post: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}

		// A request whose transaction fails leaves neither rows nor the
		// file's bytes stored before it (the notice's table is away).
		supportFiles := func() int {
			n := 0
			_ = filepath.WalkDir(filepath.Join(dataDir, "attachments"), func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.Contains(path, "support") {
					n++
				}
				return nil
			})
			return n
		}
		screen := testPNG(t)
		var failed page
		sqldbtest.WithoutTable(t, db, "portal_notices", func() {
			failed = send(map[string]string{"topic": "technical", "description": "Не приходит SMS", "contact": phone}, "screen.png", screen)
		})
		if failed.Status != http.StatusInternalServerError || count(t, db, `SELECT COUNT(*) FROM portal_support_requests`) != 0 ||
			count(t, db, `SELECT COUNT(*) FROM portal_support_files`) != 0 || supportFiles() != 0 {
			t.Fatalf("a failed request: %d, %d files left", failed.Status, supportFiles())
		}
		created := send(map[string]string{"topic": "technical", "description": "Не приходит SMS с кодом подтверждения", "contact": "ivanov@example.ru"}, "Снимок экрана.png", screen)
		m := supportIDRe.FindStringSubmatch(created.Location)
		if created.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("create: %d → %q\n%s", created.Status, created.Location, firstError(created.Body))
		}
		id := m[1]
		own := portalURL + "/support/" + id
		p := citizen.abs("GET", portalURL+created.Location, nil)
		nm := supportNumberRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || nm == nil || !strings.Contains(p.Body, "Новое") || !strings.Contains(p.Body, "Snimok_ekrana.png") {
			t.Fatalf("the new request: %d\n%.3000s", p.Status, p.Body)
		}
		number := nm[1]
		// The number is sent to the contact given for the answer (an
		// e-mail here, not the sign-in's phone), and the inbox's notice
		// leads to the request.
		if m := waitMessage(t, citizen, "ivanov@example.ru", "portal.support", number); !strings.Contains(m.Text, "/support/"+id) {
			t.Fatalf("the e-mail does not lead to the request: %q", m.Text)
		}
		notice := regexp.MustCompile(`href="(/notices/[0-9a-f]+)"`).FindStringSubmatch(citizen.abs("GET", portalURL+"/notices", nil).Body)
		if notice == nil {
			t.Fatal("no notice of the request in the inbox")
		}
		if p := citizen.abs("GET", portalURL+notice[1], nil); !strings.Contains(p.Body, `href="/support/`+id+`"`) {
			t.Fatalf("the notice does not lead to the request:\n%.3000s", p.Body)
		}
		if n := supportFiles(); n != 1 {
			t.Fatalf("%d support files stored, want 1", n)
		}
		if p := citizen.abs("GET", portalURL+"/support", nil); !strings.Contains(p.Body, number) {
			t.Fatal("«Мои обращения» does not list the request")
		}

		// Another citizen, without the role: nothing to see, 403 at the console.
		other := newBrowser(t, op)
		other.register("phone", "+79161117702", "+79161117702", "Чужов", "Иван")
		other.portalGo(t, portalURL, other.abs("GET", portalURL+"/login", nil))
		if p := other.abs("GET", own, nil); p.Status != http.StatusNotFound {
			t.Fatalf("another citizen's view of the request: %d", p.Status)
		}
		for _, path := range []string{"/support/console", "/support/console/" + id} {
			if p := other.abs("GET", portalURL+path, nil); p.Status != http.StatusForbidden {
				t.Fatalf("a citizen without the role at %s: %d, want 403", path, p.Status)
			}
		}
		if p := other.abs("POST", portalURL+"/support/console/"+id+"/take", url.Values{"version": {"1"}}); p.Status != http.StatusForbidden {
			t.Fatalf("a citizen without the role taking a request: %d, want 403", p.Status)
		}

		// Support staff: the queue, oldest first, with its age.
		sup, p, at := signInSupport(t, db, op, parts, c, portalURL, "+79161117703")
		if p.Status != 200 || at != portalURL+"/support/console" || !strings.Contains(p.Body, number) || !strings.Contains(p.Body, "Технические проблемы") ||
			!regexp.MustCompile(`<td>\d+ мин</td>`).MatchString(p.Body) {
			t.Fatalf("the queue: %d at %s\n%.3000s", p.Status, at, p.Body)
		}
		// Filters: «Мои» lists nothing taken yet.
		if p := sup.abs("GET", portalURL+"/support/console?whose=mine", nil); strings.Contains(p.Body, number) {
			t.Fatal("«Мои» lists a request nobody took")
		}
		console := portalURL + "/support/console/" + id
		version := func() string { return formVersion(t, sup, console, supportVersionRe) }
		p = sup.abs("GET", console, nil)
		if strings.Contains(p.Body, "ivanov@example.ru") || !strings.Contains(p.Body, "iv***@example.ru") {
			t.Fatalf("the contact is not masked for staff:\n%.3000s", p.Body)
		}
		fm := supportFileRe.FindStringSubmatch(strings.ReplaceAll(p.Body, "Snimok_ekrana", "screen"))
		if fm == nil {
			t.Fatalf("no file link for staff:\n%.3000s", p.Body)
		}
		if got := sup.abs("GET", portalURL+fm[1], nil); got.Status != 200 || got.Body != string(screen) {
			t.Fatalf("staff's download: %d", got.Status)
		}
		fileID := fm[1][strings.LastIndex(fm[1], "/")+1:]
		if got := other.abs("GET", own+"/files/"+fileID, nil); got.Status != http.StatusNotFound {
			t.Fatalf("another citizen's download: %d", got.Status)
		}
		if got := citizen.abs("GET", own+"/files/"+fileID, nil); got.Status != 200 || got.Body != string(screen) {
			t.Fatalf("the owner's download: %d", got.Status)
		}

		v := version()
		if p := sup.abs("POST", console+"/take", url.Values{"version": {v}}); p.Status != http.StatusSeeOther {
			t.Fatalf("take: %d", p.Status)
		}
		if p := sup.abs("POST", console+"/take", url.Values{"version": {v}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "уже взял другой специалист") {
			t.Fatalf("a second take of the same version: %d, want 409", p.Status)
		}
		if p := sup.abs("GET", portalURL+"/support/console?whose=mine", nil); !strings.Contains(p.Body, number) {
			t.Fatal("«Мои» does not list the request taken")
		}
		// A template pre-fills the answer without script.
		p = sup.abs("GET", console+"?template=sms&tlang=ru", nil)
		if !strings.Contains(p.Body, "не блокирует сообщения от государственных сервисов") {
			t.Fatalf("the template is not in the answer:\n%.3000s", p.Body)
		}
		if p := sup.abs("GET", console+"?template=sms&tlang=en", nil); !strings.Contains(p.Body, "does not block messages from public services") {
			t.Fatal("the English template is not in the answer")
		}
		answer := func(path string, fields map[string]string) page {
			fields["version"] = version()
			return sup.multipart(console+path, fields, "", "", nil)
		}
		if p := answer("/answer", map[string]string{"message": ""}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Сообщение: напишите") {
			t.Fatalf("an empty answer: %d", p.Status)
		}
		if p := answer("/answer", map[string]string{"message": "Укажите, пожалуйста, время запроса кода", "await": "1"}); p.Status != http.StatusSeeOther {
			t.Fatalf("answer awaiting the citizen: %d\n%s", p.Status, firstError(p.Body))
		}
		p = citizen.abs("GET", own, nil)
		if !strings.Contains(p.Body, "Ожидает ответа") || !strings.Contains(p.Body, "Укажите, пожалуйста, время запроса кода") {
			t.Fatalf("the citizen's page after the answer:\n%.3000s", p.Body)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_notices WHERE kind = 'support' AND ref = $1 AND status = 'answered'`, id); n != 1 {
			t.Fatalf("%d answered notices", n)
		}
		reply := func(path, text string) page {
			v := supportVersionRe.FindStringSubmatch(citizen.abs("GET", own, nil).Body)
			if v == nil {
				t.Fatalf("no form on the citizen's page")
			}
			return citizen.multipart(own+path, map[string]string{"message": text, "version": v[1]}, "", "", nil)
		}
		if p := reply("/reply", "Около 10:00 по Москве"); p.Status != http.StatusSeeOther {
			t.Fatalf("the citizen's reply: %d", p.Status)
		}
		if p := sup.abs("GET", console, nil); !strings.Contains(p.Body, "В работе") || !strings.Contains(p.Body, "Около 10:00 по Москве") {
			t.Fatal("the reply did not put the request back in progress")
		}
		if p := answer("/resolve", map[string]string{"message": "Код отправлен повторно"}); p.Status != http.StatusSeeOther {
			t.Fatalf("resolve: %d", p.Status)
		}
		p = citizen.abs("GET", own, nil)
		if !strings.Contains(p.Body, "Решено") || !strings.Contains(p.Body, "/support/"+id+"/reopen") {
			t.Fatalf("the resolved request offers no reopening:\n%.3000s", p.Body)
		}
		if p := reply("/reopen", "Код так и не пришёл"); p.Status != http.StatusSeeOther {
			t.Fatalf("reopen: %d", p.Status)
		}
		if p := sup.abs("GET", console, nil); !strings.Contains(p.Body, "В работе") || !strings.Contains(p.Body, "Код так и не пришёл") {
			t.Fatal("the reopened request is not in progress")
		}
		if p := answer("/resolve", map[string]string{}); p.Status != http.StatusSeeOther {
			t.Fatalf("resolve without closing words: %d", p.Status)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_notices WHERE kind = 'support' AND ref = $1 AND status = 'resolved'`, id); n != 2 {
			t.Fatalf("%d resolved notices", n)
		}

		// 15 days later: the sweep closes it; reopening is refused.
		closedAt := c.Now()
		c.Advance(15 * 24 * time.Hour)
		if n, err := ph.CloseExpiredSupport(context.Background()); err != nil || n != 1 {
			t.Fatalf("CloseExpiredSupport: %d, %v", n, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_notices WHERE kind = 'support' AND ref = $1 AND status = 'closed'`, id); n != 1 {
			t.Fatalf("%d closed notices", n)
		}
		// Back to the present to look: sessions and the identity provider's
		// tokens (checked by its library against the real clock) live in
		// minutes, not weeks; the request stays closed.
		c.Set(closedAt)
		p, at = citizen.portalGo(t, own, citizen.abs("GET", own, nil))
		if p.Status != 200 || at != own || !strings.Contains(p.Body, "Закрыто") || strings.Contains(p.Body, "/support/"+id+"/reopen") {
			t.Fatalf("the closed request: %d at %s\n%.3000s", p.Status, at, p.Body)
		}
		v2 := supportVersionRe.FindStringSubmatch(sup.abs("GET", console, nil).Body)
		version2 := "0"
		if v2 != nil {
			version2 = v2[1]
		}
		if p := citizen.multipart(own+"/reopen", map[string]string{"message": "Снова", "version": version2}, "", "", nil); p.Status != http.StatusConflict {
			t.Fatalf("reopening a closed request: %d, want 409", p.Status)
		}
	})
}
