package check

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/registry"
)

// The pages are listed in doc.go.

//go:embed templates static
var files embed.FS

// MaxPerDay bounds the checks a citizen starts in a day: each asks three
// registries.
const MaxPerDay = 10

// Sessions finds the signed-in citizen (session.Store).
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
}

// Handler serves the pages.
type Handler struct {
	svc      *Service
	sessions Sessions
	render   *webui.Renderer
	log      *slog.Logger
	banks    Banks
	ways     []Ways
}

// Bank is a bank the citizen may confirm their identity through, as the
// confirmation page lists it.
type Bank struct {
	ID, Name string
	// Sandbox: the development sandbox bank (labelled as such).
	Sandbox bool
}

// Banks lists the banks offered on the confirmation page, named in lang
// ("ru", "en"); the form posts the chosen id to /account/confirm/bank.
type Banks interface {
	Offered(ctx context.Context, lang string) ([]Bank, error)
}

// UseBanks makes the confirmation page offer banks.
func (h *Handler) UseBanks(b Banks) { h.banks = b }

// Way is a further way to confirm the identity (in person, by registered
// letter), offered on the confirmation page as a section that links to
// the way's own page. Texts are in the page's language.
type Way struct {
	// ID names the section (its heading's id is ID+"-h").
	ID          string
	Title, Lead string
	// Status is where the citizen's request of this way stands ("": none).
	Status string
	// Href is the way's page; Link the link's text.
	Href, Link string
}

// Ways offers further ways to confirm account a, in lang ("ru", "en"); an
// account already confirmed gets none.
type Ways interface {
	Ways(ctx context.Context, a *account.Account, lang string) ([]Way, error)
}

// UseWays adds ways to the confirmation page, after the banks, in the
// order added.
func (h *Handler) UseWays(w Ways) { h.ways = append(h.ways, w) }

// NewHandler parses the pages.
func NewHandler(svc *Service, sessions Sessions, log *slog.Logger) (*Handler, error) {
	r, err := webui.NewRenderer(files, catalog, log, "confirm", "check")
	if err != nil {
		return nil, err
	}
	return &Handler{svc: svc, sessions: sessions, render: r, log: log}, nil
}

// Routes adds the pages to mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/confirm", h.showConfirm)
	mux.HandleFunc("POST /account/confirm/check", h.startCheck)
	mux.HandleFunc("GET /account/confirm/check", h.showCheck)
	mux.HandleFunc("GET /account/confirm/check.json", h.checkJSON)
	mux.Handle("GET /static/verification/", http.StripPrefix("/static/verification/", http.FileServerFS(mustSub("static"))))
}

func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*account.Account, bool) {
	_, a, ok := session.Gate(w, r, h.sessions.Current, h.svc.accounts.Get, r.URL.RequestURI(), h.log)
	return a, ok
}

func (h *Handler) page(r *http.Request, title string) webui.Page {
	p := h.render.NewPage(r, title)
	p.SignedIn, p.Tab = true, "profile"
	return p
}

type confirmView struct {
	webui.Page
	Level, LevelID string
	// The data a check sends, masked.
	Name, BirthDate, SNILS, Passport, INN string
	Complete                              bool
	// Check is the newest check's status line, "" for none.
	Check, CheckStatus string
	Pending            bool
	// Verified: the registries have confirmed these data; nothing to send
	// until they change.
	Verified bool
	// Banks the citizen may confirm their identity through instead.
	Banks     []Bank
	Ways      []Way
	Confirmed bool
}

func (h *Handler) showConfirm(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	v := confirmView{Page: h.page(r, "vc.title"), LevelID: string(a.Level)}
	v.Level = v.L.T("vc.level." + string(a.Level))
	d := dataOf(a)
	v.Complete, v.Name, v.Verified = d.Complete(), d.Name.Full(), a.Verified() && a.Pending.Empty()
	if !d.BirthDate.IsZero() {
		v.BirthDate = d.BirthDate.Format("02.01.2006")
	}
	if d.SNILS != "" {
		v.SNILS = validate.MaskSNILS(d.SNILS)
	}
	if d.Passport != nil {
		v.Passport = validate.MaskPassport(d.Passport.Series, d.Passport.Number)
	}
	v.INN = validate.MaskINN(d.INN)
	v.Confirmed = a.Level == assurance.Confirmed
	if h.banks != nil && !v.Confirmed {
		banks, err := h.banks.Offered(r.Context(), webui.Lang(r))
		if err != nil {
			// The registries' way still works.
			h.log.ErrorContext(r.Context(), "banks offered", "err", err)
		}
		v.Banks = banks
	}
	for _, ws := range h.ways {
		if v.Confirmed {
			break
		}
		more, err := ws.Ways(r.Context(), a, webui.Lang(r))
		if err != nil {
			// The other ways still work.
			h.log.ErrorContext(r.Context(), "ways to confirm", "err", err)
		}
		v.Ways = append(v.Ways, more...)
	}
	c, err := h.svc.Latest(r.Context(), a.ID)
	switch {
	case err == nil && c.Status != Superseded:
		v.CheckStatus, v.Check, v.Pending = c.Status, v.L.T("vc.status."+c.Status), c.Status == Pending
	case err != nil && !errors.Is(err, sqldb.ErrNotFound):
		h.log.ErrorContext(r.Context(), "newest check", "err", err)
	}
	switch r.URL.Query().Get("error") {
	case "limit":
		v.Error = v.L.T("vc.err.limit")
	case "incomplete":
		v.Error = v.L.T("vc.err.incomplete")
	}
	h.render.Render(w, r, http.StatusOK, "confirm", v)
}

func (h *Handler) startCheck(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	n, err := h.svc.startedSince(ctx, a.ID, h.svc.now().Add(-24*time.Hour))
	if err != nil {
		h.log.ErrorContext(ctx, "checks started today", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	if n >= MaxPerDay {
		webui.Redirect(w, r, "/account/confirm?error=limit")
		return
	}
	if _, err := h.svc.Start(ctx, a.ID, "submitted"); err != nil {
		if errors.Is(err, ErrIncomplete) {
			webui.Redirect(w, r, "/account/confirm?error=incomplete")
			return
		}
		h.log.ErrorContext(ctx, "start a check", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	webui.Redirect(w, r, "/account/confirm/check")
}

type checkView struct {
	webui.Page
	Status string
	// Headline and Detail say where the check stands and what to do.
	Headline, Detail string
	Waiting          bool
	// Steps: each registry's part, in order.
	Steps []stepView
	Level string
	// Recover offers the way into the account that holds the SNILS.
	Recover bool
}

type stepView struct{ Name, State, StateID string }

func (h *Handler) showCheck(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	c, err := h.svc.Latest(r.Context(), a.ID)
	if errors.Is(err, sqldb.ErrNotFound) {
		webui.Redirect(w, r, "/account/confirm")
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "newest check", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	v := checkView{Page: h.page(r, "vc.check.title"), Status: c.Status, Waiting: c.Waiting}
	v.Level = v.L.T("vc.level." + string(a.Level))
	v.Headline = v.L.T("vc.head." + c.Status)
	switch c.Status {
	case Pending:
		if c.Waiting {
			v.Detail = v.L.T("vc.detail.waiting")
		}
	case Rejected:
		v.Detail, v.Recover = rejection(v.L, c), c.Outcome == OutcomeSNILSTaken
	}
	for _, src := range registry.Sources() {
		st := "waiting"
		if ans, ok := c.Answers[src]; ok {
			st = string(ans.Status)
		} else if c.Status != Pending {
			st = "skipped"
		} else if c.Waiting {
			st = "unavailable"
		}
		v.Steps = append(v.Steps, stepView{Name: v.L.T("vc.src." + string(src)), State: v.L.T("vc.step." + st), StateID: st})
	}
	h.render.Render(w, r, http.StatusOK, "check", v)
}

// rejection words why a check was rejected, naming the field and what to
// do.
func rejection(l webui.Localizer, c *Check) string {
	switch c.Outcome {
	case OutcomeSNILSTaken, OutcomeINNMismatch, OutcomeIncomplete:
		return l.T("vc.why." + c.Outcome)
	case OutcomeMismatch:
		fields := ""
		for i, f := range c.Fields {
			if i > 0 {
				fields += ", "
			}
			fields += l.T("vc.field." + f)
		}
		return l.T("vc.why.mismatch."+string(c.Source), fields)
	}
	return l.T("vc.why." + c.Outcome + "." + string(c.Source))
}

func (h *Handler) checkJSON(w http.ResponseWriter, r *http.Request) {
	s, err := h.sessions.Current(r)
	if err != nil && !session.Gone(err) {
		h.log.ErrorContext(r.Context(), "session", "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		http.Error(w, `{"status":"signed_out"}`, http.StatusUnauthorized)
		return
	}
	st, waiting := "", false
	c, err := h.svc.Latest(r.Context(), s.AccountID)
	switch {
	case err == nil:
		st, waiting = c.Status, c.Waiting
	case !errors.Is(err, sqldb.ErrNotFound):
		http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": st, "waiting": waiting})
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded
	}
	return sub
}
