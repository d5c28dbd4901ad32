package codestep

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// Pages is the "type the code we sent you" step of a flow kept in a flow
// cookie — registration, recovery and a contact change share it: the page,
// the check of the typed code, and a new code on request. What a flow does
// before the step (whose contact, which code) and after it (create the
// account, set the password, change the contact) stays its own. S is the
// flow's state.
type Pages[S any] struct {
	Step    *Step
	Flows   Flows
	Kind    string // the flow kind
	Purpose string // the otp purpose
	Render  *webui.Renderer
	Log     *slog.Logger
	// Template is the step's page; Resent the text of its notice after a
	// new code was sent.
	Template, Resent string
	// View is the step's page for st: the view to render and the
	// webui.Page inside it.
	View func(r *http.Request, st *S) (view any, page *webui.Page)
	// Code is where st keeps the step's challenge, and the destination the
	// code went to.
	Code func(st *S) (challenge *string, to string)
	// Send is the message of a new code for st.
	Send func(r *http.Request, st *S) Send
	// Internal, when set, answers a failure to save the flow; by default
	// the step is shown again with a general message (500).
	Internal func(w http.ResponseWriter, r *http.Request, what string, err error)
}

// Flows keeps a flow's state (flow.Store).
type Flows interface {
	FromRequest(r *http.Request, kind string, data any) (token string, version int, err error)
	Save(ctx context.Context, kind, token string, version int, data any) (int, error)
}

// errRefused is how a refused right code looks: like the last wrong one.
var errRefused = &otp.ErrWrongCode{AttemptsLeft: 0}

// Load reads the browser's flow. A missing or expired one — or one that
// own, when given, refuses (another account's) — sends the browser to
// restart and Load returns false.
func (p *Pages[S]) Load(w http.ResponseWriter, r *http.Request, restart string, own func(*S) bool) (token string, version int, st S, ok bool) {
	token, version, err := p.Flows.FromRequest(r, p.Kind, &st)
	if err != nil || (own != nil && !own(&st)) {
		if err != nil && !errors.Is(err, sqldb.ErrNotFound) && !errors.Is(err, sqldb.ErrExpired) {
			p.Log.ErrorContext(r.Context(), "load flow", "kind", p.Kind, "err", err)
		}
		webui.Redirect(w, r, restart)
		return "", 0, st, false
	}
	return token, version, st, true
}

// Show shows the step, with the notice after a resend (?resent=1).
func (p *Pages[S]) Show(w http.ResponseWriter, r *http.Request, st *S) {
	v, page := p.View(r, st)
	if r.URL.Query().Get("resent") == "1" {
		page.Notice = page.L.T(p.Resent)
	}
	p.Render.Render(w, r, http.StatusOK, p.Template, v)
}

// Check checks the typed code for st. A flow whose right code must still
// be refused (a contact that has an account: see the flows' package
// comments) passes refused, which spends the challenge like a wrong code.
// When the code is not accepted the step is shown again with the reason
// under the field (422) and Check returns false.
func (p *Pages[S]) Check(w http.ResponseWriter, r *http.Request, st *S, refused bool) bool {
	challenge, to := p.Code(st)
	err := p.Step.CheckForm(r, *challenge, p.Purpose, to)
	if err == nil && refused {
		err = errRefused
	}
	if err == nil {
		return true
	}
	v, page := p.View(r, st)
	page.Form = webui.NewForm(r)
	page.Form.Fail("code", Explain(err, page.L))
	p.Render.Render(w, r, http.StatusUnprocessableEntity, p.Template, v)
	return false
}

// Resend sends a new code for the loaded flow (token, version, st), keeps
// its challenge in the flow and goes back to the step at self; a refusal
// (cool-down, daily cap, a gateway failure) is shown on the step (429).
func (p *Pages[S]) Resend(w http.ResponseWriter, r *http.Request, token string, version int, st *S, self string) {
	id, err := p.Step.Issue(r.Context(), p.Send(r, st))
	if err != nil {
		v, page := p.View(r, st)
		page.Error = Explain(err, page.L)
		p.Render.Render(w, r, http.StatusTooManyRequests, p.Template, v)
		return
	}
	challenge, _ := p.Code(st)
	*challenge = id
	if _, err := p.Flows.Save(r.Context(), p.Kind, token, version, *st); err != nil {
		p.internal(w, r, st, "save flow", err)
		return
	}
	webui.Redirect(w, r, self+"?resent=1")
}

// Verified marks the loaded flow's code step done (verified) and goes on
// to next. A conflict means a concurrent request of the same browser saved
// first: the code was right all the same.
func (p *Pages[S]) Verified(w http.ResponseWriter, r *http.Request, token string, version int, st *S, next string) {
	if _, err := p.Flows.Save(r.Context(), p.Kind, token, version, *st); err != nil && !errors.Is(err, sqldb.ErrConflict) {
		p.internal(w, r, st, "save flow", err)
		return
	}
	webui.Redirect(w, r, next)
}

func (p *Pages[S]) internal(w http.ResponseWriter, r *http.Request, st *S, what string, err error) {
	if p.Internal != nil {
		p.Internal(w, r, what, err)
		return
	}
	p.Log.ErrorContext(r.Context(), what, "err", err)
	v, page := p.View(r, st)
	page.Error = page.L.T("code.err.internal")
	p.Render.Render(w, r, http.StatusInternalServerError, p.Template, v)
}
