package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// notifyCitizen registers by phone only: no e-mail, so every e-mail
// delivery of theirs is «не указан контакт» until they add notifyEmail.
var notifyCitizen = registrant{Phone: "+7 916 700-33-44", E164: "+79167003344", Family: "Уведомлёнова", Given: "Ольга",
	Middle: "Петровна", Password: browserPassword}

const notifyEmail = "uvedomlyonova@example.ru"

// pushShim replaces the browser's push service, which headless Chromium
// cannot reach, with the portal's development stand-in: subscribe fetches
// a browser-shaped subscription from /sandbox/push/new, getSubscription
// returns the one kept in localStorage (so that it survives reloads, as a
// real subscription does), and the permission prompt answers "granted".
// The service worker registration stays real. The key the page subscribed
// with is kept too, for the test to compare with the page's VAPID key.
const pushShim = `(() => {
  if (!('PushManager' in self) || !self.localStorage) return;
  const KEY = 'gosid-e2e-push', SERVER_KEY = 'gosid-e2e-push-key';
  const wrap = json => ({endpoint: json.endpoint, options: {userVisibleOnly: true}, toJSON: () => json,
    unsubscribe: () => { localStorage.removeItem(KEY); return Promise.resolve(true); }});
  PushManager.prototype.getSubscription = function () {
    const s = localStorage.getItem(KEY);
    return Promise.resolve(s ? wrap(JSON.parse(s)) : null);
  };
  PushManager.prototype.subscribe = function (opts) {
    const k = new Uint8Array(opts && opts.applicationServerKey ? opts.applicationServerKey : []);
    localStorage.setItem(SERVER_KEY, btoa(String.fromCharCode(...k)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    return fetch('/sandbox/push/new', {method: 'POST'})
      .then(r => r.ok ? r.json() : Promise.reject(new Error('stand-in: HTTP ' + r.status)))
      .then(json => { localStorage.setItem(KEY, JSON.stringify(json)); return wrap(json); });
  };
  if (self.Notification) Notification.requestPermission = () => Promise.resolve('granted');
})();`

// TestBrowserNotifications: the citizen's notifications end to end in
// headless Chromium on the embedded default (SQLite). A citizen registered
// by phone signs in to the portal and finds the settings matrix (12 events
// × 4 channels, the inbox fixed on, no SMS for news, the defaults; still a
// table with its channel heads on a 360 px screen), turns SMS on for
// status changes and push off for bookings, subscribes to changes in the
// law, picks Vladivostok time, saves and finds it kept; a forged time zone
// is refused with 422 naming the field. Push is turned on in this browser
// through the real service worker (/sw.js, scope the whole portal) and the
// development push-service stand-in, which replaces the browser's push
// service (pushShim). A booking then writes a notice whose channels say
// «выключено в настройках» (SMS, push) and «не указан контакт» (e-mail);
// cancelling it pushes «Запись отменена…» to the stand-in, which decrypts
// it, texts the phone, and the notice shows push and SMS «доставлено».
// The citizen adds an e-mail address at Gosid and signs in to the portal
// again; the next booking's e-mail carries «Не присылать такие письма:
// URL». The inbox counts the unread, filters, archives, restores and marks
// all read. In another browser, without signing in, the e-mail's link
// asks first and unsubscribes (the settings then show that e-mail off);
// tampered tokens get 400 «Ссылка для отписки неверна». Push is turned off
// again. With GOSID_E2E_SCREENSHOTS=1 the settings, inbox and notice pages
// are saved at 1280 and 360 px, in Russian and English, to
// docs/screenshots/portal-{settings,inbox,notice}[-en]-*.png.
func TestBrowserNotifications(t *testing.T) {
	requireChromium(t)
	t.Run("sqlite", func(t *testing.T) {
		notifyWalk(t, os.Getenv("GOSID_E2E_SCREENSHOTS") == "1")
	})
}

func notifyWalk(t *testing.T, screenshots bool) {
	start := time.Now()
	dir := t.TempDir()
	s, public := startLocalhost(t, "--data-dir", dir, "--portal-addr", "localhost:0")
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
	// shootBoth saves path in Russian and English, and leaves the browser
	// on it in Russian.
	shootBoth := func(b *browser, name, path string) {
		if !screenshots {
			return
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		b.open(path + sep + "lang=en")
		shoot(b, name+"-en")
		b.open(path + sep + "lang=ru")
		shoot(b, name)
	}

	c := newBrowser(t, public)
	c.do("replace the push service", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: pushShim})
		return err
	}))
	registerByPhone(c, s, notifyCitizen, func(string) {})
	cp := c.at(portalURL)
	cp.open("/")
	cp.click(`main a.button[href^="/login"]`, "/", 200)
	cp.expectText("Здравствуйте")

	// 1. The matrix: 12 events × 4 channels, the inbox fixed, no SMS for
	// news, the defaults.
	cp.open("/settings/notifications")
	type matrixRow struct {
		Event string
		Cells []struct {
			Name              string
			Checked, Disabled bool
			Input             bool
		}
	}
	rows := evalIn[[]matrixRow](cp, "read the matrix", `Array.from(document.querySelectorAll('table.matrix tbody tr')).map(tr => ({
		Event: tr.querySelector('th').innerText.trim(),
		Cells: Array.from(tr.querySelectorAll('td')).map(td => { const i = td.querySelector('input');
			return {Input: !!i, Name: i ? (i.name || '') : '', Checked: !!i && i.checked, Disabled: !!i && i.disabled}; })}))`)
	heads := evalIn[[]string](cp, "read the channels", `Array.from(document.querySelectorAll('table.matrix thead th')).slice(1).map(th => th.innerText.trim())`)
	if want := []string{"Личный кабинет", "Эл. почта", "SMS", "Push в браузере"}; strings.Join(heads, "|") != strings.Join(want, "|") {
		cp.fatalf("the matrix's channels are %q, want %q", heads, want)
	}
	if len(rows) != 12 {
		cp.fatalf("the matrix has %d events, want 12: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if len(r.Cells) != 4 {
			cp.fatalf("event %q has %d channels, want 4", r.Event, len(r.Cells))
		}
		if in := r.Cells[0]; !in.Input || !in.Checked || !in.Disabled || in.Name != "" {
			cp.fatalf("event %q: the inbox cell is %+v, want checked, disabled and not sent", r.Event, in)
		}
		smsOffered := r.Cells[2].Input
		if news := r.Event == "Новости по подпискам"; news == smsOffered {
			cp.fatalf("event %q: SMS offered = %v", r.Event, smsOffered)
		}
	}
	checked := func(name string) bool {
		cp.t.Helper()
		return evalIn[bool](cp, "read "+name, fmt.Sprintf(`(() => { const i = document.querySelector('input[name=%q]');
			if (!i) throw new Error('no checkbox %s'); return i.checked; })()`, name, name))
	}
	for name, want := range map[string]bool{"n.app.need_info.sms": true, "n.app.status.sms": false, "n.booking.booked.push": true,
		"n.booking.cancelled.push": true, "n.booking.booked.sms": false, "n.app.status.email": true, "cat.law": false} {
		if got := checked(name); got != want {
			cp.fatalf("by default %s is checked = %v, want %v", name, got, want)
		}
	}
	if n := evalIn[int](cp, "count the choices", `document.querySelectorAll('table.matrix input[name^="n."]').length`); n != 12*3-1 {
		cp.fatalf("the matrix offers %d choices, want 35 (12 events × e-mail, SMS, push, less news by SMS)", n)
	}
	// On a phone the matrix stays a table: its channels' heads in sight.
	cp.do("a phone's screen", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone := evalIn[struct{ Heads, Over int }](cp, "read the phone layout", `({
		Heads: Array.from(document.querySelectorAll('table.matrix thead th')).filter(th => { const r = th.getBoundingClientRect(); return r.width > 0 && r.left >= 0; }).length,
		Over: document.documentElement.scrollWidth - document.documentElement.clientWidth})`)
	cp.do("a desktop's screen", chromedp.EmulateViewport(1280, 900))
	if phone.Heads != 5 || phone.Over > 0 {
		cp.fatalf("at 360 px the matrix shows %d of its 5 column heads and the page is %d px too wide", phone.Heads, phone.Over)
	}
	shootBoth(cp, "settings", "/settings/notifications")

	// 2. Save choices; they stick. A forged time zone is refused.
	for _, name := range []string{"n.app.status.sms", "n.booking.booked.push", "cat.law"} {
		cp.do("tick "+name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=%q]`, name))))
	}
	cp.do("choose Vladivostok", chromedp.SetValue(chromedp.CSS(`select[name=tz]`), "Asia/Vladivostok"))
	cp.submit("/settings/notifications", "/settings/notifications")
	cp.expectText("Настройки уведомлений сохранены.")
	cp.open("/settings/notifications")
	for name, want := range map[string]bool{"n.app.status.sms": true, "n.booking.booked.push": false, "cat.law": true,
		"n.app.need_info.sms": true, "cat.new_services": false, "n.booking.cancelled.push": true} {
		if got := checked(name); got != want {
			cp.fatalf("after saving, %s is checked = %v, want %v", name, got, want)
		}
	}
	if tz := evalIn[string](cp, "read the time zone", `document.querySelector('select[name=tz]').value`); tz != "Asia/Vladivostok" {
		cp.fatalf("after saving, the time zone is %q, want Asia/Vladivostok", tz)
	}
	if !evalIn[bool](cp, "forge the time zone", `(() => { document.querySelector('select[name=tz]').selectedOptions[0].value = 'Mars/Base'; return true; })()`) {
		cp.fatalf("could not forge the time zone")
	}
	cp.submitStatus("/settings/notifications", "/settings/notifications", 422)
	cp.expectText("Часовой пояс: выберите из списка.")
	if inv := evalIn[string](cp, "read aria-invalid", `document.querySelector('select[name=tz]').getAttribute('aria-invalid') || ''`); inv != "true" {
		cp.fatalf("the refused time zone's field is not marked aria-invalid")
	}

	// 3. Push on in this browser: the real service worker, the stand-in's
	// subscription.
	cp.open("/settings/notifications")
	cp.expectText("Push-уведомления не включены ни в одном браузере.")
	sw := awaitJS[string](cp, "wait for the service worker", `navigator.serviceWorker.ready.then(r => r.active ? r.active.scriptURL : '')`)
	if sw != portalURL+"/sw.js" {
		cp.fatalf("the active service worker is %q, want %s/sw.js", sw, portalURL)
	}
	if scope := awaitJS[string](cp, "read the scope", `navigator.serviceWorker.getRegistration().then(r => r ? r.scope : '')`); scope != portalURL+"/" {
		cp.fatalf("the service worker's scope is %q, want the whole portal %s/", scope, portalURL)
	}
	waitJS(cp, "the push-on button alone", shown("push-on")+` && !`+shown("push-off"))
	cp.do("turn push on", chromedp.Click(chromedp.CSS(`#push-on`)))
	waitJS(cp, "push_on", `location.search === '?done=push_on' && document.readyState === 'complete'`)
	cp.expectText("Push-уведомления включены в этом браузере.", "Включено браузеров: 1.")
	waitJS(cp, "the push-off button alone", shown("push-off")+` && !`+shown("push-on"))
	if key, used := evalIn[string](cp, "read the VAPID key", `document.getElementById('push').dataset.key`),
		evalIn[string](cp, "read the key subscribed with", `localStorage.getItem('gosid-e2e-push-key') || ''`); key == "" || key != used {
		cp.fatalf("the page subscribed with key %q, want its VAPID key %q", used, key)
	}
	endpoint := evalIn[string](cp, "read the endpoint", `JSON.parse(localStorage.getItem('gosid-e2e-push')).endpoint`)
	subID, ok := strings.CutPrefix(endpoint, portalURL+"/sandbox/push/push/")
	if !ok || subID == "" {
		cp.fatalf("the stand-in's endpoint is %q, want %s/sandbox/push/push/ID", endpoint, portalURL)
	}

	// 4. A booking: SMS and push off, no e-mail address.
	number := book(cp)
	ticket := cp.path()
	booked := noticeLink(cp, "Вы записаны:", number)
	deliveries := waitDeliveries(cp, booked, "Эл. почта")
	for ch, want := range map[string]string{"Личный кабинет": "в личном кабинете", "Эл. почта": "не указан контакт",
		"SMS": "выключено в настройках", "Push в браузере": "выключено в настройках"} {
		if got := deliveries[ch]; got != want {
			cp.fatalf("the booking's notice: %s is %q, want %q (all: %v)", ch, got, want, deliveries)
		}
	}

	// Cancelled: push is on for that by default, and SMS too.
	cp.open(ticket)
	cp.click(`form[action="`+ticket+`/cancel"] button[type=submit]`, ticket, 200)
	cp.expectText("Запись отменена.")
	if n := headerCount(cp); n != "1" {
		cp.fatalf("after the cancellation the header counts %q unread notices, want 1", n)
	}
	cancelled := noticeLink(cp, "Запись отменена:", number)
	deliveries = waitDeliveries(cp, cancelled, "Push в браузере", "SMS", "Эл. почта")
	for ch, want := range map[string]string{"Эл. почта": "не указан контакт", "SMS": "доставлено", "Push в браузере": "доставлено"} {
		if got := deliveries[ch]; got != want {
			cp.fatalf("the cancellation's notice: %s is %q, want %q (all: %v)", ch, got, want, deliveries)
		}
	}
	type pushed struct {
		Payload, Urgency, Topic string
		TTL                     int
	}
	msgs := awaitJS[[]pushed](cp, "read the stand-in", fmt.Sprintf(`fetch('/sandbox/push/messages/' + %q).then(r => r.ok ? r.json() : Promise.reject(new Error('status ' + r.status)))`, subID))
	if len(msgs) != 1 {
		cp.fatalf("the stand-in received %d pushes, want 1 (the cancellation; the booking's push is off): %+v", len(msgs), msgs)
	}
	var p struct{ Title, Body, URL, Tag string }
	if err := json.Unmarshal([]byte(msgs[0].Payload), &p); err != nil {
		cp.fatalf("the push's payload is not JSON: %v: %q", err, msgs[0].Payload)
	}
	if p.Title == "" || !strings.HasPrefix(p.Body, "Запись отменена:") || !strings.Contains(p.Body, number) {
		cp.fatalf("the push says title %q, body %q; want a title and «Запись отменена: … %s»", p.Title, p.Body, number)
	}
	if p.URL != portalURL+ticket || msgs[0].TTL <= 0 || msgs[0].Topic != p.Tag {
		cp.fatalf("the push leads to %q (want %s%s), TTL %d, topic %q (want the tag %q)", p.URL, portalURL, ticket, msgs[0].TTL, msgs[0].Topic, p.Tag)
	}
	sms := s.devMessages(t, notifyCitizen.E164, "portal.booking")
	if len(sms) != 1 || sms[0].Channel != "sms" || !strings.Contains(sms[0].Text, "Запись отменена") {
		t.Fatalf("the dev sink holds these booking texts to the citizen: %+v; want one SMS of the cancellation (the booking's SMS is off)", sms)
	}

	// The citizen adds an e-mail address at Gosid and signs in to the
	// portal again, which keeps it: the next booking's notice is mailed,
	// with an unsubscribe link.
	c.open("/account/contacts/email")
	c.fill("value", notifyEmail)
	c.submit("/account/contacts/email", "/account/contacts/email/code")
	code := s.newestCode(t, notifyEmail)
	c.fill("code", code)
	c.submit("/account/contacts/email/code", "/account")
	cp.open("/login")
	if cp.path() != "/" {
		cp.fatalf("signing in to the portal again ended on %s, want /", cp.path())
	}

	// 5. The inbox: the count, the filter, a notice, archive, restore,
	// all read.
	// A second booking, left unread; its e-mail carries the link.
	number2 := book(cp)
	mail := s.newestMessage(t, notifyEmail, "portal.booking")
	if !strings.Contains(mail.Text, number2) {
		t.Fatalf("the booking's e-mail does not name the booking № %s:\n%s", number2, mail.Text)
	}
	_, unsubscribeURL, ok := strings.Cut(mail.Text, "Не присылать такие письма: ")
	unsubscribeURL, _, _ = strings.Cut(strings.TrimSpace(unsubscribeURL), "\n")
	if !ok || !strings.HasPrefix(unsubscribeURL, portalURL+"/unsubscribe?t=") {
		t.Fatalf("the booking's e-mail has no link «Не присылать такие письма: %s/unsubscribe?t=…»:\n%s", portalURL, mail.Text)
	}
	cp.open("/notices")
	if n := headerCount(cp); n != "1" {
		cp.fatalf("the header counts %q unread notices, want 1 (the second booking's)", n)
	}
	if unread := evalIn[[]string](cp, "read the unread", `Array.from(document.querySelectorAll('ul.results li.unread a')).map(a => a.innerText)`); len(unread) != 1 || !strings.Contains(unread[0], number2) {
		cp.fatalf("the inbox marks %q unread, want the booking № %s alone", unread, number2)
	}
	cp.do("filter bookings", chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "booking"))
	cp.click(`form.filters button[type=submit]`, "/notices", 200)
	kinds := evalIn[[]string](cp, "read the kinds", `Array.from(document.querySelectorAll('ul.results li p.muted')).map(p => p.innerText)`)
	if len(kinds) < 2 {
		cp.fatalf("the filter «Записи на приём» lists %d notices, want the booking's and the cancellation's", len(kinds))
	}
	for _, k := range kinds {
		if !strings.Contains(k, "Записи на приём") {
			cp.fatalf("the filter «Записи на приём» lists %q", k)
		}
	}
	shootBoth(cp, "inbox", "/notices")
	cp.open(cancelled)
	cp.expectText("Доставка", "Запись отменена:", number)
	shootBoth(cp, "notice", cancelled)
	cp.click(`form[action="`+cancelled+`/archive"] button[type=submit]`, "/notices", 200)
	cp.expectText("Уведомление перенесено в архив.")
	if evalIn[bool](cp, "look for the archived notice", fmt.Sprintf(`!!document.querySelector('ul.results a[href=%q]')`, cancelled)) {
		cp.fatalf("the archived notice is still in the inbox")
	}
	cp.open("/notices?box=archive")
	cp.expectText("Запись отменена:")
	cp.click(`form[action="`+cancelled+`/archive"] button[type=submit]`, "/notices", 200)
	cp.expectText("Уведомление возвращено во входящие.")
	if !evalIn[bool](cp, "look for the restored notice", fmt.Sprintf(`!!document.querySelector('ul.results a[href=%q]')`, cancelled)) {
		cp.fatalf("the restored notice is not in the inbox")
	}
	cp.open("/notices?box=archive")
	cp.expectText("В архиве пусто.")
	cp.open("/notices")
	cp.submit("/notices/read-all", "/notices")
	cp.expectText("Все уведомления отмечены как прочитанные.")
	if n := headerCount(cp); n != "" || evalIn[int](cp, "count the unread", `document.querySelectorAll('ul.results li.unread').length`) > 0 {
		cp.fatalf("after «Отметить все как прочитанные» the header still counts unread notices")
	}

	// 6. Unsubscribing without signing in, in another browser: the link
	// asks first (a mail scanner following it unsubscribes no one), the
	// button does it; a tampered token is refused.
	anon := newBrowser(t, portalURL)
	path := strings.TrimPrefix(unsubscribeURL, portalURL)
	anon.open(path)
	anon.expectText("Больше не присылать письма «Запись на приём»?")
	anon.submit("/unsubscribe", "/unsubscribe")
	anon.expectText("Готово: больше не будем присылать письма «Запись на приём».")
	u, err := url.Parse(unsubscribeURL)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("t")
	flip := "A"
	if strings.HasSuffix(token, "A") {
		flip = "B"
	}
	for _, bad := range []string{token[:len(token)-1] + flip, "v1.tampered-token.AAAA", ""} {
		anon.openStatus("/unsubscribe?t="+url.QueryEscape(bad), 400)
		anon.expectText("Ссылка для отписки неверна")
		if evalIn[bool](anon, "look for the button", `!!document.querySelector('form[action="/unsubscribe"]')`) {
			anon.fatalf("a bad unsubscribe link still offers to unsubscribe")
		}
	}
	cp.open("/settings/notifications")
	for name, want := range map[string]bool{"n.booking.booked.email": false, "n.booking.cancelled.email": true, "n.app.status.sms": true} {
		if got := checked(name); got != want {
			cp.fatalf("after unsubscribing by the link, %s is checked = %v, want %v", name, got, want)
		}
	}

	// 7. Push off in this browser.
	cp.open("/settings/notifications")
	waitJS(cp, "the push-off button alone", shown("push-off")+` && !`+shown("push-on"))
	cp.do("turn push off", chromedp.Click(chromedp.CSS(`#push-off`)))
	waitJS(cp, "push_off", `location.search === '?done=push_off' && document.readyState === 'complete'`)
	cp.expectText("Push-уведомления выключены в этом браузере.", "Push-уведомления не включены ни в одном браузере.")
	waitJS(cp, "the push-on button alone", shown("push-on")+` && !`+shown("push-off"))
	if n := evalIn[string](cp, "read the count", `document.getElementById('push').dataset.count`); n != "0" {
		cp.fatalf("after turning push off the page counts %s browsers", n)
	}

	for _, b := range []*browser{c, anon} {
		for _, p := range b.consoleProblems() {
			t.Errorf("browser console: %s", p)
		}
	}
	t.Logf("the walk took %v", time.Since(start).Round(time.Millisecond))
}

// awaitJS evaluates expr, a promise, and returns what it resolves to.
func awaitJS[T any](b *browser, what, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fatalf("%s: %v", what, err)
	}
	return v
}

// book books the passport visit at the first free time after tomorrow
// and returns the booking's number; the browser is on its ticket.
func book(b *browser) string {
	b.t.Helper()
	b.open("/appointments/new?service=" + visitsBookService + "&place=mfc-msk-tverskoy")
	chooseDay(b, "")
	slot, _ := chooseSlot(b, "")
	if ticket := clickTo(b, fmt.Sprintf(`button.slot[value=%q]`, slot), 200); !strings.HasPrefix(ticket, "/appointments/") {
		b.fatalf("booking ended on %s, want /appointments/ID", ticket)
	}
	number := strings.TrimSpace(evalIn[string](b, "read the number", `document.querySelector('.ticketno').innerText`))
	if number == "" {
		b.fatalf("the ticket shows no number")
	}
	return number
}

// shown is a JavaScript expression: the element id is displayed (the
// hidden attribute, unlike CSS, does not say so).
func shown(id string) string {
	return fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && getComputedStyle(e).display !== 'none'; })()`, id)
}

// headerCount is the unread count the header shows next to «Уведомления»,
// "" when none.
func headerCount(b *browser) string {
	b.t.Helper()
	return evalIn[string](b, "read the count", `(document.querySelector('header .count') || {innerText: ''}).innerText.trim()`)
}

// noticeLink finds in the inbox the notice whose text starts with prefix
// and mentions number, and returns its path.
func noticeLink(b *browser, prefix, number string) string {
	b.t.Helper()
	b.open("/notices")
	link := evalIn[string](b, "find the notice", fmt.Sprintf(`(() => { const a = Array.from(document.querySelectorAll('ul.results a'))
		.find(a => a.innerText.startsWith(%q) && a.innerText.includes(%q)); return a ? a.getAttribute('href') : ''; })()`, prefix, number))
	if !strings.HasPrefix(link, "/notices/") {
		b.fatalf("the inbox has no notice «%s… %s»", prefix, number)
	}
	return link
}

// waitDeliveries opens the notice at path until none of the channels
// named is still being sent, and returns each channel's status.
func waitDeliveries(b *browser, path string, channels ...string) map[string]string {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		b.open(path)
		type row struct{ Channel, Status string }
		rows := evalIn[[]row](b, "read the delivery", `Array.from(document.querySelectorAll('main table.list tbody tr')).map(tr => ({
			Channel: tr.cells[0].innerText.trim(), Status: tr.cells[1].innerText.trim()}))`)
		got := map[string]string{}
		for _, r := range rows {
			got[r.Channel] = r.Status
		}
		settled := true
		for _, c := range channels {
			if st := got[c]; st == "" || st == "отправляется" {
				settled = false
			}
		}
		if settled {
			return got
		}
		if time.Now().After(deadline) {
			b.fatalf("the notice %s still shows %v after %v", path, got, stepTimeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// newestCode waits for a message with a 6-digit code to recipient and
// returns the code.
func (s *server) newestCode(t *testing.T, to string) string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		_, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape(to))
		var msgs []devMessage
		if err := json.Unmarshal(body, &msgs); err != nil {
			t.Fatalf("GET /dev/messages.json: %v\n%s", err, body)
		}
		for _, m := range msgs { // newest first
			if c := sixDigits.FindString(m.Text); c != "" && strings.HasPrefix(m.Kind, "code.") {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no code to %s in the dev sink within %v: %s", to, stepTimeout, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newestMessage waits for the newest message of kind to recipient.
func (s *server) newestMessage(t *testing.T, to, kind string) devMessage {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if msgs := s.devMessages(t, to, kind); len(msgs) > 0 {
			return msgs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s message to %s in the dev sink within %v", kind, to, stepTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// devMessages are the dev sink's messages of kind to recipient, newest
// first.
func (s *server) devMessages(t *testing.T, to, kind string) []devMessage {
	t.Helper()
	code, _, body := s.get(t, "/dev/messages.json?to="+url.QueryEscape(to))
	if code != 200 {
		t.Fatalf("GET /dev/messages.json: %d %s", code, body)
	}
	var all, out []devMessage
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatalf("GET /dev/messages.json: %v\n%s", err, body)
	}
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}
