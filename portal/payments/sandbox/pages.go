package sandbox

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/portal/payments/acquirer"
)

// The payment pages: the card form, the one-time-code confirmation, the
// page of a finished payment and a message page (not found, bad request).

// Merchant is the name the payment page shows as the payee.
const (
	merchantRU = "Госуслуги Gosid — оплата"
	merchantEN = "Gosid public services — payment"
)

type pages struct{ byName map[string]*template.Template }

var pageNames = []string{"pay.html", "confirm.html", "done.html", "message.html"}

// parsePages parses every page with the layout at start-up, so that a
// missing or broken template fails New, not a citizen's payment.
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).ParseFS(files, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("sandbox acquirer: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page gets.
type view struct {
	Lang      string
	Title     string
	CSS       string // the stylesheet's path
	OtherLang string // "English" or "Русский"
	LangURL   string // this page in the other language

	Merchant    string
	Amount      string // «1 234,56 ₽»
	Description string
	ReturnURL   string

	Action        string // the form's action, with ?lang= kept
	CancelAction  string
	Number        string // entered values shown again (never the CVC)
	Expiry        string
	Holder        string
	Errors        map[string]string
	Error         string // above the form
	Code          string // the one-time code the sandbox "sends"
	TriesLeft     int
	Status        acquirer.Status
	Reason        string
	Text          string // message.html
	TestCards     []testCard
	ShowTestCards bool
}

type testCard struct{ Number, RU, EN string }

var testCards = []testCard{
	{"4111 1111 1111 1111", "успешная оплата", "success"},
	{"4000 0000 0000 0002", "отказ: недостаточно средств", "declined: insufficient funds"},
	{"4000 0000 0000 3220", "подтверждение кодом (как 3-D Secure)", "confirmation with a code (like 3-D Secure)"},
	{"4000 0000 0000 0077", "успех, уведомление с задержкой", "success, delayed notification"},
	{"4000 0000 0000 0119", "успех, уведомление дважды", "success, notification sent twice"},
}

// T picks the text of the page's language.
func (v view) T(ru, en string) string {
	if v.Lang == "en" {
		return en
	}
	return ru
}

// Err is the error of a field, "" if none.
func (v view) Err(field string) string { return v.Errors[field] }

// Card is a test card's description in the page's language.
func (v view) Card(c testCard) string { return v.T(c.RU, c.EN) }

func (h *Handler) newView(r *http.Request, titleRU, titleEN string) view {
	v := view{Lang: webui.Lang(r), CSS: h.cfg.Prefix + "/static/sandbox.css", TestCards: testCards, ShowTestCards: true}
	v.Title = v.T(titleRU, titleEN)
	v.Merchant = v.T(merchantRU, merchantEN)
	other := "en"
	v.OtherLang = "English"
	if v.Lang == "en" {
		other, v.OtherLang = "ru", "Русский"
	}
	v.LangURL = r.URL.Path + "?lang=" + other
	return v
}

// withLang keeps an explicit English choice across the form's post and
// the redirects after it.
func withLang(path, lang string) string {
	if lang == "en" {
		return path + "?lang=en"
	}
	return path
}

// formatRub writes kopecks the Russian way: «1 234,56 ₽» (no-break
// spaces, so that the amount never wraps).
func formatRub(k int64) string {
	neg := k < 0
	if neg {
		k = -k
	}
	rub := strconv.FormatInt(k/100, 10)
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, c := range rub {
		if i > 0 && (len(rub)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(c)
	}
	fmt.Fprintf(&b, ",%02d\u00a0₽", k%100)
	return b.String()
}

// render writes a page through a buffer (a template error is a clean 500)
// with a CSP that allows the page's own stylesheet and forms posting to
// itself and redirecting to the merchant (browsers apply form-action to the
// redirect after a form, so the return URL's origin must be in it).
func (h *Handler) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := h.pages.byName[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("sandbox acquirer: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	formAction := "'self'"
	if u, err := url.Parse(v.ReturnURL); err == nil && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, titleRU, titleEN, textRU, textEN string) {
	v := h.newView(r, titleRU, titleEN)
	v.Text = v.T(textRU, textEN)
	v.ShowTestCards = false
	h.render(w, status, "message.html", v)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Платёж не найден", "Payment not found",
		"Ссылка на оплату неверна или устарела. Вернитесь на сайт, где вы начали оплату, и начните её снова.",
		"The payment link is wrong or out of date. Go back to the site where you started and start again.")
}

// snapshot copies a payment under the lock.
func (h *Handler) snapshot(id string) (payment, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.payments[id]
	if !ok {
		return payment{}, false
	}
	return *p, true
}

func (h *Handler) payView(r *http.Request, p payment, titleRU, titleEN string) view {
	v := h.newView(r, titleRU, titleEN)
	v.Amount = formatRub(p.Amount)
	v.Description = p.req.Description
	v.ReturnURL = p.req.ReturnURL
	base := h.cfg.Prefix + "/pay/" + url.PathEscape(p.ID)
	v.Action = withLang(base, v.Lang)
	v.CancelAction = withLang(base+"/cancel", v.Lang)
	v.Status, v.Reason = p.Status, p.Reason
	return v
}

func (h *Handler) showPay(w http.ResponseWriter, r *http.Request) {
	p, ok := h.snapshot(r.PathValue("id"))
	switch {
	case !ok:
		h.notFound(w, r)
	case p.Status != acquirer.Pending:
		h.showDone(w, r, p)
	case p.confirm:
		http.Redirect(w, r, withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(p.ID)+"/confirm", webui.Lang(r)), http.StatusSeeOther)
	default:
		h.render(w, http.StatusOK, "pay.html", h.payView(r, p, "Оплата картой", "Card payment"))
	}
}

func (h *Handler) showDone(w http.ResponseWriter, r *http.Request, p payment) {
	v := h.payView(r, p, "Платёж завершён", "Payment finished")
	v.ShowTestCards = false
	h.render(w, http.StatusOK, "done.html", v)
}

// readForm parses a small urlencoded form; false means a 400 was written.
func (h *Handler) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, "Неверный запрос", "Bad request",
			"Форма не прочитана. Вернитесь на страницу оплаты и попробуйте ещё раз.",
			"The form could not be read. Go back to the payment page and try again.")
		return false
	}
	return true
}

func (h *Handler) submitPay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.readForm(w, r) {
		return
	}
	snap, ok := h.snapshot(id)
	if !ok {
		h.notFound(w, r)
		return
	}
	lang := webui.Lang(r)
	c, errs := checkCard(r.PostForm.Get("card_number"), r.PostForm.Get("expiry"), r.PostForm.Get("cvc"), r.PostForm.Get("holder"), h.now(), lang)
	if len(errs) > 0 {
		v := h.payView(r, snap, "Оплата картой", "Card payment")
		v.Number, v.Expiry, v.Holder = r.PostForm.Get("card_number"), r.PostForm.Get("expiry"), r.PostForm.Get("holder")
		v.Errors = errs
		v.Error = v.T("Проверьте данные карты.", "Check the card details.")
		h.render(w, http.StatusUnprocessableEntity, "pay.html", v)
		return
	}

	h.mu.Lock()
	p := h.payments[id]
	if p.Status != acquirer.Pending || p.confirm {
		// Settled meanwhile (a second tab, a double click): show where it is.
		h.mu.Unlock()
		http.Redirect(w, r, withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(id), lang), http.StatusSeeOther)
		return
	}
	p.Card = c.masked
	var (
		n      acquirer.Notification
		delay  time.Duration
		copies = 1
	)
	switch c.number {
	case CardDeclined:
		n = h.finish(p, acquirer.Declined, ReasonInsufficientFunds)
	case Card3DS:
		p.confirm, p.code, p.tries = true, oneTimeCode(), 0
		h.mu.Unlock()
		http.Redirect(w, r, withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(id)+"/confirm", lang), http.StatusSeeOther)
		return
	case CardDelayed:
		n = h.finish(p, acquirer.Succeeded, "")
		delay = h.cfg.NotifyDelay
		if delay == 0 {
			copies = 0
		}
	case CardDuplicate:
		n = h.finish(p, acquirer.Succeeded, "")
		copies = 2
	default:
		n = h.finish(p, acquirer.Succeeded, "")
	}
	notifyURL, returnURL := p.req.NotifyURL, p.req.ReturnURL
	h.mu.Unlock()
	h.log.Info("sandbox acquirer: payment settled", "payment", id, "status", n.Payment.Status, "reason", n.Payment.Reason)
	if copies > 0 {
		h.send(notifyURL, n, delay, copies)
	}
	http.Redirect(w, r, returnURL, http.StatusSeeOther)
}

func (h *Handler) confirmView(r *http.Request, p payment) view {
	v := h.payView(r, p, "Подтверждение платежа", "Payment confirmation")
	v.Action = withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(p.ID)+"/confirm", v.Lang)
	v.Code = p.code
	v.TriesLeft = codeTries - p.tries
	v.ShowTestCards = false
	return v
}

func (h *Handler) showConfirm(w http.ResponseWriter, r *http.Request) {
	p, ok := h.snapshot(r.PathValue("id"))
	switch {
	case !ok:
		h.notFound(w, r)
	case !p.confirm:
		http.Redirect(w, r, withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(p.ID), webui.Lang(r)), http.StatusSeeOther)
	default:
		h.render(w, http.StatusOK, "confirm.html", h.confirmView(r, p))
	}
}

func (h *Handler) submitConfirm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.readForm(w, r) {
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	h.mu.Lock()
	p, ok := h.payments[id]
	if !ok {
		h.mu.Unlock()
		h.notFound(w, r)
		return
	}
	if !p.confirm {
		h.mu.Unlock()
		http.Redirect(w, r, withLang(h.cfg.Prefix+"/pay/"+url.PathEscape(id), webui.Lang(r)), http.StatusSeeOther)
		return
	}
	var n acquirer.Notification
	if code == p.code {
		n = h.finish(p, acquirer.Succeeded, "")
	} else {
		p.tries++
		if p.tries < codeTries {
			snap := *p
			h.mu.Unlock()
			v := h.confirmView(r, snap)
			v.Errors = map[string]string{"code": v.T(
				fmt.Sprintf("Неверный код. Осталось %d %s.", v.TriesLeft, webui.PluralRu(v.TriesLeft, "попытка", "попытки", "попыток")),
				fmt.Sprintf("Wrong code. %d %s left.", v.TriesLeft, map[bool]string{true: "try", false: "tries"}[v.TriesLeft == 1]))}
			h.render(w, http.StatusUnprocessableEntity, "confirm.html", v)
			return
		}
		n = h.finish(p, acquirer.Declined, ReasonAuthFailed)
	}
	notifyURL, returnURL := p.req.NotifyURL, p.req.ReturnURL
	h.mu.Unlock()
	h.log.Info("sandbox acquirer: payment settled", "payment", id, "status", n.Payment.Status, "reason", n.Payment.Reason)
	h.send(notifyURL, n, 0, 1)
	http.Redirect(w, r, returnURL, http.StatusSeeOther)
}

// cancelPay is the «Отменить» button: the citizen gives up, the payment is
// declined as cancelled and the browser goes back. It is a form, not a
// link, because it changes the payment (a GET would be followed by
// prefetchers and link checkers).
func (h *Handler) cancelPay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h.mu.Lock()
	p, ok := h.payments[id]
	if !ok {
		h.mu.Unlock()
		h.notFound(w, r)
		return
	}
	returnURL := p.req.ReturnURL
	if p.Status != acquirer.Pending {
		h.mu.Unlock()
		http.Redirect(w, r, returnURL, http.StatusSeeOther)
		return
	}
	n := h.finish(p, acquirer.Declined, ReasonCancelled)
	notifyURL := p.req.NotifyURL
	h.mu.Unlock()
	h.log.Info("sandbox acquirer: payment cancelled", "payment", id)
	h.send(notifyURL, n, 0, 1)
	http.Redirect(w, r, returnURL, http.StatusSeeOther)
}
