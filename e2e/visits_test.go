package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// The demo fines of the development mode (portal/charges.go seedCharges):
// both for the driving licence 77 00 123456, one with a 50 % discount, one
// overdue.
const (
	visitsLicence     = "77 00 123456"
	visitsDiscounted  = "Штраф за превышение скорости на 20–40 км/ч"
	visitsOverdue     = "Штраф за нарушение правил остановки или стоянки"
	visitsPayee       = "УФК по г. Москве"
	cardSucceeds3DS   = "4000 0000 0000 3220"
	cardDeclined      = "4000 0000 0000 0002"
	visitsCardExpiry  = "12/30"
	visitsCardCVC     = "123"
	visitsCardHolder  = "IVAN IVANOV"
	visitsBookService = "passport-14"
)

var twentyDigits = regexp.MustCompile(`^\d{20}(\d{5})?$`)

// TestBrowserVisits: appointments and payments of the citizen portal end to
// end in headless Chromium, on the embedded default. A citizen confirmed
// through the sandbox bank signs in to the portal and books a passport
// visit: Moscow in the region filter, a place, a month's calendar with
// greyed days and free ones, a day, a time; the ticket shows a number, a
// QR code that loads in the browser and decodes to that number, and a PDF
// that says it. The booking is moved to another day (same number, new
// time) and cancelled. A doctor is booked by specialty, place, doctor, day
// and time, and the ticket names the doctor. Then the driving licence of
// the demo fines is added: /charges lists the discounted fine («скидка до
// …») and the overdue one («Просрочено»); the discounted one is paid with
// the sandbox's card that asks for a code, and the receipt PDF names the
// УИН, the amount and the payee; the overdue one is refused with the
// declined card and stays unpaid. With GOSID_E2E_SCREENSHOTS=1 the pages
// are saved at 1280 and 360 px to docs/screenshots/portal-*.png.
func TestBrowserVisits(t *testing.T) {
	requireChromium(t)
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			const msg = "%s not found (install poppler-utils); GOSID_E2E=1 turns this skip into a failure"
			if os.Getenv("GOSID_E2E") == "1" {
				t.Fatalf(msg, tool)
			}
			t.Skipf(msg, tool)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		visitsWalk(t, os.Getenv("GOSID_E2E_SCREENSHOTS") == "1")
	})
	t.Run("postgres", func(t *testing.T) {
		visitsWalk(t, false, "--database-url", sqldbtest.EmptyPostgresURL(t))
	})
}

// visitsWalk is TestBrowserVisits on a server started with db, the
// database options (none: the data directory's SQLite).
func visitsWalk(t *testing.T, screenshots bool, db ...string) {
	start := time.Now()
	dir := t.TempDir()
	s, public := startLocalhost(t, append([]string{"--data-dir", dir, "--sandbox-bank-addr", "localhost:0", "--portal-addr", "localhost:0"}, db...)...)
	portalURL, _ := s.record("gosid serving")["portal"].(string)
	if !strings.HasPrefix(portalURL, "http://localhost:") {
		t.Fatalf("the \"gosid serving\" line gives the portal as %q, want http://localhost:PORT", portalURL)
	}
	shots := filepath.Join("..", "docs", "screenshots")
	shoot := func(b *browser, name string) {
		if !screenshots {
			return
		}
		for _, w := range []int64{1280, 360} {
			b.screenshot(w, filepath.Join(shots, "portal-"+name+"-"+strconv.FormatInt(w, 10)+".png"))
		}
	}

	c := newBrowser(t, public)
	registerWithBank(c, s, portalCitizenBank, portalCitizenPhone, func(string) {})
	cp := c.at(portalURL)
	cp.open("/")
	cp.click(`main a.button[href^="/login"]`, "/", 200)
	cp.expectText("Здравствуйте, Иван Иванович!")

	// 1. A passport visit: region, place, calendar, day, time, ticket.
	cp.open("/appointments/new?service=" + visitsBookService)
	cp.do("choose Moscow", chromedp.SetValue(chromedp.CSS(`form.filters select[name=region]`), "77"))
	cp.click(`form.filters button[type=submit]`, "/appointments/new", 200)
	if got := evalIn[string](cp, "read the region", `document.querySelector('form.filters select[name=region]').selectedOptions[0].textContent`); got != "Москва" {
		cp.fatalf("the region filter shows %q after choosing Москва", got)
	}
	addresses := evalIn[[]string](cp, "read the places", `Array.from(document.querySelectorAll('ul.places li p:first-of-type')).map(p => p.innerText)`)
	if len(addresses) == 0 {
		cp.fatalf("no place offers %s in Москва", visitsBookService)
	}
	for _, a := range addresses {
		if !strings.HasPrefix(a, "г. Москва") {
			cp.fatalf("the Москва filter lists a place at %q", a)
		}
	}
	cp.click(`ul.places li a`, "/appointments/new", 200)
	if n := evalIn[int](cp, "count greyed days", `document.querySelectorAll('table.cal span.day.busy').length`); n == 0 {
		cp.fatalf("the calendar greys no day (Sundays and past days have no free time)")
	}
	day := chooseDay(cp, "")
	slot, label := chooseSlot(cp, "")
	shoot(cp, "calendar")
	ticket := clickTo(cp, fmt.Sprintf(`button.slot[value=%q]`, slot), 200)
	if !strings.HasPrefix(ticket, "/appointments/") {
		cp.fatalf("booking ended on %s, want /appointments/ID", ticket)
	}
	number := strings.TrimSpace(evalIn[string](cp, "read the number", `document.querySelector('.ticketno').innerText`))
	if number == "" {
		cp.fatalf("the ticket shows no number")
	}
	cp.expectText("Вы записаны", number, ddmmyyyy(day)+" "+label, "Записан")
	waitJS(cp, "the QR code to load", `(() => { const i = document.querySelector('img.qr'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	if got := cp.decodeQR("data:image/png;base64," + base64.StdEncoding.EncodeToString(fetchBytes(cp, ticket+"/qr.png"))); got != number {
		cp.fatalf("the ticket's QR code reads %q, want the number %s", got, number)
	}
	if text := pdfText(t, fetchBytes(cp, ticket+"/ticket.pdf")); !strings.Contains(text, number) {
		cp.fatalf("the ticket PDF does not show the number %s:\n%s", number, text)
	}
	shoot(cp, "ticket")

	// 2. Moved to another day and time: the same number, the new time.
	cp.click(`main a.button.secondary[href*="reschedule="]`, "/appointments/new", 200)
	cp.expectText("Перенос записи № " + number)
	day2 := chooseDay(cp, day)
	slot2, label2 := chooseSlot(cp, slot)
	cp.click(fmt.Sprintf(`button.slot[value=%q]`, slot2), ticket, 200)
	cp.expectText("Запись перенесена.", number, ddmmyyyy(day2)+" "+label2)
	if got := strings.TrimSpace(evalIn[string](cp, "read the number", `document.querySelector('.ticketno').innerText`)); got != number {
		cp.fatalf("after rescheduling the ticket's number is %q, want %s", got, number)
	}
	// Cancelled.
	cp.click(`form[action="`+ticket+`/cancel"] button[type=submit]`, ticket, 200)
	cp.expectText("Запись отменена.", "Отменена")
	if n := evalIn[int](cp, "look for the change buttons", `document.querySelectorAll('form[action$="/cancel"], a[href*="reschedule="]').length`); n != 0 {
		cp.fatalf("a cancelled booking still offers to reschedule or cancel")
	}
	cp.open("/appointments")
	cp.expectText(number, "Отменена")

	// 3. A doctor: specialty, place, doctor, day, time.
	cp.open("/appointments/new?service=doctor-appointment")
	cp.expectText("терапевт", "стоматолог", "офтальмолог", "хирург")
	therapist := evalIn[string](cp, "find терапевт", `(() => { const a = Array.from(document.querySelectorAll('main ul.results a')).find(a => a.innerText.trim() === 'терапевт'); return a ? a.getAttribute('href') : ''; })()`)
	if therapist == "" {
		cp.fatalf("no link to the specialty терапевт")
	}
	cp.click(fmt.Sprintf(`main ul.results a[href=%q]`, therapist), "/appointments/new", 200)
	cp.expectText("Городская поликлиника № 12")
	cp.click(`ul.places li a`, "/appointments/new", 200)
	doctor := evalIn[string](cp, "read the first doctor", `document.querySelector('main ul.results li a').innerText`)
	if doctor == "" {
		cp.fatalf("no doctor listed")
	}
	cp.click(`main ul.results li a`, "/appointments/new", 200)
	cp.expectText(doctor + ", терапевт")
	day3 := chooseDay(cp, "")
	slot3, label3 := chooseSlot(cp, "")
	visit := clickTo(cp, fmt.Sprintf(`button.slot[value=%q]`, slot3), 200)
	if !strings.HasPrefix(visit, "/appointments/") || visit == ticket {
		cp.fatalf("booking a doctor ended on %s, want a new /appointments/ID", visit)
	}
	cp.expectText("Вы записаны", doctor+", терапевт", ddmmyyyy(day3)+" "+label3, "Городская поликлиника № 12")

	// 4. The demo fines, found by the driving licence.
	cp.open("/charges")
	if text := cp.text(); strings.Contains(text, visitsDiscounted) || strings.Contains(text, visitsOverdue) {
		cp.fatalf("/charges lists the licence's fines before the licence is added:\n%s", text)
	}
	cp.open("/documents")
	cp.do("choose the driving licence", chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "driver_licence"))
	cp.fill("number", visitsLicence)
	cp.submit("/documents", "/documents")
	cp.expectText("Документ добавлен.", "Водительское удостоверение")
	if listed := evalIn[string](cp, "read the documents", `document.querySelector('main ul.results').innerText`); strings.Contains(strings.ReplaceAll(listed, " ", ""), "7700123456") {
		cp.fatalf("/documents shows the whole licence number; want it masked:\n%s", listed)
	}
	cp.open("/charges")
	type chargeRow struct {
		Text, Href string
		Overdue    bool
	}
	rows := evalIn[[]chargeRow](cp, "read the charges", `Array.from(document.querySelectorAll('ul.charges > li')).map(li => ({
		Text: li.innerText, Href: li.querySelector('a').getAttribute('href'), Overdue: li.classList.contains('overdue')}))`)
	var discounted, overdue chargeRow
	for _, r := range rows {
		switch {
		case strings.Contains(r.Text, visitsDiscounted):
			discounted = r
		case strings.Contains(r.Text, visitsOverdue):
			overdue = r
		}
	}
	if discounted.Href == "" || overdue.Href == "" {
		cp.fatalf("/charges does not list both demo fines: %+v", rows)
	}
	for _, want := range []string{"375,00 ₽", "750,00 ₽", "скидка до ", "Не оплачено"} {
		if !strings.Contains(discounted.Text, want) {
			cp.fatalf("the discounted fine's entry lacks %q:\n%s", want, discounted.Text)
		}
	}
	if discounted.Overdue || strings.Contains(discounted.Text, "Просрочено") {
		cp.fatalf("the discounted fine is marked overdue:\n%s", discounted.Text)
	}
	for _, want := range []string{"1 000,00 ₽", "Просрочено", "Не оплачено"} {
		if !strings.Contains(overdue.Text, want) {
			cp.fatalf("the overdue fine's entry lacks %q:\n%s", want, overdue.Text)
		}
	}
	if !overdue.Overdue || strings.Contains(overdue.Text, "скидка") {
		cp.fatalf("the overdue fine is not marked overdue, or has a discount:\n%s", overdue.Text)
	}
	shoot(cp, "charges")

	// The discounted fine, paid with the card that asks for a code.
	uin := strings.TrimPrefix(discounted.Href, "/charges/")
	if !twentyDigits.MatchString(uin) {
		cp.fatalf("the discounted fine links to %s, want /charges/УИН", discounted.Href)
	}
	cp.click(`ul.charges a[href="`+discounted.Href+`"]`, discounted.Href, 200)
	cp.expectText(uin, "375,00 ₽", visitsPayee)
	pay := func() string {
		cp.t.Helper()
		acq := clickTo(cp, `form[action$="/pay"] button[type=submit]`, 200)
		if !strings.HasPrefix(acq, "/sandbox/acquirer/pay/") {
			cp.fatalf("paying went to %s, want the sandbox acquirer's /sandbox/acquirer/pay/ID", acq)
		}
		if banner := evalIn[string](cp, "read the sandbox banner", `(document.querySelector('.sandbox-banner') || {innerText: ''}).innerText`); !strings.Contains(banner, "Тестовая среда") {
			cp.fatalf("the acquirer's page has no sandbox banner (got %q)", banner)
		}
		return acq
	}
	if got := evalIn[string](cp, "read the pay button", `document.querySelector('form[action$="/pay"] button').innerText`); got != "Оплатить 375,00 ₽" {
		cp.fatalf("the pay button says %q, want «Оплатить 375,00 ₽»", got)
	}
	acq := pay()
	if !strings.Contains(evalIn[string](cp, "read the order", `document.querySelector('.order').innerText`), "375,00") {
		cp.fatalf("the acquirer's page does not show 375,00")
	}
	shoot(cp, "payment")
	fillCard(cp, cardSucceeds3DS)
	cp.click(`form.payform button[type=submit]`, acq+"/confirm", 200)
	code := evalIn[string](cp, "read the sandbox code", `document.getElementById('sandbox-code').innerText`)
	if code == "" {
		cp.fatalf("the confirmation page shows no code")
	}
	cp.fill("code", code)
	paid := clickTo(cp, `form[action$="/confirm"] button[type=submit]`, 200)
	if !strings.HasPrefix(paid, "/payments/") {
		cp.fatalf("after the code the browser is at %s, want the portal's /payments/ID", paid)
	}
	cp.expectText("Оплата прошла: 375,00 ₽", uin)
	receipt := evalIn[string](cp, "find the receipt link", `(document.querySelector('main a[href$="/receipt.pdf"]') || {}).pathname || ''`)
	if receipt != paid+"/receipt.pdf" {
		cp.fatalf("the receipt link is %q, want %s/receipt.pdf", receipt, paid)
	}
	pdf := fetchBytes(cp, receipt)
	text := pdfText(t, pdf)
	for _, want := range []string{uin, "375,00", visitsPayee} {
		if !strings.Contains(text, want) {
			cp.fatalf("the receipt PDF does not say %q:\n%s", want, text)
		}
	}
	if screenshots {
		for _, w := range []int{1280, 360} {
			pdfPage(t, pdf, w, filepath.Join(shots, "portal-receipt-"+strconv.Itoa(w)+".png"))
		}
	}
	cp.open(discounted.Href)
	cp.expectText("Оплачено")
	if evalIn[bool](cp, "look for the pay button", `!!document.querySelector('form[action$="/pay"]')`) {
		cp.fatalf("a paid charge still offers to pay")
	}

	// 5. The overdue fine with the declined card: refused, still unpaid.
	cp.open(overdue.Href)
	cp.expectText("Просрочено", "1 000,00 ₽")
	pay()
	fillCard(cp, cardDeclined)
	declined := clickTo(cp, `form.payform button[type=submit]`, 200)
	if !strings.HasPrefix(declined, "/payments/") {
		cp.fatalf("after the declined card the browser is at %s, want the portal's /payments/ID", declined)
	}
	cp.expectText("Оплата не прошла")
	if evalIn[bool](cp, "look for a receipt", `!!document.querySelector('a[href$="/receipt.pdf"]')`) {
		cp.fatalf("a declined payment offers a receipt")
	}
	cp.open("/charges")
	after := evalIn[string](cp, "read the overdue fine", fmt.Sprintf(`document.querySelector('ul.charges a[href=%q]').closest('li').innerText`, overdue.Href))
	if !strings.Contains(after, "Не оплачено") || !strings.Contains(after, "Просрочено") {
		cp.fatalf("after the declined card the overdue fine shows:\n%s\nwant it unpaid and overdue", after)
	}
	paidRow := evalIn[string](cp, "read the paid fine", fmt.Sprintf(`document.querySelector('ul.charges a[href=%q]').closest('li').innerText`, discounted.Href))
	if !strings.Contains(paidRow, "Оплачено") {
		cp.fatalf("/charges shows the paid fine as:\n%s", paidRow)
	}

	if screenshots {
		// The other pages of visits and payments, in both languages.
		pages := []struct{ name, path string }{{"dashboard", "/"}, {"appointments", "/appointments"},
			{"doctor", "/appointments/new?service=doctor-appointment"}, {"day", "/appointments/new?service=passport-14&place=mfc-msk-tverskoy"},
			{"documents", "/documents"}, {"charge", discounted.Href}, {"paid", paid}, {"payments", "/payments"}}
		for _, lang := range []string{"en", "ru"} {
			for _, pg := range pages {
				sep := "?"
				if strings.Contains(pg.path, "?") {
					sep = "&"
				}
				cp.open(pg.path + sep + "lang=" + lang)
				if lang == "en" {
					shoot(cp, pg.name+"-en")
				} else {
					shoot(cp, pg.name)
				}
			}
		}
	}
	for _, p := range c.consoleProblems() {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("the walk took %v", time.Since(start).Round(time.Millisecond))
}

// chooseDay clicks a free day of the calendar after tomorrow (in Moscow,
// so that the booking stays outside the cut-off for changes) other than
// avoid (YYYY-MM-DD), turning to the next month when this one has none,
// and returns the day chosen. The page then lists its times.
func chooseDay(b *browser, avoid string) string {
	b.t.Helper()
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		b.t.Fatal(err)
	}
	after := time.Now().In(msk).AddDate(0, 0, 1).Format(time.DateOnly)
	for range 3 {
		days := evalIn[[]string](b, "read the free days", `Array.from(document.querySelectorAll('table.cal a.day.free')).map(a => new URL(a.href).searchParams.get('day'))`)
		for _, d := range days {
			if d > after && d != avoid {
				b.click(fmt.Sprintf(`table.cal a.day.free[href$="day=%s"]`, d), "/appointments/new", 200)
				if got := evalIn[string](b, "read the chosen day", `(document.querySelector('table.cal a.day.selected') || {}).textContent || ''`); strings.TrimLeft(d[8:], "0") != got {
					b.fatalf("after choosing %s the calendar marks day %q", d, got)
				}
				return d
			}
		}
		if !evalIn[bool](b, "look for the next month", `!!document.querySelector('.calhead a[aria-label="Следующий месяц"]')`) {
			break
		}
		b.click(`.calhead a[aria-label="Следующий месяц"]`, "/appointments/new", 200)
	}
	b.fatalf("no free day after %s in the calendar", after)
	return ""
}

// chooseSlot returns the value (RFC 3339) and label (15:04) of a free time
// other than avoid, from the middle of the list.
func chooseSlot(b *browser, avoid string) (string, string) {
	b.t.Helper()
	type slot struct{ Value, Label string }
	slots := evalIn[[]slot](b, "read the times", `Array.from(document.querySelectorAll('button.slot')).map(s => ({Value: s.value, Label: s.innerText.trim()}))`)
	for i := range slots {
		s := slots[(i+len(slots)/2)%len(slots)]
		if s.Value != avoid {
			return s.Value, s.Label
		}
	}
	b.fatalf("no free time on the chosen day")
	return "", ""
}

// fillCard types a test card into the sandbox acquirer's form.
func fillCard(b *browser, number string) {
	b.t.Helper()
	b.fill("card_number", number)
	b.fill("expiry", visitsCardExpiry)
	b.fill("cvc", visitsCardCVC)
	b.fill("holder", visitsCardHolder)
}

// ddmmyyyy turns 2026-12-07 into 07.12.2026, as the ticket says a date.
func ddmmyyyy(day string) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return d.Format("02.01.2006")
}

// fetchBytes downloads path in the page (its cookies) and returns the body,
// failing unless the answer is 200.
func fetchBytes(b *browser, path string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	// In chunks: String.fromCharCode(...bytes) overflows the stack on a
	// PDF with embedded fonts.
	enc, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q).then(r => r.ok ? r.arrayBuffer() : Promise.reject(new Error('status ' + r.status)))
		.then(buf => { const a = new Uint8Array(buf); let s = '';
			for (let i = 0; i < a.length; i += 8192) s += String.fromCharCode(...a.subarray(i, i + 8192));
			return btoa(s); })`, path), chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("download %s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		b.fatalf("download %s: %v", path, err)
	}
	return raw
}

// pdfText is the text of a PDF as pdftotext reads it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("not a PDF: starts with %q", pdf[:min(len(pdf), 16)])
	}
	cmd := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// pdfPage renders the first page of a PDF to a PNG file width pixels wide.
func pdfPage(t *testing.T, pdf []byte, width int, file string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "page")
	cmd := exec.Command("pdftoppm", "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to-x", strconv.Itoa(width), "-scale-to-y", "-1", in, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, msg)
	}
	png, err := os.ReadFile(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", file)
}
