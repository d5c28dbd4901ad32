package letter

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/check"
)

//go:embed templates
var files embed.FS

// Page is the letter's page.
const Page = "/account/confirm/letter"

// Sessions finds the signed-in citizen (session.Store).
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
}

// Limiter counts attempts (ratelimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// PerIP bounds the orders and codes one address posts.
var PerIP = ratelimit.Rule{Name: "letter-ip", Limit: 20, Window: 15 * time.Minute}

// Handler serves the letter's page.
type Handler struct {
	svc      *Service
	sessions Sessions
	reauth   session.Reauth
	limiter  Limiter
	render   *webui.Renderer
	log      *slog.Logger
}

// NewHandler parses the page.
func NewHandler(svc *Service, sessions Sessions, reauth session.Reauth, limiter Limiter, log *slog.Logger) (*Handler, error) {
	r, err := webui.NewRenderer(files, catalog, log, "letter")
	if err != nil {
		return nil, err
	}
	return &Handler{svc: svc, sessions: sessions, reauth: reauth, limiter: limiter, render: r, log: log}, nil
}

// Routes adds the page to mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Page, h.showLetter)
	mux.HandleFunc("POST "+Page, h.order)
	mux.HandleFunc("POST "+Page+"/code", h.enterCode)
}

type letterView struct {
	webui.Page
	// State: "simplified" (the level is too low), "confirmed" (nothing
	// to do), "form" (order a letter), "waiting" (ordered or exported),
	// "sent" (enter the code), "done" (just confirmed), "closed" (spent
	// or expired, a new letter not yet allowed).
	State     string
	Status    string
	Regions   []string
	Tracking  string
	SentAt    string
	ExpiresAt string
	TriesLeft int
	NextOrder string
	Level     string
}

func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*session.Session, *account.Account, bool) {
	return session.Gate(w, r, h.sessions.Current, h.svc.Accounts.Get, Page, h.log)
}

func (h *Handler) showLetter(w http.ResponseWriter, r *http.Request) {
	s, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v, err := h.view(r, a, nil)
	if err != nil {
		h.log.ErrorContext(r.Context(), "letter page", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	// The address form asks for a recent sign-in before the citizen
	// types it, not after.
	if v.State == "form" && !h.reauth.Require(w, r, s, Page) {
		return
	}
	h.render.Render(w, r, http.StatusOK, "letter", v)
}

// view is the page for a's state; form, when not nil, is a refused
// address form to show again.
func (h *Handler) view(r *http.Request, a *account.Account, form *webui.Form) (letterView, error) {
	v := letterView{Page: h.render.NewPage(r, "letter.title")}
	v.SignedIn, v.Tab, v.Form, v.Regions = true, "profile", form, Regions
	v.Level = v.L.T("letter.level." + string(a.Level))
	l, err := h.svc.Store.Latest(r.Context(), a.ID)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return v, err
	}
	if l != nil {
		v.Status = statusText(v.L, l)
	}
	switch {
	case a.Level == assurance.Confirmed:
		v.State = "confirmed"
	case a.Level != assurance.Standard:
		v.State = "simplified"
	case l != nil && l.Status == Sent:
		v.State, v.Tracking, v.TriesLeft = "sent", l.Tracking, l.TriesLeft()
		v.SentAt, v.ExpiresAt = day(l.SentAt), day(l.ExpiresAt)
	case l != nil && l.Status.Open():
		v.State = "waiting"
	case l != nil && l.Status != Cancelled && h.svc.now().Before(l.NextOrder()):
		v.State, v.NextOrder = "closed", day(l.NextOrder())
	default:
		v.State = "form"
	}
	return v, nil
}

func day(t time.Time) string { return t.In(moscow).Format("02.01.2006") }

// statusText is a letter's status line: заказано → отправлено (tracking
// number, date) → подтверждено / истёк срок / код заблокирован.
func statusText(l texts, lt *Letter) string {
	switch lt.Status {
	case Sent:
		return l.T("letter.status.sent", lt.Tracking, day(lt.SentAt))
	case Ordered, Exported:
		return l.T("letter.status.ordered", day(lt.OrderedAt))
	case Confirmed:
		return l.T("letter.status.confirmed", day(lt.ClosedAt))
	case Spent:
		return l.T("letter.status.spent")
	case Cancelled:
		return l.T("letter.status.cancelled")
	}
	return l.T("letter.status.expired")
}

// allowed applies PerIP; over it, it answers 429 itself. A limiter
// failure lets the request on: the database bounds orders and tries.
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request) bool {
	if h.limiter == nil {
		return true
	}
	ok, wait, err := h.limiter.Allow(r.Context(), PerIP, httpx.ClientIP(r))
	if err != nil {
		h.log.ErrorContext(r.Context(), "letter rate limit", "err", err)
		return true
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		webui.ErrorPage(w, r, http.StatusTooManyRequests)
	}
	return ok
}

func (h *Handler) order(w http.ResponseWriter, r *http.Request) {
	s, a, ok := h.signedIn(w, r)
	if !ok || !h.allowed(w, r) || !h.reauth.Require(w, r, s, Page) {
		return
	}
	form := webui.NewForm(r, AddressFields...)
	l := h.render.Localizer(r)
	addr, problems := Address{Index: form.Get(FieldIndex), Region: form.Get(FieldRegion), City: form.Get(FieldCity),
		Street: form.Get(FieldStreet), House: form.Get(FieldHouse), Building: form.Get(FieldBuilding), Flat: form.Get(FieldFlat)}.Normalize()
	for _, p := range problems {
		form.Fail(p.Field, l.T("letter.err."+p.Problem, l.T("letter.field."+p.Field)))
	}
	status := http.StatusOK
	var err error
	if form.OK() {
		if _, err = h.svc.Order(r.Context(), a, addr, httpx.ClientIP(r)); err == nil {
			webui.Redirect(w, r, Page)
			return
		}
	}
	v, verr := h.view(r, a, form)
	switch {
	case verr != nil:
		err = verr
	case !form.OK():
		// Nothing was kept: the form comes back with each wrong field named.
		v.Error, status = l.T("letter.err.form"), http.StatusUnprocessableEntity
	case errors.Is(err, ErrTooSoon), errors.Is(err, ErrOnItsWay):
		v.Error, status = l.T("letter.err.too_soon"), http.StatusConflict
		err = nil
	case errors.Is(err, ErrLevel):
		v.Error, status = l.T("letter.err.level"), http.StatusConflict
		err = nil
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "order a letter", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	h.render.Render(w, r, status, "letter", v)
}

func (h *Handler) enterCode(w http.ResponseWriter, r *http.Request) {
	_, a, ok := h.signedIn(w, r)
	if !ok || !h.allowed(w, r) {
		return
	}
	l := h.render.Localizer(r)
	code := r.PostFormValue("code")
	var res *Entered
	var err error
	if len(NormalizeCode(code)) != CodeLength {
		err = errShape
	} else {
		res, err = h.svc.Enter(r.Context(), a, code, httpx.ClientIP(r))
	}
	if err == nil && res.Confirmed {
		a.Level = res.Level
	}
	v, verr := h.view(r, a, webui.NewForm(r))
	if verr != nil {
		err = verr
	}
	status := http.StatusOK
	switch {
	case err == nil && res.Confirmed:
		v.State, v.Notice = "done", l.T("letter.done")
	case err == nil && res.Letter.Status == Spent:
		v.Error, status = l.T("letter.err.spent"), http.StatusUnprocessableEntity
	case err == nil:
		v.Form.Fail("code", l.T("letter.err.wrong", res.Letter.TriesLeft()))
		status = http.StatusUnprocessableEntity
	case errors.Is(err, errShape):
		v.Form.Fail("code", l.T("letter.err.shape"))
		status = http.StatusUnprocessableEntity
	case errors.Is(err, ErrExpired):
		v.Error, status = l.T("letter.err.expired"), http.StatusGone
	case errors.Is(err, ErrSpent):
		v.Error, status = l.T("letter.err.spent"), http.StatusGone
	case errors.Is(err, ErrNoCode), errors.Is(err, ErrLevel):
		v.Error, status = l.T("letter.err.no_code"), http.StatusConflict
	default:
		h.log.ErrorContext(r.Context(), "letter code", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	h.render.Render(w, r, status, "letter", v)
}

// texts are the page's texts in one language (webui.Localizer,
// langText).
type texts interface {
	T(key string, args ...any) string
}

// langText is the catalog in lang, for texts made outside a request (the
// confirmation page's section).
type langText string

func (l langText) T(key string, args ...any) string {
	t, ok := catalog[key]
	if !ok {
		return key
	}
	s := t[0]
	if l == "en" {
		s = t[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// errShape: what was typed is no code at all (uses no try).
var errShape = errors.New("letter: not a code")

// Ways offers the letter on the confirmation page (check.Ways): to an
// account at the standard level, with its letter's status.
func (h *Handler) Ways(ctx context.Context, a *account.Account, lang string) ([]check.Way, error) {
	if a.Level != assurance.Standard {
		return nil, nil
	}
	loc := langText(lang)
	w := check.Way{ID: "letter", Title: loc.T("letter.way.title"), Lead: loc.T("letter.way.lead"), Href: Page, Link: loc.T("letter.way.link")}
	l, err := h.svc.Store.Latest(ctx, a.ID)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
	case err != nil:
		return []check.Way{w}, err
	default:
		w.Status = statusText(loc, l)
		if l.Status == Sent {
			w.Link = loc.T("letter.way.enter")
		}
	}
	return []check.Way{w}, nil
}
