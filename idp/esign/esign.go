package esign

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/httpx"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/flow"
	"github.com/gosid/gosid/idp/ratelimit"
	"github.com/gosid/gosid/idp/session"
	"github.com/gosid/gosid/idp/validate"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/keys/cert"
	"github.com/gosid/gosid/keys/cms"
)

//go:embed templates/*.html
var pages embed.FS

// Verify checks a detached signature of content as sign-in must
// (cms.Check with the configured trust list and CRLs).
type Verify func(ctx context.Context, signature, content []byte) (*cms.Result, error)

// Accounts finds accounts and confirms identities.
type Accounts interface {
	FindByLogin(ctx context.Context, kind, value string) (*account.Account, error)
	Get(ctx context.Context, id string) (*account.Account, error)
	AddEvent(ctx context.Context, e account.Event) error
}

// Sessions starts sessions (login.Arrivals) and finds the current one.
// StartIn runs spend in the transaction that opens the session.
type Sessions interface {
	Start(w http.ResponseWriter, r *http.Request, accountID string, amr []string, ip string) (*session.Session, error)
	StartIn(w http.ResponseWriter, r *http.Request, a *account.Account, amr []string, ip string, spend func(tx *sqldb.Tx) error) (*session.Session, error)
	Current(r *http.Request) (*session.Session, error)
}

// Flows keeps the challenge between the two requests (flow.Store).
type Flows interface {
	Begin(w http.ResponseWriter, r *http.Request, kind string, data any, ttl time.Duration) error
	FromRequest(r *http.Request, kind string, data any) (string, int, error)
	Take(ctx context.Context, kind, token string, data any) error
	Clear(w http.ResponseWriter, kind string)
	With(q sqldb.Runner) *flow.Store
}

// Activity runs a change and appends the activity-log entries it returns
// in one transaction: both or neither (account.Activity).
type Activity interface {
	Apply(ctx context.Context, fn func(tx *sqldb.Tx, accounts *account.Store) ([]audit.Entry, error)) error
}

// Limiter counts signature checks per client address: each costs a
// chain verification, and a flood must not buy CPU for free.
type Limiter interface {
	Allow(ctx context.Context, rule ratelimit.Rule, key string) (ok bool, retryAfter time.Duration, err error)
}

// PerIP bounds signature checks from one address.
var PerIP = ratelimit.Rule{Name: "esign-ip", Limit: 60, Window: 15 * time.Minute}

// Deps are the handler's dependencies.
type Deps struct {
	Verify   Verify
	Store    *Store
	Accounts Accounts
	Sessions Sessions
	Flows    Flows
	// Verifier records what certificates prove; Notifier tells the owners
	// of claims a proof dropped.
	Verifier Verifier
	Notifier Notifier
	Limiter  Limiter
	// Activity writes a binding or a removal with its activity-log entry,
	// Store bound to the transaction (Store.With).
	Activity Activity
	Log      *slog.Logger
	Now      func() time.Time
	// Reauth: binding and removing a certificate need a recent
	// authentication (certificates.go).
	Reauth session.Reauth
}

// Handler serves the pages.
type Handler struct {
	Deps
	render *webui.Renderer
	msk    *time.Location
}

const (
	flowLogin    = "esign"
	flowBind     = "esign_bind"
	challengeTTL = 5 * time.Minute
	maxUpload    = 256 << 10
	// maxUploadBody bounds the whole request of a signature upload: the
	// file and the rest of the form (webui.BodyLimit on its routes).
	maxUploadBody = maxUpload + 64<<10
)

// New parses the pages.
func New(d Deps) (*Handler, error) {
	if d.Store == nil || d.Activity == nil {
		return nil, errors.New("esign: Store and Activity are required")
	}
	r, err := webui.NewRenderer(pages, catalog, d.Log, "esign", "certificates")
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{Deps: d, render: r, msk: time.FixedZone("MSK", 3*3600)}, nil
}

// Routes registers the routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/esign", h.showLogin)
	mux.HandleFunc("GET /login/esign/challenge.txt", h.downloadChallenge)
	// The two routes that take a signature file read more than a form.
	upload := func(f http.HandlerFunc) http.Handler { return webui.BodyLimit(maxUploadBody, f) }
	mux.Handle("POST /login/esign", upload(h.submitLogin))
	mux.HandleFunc("GET /account/certificates", h.showCertificates)
	mux.HandleFunc("GET /account/certificates/challenge.txt", h.downloadChallenge)
	mux.Handle("POST /account/certificates", upload(h.submitBind))
	mux.HandleFunc("POST /account/certificates/remove", h.removeCertificate)
}

type challenge struct {
	Text      string `json:"text"`
	Next      string `json:"next,omitempty"`
	AccountID string `json:"account_id,omitempty"` // binding: the signed-in account
}

// newChallenge is one line of text with 160 random bits, which the
// citizen's signing tool signs as is.
func (h *Handler) newChallenge() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return "Gosid: вход с электронной подписью. Запрос " + base32.StdEncoding.EncodeToString(b) +
		", выдан " + h.Now().UTC().Format(time.RFC3339)
}

type esignView struct {
	webui.Page
	Challenge string
	Next      string
	Download  string
	// Register, when no account has the certificate's SNILS, offers a
	// registration pre-filled from the certificate.
	Register     string
	RegisterName string
}

// unavailable answers a step whose store did not answer: the branded 503
// with Retry-After; nothing was judged or recorded.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.Log.ErrorContext(r.Context(), "e-signature", "err", err)
	webui.Overloaded(w, err) // an overload's own Retry-After
	h.render.ErrorPage(w, r, http.StatusServiceUnavailable)
}

// outage answers 503 with Retry-After when err is the database not
// answering or an overload — nothing was judged, the citizen tries again —
// and reports whether it did.
func (h *Handler) outage(w http.ResponseWriter, r *http.Request, err error) bool {
	if !sqldb.Unavailable(err) {
		return false
	}
	h.unavailable(w, r, err)
	return true
}

func (h *Handler) begin(w http.ResponseWriter, r *http.Request, kind string, c challenge) bool {
	if err := h.Flows.Begin(w, r, kind, c, challengeTTL); err != nil {
		h.Log.ErrorContext(r.Context(), "start e-signature challenge", "err", err)
		h.render.ErrorPage(w, r, http.StatusInternalServerError)
		return false
	}
	return true
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request) {
	c := challenge{Text: h.newChallenge(), Next: webui.SafeNext(r.URL.Query().Get("next"))}
	if !h.begin(w, r, flowLogin, c) {
		return
	}
	v := esignView{Page: h.render.NewPage(r, "es.title"), Challenge: c.Text, Next: c.Next, Download: "/login/esign/challenge.txt"}
	h.render.Render(w, r, http.StatusOK, "esign", v)
}

// downloadChallenge serves the browser's current challenge as a file.
func (h *Handler) downloadChallenge(w http.ResponseWriter, r *http.Request) {
	kind := flowLogin
	if strings.HasPrefix(r.URL.Path, "/account/") {
		kind = flowBind
	}
	var c challenge
	if _, _, err := h.Flows.FromRequest(r, kind, &c); err != nil {
		h.render.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gosid-challenge.txt"`)
	_, _ = io.WriteString(w, c.Text)
}

// readSignature takes the uploaded file or, failing that, the pasted text.
func readSignature(r *http.Request) []byte {
	r.Body = http.MaxBytesReader(nil, r.Body, maxUploadBody)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(maxUpload); err == nil {
			if f, _, err := r.FormFile("signature_file"); err == nil {
				defer f.Close()
				if b, err := io.ReadAll(io.LimitReader(f, maxUpload)); err == nil && len(b) > 0 {
					return b
				}
			}
		}
	}
	return []byte(strings.TrimSpace(r.PostFormValue("signature")))
}

// check verifies the signature over the browser's challenge, which is
// single use: spent here whatever the outcome — unless keep, when a good
// signature leaves it (its token returned) for the caller to spend in the
// transaction that acts on the signature, so that a database failure
// before that commits leaves it for the citizen's retry with the same
// signature; a refusal spends it then too. A missing or spent challenge
// gives errChallenge.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, kind string, keep bool) (*cms.Result, challenge, string, error) {
	ctx := r.Context()
	if h.Limiter != nil {
		if ok, _, err := h.Limiter.Allow(ctx, PerIP, httpx.ClientIP(r)); err == nil && !ok {
			return nil, challenge{}, "", errTooMany
		}
	}
	sig := readSignature(r)
	var c challenge
	token, _, err := h.Flows.FromRequest(r, kind, &c)
	if err == nil && !keep {
		err = h.Flows.Take(ctx, kind, token, &c)
	}
	if err != nil && !sqldb.Gone(err) {
		// Not read, so not spent: the challenge and its cookie stay for
		// the citizen's retry, and nothing is judged.
		return nil, c, "", fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if err != nil || !keep {
		h.Flows.Clear(w, kind)
	}
	if err != nil {
		return nil, c, "", errChallenge
	}
	var res *cms.Result
	if len(sig) == 0 {
		err = errNoSignature
	} else {
		// The text as shown; some tools add a line break when signing a
		// file.
		for _, content := range []string{c.Text, c.Text + "\n", c.Text + "\r\n"} {
			if res, err = h.Verify(ctx, sig, []byte(content)); !errors.Is(err, cert.ErrBadSignature) {
				break
			}
		}
	}
	if err != nil && keep {
		h.spend(w, r, kind, token)
		token = ""
	}
	return res, c, token, err
}

// spend ends a challenge check kept, once its signature is refused:
// best effort, as a challenge left expires unused.
func (h *Handler) spend(w http.ResponseWriter, r *http.Request, kind, token string) {
	h.Flows.Clear(w, kind)
	var c challenge
	if err := h.Flows.Take(r.Context(), kind, token, &c); err != nil && !sqldb.Gone(err) {
		h.Log.WarnContext(r.Context(), "spend an e-signature challenge", "err", err)
	}
}

var (
	errChallenge   = errors.New("esign: no live challenge")
	errUnavailable = errors.New("esign: the challenge could not be read")
	errNoSignature = errors.New("esign: no signature")
	errNoSNILS     = errors.New("esign: no SNILS in the certificate")
	errTooMany     = errors.New("esign: too many attempts")
)

// explain turns a refusal into a message for the citizen.
func explain(err error, l webui.Localizer) string {
	for _, m := range []struct {
		err error
		key string
	}{
		{errTooMany, "es.err.too_many"}, {errChallenge, "es.err.challenge"}, {errNoSignature, "es.err.empty"}, {errNoSNILS, "es.err.snils"},
		{ErrOtherAccount, "es.err.other_account"},
		{cert.ErrExpired, "es.err.expired"}, {cert.ErrNotYetValid, "es.err.not_yet_valid"},
		{cert.ErrRevoked, "es.err.revoked"}, {cert.ErrRevocationUnknown, "es.err.revocation_unknown"},
		{cert.ErrUntrusted, "es.err.untrusted"}, {cert.ErrBrokenChain, "es.err.chain"},
		{cert.ErrNotCA, "es.err.chain"}, {cert.ErrPathLen, "es.err.chain"},
		{cert.ErrKeyUsage, "es.err.key_usage"}, {cert.ErrCriticalExtension, "es.err.extension"},
		{cert.ErrUnsupportedAlgorithm, "es.err.algorithm"}, {cert.ErrBadSignature, "es.err.signature"},
		{cert.ErrMalformed, "es.err.malformed"},
	} {
		if errors.Is(err, m.err) {
			return l.T(m.key)
		}
	}
	return l.T("es.err.internal")
}

func (h *Handler) submitLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// The challenge is spent with the session's opening: a database that
	// fails before leaves it for the same signature sent again.
	res, c, token, err := h.check(w, r, flowLogin, true)
	refuse := func(status int, msg string, extra func(*esignView)) {
		if token != "" {
			h.spend(w, r, flowLogin, token)
		}
		// A fresh challenge for the next try.
		nc := challenge{Text: h.newChallenge(), Next: c.Next}
		if !h.begin(w, r, flowLogin, nc) {
			return
		}
		v := esignView{Page: h.render.NewPage(r, "es.title"), Challenge: nc.Text, Next: nc.Next, Download: "/login/esign/challenge.txt"}
		v.Error = msg
		if extra != nil {
			extra(&v)
		}
		h.render.Render(w, r, status, "esign", v)
	}
	if errors.Is(err, errUnavailable) {
		h.unavailable(w, r, err)
		return
	}
	ip := httpx.ClientIP(r)
	if err == nil && res.Subject.SNILS == "" {
		err = errNoSNILS
	}
	if err != nil {
		h.Log.InfoContext(ctx, "e-signature sign-in refused", "reason", err)
		h.event(ctx, r, "", account.EventSignInFailed, account.ResultFailed, "sc")
		refuse(http.StatusUnprocessableEntity, explain(err, h.loc(r)), nil)
		return
	}
	// Only a verified SNILS finds an account; a SNILS another account
	// merely claims leads the holder to registration with the proof.
	snils := formatSNILS(res.Subject.SNILS)
	a, err := h.Accounts.FindByLogin(ctx, account.SNILS, snils)
	if errors.Is(err, sqldb.ErrNotFound) {
		refuse(http.StatusNotFound, "", func(v *esignView) {
			v.Error = v.L.T("es.err.no_account", validate.MaskSNILS(snils))
			if to, name, ok := h.offerRegistration(w, r, res); ok {
				v.Register, v.RegisterName = to, name
			}
		})
		return
	}
	if h.outage(w, r, err) {
		return
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "account by SNILS", "err", err)
		refuse(http.StatusInternalServerError, h.loc(r).T("es.err.internal"), nil)
		return
	}
	l := h.loc(r)
	if a.Status == account.StatusBlocked {
		h.event(ctx, r, a.ID, account.EventSignInFailed, account.ResultDenied, "sc")
		refuse(http.StatusForbidden, l.T("es.err.blocked"), nil)
		return
	}
	leaf := res.Signer.Certificate
	if err := h.bind(r, a.ID, res.Subject, leaf); err != nil {
		if h.outage(w, r, err) {
			return
		}
		if !errors.Is(err, ErrOtherAccount) {
			h.Log.ErrorContext(ctx, "bind certificate", "err", err)
		}
		refuse(http.StatusConflict, explain(err, l), nil)
		return
	}
	if err := h.prove(ctx, r, a, res.Subject, leaf); err != nil {
		h.Log.ErrorContext(ctx, "record what the certificate proves", "err", err)
	}
	// The key lives on a token or smart card behind a PIN: possession and
	// knowledge, hence mfa (RFC 8176).
	amr := []string{"sc", "mfa"}
	if _, err := h.Sessions.StartIn(w, r, a, amr, ip, func(tx *sqldb.Tx) error {
		var spent challenge
		return h.Flows.With(tx).Take(ctx, flowLogin, token, &spent)
	}); err != nil {
		if h.outage(w, r, err) {
			return
		}
		if sqldb.Gone(err) {
			// The same signature signed in meanwhile, in another request.
			token = ""
			refuse(http.StatusUnprocessableEntity, l.T("es.err.challenge"), nil)
			return
		}
		h.Log.ErrorContext(ctx, "start session", "err", err)
		h.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	h.Flows.Clear(w, flowLogin)
	h.event(ctx, r, a.ID, account.EventSignIn, account.ResultOK, "sc mfa")
	webui.RedirectNext(w, r, c.Next, "/account")
}

// event records a sign-in event; a failure to record is logged.
func (h *Handler) event(ctx context.Context, r *http.Request, accountID, kind, result, method string) {
	err := h.Accounts.AddEvent(ctx, account.Event{AccountID: accountID, Kind: kind, Result: result, Method: method, IP: httpx.ClientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.Log.ErrorContext(ctx, "account event", "account", accountID, "kind", kind, "err", err)
	}
}

// change runs fn on the store bound to a transaction and appends, in the
// same transaction, the citizen's entry of the action fn returns ("": the
// change needs none): both or neither.
func (h *Handler) change(r *http.Request, accountID string, fn func(s *Store) (action string, detail map[string]string, err error)) error {
	return h.Activity.Apply(r.Context(), func(tx *sqldb.Tx, _ *account.Store) ([]audit.Entry, error) {
		action, detail, err := fn(h.Store.With(tx))
		if err != nil || action == "" {
			return nil, err
		}
		return []audit.Entry{{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorCitizen, ID: accountID}, Action: action,
			Detail: detail, IP: httpx.ClientIP(r)}}, nil
	})
}

// formatSNILS writes 11 digits as 123-456-789 01, the stored form.
func formatSNILS(d string) string {
	if s, err := validate.SNILS(d); err == nil {
		return s
	}
	return d
}
