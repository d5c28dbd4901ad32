package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/idp"
	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
	"github.com/gosid/gosid/portal/catalog"
	"github.com/gosid/gosid/portal/catalog/search"
	catalogstore "github.com/gosid/gosid/portal/catalog/store"
	"github.com/gosid/gosid/portal/sandbox"
)

func testPDF(t *testing.T) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Cell(40, 10, "Passport scan")
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 20, 20))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts one file as the browser's multipart form does.
func (b *browser) upload(u, name string, data []byte) page {
	b.t.Helper()
	return b.multipart(u, nil, "file", name, data)
}

// multipart posts a multipart form: fields and, when fileField is not
// empty, one file.
func (b *browser) multipart(u string, fields map[string]string, fileField, name string, data []byte) page {
	b.t.Helper()
	var files []formFile
	if fileField != "" {
		files = append(files, formFile{fileField, name, data})
	}
	return b.multipartFiles(u, fields, files...)
}

// formFile is one file of a multipart form: its field, name and bytes.
type formFile struct {
	field, name string
	data        []byte
}

// multipartFiles posts a multipart form with the fields and files.
func (b *browser) multipartFiles(u string, fields map[string]string, files ...formFile) page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile(f.field, f.name)
		_, _ = fw.Write(f.data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", u, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(raw)}
}

func count(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var numberRe = regexp.MustCompile(`№ (\d{10})`)

// TestPortalApplication: a citizen finds «загранпаспорт», starts the
// application (a draft pre-filled from their Gosid data), loses nothing
// on a reload, attaches a PDF (a file too big, or lying about its type, is
// refused naming why, and nothing is stored), is told what to correct,
// confirms the submission with the code Gosid's gateways texted and gets
// a number; the file is encrypted on disk; another citizen cannot see the
// application; withdrawn before review, it says so.
func TestPortalApplication(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _, dataDir := startEmbeddedPortalIn(t, parts)
		b := newBrowser(t, op)
		b.register("phone", "+79161113344", "+79161113344", "Заявителева", "Ольга")
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, err := accounts.FindByLogin(ctx, account.Phone, "+79161113344")
		if err != nil {
			t.Fatal(err)
		}
		if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}

		// Search, as a visitor.
		p := b.abs("GET", portalURL+"/services?q="+url.QueryEscape("загранпаспорт"), nil)
		if p.Status != 200 || !strings.Contains(p.Body, `href="/services/foreign-passport"`) {
			t.Fatalf("search «загранпаспорт»: %d\n%.2000s", p.Status, p.Body)
		}
		if p := b.abs("GET", portalURL+"/services/foreign-passport", nil); !strings.Contains(p.Body, "/login?return=/services/foreign-passport") {
			t.Fatalf("a visitor is not offered to sign in on the service page: %d", p.Status)
		}
		if p, at := b.portalGo(t, portalURL, b.abs("GET", portalURL+"/login?return=/services/foreign-passport", nil)); p.Status != 200 ||
			at != portalURL+"/services/foreign-passport" || !strings.Contains(p.Body, `action="/services/foreign-passport/apply"`) {
			t.Fatalf("service page after sign-in: %d at %s", p.Status, at)
		}
		p = b.abs("POST", portalURL+"/services/foreign-passport/apply", url.Values{})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/applications/") {
			t.Fatalf("apply: %d %s", p.Status, p.Location)
		}
		app := portalURL + p.Location
		p = b.abs("GET", app, nil)
		if p.Status != 200 || !strings.Contains(p.Body, `name="family_name" value="Заявителева"`) || !strings.Contains(p.Body, `value="&#43;79161113344"`) {
			t.Fatalf("the draft is not pre-filled from the profile: %d\n%.3000s", p.Status, p.Body)
		}

		// Typing is saved as it goes: a reload shows it.
		form := url.Values{"family_name": {"Заявителева"}, "given_name": {"Ольга"}, "birthdate": {"01.02.1990"}, "passport": {"4510 123456"},
			"snils": {"112-233-445 95"}, "phone": {"+79161113344"}, "address": {"Москва, ул. Тверская, д. 1, кв. 2"},
			"work_last_10_years": {"2015–2025: ООО «Ромашка», инженер"}, "secrecy": {"no"}}
		if p := b.abs("POST", app+"/autosave", form); p.Status != http.StatusNoContent {
			t.Fatalf("autosave: %d", p.Status)
		}
		if p := b.abs("GET", app, nil); !strings.Contains(p.Body, "ООО «Ромашка»") || !strings.Contains(p.Body, `value="01.02.1990"`) {
			t.Fatalf("a reload lost what was typed:\n%.3000s", p.Body)
		}

		// Files: too big, lying, then a real PDF.
		files := app + "/files?doc=passport-scan"
		big := append(testPDF(t), bytes.Repeat([]byte{' '}, 5<<20)...)
		for name, tc := range map[string]struct {
			file string
			data []byte
			want string
		}{
			"5 MB + 1":         {"scan.pdf", append(bytes.Repeat([]byte("%PDF-1.4\n"), 1), bytes.Repeat([]byte{'x'}, 5<<20-8)...), "5 МБ"},
			"far too big":      {"scan.pdf", append(big, big...), "5 МБ"},
			"a PNG named .pdf": {"scan.pdf", testPNG(t), "PNG"},
			"a zip":            {"scan.pdf", []byte("PK\x03\x04" + strings.Repeat("\x00", 100)), "PDF"},
		} {
			p := b.upload(files, tc.file, tc.data)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, tc.want) {
				t.Errorf("%s: %d, want 422 naming %q\n%s", name, p.Status, tc.want, firstError(p.Body))
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments`); n != 0 {
			t.Fatalf("%d attachments stored after refusals", n)
		}
		pdf := testPDF(t)
		if p := b.upload(files, "Паспорт скан.pdf", pdf); p.Status != http.StatusSeeOther {
			t.Fatalf("upload a PDF: %d\n%.1500s", p.Status, p.Body)
		}
		p = b.abs("GET", app, nil)
		if !strings.Contains(p.Body, "Pasport_skan.pdf") {
			t.Fatalf("the uploaded file's normalised name is not shown:\n%.3000s", p.Body)
		}
		// On disk it is encrypted.
		plain := 0
		_ = filepath.WalkDir(filepath.Join(dataDir, "attachments"), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				raw, _ := os.ReadFile(path)
				if bytes.Contains(raw, []byte("%PDF")) {
					plain++
				}
			}
			return nil
		})
		if plain != 0 {
			t.Fatalf("%d attachment files hold the PDF in the clear", plain)
		}
		fileRe := regexp.MustCompile(`href="(/applications/[0-9a-f]+/files/[0-9a-f]+)"`)
		m := fileRe.FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatal("no link to the file")
		}
		if got := b.abs("GET", portalURL+m[1], nil); got.Status != 200 || got.Body != string(pdf) {
			t.Fatalf("download: %d, %d bytes", got.Status, len(got.Body))
		}

		// A wrong SNILS: the review is refused naming the field.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("snils", "112-233-445 96")
		bad.Set("action", "review")
		if p := b.abs("POST", app, bad); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "СНИЛС") {
			t.Fatalf("a wrong SNILS: %d\n%s", p.Status, firstError(p.Body))
		}
		form.Set("action", "review")
		if p := b.abs("POST", app, form); p.Status != http.StatusSeeOther || p.Location != strings.TrimPrefix(app, portalURL)+"/review" {
			t.Fatalf("review: %d %s\n%.2000s", p.Status, p.Location, p.Body)
		}
		if p := b.abs("POST", app+"/code", url.Values{}); p.Status != http.StatusSeeOther {
			t.Fatalf("send the code: %d\n%s", p.Status, firstError(p.Body))
		}
		if p := b.abs("POST", app+"/code", url.Values{}); p.Status != http.StatusTooManyRequests {
			t.Errorf("a second code at once: %d, want 429", p.Status)
		}
		code := b.latestCode("+79161113344", "portal.submit_code")
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		if p := b.abs("POST", app+"/submit", url.Values{"code": {wrong}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Неверный код") {
			t.Fatalf("a wrong code: %d", p.Status)
		}
		p, at := b.portalGo(t, portalURL, b.abs("POST", app+"/submit", url.Values{"code": {code}}))
		num := numberRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || num == nil || !strings.Contains(p.Body, "Получено") || !strings.Contains(p.Body, "Заявление отправлено") {
			t.Fatalf("after submission: %d at %s\n%.3000s", p.Status, at, p.Body)
		}
		// The citizen is told the number in the inbox (not texted: the
		// default settings text only what needs action).
		waitNotice(t, b, portalURL, num[1])

		// Another citizen: not found, not forbidden.
		other := newBrowser(t, op)
		other.register("phone", "+79161113355", "+79161113355", "Чужаков", "Пётр")
		if p, at := other.portalGo(t, portalURL, other.abs("GET", app, nil)); p.Status != http.StatusNotFound {
			t.Fatalf("another citizen's application: %d at %s", p.Status, at)
		}
		if p := other.abs("POST", app+"/cancel", url.Values{}); p.Status != http.StatusNotFound {
			t.Fatalf("another citizen cancelling: %d", p.Status)
		}
		if p := other.abs("GET", portalURL+m[1], nil); p.Status != http.StatusNotFound {
			t.Fatalf("another citizen downloading the file: %d", p.Status)
		}

		// The inbox has it, and reading it clears the header's count.
		if p := b.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, `class="count"`) {
			t.Fatalf("no unread count in the header")
		}
		if p := b.abs("GET", portalURL+"/notices", nil); p.Status != 200 || !strings.Contains(p.Body, num[1]+": Получено") {
			t.Fatalf("inbox: %d\n%s", p.Status, p.Body[strings.Index(p.Body, "<main"):])
		}
		// Opening the notice reads it and shows its delivery: the inbox,
		// and no SMS — the default settings do not text a receipt.
		link := regexp.MustCompile(`href="(/notices/[0-9a-f]+)"`).FindStringSubmatch(b.abs("GET", portalURL+"/notices", nil).Body)
		if link == nil {
			t.Fatal("no notice link in the inbox")
		}
		if p := b.abs("GET", portalURL+link[1], nil); p.Status != 200 || !strings.Contains(p.Body, "в личном кабинете") ||
			!strings.Contains(p.Body, "выключено в настройках") {
			t.Fatalf("the notice: %d\n%s", p.Status, p.Body)
		}
		if p := b.abs("GET", portalURL+"/", nil); strings.Contains(p.Body, `class="count"`) {
			t.Fatalf("the unread count stays after reading")
		}

		// The home page lists it; withdrawn before review, it says so.
		if p := b.abs("GET", portalURL+"/", nil); !strings.Contains(p.Body, num[1]) {
			t.Fatalf("home page without the application:\n%.2000s", p.Body)
		}
		if p, _ := b.portalGo(t, portalURL, b.abs("POST", app+"/cancel", url.Values{})); !strings.Contains(p.Body, "Аннулировано") {
			t.Fatalf("after cancel: %d", p.Status)
		}
		if p := b.abs("POST", app+"/cancel", url.Values{}); p.Status != http.StatusConflict {
			t.Fatalf("cancelling twice: %d", p.Status)
		}
	})
}

// submitApplication makes a foreign-passport application as the
// signed-in citizen b (their phone given) and returns its URL and number.
func submitApplication(t *testing.T, b *browser, portalURL, phone string) (string, string) {
	return submitApplicationWith(t, b, portalURL, phone, func() string { return b.latestCode(phone, "portal.submit_code") })
}

// submitApplicationWith is submitApplication reading the texted code with
// code.
func submitApplicationWith(t *testing.T, b *browser, portalURL, phone string, code func() string) (string, string) {
	t.Helper()
	p := b.abs("POST", portalURL+"/services/foreign-passport/apply", url.Values{})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("apply: %d", p.Status)
	}
	app := portalURL + p.Location
	if p := b.upload(app+"/files?doc=passport-scan", "scan.pdf", testPDF(t)); p.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.Status)
	}
	form := url.Values{"family_name": {"Заявителев"}, "given_name": {"Иван"}, "birthdate": {"01.02.1990"}, "passport": {"4510 123456"},
		"snils": {"112-233-445 95"}, "phone": {phone}, "address": {"Москва, ул. Тверская, д. 1"},
		"work_last_10_years": {"2015–2025: ООО «Ромашка»"}, "secrecy": {"no"}, "action": {"review"}}
	if p := b.abs("POST", app, form); p.Status != http.StatusSeeOther {
		t.Fatalf("review: %d\n%s", p.Status, firstError(p.Body))
	}
	if p := b.abs("POST", app+"/code", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("code: %d", p.Status)
	}
	p, _ = b.portalGo(t, portalURL, b.abs("POST", app+"/submit", url.Values{"code": {code()}}))
	num := numberRe.FindStringSubmatch(p.Body)
	if num == nil {
		t.Fatalf("no number after submission: %d", p.Status)
	}
	return app, num[1]
}

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

// formVersion is the version the form on the page at u carries (re's
// first group).
func formVersion(t *testing.T, b *browser, u string, re *regexp.Regexp) string {
	t.Helper()
	p := b.abs("GET", u, nil)
	v := re.FindStringSubmatch(p.Body)
	if v == nil {
		t.Fatalf("no form with a version at %s: %d\n%.3000s", u, p.Status, p.Body)
	}
	return v[1]
}

// TestPortalOffice: an officer of the agency (staff role at Gosid, signed
// in with a second factor) finds the application in the queue, takes it,
// asks for more information; the citizen is told, adds a file and
// replies; the officer approves it with a result document, which the
// citizen downloads. A stale form (another officer acted first) is
// refused with 409; another agency's officer and a citizen without the
// role see nothing.
func TestPortalOffice(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _ := startEmbeddedPortal(t, parts)
		accounts := account.NewStore(db, parts.Keys, time.Now)
		confirm := func(phone string) *account.Account {
			a, err := accounts.FindByLogin(ctx, account.Phone, phone)
			if err != nil {
				t.Fatal(err)
			}
			if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
				t.Fatal(err)
			}
			return a
		}
		citizen := newBrowser(t, op)
		citizen.register("phone", "+79161114401", "+79161114401", "Заявителев", "Иван")
		confirm("+79161114401")
		if p, _ := citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil)); p.Status != 200 {
			t.Fatalf("citizen sign-in: %d", p.Status)
		}
		app, number := submitApplication(t, citizen, portalURL, "+79161114401")
		if p := citizen.abs("GET", portalURL+"/office", nil); p.Status/100 == 2 {
			t.Fatalf("a citizen without the role at /office: %d", p.Status)
		}

		// The officer: confirmed, a second factor, the role at Gosid.
		st := staff.NewStore(db, parts.Activity, time.Now)
		if err := st.AddOrg(ctx, staff.Org{Code: "fns", Kind: staff.KindAgency, NameRU: "ФНС России", Region: "77"}); err != nil {
			t.Fatal(err)
		}
		officer, p, at := signInOfficer(t, db, op, parts, c, portalURL, "+79161114402", staff.Org{Code: "mvd", Kind: staff.KindAgency, NameRU: "МВД России", Region: "77"})
		if p.Status != 200 || at != portalURL+"/office" || !strings.Contains(p.Body, number) || !strings.Contains(p.Body, ">МВД России</option>") {
			t.Fatalf("the queue (its agency named): %d at %s\n%.2000s", p.Status, at, p.Body)
		}
		id := strings.TrimPrefix(app, portalURL+"/applications/")
		office := portalURL + "/office/applications/" + id
		version := func() string { return formVersion(t, officer, office, versionRe) }
		move := func(to, v, comment, file string, data []byte) page {
			field := ""
			if file != "" {
				field = "result"
			}
			return officer.multipart(office+"/move", map[string]string{"to": to, "version": v, "comment": comment}, field, file, data)
		}
		v := version()
		// A forged form: approving, with a result, what nobody reviewed.
		if p := move("approved", v, "Готово", "result.pdf", testPDF(t)); p.Status != http.StatusConflict {
			t.Fatalf("received → approved in the back-office: %d, want 409", p.Status)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE kind = 'result'`); n != 0 {
			t.Fatalf("the refused approval left %d result files", n)
		}
		if p := move("in_review", v, "", "", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("take into work: %d", p.Status)
		}
		// The same form again: another officer took it first.
		if p := move("in_review", v, "", "", nil); p.Status != http.StatusConflict {
			t.Fatalf("a stale take: %d, want 409", p.Status)
		}
		v = version()
		if p := move("info_requested", v, "", "", nil); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("asking without saying what: %d", p.Status)
		}
		if p := move("info_requested", v, "Приложите скан страницы с регистрацией", "", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("ask for more: %d", p.Status)
		}
		if m := waitMessage(t, citizen, "+79161114401", "portal.status", "страницы с регистрацией"); !strings.Contains(m.Text, "Требуется дополнительная информация") {
			t.Fatalf("the citizen was not told what is asked: %+v", m)
		}
		if p := citizen.abs("GET", app, nil); !strings.Contains(p.Body, "Ведомство просит: Приложите скан") {
			t.Fatalf("the application page does not show what is asked")
		}
		if p := citizen.upload(app+"/files?doc=passport-scan", "registration.pdf", testPDF(t)); p.Status != http.StatusSeeOther {
			t.Fatalf("adding a file when asked: %d", p.Status)
		}
		if p := citizen.abs("POST", app+"/respond", url.Values{"comment": {"Приложил"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("reply: %d", p.Status)
		}
		v = version()
		if p := move("approved", v, "Паспорт готов", "result.png", testPNG(t)); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("approving with a PNG result: %d", p.Status)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE kind = 'result'`); n != 0 {
			t.Fatalf("%d results stored after a refused approval", n)
		}
		result := testPDF(t)
		if p := move("approved", v, "Паспорт готов", "Результат.pdf", result); p.Status != http.StatusSeeOther {
			t.Fatalf("approve: %d\n%s", p.Status, firstError(p.Body))
		}
		p = citizen.abs("GET", app, nil)
		rm := regexp.MustCompile(`href="(/applications/[0-9a-f]+/files/[0-9a-f]+)">Rezultat\.pdf</a>`).FindStringSubmatch(p.Body)
		if !strings.Contains(p.Body, "Одобрено") || rm == nil {
			t.Fatalf("the citizen's page after approval:\n%.3000s", p.Body)
		}
		if got := citizen.abs("GET", portalURL+rm[1], nil); got.Status != 200 || got.Body != string(result) {
			t.Fatalf("result download: %d", got.Status)
		}
		// Its signature by the (sandbox) agency verifies as gosid certs
		// verify checks it, with the CA and CRL the portal offers.
		sm := regexp.MustCompile(`href="(/applications/[0-9a-f]+/files/[0-9a-f]+)">Rezultat\.pdf\.sig</a>`).FindStringSubmatch(p.Body)
		if sm == nil || !strings.Contains(p.Body, "gosid certs verify") {
			t.Fatalf("no signature offered with the result:\n%.3000s", p.Body)
		}
		// No trust list here: the page offers the check, it does not
		// pretend to have tried one.
		if strings.Contains(p.Body, "Проверка электронной подписи") {
			t.Fatalf("a signature check shown without a trust list:\n%.3000s", p.Body)
		}
		dir := t.TempDir()
		must := func(u, name string) string {
			got := citizen.abs("GET", portalURL+u, nil)
			if got.Status != 200 {
				t.Fatalf("%s: %d", u, got.Status)
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(got.Body), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}
		trust := filepath.Join(dir, "trust")
		_ = os.Mkdir(trust, 0o755)
		must("/sandbox/ca.pem", "trust/ca.pem")
		crl, sig, pdf := must("/sandbox/ca.crl", "ca.crl"), must(sm[1], "result.pdf.sig"), must(rm[1], "result.pdf")
		if r := (cli{t: t}).run("certs", "verify", "--trust-dir", trust, "--crl-file", crl, "--content", pdf, "--signature", sig); r.code != exitOK || !strings.Contains(r.stdout, "signature: valid") {
			t.Fatalf("gosid certs verify of the result: %d\n%s%s", r.code, r.stdout, r.stderr)
		}

		// A refusal: only with the reason, which the citizen sees and is
		// told; a refused application moves no further.
		c.Advance(2 * time.Minute) // the submission code's cool-down
		app2, number2 := submitApplication(t, citizen, portalURL, "+79161114401")
		office2 := portalURL + "/office/applications/" + strings.TrimPrefix(app2, portalURL+"/applications/")
		last := ""
		move2 := func(to, comment string) page {
			if v := versionRe.FindStringSubmatch(officer.abs("GET", office2, nil).Body); v != nil {
				last = v[1]
			} else if last == "" {
				t.Fatalf("no decision form for %s", number2)
			}
			return officer.multipart(office2+"/move", map[string]string{"to": to, "version": last, "comment": comment}, "", "", nil)
		}
		if p := move2("in_review", ""); p.Status != http.StatusSeeOther {
			t.Fatalf("take the second application: %d", p.Status)
		}
		if p := move2("refused", ""); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "почему отказано") {
			t.Fatalf("refusing without a reason: %d %q", p.Status, firstError(p.Body))
		}
		if p := move2("refused", "Фотография не соответствует требованиям"); p.Status != http.StatusSeeOther {
			t.Fatalf("refuse: %d %s", p.Status, firstError(p.Body))
		}
		if m := waitMessage(t, citizen, "+79161114401", "portal.status", number2); !strings.Contains(m.Text, "Отклонено") {
			t.Fatalf("the citizen was not told of the refusal: %+v", m)
		}
		if p := citizen.abs("GET", app2, nil); !strings.Contains(p.Body, "Отклонено") || !strings.Contains(p.Body, "Фотография не соответствует требованиям") {
			t.Fatalf("the citizen's page after the refusal:\n%.3000s", p.Body)
		}
		if p := officer.abs("GET", office2, nil); p.Status != 200 || versionRe.MatchString(p.Body) || !strings.Contains(p.Body, "Отклонено") {
			t.Fatalf("the office page of a refused application offers a decision: %d", p.Status)
		}
		if p := move2("in_review", ""); p.Status != http.StatusConflict {
			t.Fatalf("taking a refused application into work again: %d, want 409", p.Status)
		}
		// The queue's status filter: the refused one under «Отклонено»,
		// the approved one under «Одобрено».
		for status, want := range map[string][2]string{"refused": {number2, number}, "approved": {number, number2}} {
			p := officer.abs("GET", portalURL+"/office?status="+status, nil)
			if p.Status != 200 || !strings.Contains(p.Body, ">"+want[0]+"<") || strings.Contains(p.Body, ">"+want[1]+"<") {
				t.Fatalf("/office?status=%s: %d, want %s listed and not %s", status, p.Status, want[0], want[1])
			}
		}

		// Another agency's officer sees neither the queue entry nor the
		// application.
		oa, err := accounts.FindByLogin(ctx, account.Phone, "+79161114402")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Revoke(ctx, oa.ID, staff.RoleOfficer, "mvd", audit.Actor{Kind: audit.ActorSystem}); err != nil {
			t.Fatal(err)
		}
		if err := st.Grant(ctx, oa.ID, staff.RoleOfficer, "fns", audit.Actor{Kind: audit.ActorSystem}); err != nil {
			t.Fatal(err)
		}
		c.Advance(61 * time.Second) // a staff session's profile is asked for again after a minute
		if p := officer.abs("GET", office, nil); p.Status != http.StatusNotFound {
			t.Fatalf("another agency's officer: %d", p.Status)
		}
		if p := officer.abs("GET", portalURL+"/office", nil); strings.Contains(p.Body, number) {
			t.Fatal("another agency's queue lists the application")
		}

		// Staff are confirmed: an officer lowered to standard loses the
		// back-office within a minute, and has it again once confirmed.
		if err := accounts.SetLevel(ctx, oa.ID, assurance.Confirmed, assurance.Standard); err != nil {
			t.Fatal(err)
		}
		c.Advance(61 * time.Second)
		if p := officer.abs("GET", portalURL+"/office", nil); p.Status/100 == 2 {
			t.Fatalf("an officer lowered to standard at /office: %d", p.Status)
		}
		if err := accounts.SetLevel(ctx, oa.ID, assurance.Standard, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		c.Advance(10 * time.Minute)
		if p := officer.abs("GET", portalURL+"/office", nil); p.Status != 200 || !strings.Contains(p.Body, "ФНС России") {
			t.Fatalf("the officer confirmed again at /office: %d", p.Status)
		}
		// A staff session ends after 15 minutes without a request (a
		// citizen's after 30).
		c.Advance(15 * time.Minute)
		if p := officer.abs("GET", portalURL+"/office", nil); p.Status/100 == 2 || !strings.Contains(p.Location, "/login") {
			t.Fatalf("a staff session idle for 15 minutes: %d → %q", p.Status, p.Location)
		}
	})
}

// TestPortalSignedApplication: a service that needs a qualified
// e-signature is sent with the citizen's detached signature of the
// application's canonical form, checked as e-signature sign-in checks
// one: another person's certificate, a signature of other content, or an
// edit after the download are refused; the citizen's own is accepted,
// and the form and signature go to the agency with it.
func TestPortalSignedApplication(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPWith(t, db, c, trustCitizensAndSandbox(t))
		portalURL, _, _ := startEmbeddedPortalIn(t, parts)
		b := newBrowser(t, op)
		b.register("phone", "+79161117701", "+79161117701", "Иванов", "Иван")
		accounts := account.NewStore(db, parts.Keys, time.Now)
		a, err := accounts.FindByLogin(ctx, account.Phone, "+79161117701")
		if err != nil {
			t.Fatal(err)
		}
		snils := formatSNILSForTest(t, fixtureSNILS(t, "citizen256"))
		if err := accounts.UpdateDocuments(ctx, a.ID, account.Documents{SNILS: snils, INN: "770110791905"}); err != nil {
			t.Fatal(err)
		}
		if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
			t.Fatal(err)
		}
		// While the SNILS is only typed, no certificate is the citizen's.
		b.portalGo(t, portalURL, b.abs("GET", portalURL+"/login", nil))
		claimedOnly := func() string {
			p := b.abs("POST", portalURL+"/services/tax-deduction/apply", url.Values{})
			app := portalURL + p.Location
			for _, doc := range []string{"income-statement", "expenses"} {
				b.upload(app+"/files?doc="+doc, doc+".pdf", testPDF(t))
			}
			b.abs("POST", app, url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"}, "inn": {"770110791905"}, "phone": {"+79161117701"},
				"year": {"2025"}, "deduction": {"treatment"}, "amount": {"120000"}, "action": {"review"}})
			doc := b.abs("GET", app+"/document", nil)
			return b.multipart(app+"/sign", nil, "signature", "application.json.sig", signAs(t, "citizen256", []byte(doc.Body))).Body
		}()
		if !strings.Contains(claimedOnly, "не подтверждён") {
			t.Fatalf("a signature tied to a SNILS only typed was accepted:\n%s", firstError(claimedOnly))
		}
		// The SNILS verified (by a registry: the evidence, not the claim).
		if _, err := parts.Verifier.Verify(ctx, assurance.Verification{SNILS: snils, Evidence: assurance.Evidence{AccountID: a.ID,
			Method: assurance.MethodRegistry, Verifier: assurance.Verifier{Kind: "registry", ID: "test"},
			Claims: []string{"snils", "family_name", "given_name"}, Values: map[string]string{"snils": snils, "family_name": "Иванов", "given_name": "Иван"},
			Level: assurance.Standard}}); err != nil {
			t.Fatal(err)
		}
		b.portalGo(t, portalURL, b.abs("GET", portalURL+"/login", nil))
		p := b.abs("POST", portalURL+"/services/tax-deduction/apply", url.Values{})
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/applications/") {
			t.Fatalf("apply: %d %s", p.Status, p.Location)
		}
		app := portalURL + p.Location
		for _, doc := range []string{"income-statement", "expenses"} {
			if p := b.upload(app+"/files?doc="+doc, doc+".pdf", testPDF(t)); p.Status != http.StatusSeeOther {
				t.Fatalf("upload %s: %d", doc, p.Status)
			}
		}
		form := url.Values{"family_name": {"Иванов"}, "given_name": {"Иван"}, "inn": {"770110791905"}, "phone": {"+79161117701"},
			"year": {"2025"}, "deduction": {"treatment"}, "amount": {"120000"}, "action": {"review"}}
		if p := b.abs("POST", app, form); p.Status != http.StatusSeeOther {
			t.Fatalf("review: %d\n%s", p.Status, firstError(p.Body))
		}
		review := b.abs("GET", app+"/review", nil)
		if !strings.Contains(review.Body, app[len(portalURL):]+"/document") || strings.Contains(review.Body, "/code") {
			t.Fatalf("the review of a service that needs a signature does not offer it:\n%.2000s", review.Body)
		}
		if p := b.abs("POST", app+"/code", url.Values{}); p.Status != http.StatusSeeOther || p.Location != app[len(portalURL):] {
			t.Fatalf("a texted code for a service that needs a signature: %d %s", p.Status, p.Location)
		}
		doc := b.abs("GET", app+"/document", nil)
		if doc.Status != 200 || !strings.Contains(doc.Body, `"service":"tax-deduction"`) {
			t.Fatalf("the form to sign: %d %s", doc.Status, doc.Body)
		}
		sign := func(sig []byte) page { return b.multipart(app+"/sign", nil, "signature", "application.json.sig", sig) }
		if p := sign(signAs(t, "citizen256b", []byte(doc.Body))); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "другого человека") {
			t.Fatalf("another person's certificate: %d\n%s", p.Status, firstError(p.Body))
		}
		if p := sign(signAs(t, "citizen256", []byte(doc.Body+" "))); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "не прошла проверку") {
			t.Fatalf("a signature of other content: %d\n%s", p.Status, firstError(p.Body))
		}
		// An edit after the download: the signed form is no longer the draft.
		signed := signAs(t, "citizen256", []byte(doc.Body))
		form.Set("amount", "130000")
		b.abs("POST", app+"/autosave", form)
		if p := sign(signed); p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a signature of the draft before an edit: %d", p.Status)
		}
		doc = b.abs("GET", app+"/document", nil)
		p, _ = b.portalGo(t, portalURL, sign(signAs(t, "citizen256", []byte(doc.Body))))
		if num := numberRe.FindStringSubmatch(p.Body); p.Status != 200 || num == nil {
			t.Fatalf("the signed application was not sent: %d\n%.2000s", p.Status, p.Body)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE kind IN ('application', 'application-signature')`); n != 2 {
			t.Fatalf("%d of the signed form and its signature kept, want 2", n)
		}

		// The agency signs its result itself, checked against the trust list.
		cl, cs, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Система ФНС", AuthMethod: client.AuthSecretBasic,
			GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"agency:fns"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := tokenRequest(t, op.URL, cl.ID, cs, url.Values{"grant_type": {"client_credentials"}, "scope": {"agency:fns"}}).AccessToken
		api := portalURL + "/agency/v1/applications/" + strings.TrimPrefix(app, portalURL+"/applications/")
		one := agencyCall(t, tok, "GET", api, "", nil)
		taken, _ := json.Marshal(map[string]any{"status": "in_review", "version": one.JSON["version"]})
		if r := agencyCall(t, tok, "POST", api+"/status", "application/json", taken); r.Status != 200 {
			t.Fatalf("take: %d %s", r.Status, r.Body)
		}
		result := testPDF(t)
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", signAs(t, "citizen256", result)); r.Status != 409 {
			t.Fatalf("a signature before the result: %d", r.Status)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result", "application/pdf", result); r.Status != 201 {
			t.Fatalf("result: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", signAs(t, "citizen256", []byte("other"))); r.Status != 422 {
			t.Fatalf("a signature of something else: %d %s", r.Status, r.Body)
		}
		// A valid qualified signature, but a citizen's: not the agency's.
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", signAs(t, "citizen256", result)); r.Status != 422 ||
			!strings.Contains(string(r.Body), "ОГРН "+sandbox.OGRN) {
			t.Fatalf("a citizen's signature of the result: %d %s", r.Status, r.Body)
		}
		// Development mode: an agency the catalogue gives no OGRN signs
		// with the sandbox agency's certificate.
		agencySig, err := sandbox.Sign(result, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", agencySig); r.Status != 201 {
			t.Fatalf("the agency's signature of the result: %d %s", r.Status, r.Body)
		}
		// PUT replaces: one result and one signature of it, whatever was
		// uploaded before (here development mode's own signature too).
		appID := strings.TrimPrefix(app, portalURL+"/applications/")
		files := func() string {
			return fmt.Sprint(count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE application_id = $1 AND kind = 'result'`, appID),
				count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE application_id = $1 AND kind = 'signature'`, appID))
		}
		if f := files(); f != "1 1" {
			t.Fatalf("after the agency's signature (results, signatures): %s", f)
		}
		// With a trust list the citizen's page checks it as it is shown.
		if p := b.abs("GET", app, nil); !strings.Contains(p.Body, "<strong>Подпись действительна.</strong>") || !strings.Contains(p.Body, "<dd>"+sandbox.OGRN+"</dd>") {
			t.Fatalf("the citizen's page does not show the signature checked:\n%.4000s", p.Body)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result", "application/pdf", result); r.Status != 201 {
			t.Fatalf("the result again: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", agencySig); r.Status != 201 {
			t.Fatalf("the agency's signature again: %d %s", r.Status, r.Body)
		}
		if f := files(); f != "1 1" {
			t.Fatalf("after the result and its signature again (results, signatures): %s", f)
		}
		// Once the catalogue names the agency's OGRN, only a certificate
		// with it signs for the agency, not the sandbox's.
		services := catalogstore.NewStore(db, time.Now)
		svc, err := services.Get(ctx, "tax-deduction")
		if err != nil {
			t.Fatal(err)
		}
		svc.Agency.OGRN = "1047707030513"
		if _, err := services.Import(ctx, []catalog.Service{svc}); err != nil {
			t.Fatal(err)
		}
		c.Advance(search.CheckInterval) // the portal's catalogue is read again
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", agencySig); r.Status != 422 ||
			!strings.Contains(string(r.Body), "ОГРН 1047707030513") {
			t.Fatalf("the sandbox's signature for an agency with its own OGRN: %d %s", r.Status, r.Body)
		}
	})
}

// trustCitizensAndSandbox sets one trust list for citizens' certificates
// and the sandbox agency's (and the agencies' CAs given), as an operator
// who trusts them all would configure it.
func trustCitizensAndSandbox(t *testing.T, agencies ...agencyCA) func(*idpOptions) {
	trust, dir := t.TempDir(), t.TempDir()
	cas := map[string][]byte{"citizens.pem": fixture(t, "trust/root.pem"), "sandbox.pem": sandbox.CA}
	crlFiles := map[string][]byte{"sandbox.crl": sandbox.CRL}
	for i, a := range agencies {
		cas[fmt.Sprintf("agency-%d.pem", i)], crlFiles[fmt.Sprintf("agency-%d.crl", i)] = a.caPEM, a.crl
	}
	crls := []string{filepath.Join(certFixtures, "ca.crl"), filepath.Join(certFixtures, "root.crl")}
	for name, data := range cas {
		if err := os.WriteFile(filepath.Join(trust, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range crlFiles {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		crls = append(crls, filepath.Join(dir, name))
	}
	return func(o *idpOptions) {
		o.Esign = esignOptions{TrustDir: trust, CRLFiles: crls, CRLTimeout: time.Second}
	}
}

// agencyCA is a certification authority of the test's own (ECDSA P-256)
// and the agency signing certificate it issued, naming an OGRN: the CA's
// certificate and current CRL for the trust list, and the agency's
// detached signature of content (signUntil: by a certificate of its own
// valid until notAfter).
type agencyCA struct {
	caPEM, crl []byte
	sign       func(content []byte) []byte
	signUntil  func(content []byte, notAfter time.Time) []byte
}

func newAgencyCA(t *testing.T, ogrn string) agencyCA {
	t.Helper()
	return newAgencyCAWith(t, ogrn, "УЦ ведомств (тест)", 48*time.Hour)
}

// newAgencyCAWith is newAgencyCA with the CA's name and how long its CRL
// is current.
func newAgencyCAWith(t *testing.T, ogrn, caName string, crlLife time.Duration) agencyCA {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Country: []string{"RU"}, CommonName: caName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	serial := int64(1)
	// issue makes a signing certificate of the agency valid until notAfter.
	issue := func(notAfter time.Time) (*ecdsa.PrivateKey, *x509.Certificate) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial++
		leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(serial),
			Subject: pkix.Name{Country: []string{"RU"}, Organization: []string{"МВД России"}, CommonName: "МВД России",
				ExtraNames: []pkix.AttributeTypeAndValue{{Type: cert.OIDOGRN, Value: ogrn}}},
			NotBefore: now.Add(-time.Hour), NotAfter: notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}},
			ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(leafDER)
		return key, leaf
	}
	signWith := func(content []byte, key *ecdsa.PrivateKey, leaf *x509.Certificate) []byte {
		der, err := cms.SignDetached(content, key, leaf, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return cms.PEM(der)
	}
	// The agency's usual certificate (serial 2), valid for two days.
	key, leaf := issue(now.Add(48 * time.Hour))
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour),
		NextUpdate: now.Add(crlLife)}, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return agencyCA{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), crl: crl,
		sign: func(content []byte) []byte { return signWith(content, key, leaf) },
		signUntil: func(content []byte, notAfter time.Time) []byte {
			k, l := issue(notAfter)
			return signWith(content, k, l)
		}}
}

// mvdOGRN is the MVD's OGRN (a valid check digit; the catalogue refuses
// the sandbox agency's made-up one).
const mvdOGRN = "1037700029620"

// TestPortalResultSignedOutsideDevelopment: outside development mode no
// result reaches the citizen without the agency's signature. An officer
// approves in the back-office with the PDF and its detached signature,
// checked before anything is stored: none, one of other content, or a
// citizen's certificate (not the agency's OGRN) keep the application in
// review with nothing stored. Through the agency API approving waits for
// PUT …/result/signature. The citizen's page offers the signature.
func TestPortalResultSignedOutsideDevelopment(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	c := sqldbtest.NewClock(time.Now())
	mvd := newAgencyCA(t, mvdOGRN)
	// Another authority of the agency's whose revocation list stops being
	// current ten minutes in.
	staleCRL := newAgencyCAWith(t, mvdOGRN, "УЦ ведомств 2 (тест)", 10*time.Minute)
	op, _, parts := startOPWith(t, db, c, trustCitizensAndSandbox(t, mvd, staleCRL))
	portalURL, _, _ := startPortalMode(t, parts, nil, false)
	services := catalogstore.NewStore(db, time.Now)
	svc, err := services.Get(ctx, "foreign-passport")
	if err != nil {
		t.Fatal(err)
	}
	svc.Agency.OGRN = mvdOGRN
	if _, err := services.Import(ctx, []catalog.Service{svc}); err != nil {
		t.Fatal(err)
	}
	c.Advance(search.CheckInterval)
	accounts := account.NewStore(db, parts.Keys, time.Now)
	citizen := newBrowser(t, op)
	citizen.register("phone", "+79161119901", "+79161119901", "Заявителев", "Иван")
	ca, _ := accounts.FindByLogin(ctx, account.Phone, "+79161119901")
	if err := accounts.SetLevel(ctx, ca.ID, ca.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}
	citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
	app, _ := submitApplication(t, citizen, portalURL, "+79161119901")
	officer, _, _ := signInOfficer(t, db, op, parts, c, portalURL, "+79161119902", staff.Org{Code: "mvd", Kind: staff.KindAgency, NameRU: "МВД России", Region: "77"})
	office := portalURL + "/office/applications/" + strings.TrimPrefix(app, portalURL+"/applications/")
	version := func() string { return formVersion(t, officer, office, versionRe) }
	if p := officer.multipart(office+"/move", map[string]string{"to": "in_review", "version": version()}, "", "", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("take into work: %d", p.Status)
	}
	if p := officer.abs("GET", office, nil); !strings.Contains(p.Body, `name="signature"`) || !strings.Contains(p.Body, "Подпись результата (.sig)") {
		t.Fatalf("the decision form does not ask for the result's signature:\n%.3000s", p.Body)
	} else if !strings.Contains(p.Body, "<h1>Заявление № ") || strings.Count(p.Body, "Оформление загранпаспорта") != 1 {
		// The application's number heads the page; the service's title once.
		t.Fatalf("the officer's page is not headed by the application's number:\n%.3000s", p.Body)
	} else if !strings.Contains(p.Body, "<dd>Нет</dd>") || strings.Contains(p.Body, "<dd>no</dd>") {
		// A choice reads as its option's label, not its stored value.
		t.Fatalf("the officer's page shows the raw value of a choice:\n%.3000s", p.Body)
	} else {
		shootPage(t, portalURL, p.Body, "portal-office-signature")
		shootPage(t, portalURL, officer.abs("GET", office+"?lang=en", nil).Body, "portal-office-signature-en")
	}
	result := testPDF(t)
	signed := mvd.sign(result)
	sandboxSigned, err := sandbox.Sign(result, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	approve := func(sig []byte) page {
		files := []formFile{{"result", "Результат.pdf", result}}
		if sig != nil {
			files = append(files, formFile{"signature", "Результат.pdf.sig", sig})
		}
		return officer.multipartFiles(office+"/move", map[string]string{"to": "approved", "version": version(), "comment": "Готово"}, files...)
	}
	for _, tc := range []struct {
		what, want string
		sig        []byte
	}{
		{"no signature", "Приложите файл открепленной подписи", nil},
		{"a signature of other content", "не подписывает результат", signAs(t, "citizen256", []byte("other"))},
		{"a citizen's signature of the result", "нет ОГРН " + mvdOGRN, signAs(t, "citizen256", result)},
		{"the sandbox agency's signature (outside development mode)", "нет ОГРН " + mvdOGRN, sandboxSigned},
	} {
		p := approve(tc.sig)
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, tc.want) || !strings.Contains(p.Body, `id="signature-err"`) {
			t.Errorf("approving with %s: %d, want 422 saying %q at the field\n%s", tc.what, p.Status, tc.want, firstError(p.Body))
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments WHERE kind IN ('result', 'signature')`); n != 0 {
			t.Fatalf("approving with %s left %d files", tc.what, n)
		}
		if !strings.Contains(p.Body, ">Готово</textarea>") {
			t.Errorf("approving with %s: the officer's comment is lost", tc.what)
		}
		if tc.sig == nil {
			shootPage(t, portalURL, p.Body, "portal-office-signature-missing")
		}
	}
	if p := approve(signed); p.Status != http.StatusSeeOther {
		t.Fatalf("approving with the agency's signature: %d\n%s", p.Status, firstError(p.Body))
	}
	p := citizen.abs("GET", app, nil)
	sm := regexp.MustCompile(`href="(/applications/[0-9a-f]+/files/[0-9a-f]+)">Rezultat\.pdf\.sig</a>`).FindStringSubmatch(p.Body)
	if !strings.Contains(p.Body, "Одобрено") || sm == nil || !strings.Contains(p.Body, "квалифицированной электронной подписью ведомства") ||
		strings.Contains(p.Body, "/sandbox/ca.pem") {
		t.Fatalf("the citizen's page after approval:\n%.3000s", p.Body)
	}
	if got := citizen.abs("GET", portalURL+sm[1], nil); got.Status != 200 || got.Body != string(signed) {
		t.Fatalf("the signature's download: %d", got.Status)
	}
	// The page checks the signature as it is shown, and lists the result
	// before its signature.
	if pdfAt, sigAt := strings.Index(p.Body, ">Rezultat.pdf</a>"), strings.Index(p.Body, ">Rezultat.pdf.sig</a>"); pdfAt < 0 || sigAt < pdfAt {
		t.Errorf("the result at %d, its signature at %d: the result comes first", pdfAt, sigAt)
	}
	for _, want := range []string{"Проверка электронной подписи", `<p class="valid" role="status"><strong>Подпись действительна.</strong>`,
		"<dd>МВД России</dd>", "<dd>" + mvdOGRN + "</dd>", "<dd>УЦ ведомств (тест)</dd>", "<dd>2</dd>", "Время подписания"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the citizen's page does not show the signature's check: no %q\n%.4000s", want, p.Body)
		}
	}
	shootPage(t, portalURL, p.Body, "portal-result-signed")
	en := citizen.abs("GET", app+"?lang=en", nil).Body
	if !strings.Contains(en, "\u00a0KB") || !strings.Contains(en, "up to 5\u00a0MB") || strings.Contains(en, "КБ") || strings.Contains(en, "МБ") ||
		!strings.Contains(en, "The signature is valid.") {
		t.Errorf("the English page of the result: sizes or the check not in English\n%.4000s", en)
	}
	shootPage(t, portalURL, en, "portal-result-signed-en")
	citizen.abs("GET", app+"?lang=ru", nil)
	// Checked now, not once: when the catalogue gives the agency another
	// OGRN, the certificate is no longer the deciding agency's.
	svc.Agency.OGRN = "1047707030513"
	if _, err := services.Import(ctx, []catalog.Service{svc}); err != nil {
		t.Fatal(err)
	}
	c.Advance(search.CheckInterval)
	if p := citizen.abs("GET", app, nil); !strings.Contains(p.Body, `<p class="error" role="alert"><strong>Подпись не прошла проверку:</strong> сертификат подписи выдан не ведомству`) ||
		strings.Contains(p.Body, "Подпись действительна") || !strings.Contains(p.Body, "<dd>"+mvdOGRN+"</dd>") ||
		strings.Contains(p.Body, "квалифицированной электронной подписью ведомства") {
		t.Errorf("the citizen's page after the agency's OGRN changed:\n%.4000s", p.Body)
	} else {
		shootPage(t, portalURL, p.Body, "portal-result-failed")
	}
	svc.Agency.OGRN = mvdOGRN
	if _, err := services.Import(ctx, []catalog.Service{svc}); err != nil {
		t.Fatal(err)
	}
	c.Advance(search.CheckInterval)

	// The agency API: approving waits for the signature.
	app2, _ := submitApplication(t, citizen, portalURL, "+79161119901")
	cl, cs, err := client.NewStore(db, time.Now).Create(ctx, client.Client{Name: "Система МВД", AuthMethod: client.AuthSecretBasic,
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"agency:mvd"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenRequest(t, op.URL, cl.ID, cs, url.Values{"grant_type": {"client_credentials"}, "scope": {"agency:mvd"}}).AccessToken
	api := portalURL + "/agency/v1/applications/" + strings.TrimPrefix(app2, portalURL+"/applications/")
	move := func(status string) apiAnswer {
		one := agencyCall(t, tok, "GET", api, "", nil)
		body, _ := json.Marshal(map[string]any{"status": status, "version": one.JSON["version"]})
		return agencyCall(t, tok, "POST", api+"/status", "application/json", body)
	}
	if r := move("in_review"); r.Status != 200 {
		t.Fatalf("take: %d %s", r.Status, r.Body)
	}
	if r := agencyCall(t, tok, "PUT", api+"/result", "application/pdf", result); r.Status != 201 {
		t.Fatalf("result: %d %s", r.Status, r.Body)
	}
	if r := move("approved"); r.Status != 422 || !strings.Contains(string(r.Body), "result/signature") {
		t.Fatalf("approving an unsigned result: %d %s", r.Status, r.Body)
	}
	if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", signed); r.Status != 201 {
		t.Fatalf("the agency's signature: %d %s", r.Status, r.Body)
	}
	if r := move("approved"); r.Status != 200 || r.JSON["status"] != "approved" {
		t.Fatalf("approving the signed result: %d %s", r.Status, r.Body)
	}

	// approvedWith submits an application and approves it through the
	// API with the result and sig, its signature; it returns the page.
	approvedWith := func(sig []byte) string {
		t.Helper()
		app, _ := submitApplication(t, citizen, portalURL, "+79161119901")
		api = portalURL + "/agency/v1/applications/" + strings.TrimPrefix(app, portalURL+"/applications/")
		if r := move("in_review"); r.Status != 200 {
			t.Fatalf("take: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result", "application/pdf", result); r.Status != 201 {
			t.Fatalf("result: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", sig); r.Status != 201 {
			t.Fatalf("the signature: %d %s", r.Status, r.Body)
		}
		if r := move("approved"); r.Status != 200 {
			t.Fatalf("approving: %d %s", r.Status, r.Body)
		}
		return app
	}

	// A result signed by a certificate that has expired since stays
	// signed: the page says it was valid when issued, not «failed».
	app3 := approvedWith(mvd.signUntil(result, c.Now().Add(2*time.Minute)))
	if p := citizen.abs("GET", app3, nil); !strings.Contains(p.Body, "<strong>Подпись действительна.</strong>") {
		t.Errorf("the result's page while its certificate is valid:\n%.4000s", p.Body)
	}
	c.Advance(3 * time.Minute)
	if p := citizen.abs("GET", app3, nil); !strings.Contains(p.Body, "<strong>Подпись была действительна, когда результат выдан (") ||
		!strings.Contains(p.Body, "истёк") || strings.Contains(p.Body, "не прошла проверку") || !strings.Contains(p.Body, "<dd>"+mvdOGRN+"</dd>") {
		t.Errorf("the citizen's page once the agency's certificate expired:\n%.4000s", p.Body)
	} else {
		shootPage(t, portalURL, p.Body, "portal-result-expired-since")
		shootPage(t, portalURL, citizen.abs("GET", app3+"?lang=en", nil).Body, "portal-result-expired-since-en")
		citizen.abs("GET", app3+"?lang=ru", nil)
	}

	// Whether a certificate is revoked cannot be learnt (its authority's
	// list not current): no verdict, neither on the citizen's page nor
	// at the agency API.
	app4 := approvedWith(staleCRL.sign(result))
	c.Advance(10 * time.Minute)
	if p := citizen.abs("GET", app4, nil); !strings.Contains(p.Body, "Проверить подпись на портале сейчас не удалось") ||
		strings.Contains(p.Body, "не прошла проверку") || strings.Contains(p.Body, "Подпись действительна") ||
		strings.Contains(p.Body, "квалифицированной электронной подписью ведомства") {
		t.Errorf("the citizen's page while the revocation list is not current:\n%.4000s", p.Body)
	} else {
		shootPage(t, portalURL, p.Body, "portal-result-unchecked")
	}
	tok = tokenRequest(t, op.URL, cl.ID, cs, url.Values{"grant_type": {"client_credentials"}, "scope": {"agency:mvd"}}).AccessToken
	if r := agencyCall(t, tok, "PUT", api+"/result/signature", "application/pkcs7-signature", staleCRL.sign(result)); r.Status != http.StatusServiceUnavailable ||
		r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "revocation list") {
		t.Errorf("a signature whose revocation cannot be checked: %d %v %s", r.Status, r.Header, r.Body)
	}
}

// passportDraft is a confirmed citizen (phone) signed in to the embedded
// portal with a new draft of «загранпаспорт»: the citizen's browser, the
// draft's URL, and a count of the attachments' files on disk.
func passportDraft(t *testing.T, db *sqldb.DB, phone string) (*browser, string, func() int) {
	t.Helper()
	ctx := context.Background()
	op, _, parts := startOPParts(t, db, sqldbtest.NewClock(time.Now()))
	portalURL, _, dataDir := startEmbeddedPortalIn(t, parts)
	b := newBrowser(t, op)
	b.register("phone", phone, phone, "Файлов", "Фёдор")
	accounts := account.NewStore(db, parts.Keys, time.Now)
	a, _ := accounts.FindByLogin(ctx, account.Phone, phone)
	if err := accounts.SetLevel(ctx, a.ID, a.Level, assurance.Confirmed); err != nil {
		t.Fatal(err)
	}
	b.portalGo(t, portalURL, b.abs("GET", portalURL+"/login", nil))
	p := b.abs("POST", portalURL+"/services/foreign-passport/apply", url.Values{})
	files := func() int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(dataDir, "attachments"), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(path, ".tmp") {
				n++
			}
			return nil
		})
		return n
	}
	return b, portalURL + p.Location, files
}

// TestPortalDraftFiles: a file's name with path separators is stored
// under a normalised name; removing a draft removes its files, rows and
// bytes alike.
func TestPortalDraftFiles(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	b, app, files := passportDraft(t, db, "+79161118801")
	if p := b.upload(app+"/files?doc=passport-scan", `..\..\windows\..\../etc/passwd.pdf`, testPDF(t)); p.Status != http.StatusSeeOther {
		t.Fatalf("upload: %d", p.Status)
	}
	var name string
	if err := db.QueryRow(ctx, `SELECT name FROM portal_attachments`).Scan(&name); err != nil || name != "passwd.pdf" {
		t.Fatalf("stored name %q, %v", name, err)
	}
	if files() != 1 {
		t.Fatalf("%d files on disk, want 1", files())
	}
	if p := b.abs("POST", app, url.Values{"action": {"delete"}}); p.Status != http.StatusSeeOther || p.Location != "/applications" {
		t.Fatalf("delete the draft: %d %s", p.Status, p.Location)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM portal_attachments`); n != 0 || files() != 0 {
		t.Fatalf("after deleting the draft: %d rows, %d files", n, files())
	}
	if p := b.abs("GET", app, nil); p.Status != http.StatusNotFound {
		t.Fatalf("the deleted draft: %d", p.Status)
	}
	// The same press again (its answer lost, another tab): what it asks
	// is done, so it lands on the list too.
	if p := b.abs("POST", app, url.Values{"action": {"delete"}}); p.Status != http.StatusSeeOther || p.Location != "/applications" {
		t.Fatalf("delete the deleted draft: %d %s", p.Status, p.Location)
	}
	// Saving it is not: the draft is gone.
	if p := b.abs("POST", app, url.Values{"action": {"save"}}); p.Status != http.StatusNotFound {
		t.Fatalf("save the deleted draft: %d", p.Status)
	}
}

// signInOfficer makes a confirmed account with an authenticator app the
// officer of org (added here) and signs it in to the portal's back-office,
// which asks for the second factor; it returns the officer's browser and
// the /office page it lands on.
func signInOfficer(t *testing.T, db *sqldb.DB, op *testIdP, parts *idp.IdP, c *sqldbtest.Clock, portalURL, phone string, org staff.Org) (*browser, page, string) {
	t.Helper()
	ctx := context.Background()
	officer := newBrowser(t, op)
	officer.register("phone", phone, phone, "Чиновникова", "Анна")
	accounts := account.NewStore(db, parts.Keys, time.Now)
	oa, err := accounts.FindByLogin(ctx, account.Phone, phone)
	if err == nil {
		err = accounts.SetLevel(ctx, oa.ID, oa.Level, assurance.Confirmed)
	}
	if err != nil {
		t.Fatal(err)
	}
	enrol := officer.postStep("/account/security/totp", nil)
	m := secretRe.FindStringSubmatch(enrol.Body)
	if m == nil {
		t.Fatalf("TOTP enrolment: %d", enrol.Status)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	code, _ := totp.GenerateCode(secret, c.Now())
	officer.postStep("/account/security/totp/confirm", url.Values{"code": {code}})
	st := staff.NewStore(db, parts.Activity, time.Now)
	if err := st.AddOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, oa.ID, staff.RoleOfficer, org.Code, audit.Actor{Kind: audit.ActorSystem}); err != nil {
		t.Fatal(err)
	}
	p, at := officer.portalGo(t, portalURL, officer.abs("GET", portalURL+"/office", nil))
	if !strings.Contains(at, "2fa") {
		t.Fatalf("the back-office did not ask for a second factor: %d at %s", p.Status, at)
	}
	c.Advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, c.Now())
	p, at = officer.portalGo(t, op.URL, officer.abs("POST", at, url.Values{"code": {code}}))
	return officer, p, at
}

// TestPortalFilesTotalRace: five 4 MB files uploaded at once to a draft
// that holds 4 MB: the application's files never pass 20 MB together —
// four are kept, the fifth is refused naming the total, and its bytes
// are not left on disk. On both dialects.
func TestPortalFilesTotalRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		b, app, files := passportDraft(t, db, "+79161118802")
		// A PDF by its content, 4 MB by a comment before its end.
		pdf := testPDF(t)
		end := bytes.LastIndex(pdf, []byte("%%EOF"))
		pdf = slices.Concat(pdf[:end], bytes.Repeat([]byte("%0123456789abcdef\n"), (4<<20-len(pdf))/18), pdf[end:])
		if p := b.upload(app+"/files?doc=passport-scan", "first.pdf", pdf); p.Status != http.StatusSeeOther {
			t.Fatalf("the first file: %d %s", p.Status, firstError(p.Body))
		}
		answers := make(chan page, 5)
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() { answers <- b.upload(app+"/files?doc=passport-scan", fmt.Sprintf("more-%d.pdf", i), pdf) })
		}
		wg.Wait()
		close(answers)
		var kept, refused int
		for p := range answers {
			switch {
			case p.Status == http.StatusSeeOther:
				kept++
			case p.Status == http.StatusUnprocessableEntity && strings.Contains(p.Body, "Все файлы заявления вместе больше 20 МБ"):
				refused++
			default:
				t.Errorf("an upload answered %d: %s", p.Status, firstError(p.Body))
			}
		}
		var total int64
		if err := db.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM portal_attachments`).Scan(&total); err != nil {
			t.Fatal(err)
		}
		if kept != 4 || refused != 1 || total > 20<<20 || count(t, db, `SELECT COUNT(*) FROM portal_attachments`) != 5 {
			t.Fatalf("five racing uploads: %d kept, %d refused, %d bytes stored, want 4, 1 and at most 20 MB", kept, refused, total)
		}
		if n := files(); n != 5 {
			t.Fatalf("%d files on disk, want the 5 kept", n)
		}
	})
}
