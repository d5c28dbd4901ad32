package bank

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/check"
)

// The pages:
//
//	POST /account/confirm/bank  bank=ID: a signed-in citizen goes to confirm their identity at the bank
//	GET  /bank/callback         where every bank sends the citizen back (the registered redirect URI)

//go:embed templates
var files embed.FS

// Sessions finds the signed-in citizen (session.Store).
type Sessions interface {
	Current(r *http.Request) (*session.Session, error)
}

// Handler serves the bank pages.
type Handler struct {
	conn      *Connector
	confirmer *Confirmer
	banks     *Store
	sessions  Sessions
	signin    *SignInDeps
	render    *webui.Renderer
	log       *slog.Logger
	// binding ties each flow to the browser that started it.
	binding webui.Binding
}

// NewHandler parses the pages.
func NewHandler(conn *Connector, confirmer *Confirmer, banks *Store, sessions Sessions, log *slog.Logger) (*Handler, error) {
	r, err := webui.NewRenderer(files, catalog, log, "bank", "signin", "banks")
	if err != nil {
		return nil, err
	}
	return &Handler{conn: conn, confirmer: confirmer, banks: banks, sessions: sessions, render: r, log: log,
		binding: webui.Binding{Name: "gosid_bank", TTL: FlowTTL}}, nil
}

// SecureCookies marks the identity provider as served over HTTPS: the
// cookie that binds a flow to its browser is then Secure, named with
// webui.HostPrefix (before serving).
func (h *Handler) SecureCookies(secure bool) *Handler {
	h.binding.Secure = secure
	return h
}

// Routes adds the pages to mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/confirm/bank", h.start)
	mux.HandleFunc("GET /bank/callback", h.callback)
	h.signInRoutes(mux)
}

// Offered lists the enabled banks for the confirmation page
// (check.Banks).
func (h *Handler) Offered(ctx context.Context, lang string) ([]check.Bank, error) {
	banks, err := h.banks.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []check.Bank
	for _, b := range banks {
		if b.Disabled {
			continue
		}
		name := b.NameRU
		if lang == "en" && b.NameEN != "" {
			name = b.NameEN
		}
		out = append(out, check.Bank{ID: b.ID, Name: name, Sandbox: b.Sandbox})
	}
	return out, nil
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	s, ok := h.signedIn(w, r, "/account/confirm")
	if !ok {
		return
	}
	// Each start is a flow row until swept.
	if !h.allowed(w, r, "/account/confirm") {
		return
	}
	to, err := h.conn.Begin(r.Context(), r.PostFormValue("bank"), Confirm, s.AccountID, "", h.binding.Begin(w, r))
	if err != nil {
		h.fail(w, r, "", err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

type resultView struct {
	webui.Page
	Bank string
	// Outcome: "confirmed", "mismatch", "too_little", "snils_taken",
	// "other_account", "cancelled", "unavailable", "refused", "expired",
	// "other_browser", "wrong_account".
	Outcome    string
	Level      string
	Mismatches []mismatchView
	// Back is where «Назад» leads: the page the flow started from.
	Back string
}

type mismatchView struct{ Field, Bank, Account string }

func (h *Handler) page(r *http.Request, bank string, outcome string) resultView {
	v := resultView{Page: h.render.NewPage(r, "bank.title"), Bank: bank, Outcome: outcome, Back: "/account/confirm"}
	v.SignedIn, v.Tab = true, "profile"
	return v
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	res, err := h.conn.Finish(ctx, r.URL.Query(), h.binding.Of(r))
	if err != nil {
		// A flow that was found fails on the page it started from: a
		// sign-in's failure leads back to the sign-in, not to the
		// account's ways to confirm.
		back, bank := "/account/confirm", ""
		var fe *FlowError
		if errors.As(err, &fe) {
			back, bank = backTo(fe.Purpose), h.bankName(ctx, r, fe.BankID)
		}
		h.failFlow(w, r, bank, err, back)
		return
	}
	bankName := res.Bank.Name(webui.Lang(r))
	switch res.Purpose {
	case Confirm:
		s, err := h.sessions.Current(r)
		if err != nil && !session.Gone(err) {
			// Not read, so no verdict on whose flow this is: 503.
			h.fail(w, r, bankName, fmt.Errorf("bank: the session of a confirmation: %w", err))
			return
		}
		if err != nil || s.AccountID != res.AccountID {
			// The flow was started by another account (or the session
			// ended): nothing happens to either.
			h.show(w, r, http.StatusForbidden, h.page(r, bankName, "wrong_account"))
			return
		}
		c, err := h.confirmer.Confirm(ctx, res, httpx.ClientIP(r))
		if err != nil {
			h.fail(w, r, bankName, err)
			return
		}
		v := h.page(r, bankName, "confirmed")
		v.Level = v.L.T("bank.level." + string(c.Level))
		switch {
		case len(c.Mismatches) > 0:
			v.Outcome = "mismatch"
			for _, m := range c.Mismatches {
				v.Mismatches = append(v.Mismatches, mismatchView{Field: v.L.T("bank.field." + m.Field), Bank: m.Bank, Account: m.Account})
			}
			h.show(w, r, http.StatusConflict, v)
			return
		case c.TooLittle:
			v.Outcome = "too_little"
			h.show(w, r, http.StatusConflict, v)
			return
		}
		h.show(w, r, http.StatusOK, v)
	case SignIn:
		if h.signin == nil {
			h.fail(w, r, bankName, ErrUnknownFlow)
			return
		}
		h.signInCallback(w, r, res, bankName)
	case Register:
		if h.signin == nil {
			h.fail(w, r, bankName, ErrUnknownFlow)
			return
		}
		h.registerCallback(w, r, res)
	default:
		h.fail(w, r, bankName, ErrUnknownFlow)
	}
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request, status int, v resultView) {
	h.render.Render(w, r, status, "bank", v)
}

// backTo is the page a flow for p starts from.
func backTo(p Purpose) string {
	switch p {
	case SignIn:
		return "/login"
	case Register:
		return "/register"
	}
	return "/account/confirm"
}

// fail shows what went wrong in the citizen's words; nothing changed.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, bank string, err error) {
	h.failFlow(w, r, bank, err, "/account/confirm")
}

// failFlow is fail for a flow started from the page back.
func (h *Handler) failFlow(w http.ResponseWriter, r *http.Request, bank string, err error, back string) {
	outcome, status := "", http.StatusBadGateway
	switch {
	case errors.Is(err, ErrCancelled):
		outcome, status = "cancelled", http.StatusOK
	case errors.Is(err, ErrUnavailable):
		outcome, status = "unavailable", http.StatusServiceUnavailable
	case errors.Is(err, ErrRefused):
		outcome = "refused"
	case errors.Is(err, ErrUnknownFlow):
		outcome, status = "expired", http.StatusBadRequest
	case errors.Is(err, ErrOtherBrowser):
		outcome, status = "other_browser", http.StatusBadRequest
	case errors.Is(err, ErrUnknownBank):
		outcome, status = "unknown_bank", http.StatusBadRequest
	case errors.Is(err, ErrSNILSTaken):
		outcome, status = "snils_taken", http.StatusConflict
	case errors.Is(err, ErrOtherAccount):
		outcome, status = "other_account", http.StatusConflict
	default:
		h.log.ErrorContext(r.Context(), "bank flow", "err", err)
		webui.ErrorPage(w, r, http.StatusServiceUnavailable)
		return
	}
	if outcome != "cancelled" {
		h.log.WarnContext(r.Context(), "bank flow refused", "outcome", outcome, "err", err)
	}
	v := h.page(r, bank, outcome)
	v.Back = back
	if back != "/account/confirm" {
		_, serr := h.sessions.Current(r)
		v.SignedIn, v.Tab = serr == nil, ""
		v.Title = v.L.T("bank.signin.title")
		if back == "/register" {
			v.Title = v.L.T("bank.register.title")
		}
	}
	h.show(w, r, status, v)
}
