package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"html"
	"image"
	_ "image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/message"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/portal"
	"github.com/gosid/gosid/portal/payments"
	"github.com/gosid/gosid/portal/payments/acquirer"
	acqsandbox "github.com/gosid/gosid/portal/payments/sandbox"
)

// agencyToken is a client_credentials access token of a new client of
// the agency (scope agency:CODE), as an agency's system gets one.
func agencyToken(t *testing.T, db *sqldb.DB, op *testIdP, scope string) string {
	t.Helper()
	cl, secret, err := client.NewStore(db, time.Now).Create(context.Background(), client.Client{Name: "Система " + scope, AuthMethod: client.AuthSecretBasic,
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	tr := tokenRequest(t, op.URL, cl.ID, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
	if tr.AccessToken == "" {
		t.Fatalf("client_credentials token for %s: %d %s", scope, tr.Status, tr.Error)
	}
	return tr.AccessToken
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// problemField is the name of the first field a problem names.
func problemField(a apiAnswer) string {
	fields, _ := a.JSON["fields"].([]any)
	if len(fields) == 0 {
		return ""
	}
	name, _ := fields[0].(map[string]any)["name"].(string)
	return name
}

var (
	freeDayRe   = regexp.MustCompile(`href="([^"]*day=[0-9-]+)" class="day free`)
	slotRe      = regexp.MustCompile(`name="start" value="([^"]+)"`)
	resourceRe  = regexp.MustCompile(`name="resource" value="([^"]*)"`)
	ticketNoRe  = regexp.MustCompile(`<p class="ticketno">([^<]+)</p>`)
	payActionRe = regexp.MustCompile(`action="([^"]*/pay/[^"]+)"`)
)

// freeTimes opens a place's booking page at its first day with free time
// and returns the resource and the starts offered.
func freeTimes(t *testing.T, b *browser, base string) (string, []string, string) {
	t.Helper()
	return freeTimesAfter(t, b, base, time.Time{})
}

// freeTimesAfter is freeTimes for the first free day with at least two
// starts after the given instant: a test that reschedules or cancels must
// not book inside the cut-off, whatever the time of day it runs at.
func freeTimesAfter(t *testing.T, b *browser, base string, after time.Time) (string, []string, string) {
	t.Helper()
	p := b.abs("GET", base, nil)
	days := freeDayRe.FindAllStringSubmatch(p.Body, -1)
	if p.Status != 200 || days == nil {
		t.Fatalf("booking page %s: %d, no free day\n%s", base, p.Status, p.Body)
	}
	for _, m := range days {
		day, _ := url.Parse(html.UnescapeString(m[1]))
		p = b.abs("GET", strings.SplitN(base, "/appointments", 2)[0]+day.String(), nil)
		res := resourceRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || res == nil {
			t.Fatalf("times of %s: %d\n%s", day, p.Status, p.Body)
		}
		var out []string
		for _, s := range slotRe.FindAllStringSubmatch(p.Body, -1) {
			if start, err := time.Parse(time.RFC3339, s[1]); err != nil {
				t.Fatalf("a start %q: %v", s[1], err)
			} else if start.After(after) {
				out = append(out, s[1])
			}
		}
		if len(out) >= 2 {
			return res[1], out, p.Body
		}
	}
	t.Fatalf("no day of %s has two free times after %s", base, after)
	return "", nil, ""
}

// TestPortalVisits: an agency publishes a place in Vladivostok through the
// API (every call checked against docs/agency-api.yaml; bad hours and a
// closure given in Moscow's offset are 422 naming the field); a citizen
// books a time from the calendar, gets a ticket whose QR code is the
// booking number and a PDF, reschedules and cancels, books again; the
// officer's API sees the day; a closure cancels the booking and tells the
// citizen.
func TestPortalVisits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, _ := startEmbeddedPortal(t, parts)
		mfc := agencyToken(t, db, op, "agency:mfc")
		place := portalURL + "/agency/v1/places/mfc-vvo-test"
		body := map[string]any{"kind": "centre", "name": "МФЦ «Тестовый»", "region": "25", "address": "г. Владивосток, ул. Алеутская, д. 11",
			"time_zone": "Asia/Vladivostok", "hours": map[string]string{"mon": "09:00-13:00,14:00-18:00", "tue": "09:00-13:00,14:00-18:00",
				"wed": "09:00-13:00,14:00-18:00", "thu": "09:00-13:00,14:00-18:00", "fri": "09:00-13:00,14:00-18:00", "sat": "10:00-14:00", "sun": ""},
			"resources": []map[string]any{{"id": "vvo-test-w1", "kind": "window", "name": "Окно 1", "step_minutes": 15, "services": []string{"passport-14"}}},
			"durations": map[string]int{"passport-14": 30}}
		if r := agencyCall(t, mfc, "PUT", place, "application/json", jsonBody(body)); r.Status != 201 {
			t.Fatalf("publish a place: %d %s", r.Status, r.Body)
		}
		body["hours"].(map[string]string)["mon"] = "18:00-09:00"
		if r := agencyCall(t, mfc, "PUT", place, "application/json", jsonBody(body)); r.Status != 422 || problemField(r) != "hours.mon" {
			t.Fatalf("bad hours: %d %s", r.Status, r.Body)
		}
		body["hours"].(map[string]string)["mon"] = "09:00-13:00,14:00-18:00"
		if r := agencyCall(t, mfc, "PUT", place, "application/json", jsonBody(body)); r.Status != 200 {
			t.Fatalf("republish: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, agencyToken(t, db, op, "agency:mvd"), "GET", place, "", nil); r.Status != 404 {
			t.Fatalf("another agency's place: %d", r.Status)
		}

		// At a centre of four alike windows each time is offered once (the
		// booking takes a free window).
		seeded := func(b *browser) {
			_, times, _ := freeTimes(t, b, portalURL+"/appointments/new?service=passport-14&place=mfc-msk-tverskoy")
			seen := map[string]bool{}
			for _, s := range times {
				if seen[s] {
					t.Fatalf("%s is offered twice", s)
				}
				seen[s] = true
			}
		}
		citizen := newBrowser(t, op)
		citizen.register("phone", "+79161117701", "+79161117701", "Записанов", "Пётр")
		citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
		seeded(citizen)
		book := portalURL + "/appointments/new?service=passport-14&place=mfc-vvo-test"
		// Three hours ahead at least: the booking is rescheduled and
		// cancelled below, which the two-hour cut-off would refuse.
		resource, starts, _ := freeTimesAfter(t, citizen, book, c.Now().Add(3*time.Hour))
		p := citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-14"}, "place": {"mfc-vvo-test"}, "resource": {resource}, "start": {starts[0]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=booked") {
			t.Fatalf("book: %d %s\n%s", p.Status, p.Location, firstError(p.Body))
		}
		ticket := portalURL + strings.Split(p.Location, "?")[0]
		p = citizen.abs("GET", ticket, nil)
		p.Body = html.UnescapeString(p.Body)
		number := ticketNoRe.FindStringSubmatch(p.Body)
		start, _ := time.Parse(time.RFC3339, starts[0])
		local := start.In(mustZone(t, "Asia/Vladivostok")).Format("02.01.2006 15:04")
		if number == nil || !strings.Contains(p.Body, local) || !strings.Contains(p.Body, "МСК+7") {
			t.Fatalf("the ticket lacks the number or the local time %s:\n%s", local, p.Body)
		}
		if got := decodeQR(t, citizen.abs("GET", ticket+"/qr.png", nil).Body); got != number[1] {
			t.Fatalf("the ticket's QR code says %q, want %q", got, number[1])
		}
		// The reminders: jobs 24 h and 2 h before, those still ahead.
		want := 0
		for _, lead := range []time.Duration{24 * time.Hour, 2 * time.Hour} {
			if start.Add(-lead).After(c.Now()) {
				want++
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'portal.reminder' AND state = 'scheduled'`); n != want {
			t.Fatalf("%d reminders scheduled, want %d", n, want)
		}
		if pdf := citizen.abs("GET", ticket+"/ticket.pdf", nil); pdf.Status != 200 || !strings.HasPrefix(pdf.Body, "%PDF") {
			t.Fatalf("ticket PDF: %d", pdf.Status)
		} else if text := pdfText(t, []byte(pdf.Body)); text != "" && !strings.Contains(text, number[1]) {
			t.Fatalf("the ticket PDF lacks the number:\n%s", text)
		}
		// A second booking of the same service is refused: the first is shown.
		p = citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-14"}, "place": {"mfc-vvo-test"}, "resource": {resource}, "start": {starts[len(starts)-1]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=exists") {
			t.Fatalf("a second active booking: %d %s", p.Status, p.Location)
		}
		// Another citizen cannot take the same time, nor see the ticket.
		other := newBrowser(t, op)
		other.register("phone", "+79161117702", "+79161117702", "Другой", "Иван")
		other.portalGo(t, portalURL, other.abs("GET", portalURL+"/login", nil))
		p = other.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-14"}, "place": {"mfc-vvo-test"}, "resource": {resource}, "start": {starts[0]}})
		if p.Status != 303 || !strings.Contains(p.Location, "err=taken") {
			t.Fatalf("a taken time: %d %s", p.Status, p.Location)
		}
		if p := other.abs("GET", ticket, nil); p.Status != 404 {
			t.Fatalf("another citizen's ticket: %d", p.Status)
		}
		// Reschedule to the last time of a free day, then cancel.
		_, moved, rbody := freeTimesAfter(t, citizen, portalURL+"/appointments/new?service=passport-14&reschedule="+strings.TrimPrefix(ticket, portalURL+"/appointments/"), c.Now().Add(3*time.Hour))
		version := versionRe.FindStringSubmatch(rbody)
		if version == nil {
			t.Fatalf("no version on the rescheduling page:\n%s", rbody)
		}
		target := moved[len(moved)-1]
		p = citizen.abs("POST", ticket+"/reschedule", url.Values{"resource": {resource}, "start": {target}, "version": {version[1]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=rescheduled") {
			t.Fatalf("reschedule: %d %s", p.Status, p.Location)
		}
		newStart, _ := time.Parse(time.RFC3339, target)
		if p := citizen.abs("GET", ticket, nil); !strings.Contains(p.Body, newStart.In(mustZone(t, "Asia/Vladivostok")).Format("02.01.2006 15:04")) {
			t.Fatalf("the ticket after rescheduling:\n%s", p.Body)
		}
		day := newStart.In(mustZone(t, "Asia/Vladivostok")).Format("2006-01-02")
		if r := agencyCall(t, mfc, "GET", place+"/bookings?date="+day, "", nil); r.Status != 200 || !strings.Contains(string(r.Body), number[1]) {
			t.Fatalf("the day's bookings: %d %s", r.Status, r.Body)
		}
		if p := citizen.abs("POST", ticket+"/cancel", url.Values{}); p.Status != 303 || !strings.Contains(p.Location, "done=cancelled") {
			t.Fatalf("cancel: %d %s", p.Status, p.Location)
		}
		waitMessage(t, citizen, "+79161117701", "portal.booking", "Запись отменена")

		// Book again; the agency closes the window for that time (in
		// Moscow's offset first: refused, naming the field).
		p = citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-14"}, "place": {"mfc-vvo-test"}, "resource": {resource}, "start": {starts[0]}})
		if p.Status != 303 {
			t.Fatalf("book again: %d %s", p.Status, p.Location)
		}
		closure := map[string]any{"from": start.In(mustZone(t, "Europe/Moscow")).Format(time.RFC3339), "to": start.Add(time.Hour).In(mustZone(t, "Europe/Moscow")).Format(time.RFC3339),
			"reason": "Технический сбой"}
		if r := agencyCall(t, mfc, "POST", place+"/closures", "application/json", jsonBody(closure)); r.Status != 422 || problemField(r) != "from" {
			t.Fatalf("a closure in another zone's offset: %d %s", r.Status, r.Body)
		}
		vvo := mustZone(t, "Asia/Vladivostok")
		closure["from"], closure["to"] = start.In(vvo).Format(time.RFC3339), start.Add(time.Hour).In(vvo).Format(time.RFC3339)
		if r := agencyCall(t, mfc, "POST", place+"/closures", "application/json", jsonBody(closure)); r.Status != 201 || r.JSON["cancelled"] != 1.0 {
			t.Fatalf("closure: %d %s", r.Status, r.Body)
		}
		waitMessage(t, citizen, "+79161117701", "portal.booking", "Комментарий: Технический сбой")

		// A place open round the clock in a zone where it is about noon now,
		// so that the first free time is today there: the officer of the
		// МФЦ marks the citizen arrived, then served; the citizen is told.
		offset := (12 - time.Now().UTC().Hour() + 24) % 24
		if offset > 14 {
			offset -= 24
		}
		zone := fmt.Sprintf("Etc/GMT%+d", -offset)
		if offset == 0 {
			zone = "UTC"
		}
		allDay := map[string]string{}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			allDay[d] = "00:00-24:00"
		}
		now := portalURL + "/agency/v1/places/mfc-now"
		if r := agencyCall(t, mfc, "PUT", now, "application/json", jsonBody(map[string]any{"kind": "centre", "name": "МФЦ «Круглосуточный»", "region": "25",
			"address": "г. Владивосток, ул. Светланская, д. 1", "time_zone": zone, "hours": allDay,
			"resources": []map[string]any{{"id": "now-w1", "kind": "window", "name": "Окно 1", "services": []string{"passport-20"}}}})); r.Status != 201 {
			t.Fatalf("publish a round-the-clock place in %s: %d %s", zone, r.Status, r.Body)
		}
		nowRes, nowStarts, _ := freeTimes(t, citizen, portalURL+"/appointments/new?service=passport-20&place=mfc-now")
		first, _ := time.Parse(time.RFC3339, nowStarts[0])
		p = citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-20"}, "place": {"mfc-now"}, "resource": {nowRes}, "start": {nowStarts[0]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=booked") {
			t.Fatalf("book now: %d %s", p.Status, p.Location)
		}
		officer, op1, at1 := signInOfficer(t, db, op, parts, c, portalURL, "+79161117709", staff.Org{Code: "mfc", Kind: staff.KindAgency, NameRU: "МФЦ Приморского края", Region: "25"})
		if op1.Status != 200 || at1 != portalURL+"/office" {
			t.Fatalf("the officer's sign-in: %d at %s", op1.Status, at1)
		}
		dayURL := portalURL + "/office/bookings?" + url.Values{"place": {"mfc-now"}, "date": {first.In(mustZone(t, zone)).Format(time.DateOnly)}}.Encode()
		for _, outcome := range []string{"arrived", "served"} {
			p := officer.abs("GET", dayURL, nil)
			row := regexp.MustCompile(`action="(/office/bookings/[0-9a-f]+/mark)" class="inline"><input type="hidden" name="version" value="([0-9]+)">`).FindStringSubmatch(p.Body)
			if p.Status != 200 || row == nil {
				t.Fatalf("the officer's day: %d\n%s", p.Status, p.Body)
			}
			if m := officer.abs("POST", portalURL+row[1], url.Values{"version": {row[2]}, "outcome": {outcome}}); m.Status != 303 {
				t.Fatalf("mark %s: %d\n%s", outcome, m.Status, firstError(m.Body))
			}
		}
		waitNotice(t, citizen, portalURL, "Приём состоялся")
		if p := citizen.abs("GET", portalURL+"/office/bookings", nil); p.Status/100 == 2 {
			t.Fatalf("a citizen at the officer's bookings: %d", p.Status)
		}

		// The back-office edits the week: a bad day is named and nothing
		// saved; a good one is what the agency's API then shows.
		officePlace := portalURL + "/office/places/mfc-vvo-test"
		if p := officer.abs("GET", officePlace, nil); p.Status != 200 || !strings.Contains(p.Body, `name="sat" value="10:00-14:00"`) {
			t.Fatalf("the place's schedule in the back-office: %d\n%s", p.Status, p.Body)
		}
		week := url.Values{}
		for d, h := range body["hours"].(map[string]string) {
			week.Set(d, h)
		}
		week.Set("sun", "25:00-26:00")
		if p := officer.abs("POST", officePlace+"/hours", week); p.Status != 422 || !strings.Contains(p.Body, `aria-describedby="h-sun-err"`) ||
			!strings.Contains(p.Body, `id="h-sun-err"`) || strings.Contains(p.Body, `id="h-mon-err"`) || !strings.Contains(p.Body, `value="25:00-26:00"`) {
			t.Fatalf("bad hours for Sunday: %d\n%s", p.Status, p.Body)
		}
		if r := agencyCall(t, mfc, "GET", place, "", nil); r.JSON["hours"].(map[string]any)["sun"] != "" {
			t.Fatalf("refused hours were saved: %s", r.Body)
		}
		week.Set("sun", "10:00-12:00")
		if p := officer.abs("POST", officePlace+"/hours", week); p.Status != 303 || p.Location != "/office/places/mfc-vvo-test?done=saved" {
			t.Fatalf("save the week: %d %s\n%s", p.Status, p.Location, firstError(p.Body))
		}
		if r := agencyCall(t, mfc, "GET", place, "", nil); r.JSON["hours"].(map[string]any)["sun"] != "10:00-12:00" || r.JSON["hours"].(map[string]any)["sat"] != "10:00-14:00" {
			t.Fatalf("the saved week through the API: %s", r.Body)
		}
		if p := citizen.abs("GET", officePlace, nil); p.Status/100 == 2 {
			t.Fatalf("a citizen at the back-office schedule: %d", p.Status)
		}
		// A closure from the back-office: every bad field named; a good
		// one cancels the booking in it and tells the citizen.
		bad := officer.abs("POST", officePlace+"/closures", url.Values{"from": {"завтра"}, "to": {"2026-12-10T09:00"}, "resource": {"now-w1"}, "reason": {""}})
		for _, f := range []string{"from", "resource", "reason"} {
			if bad.Status != 422 || !strings.Contains(bad.Body, `id="`+f+`-err"`) || !strings.Contains(bad.Body, `aria-describedby="`+f+`-err"`) {
				t.Fatalf("a closure with a bad %s: %d\n%s", f, bad.Status, bad.Body)
			}
		}
		nowRes, nowStarts, _ = freeTimes(t, citizen, portalURL+"/appointments/new?service=passport-20&place=mfc-now")
		p = citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-20"}, "place": {"mfc-now"}, "resource": {nowRes}, "start": {nowStarts[0]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=booked") {
			t.Fatalf("book at the round-the-clock place again: %d %s", p.Status, p.Location)
		}
		booked, _ := time.Parse(time.RFC3339, nowStarts[0])
		there := mustZone(t, zone)
		closed := officer.abs("POST", portalURL+"/office/places/mfc-now/closures", url.Values{"from": {booked.In(there).Add(-time.Minute).Format("2006-01-02T15:04")},
			"to": {booked.In(there).Add(time.Hour).Format("2006-01-02T15:04")}, "resource": {nowRes}, "reason": {"Отключение электричества"}})
		if closed.Status != 303 || closed.Location != "/office/places/mfc-now?done=closed&n=1" {
			t.Fatalf("close the window from the back-office: %d %s\n%s", closed.Status, closed.Location, firstError(closed.Body))
		}
		if p := officer.abs("GET", portalURL+closed.Location, nil); !strings.Contains(p.Body, "Приём закрыт, отменено записей: 1.") {
			t.Fatalf("the back-office does not say what the closure did:\n%s", p.Body)
		}
		waitMessage(t, citizen, "+79161117701", "portal.booking", "Комментарий: Отключение электричества")

		// The reminder runs: booked again, two hours before the visit the
		// citizen is reminded of it (the queue keeps the test's clock).
		res, later, _ := freeTimesAfter(t, citizen, book, c.Now().Add(3*time.Hour))
		p = citizen.abs("POST", portalURL+"/appointments", url.Values{"service": {"passport-14"}, "place": {"mfc-vvo-test"}, "resource": {res}, "start": {later[0]}})
		if p.Status != 303 || !strings.Contains(p.Location, "done=booked") {
			t.Fatalf("book for the reminder: %d %s", p.Status, p.Location)
		}
		visit, _ := time.Parse(time.RFC3339, later[0])
		remindNo := ticketNoRe.FindStringSubmatch(html.UnescapeString(citizen.abs("GET", portalURL+strings.Split(p.Location, "?")[0], nil).Body))
		if remindNo == nil {
			t.Fatal("no booking number on the ticket")
		}
		c.Set(visit.Add(-2*time.Hour + time.Minute))
		if m := waitMessage(t, citizen, "+79161117701", "portal.booking", "Напоминаем о приёме"); !strings.Contains(m.Text, remindNo[1]) {
			t.Fatalf("the reminder names another booking: %q, want %s", m.Text, remindNo[1])
		}
	})
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// decodeQR reads the QR code of a PNG.
func decodeQR(t *testing.T, png string) string {
	t.Helper()
	img, _, err := image.Decode(strings.NewReader(png))
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR decode: %v", err)
	}
	return res.GetText()
}

// pdfText is the text of a PDF by poppler's pdftotext; "" when it is not
// installed (CI installs it: there its absence fails).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext (poppler-utils) is needed in CI")
		}
		t.Log("pdftotext not installed: the PDF's text is not checked")
		return ""
	}
	cmd := exec.Command(bin, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// newUIN mints a valid УИН with the Treasury's control digit.
func newUIN(n int) string {
	prefix := fmt.Sprintf("1881077126%09d", n)
	return prefix + string(payments.UINCheckDigit(prefix))
}

// payWithCard goes from «Оплатить» through the sandbox acquirer's card
// page (and its code step for the 3-D Secure card) back to the portal and
// returns the page the citizen lands on.
func payWithCard(t *testing.T, b *browser, portalURL, uin, card string) page {
	t.Helper()
	p := b.abs("POST", portalURL+"/charges/"+uin+"/pay", url.Values{})
	if p.Status != 303 || !strings.Contains(p.Location, "/sandbox/acquirer/pay/") {
		t.Fatalf("pay: %d %s\n%s", p.Status, p.Location, firstError(p.Body))
	}
	payPage := p.Location
	p = b.abs("GET", payPage, nil)
	m := payActionRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("the acquirer's page: %d\n%s", p.Status, p.Body)
	}
	action := portalURL + html.UnescapeString(m[1])
	p = b.abs("POST", action, url.Values{"card_number": {card}, "expiry": {"12/30"}, "cvc": {"123"}, "holder": {"PETR ZAPISANOV"}})
	if p.Status == 303 && strings.HasSuffix(p.Location, "/confirm") {
		p = b.abs("GET", portalURL+p.Location, nil)
	}
	if p.Status == 200 && strings.Contains(p.Body, "sandbox-code") {
		code := regexp.MustCompile(`id="sandbox-code">([0-9]+)<`).FindStringSubmatch(p.Body)
		confirm := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(p.Body)
		p = b.abs("POST", portalURL+html.UnescapeString(confirm[1]), url.Values{"code": {code[1]}})
	}
	if p.Status != 303 || !strings.HasPrefix(p.Location, portalURL+"/payments/") {
		t.Fatalf("the acquirer did not send the citizen back: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	return b.abs("GET", p.Location, nil)
}

// TestPortalCharges: an agency posts fines through the API (a bad УИН, a
// fraction of a kopeck and a date-time instead of a date are 422 naming the
// field); a citizen who added the driving licence sees them, unpaid first
// with the discount; pays one with the discount through the sandbox
// acquirer's code step; the charge is paid once, the agency sees it, the
// receipt's text holds УИН, amount and payee, the history exports to CSV;
// a declined card leaves the other unpaid; a forged notification is
// refused; the agency refunds, idempotently.
func TestPortalCharges(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		portalURL, ph := startEmbeddedPortal(t, parts)
		mvd := agencyToken(t, db, op, "agency:mvd")
		// The agency hears of payments and refunds by its webhook, signed.
		type chargeEvent struct {
			Event  string `json:"event"`
			Charge struct {
				UIN       string `json:"uin"`
				PaymentID string `json:"payment_id"`
				Amount    int64  `json:"amount"`
			} `json:"charge"`
			valid bool
		}
		var (
			hookMu     sync.Mutex
			hookSecret []byte
			events     []chargeEvent
		)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			hookMu.Lock()
			defer hookMu.Unlock()
			sig := r.Header.Get("Gosid-Signature")
			ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
			sec, _ := strconv.ParseInt(ts, 10, 64)
			var ev chargeEvent
			_ = json.Unmarshal(body, &ev)
			ev.valid = sec != 0 && hmac.Equal([]byte(sig), []byte(portal.Sign(hookSecret, time.Unix(sec, 0), body)))
			events = append(events, ev)
		}))
		t.Cleanup(hook.Close)
		set := agencyCall(t, mvd, "PUT", portalURL+"/agency/v1/webhook", "application/json", []byte(`{"url":"`+hook.URL+`/hook"}`))
		if s, _ := set.JSON["secret"].(string); set.Status != 200 || s == "" {
			t.Fatalf("set the webhook: %d %s", set.Status, set.Body)
		} else {
			hookMu.Lock()
			hookSecret = []byte(s)
			hookMu.Unlock()
		}
		today := time.Now().In(mustZone(t, "Europe/Moscow"))
		fine := map[string]any{"kind": "fine", "purpose": "Штраф за превышение скорости", "legal_basis": "ч. 2 ст. 12.9 КоАП РФ", "amount": 75000,
			"discount":  map[string]any{"amount": 37500, "until": today.AddDate(0, 0, 15).Format(time.DateOnly)},
			"issued_on": today.AddDate(0, 0, -2).Format(time.DateOnly), "due_on": today.AddDate(0, 0, 60).Format(time.DateOnly),
			"payee": map[string]any{"name": "УФК по г. Москве (ГУ МВД России по г. Москве)", "inn": "7707089101", "kpp": "770731005", "bik": "004525988",
				"account": "03100643000000017300", "kbk": "18811601123010001140", "oktmo": "45379000"},
			"concerns": []map[string]string{{"kind": "driver_licence", "value": "99 01 765432"}}}
		base := portalURL + "/agency/v1/charges/"
		bad := newUIN(1)
		bad = bad[:19] + string('0'+(bad[19]-'0'+1)%10)
		for _, tc := range []struct {
			uin, field string
			change     func(map[string]any) map[string]any
		}{
			{bad, "uin", nil},
			{newUIN(2), "amount", func(m map[string]any) map[string]any { m["amount"] = json.Number("750.5"); return m }},
			{newUIN(3), "amount", func(m map[string]any) map[string]any { m["amount"] = -100; return m }},
			{newUIN(4), "amount", func(m map[string]any) map[string]any { m["amount"] = json.Number("100000000000000000000"); return m }},
			{newUIN(5), "issued_on", func(m map[string]any) map[string]any { m["issued_on"] = today.UTC().Format(time.RFC3339); return m }},
		} {
			body := map[string]any{}
			for k, v := range fine {
				body[k] = v
			}
			if tc.change != nil {
				body = tc.change(body)
			}
			if r := agencyCall(t, mvd, "PUT", base+tc.uin, "application/json", jsonBody(body)); r.Status != 422 || problemField(r) != tc.field {
				t.Fatalf("%s: want 422 naming %s, got %d %s", tc.field, tc.field, r.Status, r.Body)
			}
			// Nothing stored: the refused charge is not found (a UIN with a
			// wrong check digit is refused as a parameter).
			if r := agencyCall(t, mvd, "GET", base+tc.uin, "", nil); r.Status != 404 && (tc.field != "uin" || r.Status != 422) {
				t.Fatalf("%s: a refused charge was stored: %d %s", tc.field, r.Status, r.Body)
			}
		}
		uin, other := newUIN(10), newUIN(11)
		if r := agencyCall(t, mvd, "PUT", base+uin, "application/json", jsonBody(fine)); r.Status != 201 {
			t.Fatalf("post a charge: %d %s", r.Status, r.Body)
		}
		second := map[string]any{}
		for k, v := range fine {
			second[k] = v
		}
		delete(second, "discount")
		second["purpose"], second["amount"] = "Штраф за неправильную парковку", 150000
		if r := agencyCall(t, mvd, "PUT", base+other, "application/json", jsonBody(second)); r.Status != 201 {
			t.Fatalf("post another: %d %s", r.Status, r.Body)
		}
		cancelled := newUIN(12)
		if r := agencyCall(t, mvd, "PUT", base+cancelled, "application/json", jsonBody(second)); r.Status != 201 {
			t.Fatalf("post a third: %d %s", r.Status, r.Body)
		}
		if r := agencyCall(t, mvd, "POST", base+cancelled+"/cancel", "application/json", jsonBody(map[string]string{"reason": "Постановление отменено"})); r.Status != 200 || r.JSON["status"] != "cancelled" {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}

		citizen := newBrowser(t, op)
		citizen.register("phone", "+79161117801", "+79161117801", "Платёжкин", "Семён")
		// A SNILS the citizen merely typed is a claim: a charge by it (a
		// stranger's, for all the portal knows) is not theirs to see.
		citizen.post("/account/details", url.Values{"snils": {"112-233-445 95"}}).expectRedirect(t, "/account")
		bySNILS := newUIN(14)
		taxed := map[string]any{}
		for k, v := range second {
			taxed[k] = v
		}
		taxed["concerns"] = []map[string]string{{"kind": "snils", "value": "112-233-445 95"}}
		if r := agencyCall(t, mvd, "PUT", base+bySNILS, "application/json", jsonBody(taxed)); r.Status != 201 {
			t.Fatalf("post a charge by SNILS: %d %s", r.Status, r.Body)
		}
		citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
		if p := citizen.abs("GET", portalURL+"/charges/"+bySNILS, nil); p.Status != 404 {
			t.Fatalf("a charge by a merely typed SNILS: %d", p.Status)
		}
		if p := citizen.abs("GET", portalURL+"/charges", nil); strings.Contains(p.Body, bySNILS) {
			t.Fatal("the list shows a charge by a merely typed SNILS")
		}
		if p := citizen.abs("GET", portalURL+"/charges/"+uin, nil); p.Status != 404 {
			t.Fatalf("a charge of someone else's document: %d", p.Status)
		}
		if p := citizen.abs("POST", portalURL+"/documents", url.Values{"kind": {"driver_licence"}, "number": {"99 01 76543"}}); p.Status != 422 || !strings.Contains(p.Body, `id="number-err"`) {
			t.Fatalf("a short licence number: %d", p.Status)
		}
		if p := citizen.abs("POST", portalURL+"/documents", url.Values{"kind": {"driver_licence"}, "number": {"99 01 765432"}}); p.Status != 303 {
			t.Fatalf("add the licence: %d %s", p.Status, firstError(p.Body))
		}
		list := citizen.abs("GET", portalURL+"/charges", nil)
		if list.Status != 200 || !strings.Contains(list.Body, "375,00 ₽") || !strings.Contains(list.Body, "1 500,00 ₽") {
			t.Fatalf("the charges list:\n%s", list.Body)
		}
		// A fine whose discount ends in two days: its holder is reminded,
		// once, however often the hourly job runs.
		ending := map[string]any{}
		for k, v := range fine {
			ending[k] = v
		}
		ending["purpose"], ending["discount"] = "Штраф за непристёгнутый ремень", map[string]any{"amount": 50000, "until": today.AddDate(0, 0, 2).Format(time.DateOnly)}
		ending["amount"] = 100000
		if r := agencyCall(t, mvd, "PUT", base+newUIN(15), "application/json", jsonBody(ending)); r.Status != 201 {
			t.Fatalf("post a fine with the discount ending: %d %s", r.Status, r.Body)
		}
		for range 2 {
			if _, err := ph.RemindDiscounts(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		waitNotice(t, citizen, portalURL, "Скидка заканчивается: Штраф за непристёгнутый ремень — 500,00 ₽")
		if inbox := citizen.abs("GET", portalURL+"/notices?kind=charge", nil); strings.Count(html.UnescapeString(inbox.Body), "Скидка заканчивается") != 1 {
			t.Fatal("the discount's reminder is not in the inbox exactly once")
		}
		if home := citizen.abs("GET", portalURL+"/", nil); !strings.Contains(home.Body, "Начисления к оплате") || !strings.Contains(home.Body, "/charges/"+uin) {
			t.Fatalf("the home page lacks the charges to pay:\n%s", home.Body)
		}
		if p := citizen.abs("GET", portalURL+"/charges?min=12,345", nil); p.Status != 422 {
			t.Fatalf("a filter amount with a fraction of a kopeck: %d", p.Status)
		}

		// Twenty «Оплатить» at once: one payment, one page at the acquirer.
		race := newUIN(13)
		if r := agencyCall(t, mvd, "PUT", base+race, "application/json", jsonBody(second)); r.Status != 201 {
			t.Fatalf("post the raced charge: %d %s", r.Status, r.Body)
		}
		locations := make(chan string, 20)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				p := citizen.abs("POST", portalURL+"/charges/"+race+"/pay", url.Values{})
				locations <- fmt.Sprint(p.Status, " ", p.Location)
			})
		}
		wg.Wait()
		close(locations)
		seen := map[string]int{}
		for l := range locations {
			seen[l]++
		}
		if len(seen) != 1 || count(t, db, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1`, race) != 1 {
			t.Fatalf("twenty «Оплатить»: answers %v, %d payments", seen, count(t, db, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1`, race))
		}

		// A declined card: nothing paid, a clear message.
		p := payWithCard(t, citizen, portalURL, other, "4000000000000002")
		if !strings.Contains(p.Body, "Оплата не прошла") {
			t.Fatalf("a declined card:\n%s", p.Body)
		}
		if r := agencyCall(t, mvd, "GET", base+other, "", nil); r.JSON["status"] != "unpaid" {
			t.Fatalf("after a decline the charge is %v", r.JSON["status"])
		}
		// The discounted fine, with the code step; the notification is sent twice.
		p = payWithCard(t, citizen, portalURL, uin, "4000000000003220")
		if !strings.Contains(p.Body, "Оплата прошла: 375,00") {
			t.Fatalf("the paid page:\n%s", p.Body)
		}
		paymentID := regexp.MustCompile(`/payments/([0-9a-f]+)/receipt\.pdf`).FindStringSubmatch(p.Body)
		if paymentID == nil {
			t.Fatalf("no receipt link:\n%s", p.Body)
		}
		r := agencyCall(t, mvd, "GET", base+uin, "", nil)
		if r.JSON["status"] != "paid" {
			t.Fatalf("the agency sees %s", r.Body)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1 AND status = 'succeeded'`, uin); n != 1 {
			t.Fatalf("%d captures", n)
		}
		receipt := citizen.abs("GET", portalURL+"/payments/"+paymentID[1]+"/receipt.pdf", nil)
		if receipt.Status != 200 || !strings.HasPrefix(receipt.Body, "%PDF") {
			t.Fatalf("receipt: %d", receipt.Status)
		}
		if text := pdfText(t, []byte(receipt.Body)); text != "" {
			for _, want := range []string{uin, "375,00", "УФК по г. Москве", "7707089101"} {
				if !strings.Contains(text, want) {
					t.Fatalf("the receipt lacks %q:\n%s", want, text)
				}
			}
		}
		waitNotice(t, citizen, portalURL, "Оплачено")
		csv := citizen.abs("GET", portalURL+"/payments/export.csv", nil)
		if !strings.HasPrefix(csv.Body, "\ufeff") || !strings.Contains(csv.Body, ";375,00;") || !strings.Contains(csv.Body, uin) {
			t.Fatalf("CSV:\n%q", csv.Body)
		}
		// A notification signed with another secret changes nothing.
		forged, _ := json.Marshal(map[string]any{"id": "n-forged", "event": acquirer.EventPaymentSucceeded, "payment": map[string]any{"id": "x", "order_id": paymentID[1],
			"status": "succeeded", "amount": 1, "currency": "RUB"}})
		fp := postSigned(t, portalURL+"/payments/notify", forged, acquirer.Sign(bytes.Repeat([]byte("k"), 32), time.Now(), forged))
		if fp != 401 {
			t.Fatalf("a forged notification: %d", fp)
		}
		// The agency refunds (twice with the same id: one refund).
		for range 2 {
			rr := agencyCall(t, mvd, "POST", base+uin+"/refunds", "application/json", jsonBody(map[string]any{"refund_id": "r-1", "amount": 37500}))
			if rr.Status != 200 || rr.JSON["amount"] != 37500.0 {
				t.Fatalf("refund: %d %s", rr.Status, rr.Body)
			}
		}
		if r := agencyCall(t, mvd, "POST", base+uin+"/refunds", "application/json", jsonBody(map[string]any{"refund_id": "r-2", "amount": 1})); r.Status != 409 {
			t.Fatalf("a refund beyond what was paid: %d %s", r.Status, r.Body)
		}
		// One charge.paid and one charge.refunded reached the webhook,
		// signed, naming the charge, the payment and the amount.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			hookMu.Lock()
			got := append([]chargeEvent(nil), events...)
			hookMu.Unlock()
			var paid, refunded int
			for _, ev := range got {
				ok := ev.valid && ev.Charge.UIN == uin && ev.Charge.Amount == 37500 && ev.Charge.PaymentID == paymentID[1]
				switch {
				case ev.Event == "charge.paid" && ok:
					paid++
				case ev.Event == "charge.refunded" && ok:
					refunded++
				default:
					t.Fatalf("an unexpected webhook delivery: %+v", ev)
				}
			}
			if paid == 1 && refunded == 1 {
				break
			}
			if paid > 1 || refunded > 1 || time.Now().After(deadline) {
				t.Fatalf("webhook deliveries: %+v, want one charge.paid and one charge.refunded", got)
			}
		}
		if r := agencyCall(t, mvd, "PUT", base+uin, "application/json", jsonBody(fine)); r.Status != 409 {
			t.Fatalf("changing a paid charge: %d %s", r.Status, r.Body)
		}
	})
}

// postSigned posts a notification with its signature and returns the status.
func postSigned(t *testing.T, u string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(acquirer.SignatureHeader, sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mailRecorder is the mail gateway's edge: it keeps every message whole
// (the dev sink drops attachments) and passes it on.
type mailRecorder struct {
	next message.Sender
	mu   sync.Mutex
	sent []message.Message
}

func (m *mailRecorder) Send(ctx context.Context, msg message.Message) error {
	m.mu.Lock()
	m.sent = append(m.sent, msg)
	m.mu.Unlock()
	return m.next.Send(ctx, msg)
}

func (m *mailRecorder) to(addr string) []message.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []message.Message
	for _, x := range m.sent {
		if x.To == addr {
			out = append(out, x)
		}
	}
	return out
}

// TestPortalAcquirerOfItsOwn: the portal configured for an acquirer of
// its own (--acquirer-url and the notification secret, as in production;
// here the sandbox acquirer started apart) takes a payment through it;
// the payer's e-mail carries the PDF receipt (УИН, amount, payee); a
// notification signed with the right secret but for an unknown order, a
// mismatching amount, or replayed after its time window is refused and
// changes nothing; the genuine one repeated captures once.
func TestPortalAcquirerOfItsOwn(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := sqldbtest.NewClock(time.Now())
		op, _, parts := startOPParts(t, db, c)
		mail := &mailRecorder{next: parts.Messages}
		parts.Messages = mail
		secret, apiKey := strings.Repeat("s", 40), "merchant-key"
		acqLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		acqURL := "http://" + acqLn.Addr().String()
		acq, err := acqsandbox.New(acqsandbox.Config{PublicURL: acqURL, MerchantID: "m-1", APIKey: apiKey, NotifySecret: []byte(secret),
			Logger: testLog(), RetryDelay: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		acqSrv := httptest.NewUnstartedServer(acq)
		acqSrv.Listener.Close()
		acqSrv.Listener = acqLn
		acqSrv.Start()
		t.Cleanup(acqSrv.Close)
		portalURL, _, _ := startEmbeddedPortalWith(t, parts, &gatewayOptions{AcquirerURL: acqURL, AcquirerMerchant: "m-1",
			AcquirerAPIKey: apiKey, AcquirerSecret: secret})
		if p := httpGet(t, portalURL+"/sandbox/acquirer/pay/x"); p != http.StatusNotFound {
			t.Fatalf("the built-in sandbox acquirer is served next to an acquirer of its own: %d", p)
		}

		mvd := agencyToken(t, db, op, "agency:mvd")
		uin := newUIN(20)
		today := time.Now().In(mustZone(t, "Europe/Moscow"))
		fine := map[string]any{"kind": "fine", "purpose": "Штраф за проезд на красный свет", "legal_basis": "ч. 1 ст. 12.12 КоАП РФ", "amount": 100000,
			"issued_on": today.AddDate(0, 0, -30).Format(time.DateOnly), "due_on": today.AddDate(0, 0, 30).Format(time.DateOnly),
			"payee": map[string]any{"name": "УФК по г. Москве (ГУ МВД России по г. Москве)", "inn": "7707089101", "kpp": "770731005", "bik": "004525988",
				"account": "03100643000000017300", "kbk": "18811601123010001140", "oktmo": "45379000"},
			"concerns": []map[string]string{{"kind": "driver_licence", "value": "99 02 765432"}}}
		if r := agencyCall(t, mvd, "PUT", portalURL+"/agency/v1/charges/"+uin, "application/json", jsonBody(fine)); r.Status != 201 {
			t.Fatalf("post a charge: %d %s", r.Status, r.Body)
		}
		const email = "platyozhkina@example.ru"
		citizen := newBrowser(t, op)
		citizen.register("email", email, email, "Платёжкина", "Мария")
		citizen.portalGo(t, portalURL, citizen.abs("GET", portalURL+"/login", nil))
		if p := citizen.abs("POST", portalURL+"/documents", url.Values{"kind": {"driver_licence"}, "number": {"99 02 765432"}}); p.Status != 303 {
			t.Fatalf("add the licence: %d %s", p.Status, firstError(p.Body))
		}

		// «Оплатить» goes to the acquirer's own page, and back.
		p := citizen.abs("POST", portalURL+"/charges/"+uin+"/pay", url.Values{})
		if p.Status != 303 || !strings.HasPrefix(p.Location, acqURL+"/pay/") {
			t.Fatalf("pay: %d %s\n%s", p.Status, p.Location, firstError(p.Body))
		}
		p = citizen.abs("GET", p.Location, nil)
		m := payActionRe.FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil {
			t.Fatalf("the acquirer's page: %d\n%s", p.Status, p.Body)
		}
		p = citizen.abs("POST", acqURL+html.UnescapeString(m[1]), url.Values{"card_number": {acqsandbox.CardSuccess}, "expiry": {"12/30"}, "cvc": {"123"}, "holder": {"MARIA PLATYOZHKINA"}})
		if p.Status != 303 || !strings.HasPrefix(p.Location, portalURL+"/payments/") {
			t.Fatalf("the acquirer did not send the citizen back: %d %s\n%s", p.Status, p.Location, p.Body)
		}
		paymentID := strings.TrimPrefix(p.Location, portalURL+"/payments/")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if p = citizen.abs("GET", portalURL+"/payments/"+paymentID, nil); strings.Contains(p.Body, "Оплата прошла: 1 000,00") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the payment page never said paid:\n%s", p.Body)
			}
		}

		// The receipt by e-mail: a PDF attachment with УИН, amount, payee.
		var receipt *message.Attachment
		for deadline := time.Now().Add(20 * time.Second); receipt == nil; time.Sleep(50 * time.Millisecond) {
			for _, msg := range mail.to(email) {
				if len(msg.Attachments) == 1 && strings.Contains(msg.Text, uin) {
					receipt = &msg.Attachments[0]
				}
			}
			if receipt == nil && time.Now().After(deadline) {
				t.Fatalf("no e-mail with the receipt to %s: %+v", email, mail.to(email))
			}
		}
		if receipt.ContentType != "application/pdf" || !bytes.HasPrefix(receipt.Data, []byte("%PDF")) || !strings.HasSuffix(receipt.Name, ".pdf") {
			t.Fatalf("the e-mailed receipt: %s %s %.20q", receipt.Name, receipt.ContentType, receipt.Data)
		}
		if text := pdfText(t, receipt.Data); text != "" {
			for _, want := range []string{uin, "1 000,00", "УФК по г. Москве", "7707089101"} {
				if !strings.Contains(text, want) {
					t.Fatalf("the e-mailed receipt lacks %q:\n%s", want, text)
				}
			}
		}

		// Notifications signed with the right secret that do not match.
		var acqID string
		if err := db.QueryRow(ctx, `SELECT acquirer_id FROM portal_payments WHERE id = $1`, paymentID).Scan(&acqID); err != nil || acqID == "" {
			t.Fatalf("the acquirer's id of the payment: %q %v", acqID, err)
		}
		note := func(id, order string, amount int64) []byte {
			b, _ := json.Marshal(map[string]any{"id": id, "event": acquirer.EventPaymentSucceeded, "payment": map[string]any{"id": acqID, "order_id": order,
				"status": "succeeded", "amount": amount, "currency": "RUB", "captured_at": time.Now().UTC().Format(time.RFC3339), "card": "411111******1111"}})
			return b
		}
		state := func() string {
			return fmt.Sprint(count(t, db, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1 AND status = 'succeeded'`, uin),
				count(t, db, `SELECT COUNT(*) FROM portal_payments WHERE uin = $1`, uin),
				count(t, db, `SELECT COUNT(*) FROM portal_charges WHERE uin = $1 AND status = 'paid'`, uin))
		}
		if s := state(); s != "1 1 1" {
			t.Fatalf("after the payment (captures, payments, paid charges): %s", s)
		}
		genuine := note("n-again", paymentID, 100000)
		for _, tc := range []struct {
			name string
			body []byte
			at   time.Time
			want int
		}{
			{"unknown order", note("n-unknown", "no-such-order", 100000), time.Now(), 422},
			{"mismatching amount", note("n-amount", paymentID, 1), time.Now(), 422},
			{"replayed after its window", genuine, time.Now().Add(-6 * time.Minute), 401},
			{"the genuine one repeated", genuine, time.Now(), 204},
			{"and again", genuine, time.Now(), 204},
		} {
			if got := postSigned(t, portalURL+"/payments/notify", tc.body, acquirer.Sign([]byte(secret), tc.at, tc.body)); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
			if s := state(); s != "1 1 1" {
				t.Fatalf("%s changed the payment (captures, payments, paid charges): %s", tc.name, s)
			}
		}
		if n := len(mail.to(email)); n != 1 {
			t.Errorf("%d e-mails to the payer after repeated notifications, want the one receipt", n)
		}
	})
}

// httpGet is the status of a plain GET.
func httpGet(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
