package partner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/audit"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/oidc"
	"github.com/gosid/gosid/idp/password"
	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/internal/jobs"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
	"github.com/gosid/gosid/verification/bank"
)

// Tokens checks the access tokens presented to the API (oidc.Provider).
type Tokens interface {
	Authenticate(r *http.Request) (*oidc.AccessInfo, error)
}

// Notifier tells the citizen (notice.Notifier).
type Notifier interface {
	// Deliver sends on every verified contact of a, returning what
	// failed (the job or the sweep sends it again).
	Deliver(ctx context.Context, a *account.Account, kind, lang string, data map[string]string) error
}

// Config tunes the API.
type Config struct {
	// Issuer is Gosid's public URL: problem types live under it.
	Issuer string
	// Rate is the requests per second one partner may make on average,
	// Burst how many at once (DefaultRate, DefaultBurst when zero).
	Rate, Burst int
	// Wait is how long a request with the Idempotency-Key of one still
	// being worked waits for its answer (10s when zero).
	Wait time.Duration
}

// Defaults of Config.
const (
	DefaultRate  = 50
	DefaultBurst = 100
)

// Deps are the API's dependencies.
type Deps struct {
	DB       *sqldb.DB
	Tokens   Tokens
	Accounts *account.Store
	Activity *account.Activity
	Verifier *assurance.Service
	Banks    *bank.Store
	Notifier Notifier
	// Jobs runs the notices of registrations (enqueued with them).
	Jobs    *jobs.Queue
	Log     *slog.Logger
	Now     func() time.Time
	Metrics prometheus.Registerer
	// The activation page's: new passwords and the sign-in after.
	Passwords Passwords
	Policy    password.Policy
	Sessions  SessionStarter
}

// Handler serves /partner/v1.
type Handler struct {
	cfg      Config
	issuer   string
	db       *sqldb.DB
	tokens   Tokens
	accounts *account.Store
	activity *account.Activity
	verifier *assurance.Service
	banks    *bank.Store
	bucket   bucket
	notifier Notifier
	// telling bounds the confirmation notices sent in the background.
	telling  chan struct{}
	jobs     *jobs.Queue
	log      *slog.Logger
	now      func() time.Time
	requests *prometheus.CounterVec

	render    *webui.Renderer
	passwords Passwords
	policy    password.Policy
	sessions  SessionStarter
}

// New builds the API.
func New(cfg Config, d Deps) (*Handler, error) {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &Handler{cfg: cfg, issuer: strings.TrimSuffix(cfg.Issuer, "/"), db: d.DB, tokens: d.Tokens, accounts: d.Accounts,
		activity: d.Activity, verifier: d.Verifier, banks: d.Banks, notifier: d.Notifier, jobs: d.Jobs, log: d.Log, now: d.Now,
		telling: make(chan struct{}, maxTelling), passwords: d.Passwords, policy: d.Policy, sessions: d.Sessions,
		// Burst at once, Rate a second on average.
		bucket: bucket{db: d.DB, rate: float64(cfg.Rate), burst: float64(cfg.Burst), now: d.Now},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gosid_partner_requests_total",
			Help: "Requests to the bank partner API by partner, operation and HTTP status."}, []string{"partner", "operation", "status"}),
	}
	if d.Jobs == nil {
		return nil, errors.New("partner: no job queue for the citizens' notices")
	}
	if err := h.registerNotices(d.Jobs); err != nil {
		return nil, err
	}
	var err error
	if h.render, err = webui.NewRenderer(files, catalog, d.Log, "activate", "dispute"); err != nil {
		return nil, err
	}
	if d.Metrics != nil {
		if err := d.Metrics.Register(h.requests); err != nil {
			return nil, fmt.Errorf("partner metrics: %w", err)
		}
	}
	return h, nil
}

// Routes adds the API's routes.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /partner/v1/confirmations", h.api(opConfirm, client.ScopePartnerConfirmations, h.idempotent(opConfirm, h.confirm)))
	mux.Handle("GET /partner/v1/confirmations/{id}", h.api(opGetConfirmation, client.ScopePartnerConfirmations, h.showConfirmation))
	mux.Handle("POST /partner/v1/registrations", h.api(opRegister, client.ScopePartnerRegistrations, h.idempotent(opRegister, h.register)))
	mux.HandleFunc("GET /activate", h.showActivate)
	mux.HandleFunc("POST /activate", h.submitActivate)
	mux.HandleFunc("GET /account/dispute", h.showDispute)
	mux.HandleFunc("POST /account/dispute", h.submitDispute)
}

// Operations, for metrics and idempotency.
const (
	opConfirm         = "create_confirmation"
	opGetConfirmation = "get_confirmation"
	opRegister        = "create_registration"
)

// call is one authenticated API request.
type call struct {
	partner string // the bank's id
	client  string // the partner client's id
	ip      string
}

// apiFunc answers an authenticated call: the status and JSON body, or a
// problem.
type apiFunc func(r *http.Request, c call) (answer, *Problem)

// api authenticates the bearer token (401), checks the scope and that the
// client is a bank partner (403) and the partner's rate (429), runs fn and
// writes its answer, counting it.
func (h *Handler) api(op, scope string, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		partner := "-"
		status := 0
		defer func() { h.requests.WithLabelValues(partner, op, strconv.Itoa(status)).Inc() }()
		fail := func(p *Problem) {
			status = p.Status
			writeProblem(w, p)
		}
		info, err := h.tokens.Authenticate(r)
		switch {
		case errors.Is(err, oidc.ErrNoAccessToken):
			w.Header().Set("WWW-Authenticate", `Bearer`)
			fail(h.problem(ProblemUnauthorized, http.StatusUnauthorized, "Передайте токен доступа в заголовке Authorization: Bearer. / Send an access token in the Authorization: Bearer header."))
			return
		case errors.Is(err, oidc.ErrInvalidAccessToken):
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			fail(h.problem(ProblemUnauthorized, http.StatusUnauthorized, "Токен доступа недействителен, истёк или отозван. / The access token is invalid, expired or revoked."))
			return
		case err != nil:
			h.log.ErrorContext(r.Context(), "partner: token check", "err", err)
			p := h.problem(ProblemUnavailable, http.StatusServiceUnavailable, "")
			p.retryAfter = 1
			fail(p)
			return
		}
		if !info.ClientToken() || info.Client.Partner == "" {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
			fail(h.problem(ProblemForbidden, http.StatusForbidden, "Токен выдан не банку-партнёру по client_credentials. / The token was not issued to a bank partner by client_credentials."))
			return
		}
		partner = info.Client.Partner
		if !info.HasScope(scope) {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
			fail(h.problem(ProblemForbidden, http.StatusForbidden, "Токен выдан без области "+scope+". / The token lacks the scope "+scope+"."))
			return
		}
		ok, retry, err := h.bucket.take(r.Context(), partner)
		if err != nil {
			h.log.ErrorContext(r.Context(), "partner: rate limit", "err", err)
			p := h.problem(ProblemUnavailable, http.StatusServiceUnavailable, "")
			p.retryAfter = 1
			fail(p)
			return
		}
		if !ok {
			p := h.problem(ProblemRateLimited, http.StatusTooManyRequests, fmt.Sprintf("Не более %d запросов в секунду. / At most %d requests a second.", h.cfg.Rate, h.cfg.Rate))
			p.retryAfter = max(1, int((retry+time.Second-1)/time.Second))
			fail(p)
			return
		}
		a, p := fn(r, call{partner: partner, client: info.Client.ID, ip: httpx.ClientIP(r)})
		if p != nil {
			fail(p)
			return
		}
		status = a.Status
		if loc := a.location; loc != "" {
			w.Header().Set("Location", loc)
		}
		ct := jsonType
		if a.Status >= 400 {
			ct = problemType
		}
		writeBody(w, a.Status, ct, a.Body)
	})
}

// idempotent runs fn once per (partner, Idempotency-Key): a request with a
// key seen before gets the stored answer (422 when its body differs); one
// racing the first waits for it. The answer is stored by fn's own
// transaction where it has one (answer.store), else right after.
func (h *Handler) idempotent(op string, fn func(r *http.Request, c call, body []byte, key string) (answer, *Problem)) apiFunc {
	return func(r *http.Request, c call) (answer, *Problem) {
		key := r.Header.Get("Idempotency-Key")
		if !validKey(key) {
			p := h.problem(ProblemIdempotencyKey, http.StatusBadRequest, "Заголовок Idempotency-Key — от 1 до 255 печатных знаков ASCII, уникальный для каждой операции. / The Idempotency-Key header is 1 to 255 printable ASCII characters, unique per operation.")
			p.Fields = []FieldProblem{{Name: "Idempotency-Key", Detail: "Обязательный заголовок.", DetailEN: "Required header."}}
			return answer{}, p
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return answer{}, h.problem(ProblemInvalidRequest, http.StatusBadRequest, "Тело запроса не прочитано. / The request body could not be read.")
		}
		sum := sha256.Sum256(append([]byte(op+"\n"), body...))
		ctx := r.Context()
		owner, err := h.claim(ctx, c.partner, key, sum[:])
		if err == nil && !owner {
			// No stored answer and no error: the first request gave up
			// its claim and this one holds it now.
			var a *answer
			a, _, err = h.await(ctx, c.partner, key, sum[:], h.cfg.Wait)
			switch {
			case errors.Is(err, errKeyReused):
				return answer{}, h.problem(ProblemKeyReused, http.StatusUnprocessableEntity, "Этот Idempotency-Key уже использован с другим запросом; для новой операции нужен новый ключ. / This Idempotency-Key was used with another request; a new operation needs a new key.")
			case errors.Is(err, errInProgress):
				p := h.problem(ProblemInProgress, http.StatusConflict, "")
				p.retryAfter = 1
				return answer{}, p
			case err == nil && a != nil:
				return *a, nil
			}
		}
		if err != nil {
			h.log.ErrorContext(ctx, "partner: idempotency", "err", err)
			p := h.problem(ProblemUnavailable, http.StatusServiceUnavailable, "")
			p.retryAfter = 1
			return answer{}, p
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		a, p := fn(r, c, body, key)
		if p != nil {
			if p.Status >= 500 {
				h.release(ctx, c.partner, key)
				return answer{}, p
			}
			a = answer{Status: p.Status, Body: p.body()}
		}
		if !a.stored {
			if err := finish(context.WithoutCancel(ctx), h.db, c.partner, key, a); err != nil {
				h.log.ErrorContext(ctx, "partner: storing an answer", "err", err)
			}
		}
		return a, nil
	}
}

// validKey: 1 to 255 printable ASCII characters.
func validKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// unavailable is the problem of a failed store; err goes to the log.
func (h *Handler) unavailable(ctx context.Context, what string, err error) *Problem {
	h.log.ErrorContext(ctx, "partner: "+what, "err", err)
	p := h.problem(ProblemUnavailable, http.StatusServiceUnavailable, "")
	p.retryAfter = 1
	return p
}

// entry is the activity-log entry of the account a partner call touched,
// actor the bank.
func entry(c call, accountID, action string, detail map[string]string) audit.Entry {
	detail["client"] = c.client
	return audit.Entry{AccountID: accountID, Actor: audit.Actor{Kind: audit.ActorBank, ID: c.partner}, Action: action, IP: c.ip, Detail: detail}
}

func itoa(n int) string { return strconv.Itoa(n) }
