package codestep

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gosid/gosid/idp/backupcode"
	"github.com/gosid/gosid/idp/otp"
	"github.com/gosid/gosid/idp/totp"
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

	// Path is the flow's start page ("/recover"). The step is at
	// Path+"/code" and asks for a new code at Path+"/resend"; a flow that
	// is gone sends the browser back to Path+"?expired=1" (Begin, Routes,
	// LoadFlow, Finish).
	Path string
	// Next is the page after the step (Routes).
	Next string
	// Done is where st records that its code was accepted (Routes,
	// LoadVerified).
	Done func(st *S) *bool
	// Refused, when set, says that st's right code must still be refused
	// (Routes; see Check).
	Refused func(st *S) bool
}

// Flows keeps a flow's state (flow.Store).
type Flows interface {
	Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration) error
	FromRequest(r *http.Request, kind string, data any) (token string, version int, err error)
	Save(ctx context.Context, kind, token string, version int, data any) (int, error)
	End(ctx context.Context, w http.ResponseWriter, kind, token string) error
	Clear(w http.ResponseWriter, kind string)
}

// errRefused is how a refused right code looks: like the last wrong one.
var errRefused = &otp.ErrWrongCode{AttemptsLeft: 0}

// Load reads the browser's flow. A missing or expired one — or one that
// own, when given, refuses (another account's) — sends the browser to
// restart and Load returns false.
func (p *Pages[S]) Load(w http.ResponseWriter, r *http.Request, restart string, own func(*S) bool) (token string, version int, st S, ok bool) {
	token, version, err := p.Flows.FromRequest(r, p.Kind, &st)
	if err != nil && !sqldb.Gone(err) {
		// Not read, so not gone: the citizen tries again, not from the
		// start.
		p.unavailable(w, r, "load flow", err)
		return "", 0, st, false
	}
	if err != nil || (own != nil && !own(&st)) {
		webui.Redirect(w, r, restart)
		return "", 0, st, false
	}
	return token, version, st, true
}

// unavailable answers a step that a store's failure interrupted: the
// branded 503 page with Retry-After; nothing was judged or spent.
func (p *Pages[S]) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.Log.ErrorContext(r.Context(), what, "kind", p.Kind, "err", err)
	webui.Overloaded(w, err) // an overload's own Retry-After
	p.Render.ErrorPage(w, r, http.StatusServiceUnavailable)
}

// Judged reports whether err of checking or sending a code is a verdict
// or a refusal — a wrong, spent, replayed or expired code (a sent one, an
// authenticator's, a backup code), a cool-down, a cap, a message the
// gateway did not take, a typo; any other error is a store that did not
// answer and judged nothing: it is answered 503, never «неверный код», and
// counts toward no lock-out.
func Judged(err error) bool {
	var wrong *otp.ErrWrongCode
	var soon *otp.ErrResendTooSoon
	if errors.As(err, &wrong) || errors.As(err, &soon) {
		return true
	}
	for _, v := range []error{otp.ErrTooManyAttempts, otp.ErrExpired, otp.ErrNotFound, otp.ErrDailyCap, otp.ErrInvalid,
		ErrNotSent, ErrFormat, totp.ErrWrongCode, totp.ErrReplayed, totp.ErrNotEnrolled, backupcode.ErrInvalid} {
		if errors.Is(err, v) {
			return true
		}
	}
	return false
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
	if !Judged(err) {
		p.internal(w, r, st, "check code", err)
		return false
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
// The flow names the new challenge before it is issued (Step.IssueFor).
func (p *Pages[S]) Resend(w http.ResponseWriter, r *http.Request, token string, version int, st *S, self string) {
	err := p.Reissue(r, token, version, st)
	if err != nil && !Judged(err) {
		p.internal(w, r, st, "resend code", err)
		return
	}
	if err != nil {
		v, page := p.View(r, st)
		page.Error = Explain(err, page.L)
		p.Render.Render(w, r, http.StatusTooManyRequests, p.Template, v)
		return
	}
	webui.Redirect(w, r, self+"?resent=1")
}

// Reissue issues a new code for the loaded flow (token, version, st)
// (Step.IssueInto).
func (p *Pages[S]) Reissue(r *http.Request, token string, version int, st *S) error {
	challenge, _ := p.Code(st)
	return p.Step.IssueInto(r.Context(), p.Send(r, st), p.Flows, p.Kind, token, version, st, challenge)
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
	v, page := p.View(r, st)
	p.Fail(w, r, p.Template, v, page, what, err)
}

// Fail logs what failed and shows a page of the flow — template,
// rendering view, whose webui.Page is page — with a general message (500;
// 503 with Retry-After when a bounded resource refused for overload).
func (p *Pages[S]) Fail(w http.ResponseWriter, r *http.Request, template string, view any, page *webui.Page, what string, err error) {
	p.Render.Fail(w, r, p.Log, template, view, page, "code.err.internal", what, err)
}

// Routes registers the step's own pages, for a flow whose step is a page
// between its start (Path) and its next page (Next):
//
//	GET  Path/code    the step; a flow past it goes on to Next
//	POST Path/code    check the code; when right, Done and on to Next
//	POST Path/resend  a new code
func (p *Pages[S]) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+p.Path+"/code", p.showStep)
	mux.HandleFunc("POST "+p.Path+"/code", p.submitStep)
	mux.HandleFunc("POST "+p.Path+"/resend", p.resendStep)
}

func (p *Pages[S]) step() string    { return p.Path + "/code" }
func (p *Pages[S]) restart() string { return p.Path + "?expired=1" }

// LoadFlow is Load for the flow's pages: a missing or expired flow goes
// back to the start.
func (p *Pages[S]) LoadFlow(w http.ResponseWriter, r *http.Request) (token string, version int, st S, ok bool) {
	return p.Load(w, r, p.restart(), nil)
}

// LoadVerified is LoadFlow for a page after the step: a flow whose code
// was not accepted yet goes back to the step.
func (p *Pages[S]) LoadVerified(w http.ResponseWriter, r *http.Request) (token string, version int, st S, ok bool) {
	token, version, st, ok = p.LoadFlow(w, r)
	if ok && !*p.Done(&st) {
		webui.Redirect(w, r, p.step())
		return "", 0, st, false
	}
	return token, version, st, ok
}

func (p *Pages[S]) showStep(w http.ResponseWriter, r *http.Request) {
	_, _, st, ok := p.LoadFlow(w, r)
	switch {
	case !ok:
	case *p.Done(&st):
		webui.Redirect(w, r, p.Next)
	default:
		p.Show(w, r, &st)
	}
}

func (p *Pages[S]) submitStep(w http.ResponseWriter, r *http.Request) {
	token, version, st, ok := p.LoadFlow(w, r)
	if !ok || !p.Check(w, r, &st, p.Refused != nil && p.Refused(&st)) {
		return
	}
	*p.Done(&st) = true
	p.Verified(w, r, token, version, &st, p.Next)
}

func (p *Pages[S]) resendStep(w http.ResponseWriter, r *http.Request) {
	if token, version, st, ok := p.LoadFlow(w, r); ok {
		p.Resend(w, r, token, version, &st, p.step())
	}
}

// Begin issues st's first code, keeps its challenge in st, begins the flow
// in the browser for ttl and goes to the step. A refused code (cool-down,
// daily cap, a gateway failure) is shown on the start page — template,
// rendering view, whose webui.Page is page — with the reason (429); a
// flow that cannot begin goes to Internal, by default the start page with
// a general message (500). The flow is stored before the code is issued
// (Step.IssueFor): one that cannot be stored costs the citizen neither a
// code nor a cool-down, and a cool-down refuses before the browser's
// earlier flow is replaced.
func (p *Pages[S]) Begin(w http.ResponseWriter, r *http.Request, st *S, ttl time.Duration, template string, view any, page *webui.Page) {
	challenge, _ := p.Code(st)
	err := p.Step.IssueFor(r.Context(), p.Send(r, st), func(id string) (func(), error) {
		*challenge = id
		// Undone, the flow's row expires unused.
		return func() { p.Flows.Clear(w, p.Kind) }, p.Flows.Begin(w, r, p.Kind, *st, ttl)
	})
	if err != nil && !Judged(err) {
		if p.Internal != nil {
			p.Internal(w, r, "begin flow", err)
			return
		}
		p.Fail(w, r, template, view, page, "begin flow", err)
		return
	}
	if err != nil {
		page.Error = Explain(err, page.L)
		p.Render.Render(w, r, http.StatusTooManyRequests, template, view)
		return
	}
	webui.Redirect(w, r, p.step())
}

// Finish claims the flow after its last step, before what it does: of
// racing submissions, all loaded at version, only the one whose claim
// moves the version on goes on. The flow stays until End, so that when
// what it does fails without a verdict (a store that did not answer) the
// citizen's retry goes on from the same step, not from the start. A flow
// gone, or claimed by another submission, sends the browser back to the
// start and Finish returns false.
func (p *Pages[S]) Finish(w http.ResponseWriter, r *http.Request, token string, version int, st *S) bool {
	if _, err := p.Flows.Save(r.Context(), p.Kind, token, version, *st); err != nil {
		if !sqldb.Gone(err) && !errors.Is(err, sqldb.ErrConflict) {
			p.unavailable(w, r, "claim flow", err)
			return false
		}
		webui.Redirect(w, r, p.restart())
		return false
	}
	return true
}

// End ends a finished flow once what it did is done: the flow is deleted
// and its cookie dropped. A flow that cannot be deleted expires unused.
func (p *Pages[S]) End(w http.ResponseWriter, r *http.Request, token string) {
	if err := p.Flows.End(r.Context(), w, p.Kind, token); err != nil {
		p.Log.WarnContext(r.Context(), "end flow", "kind", p.Kind, "err", err)
	}
}
