package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Gateway defaults.
const (
	DefaultGatewayTimeout  = 10 * time.Second
	DefaultGatewayAttempts = 3
	DefaultBackoffBase     = 200 * time.Millisecond
	DefaultBackoffMax      = 5 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 30 * time.Second

	// maxAnswer bounds a gateway's answer body; a longer one is malformed.
	maxAnswer = 64 << 10
)

// GatewayConfig configures NewGateway. Flags carry the same names.
type GatewayConfig struct {
	// URL is the gateway's HTTPS base URL (--registry-url), with or
	// without a path prefix; checks are posted to {URL}/v1/checks/{source}.
	URL string
	// ClientCertFile and ClientKeyFile are the PEM files of the client
	// certificate and its key by which the gateway knows Gosid
	// (--registry-client-cert, --registry-client-key): mutual TLS, both
	// required. They are read once, by NewGateway: a renewed certificate
	// takes effect at the next start.
	ClientCertFile, ClientKeyFile string
	// CAFile is a PEM file of the roots the gateway's server certificate
	// must chain to (--registry-ca); empty trusts the system's roots.
	CAFile string
	// Timeout bounds one call to the gateway, from connecting to the end
	// of its answer (--registry-timeout); zero means 10 s.
	Timeout time.Duration
	// Attempts is how many calls one Check makes at most before it gives
	// up with ErrUnavailable (--registry-attempts); zero means 3.
	Attempts int
	// BackoffBase and BackoffMax shape the wait before a retry: before
	// call n+1 a uniformly random time in [0, min(BackoffBase·2^(n-1),
	// BackoffMax)) ("full jitter", so that many checks that failed
	// together do not retry together). Zero means 200 ms and 5 s.
	BackoffBase, BackoffMax time.Duration
	// BreakerFailures is how many consecutive failed calls to one
	// registry open its circuit; zero means 5.
	BreakerFailures int
	// BreakerOpen is how long an open circuit refuses calls before it
	// lets one trial call through (half-open): its success closes the
	// circuit, its failure opens it again. Zero means 30 s.
	BreakerOpen time.Duration
}

// Gateway is the Registry of a real registry gateway (the SMEV-like
// integration point): JSON over HTTPS with a client certificate.
//
// # Wire protocol
//
// One check is one POST {URL}/v1/checks/{source} (source: ru_sfr, ru_mvd,
// ru_fns) with the header Idempotency-Key: <request_id> and the body
//
//	{"request_id": "…",
//	 "person": {"family_name": "…", "given_name": "…", "middle_name": "…", "birthdate": "YYYY-MM-DD"},
//	 "snils": "123-456-789 64",
//	 "passport": {"series": "4505", "number": "123456", "issue_date": "YYYY-MM-DD",
//	              "issuer": "…", "division_code": "772-093"},
//	 "inn": "…"}
//
// Each registry is sent only what it needs: ru_sfr the person and the
// SNILS; ru_mvd the person and the passport; ru_fns the person, the
// passport and the INN if the citizen typed one. Empty optional members
// (middle_name, issuer, division_code, inn) are left out. The gateway
// answers a repeated request_id without asking the registry again.
//
// A verdict is 200 with
//
//	{"status": "confirmed|mismatch|not_found|invalid", "fields": ["birthdate"],
//	 "inn": "…", "record_id": "…", "checked_at": "RFC 3339"}
//
// where fields (claim names: family_name, given_name, middle_name,
// birthdate, passport_issue_date, inn…) are present exactly for a
// mismatch, inn exactly for a confirmed ru_fns answer (the INN found, or
// the one sent), and record_id (1–128 visible ASCII characters) and
// checked_at always. Members not listed are ignored.
//
// 400 and 422 mean the request is wrong: Check returns ErrBadRequest at
// once. 408, 429, 5xx, timeouts, connection and TLS failures and
// malformed answers (not JSON, an unknown status, missing members, more
// than 64 KiB) are retried within the check's Attempts with backoff, then
// Check returns ErrUnavailable. Any other status (a redirect, 401, 403,
// 404: the configuration is wrong) ends the check with ErrUnavailable
// without a retry.
//
// # Circuit breaker
//
// Each registry has its own circuit (sony/gobreaker): BreakerFailures
// consecutive failed calls open it, and while it is open Check returns
// ErrUnavailable at once without a call; after BreakerOpen one trial call
// decides. Bad requests count as answers (the gateway is up); a check
// abandoned by its caller (ctx cancelled) counts as neither.
//
// # Metrics
//
//	gosid_registry_calls_total{source,outcome}  one per Check; outcome: confirmed,
//	    mismatch, not_found, invalid, unavailable, bad_request, circuit_open
//	    (refused by the open circuit without a call)
//	gosid_registry_call_seconds{source}         a Check's duration, retries included
//	gosid_registry_retries_total{source}        calls repeated after a failure
//	gosid_registry_circuit_open{source}         1 while the circuit is open or half-open
//
// Logs name the request by its ID and source (Request.LogValue), never by
// documents or names.
type Gateway struct {
	base     string
	client   *http.Client
	timeout  time.Duration
	attempts int
	backoff  func(retry int) time.Duration
	breakers map[Source]*gobreaker.CircuitBreaker[Result]
	log      *slog.Logger

	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	open     *prometheus.GaugeVec
}

var _ Registry = (*Gateway)(nil)

// Outcomes of a Check, the metrics' outcome label beside the statuses.
const (
	outcomeUnavailable = "unavailable"
	outcomeBadRequest  = "bad_request"
	outcomeCircuitOpen = "circuit_open"
)

// NewGateway reads the certificate files, checks cfg and registers the
// metrics with metrics (unless nil). A nil log discards.
func NewGateway(cfg GatewayConfig, metrics prometheus.Registerer, log *slog.Logger) (*Gateway, error) {
	base, err := gatewayBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := gatewayTLS(cfg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout < 0 || cfg.Attempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 || cfg.BreakerFailures < 0 || cfg.BreakerOpen < 0 {
		return nil, errors.New("registry gateway: a negative timeout, attempt count, backoff or breaker setting")
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	g := &Gateway{
		base: base,
		client: &http.Client{
			Transport: transport,
			// A redirect is a misconfiguration, not somewhere to send
			// citizens' documents.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:  cfg.Timeout,
		attempts: cfg.Attempts,
		backoff:  fullJitter(cfg.BackoffBase, cfg.BackoffMax),
		breakers: make(map[Source]*gobreaker.CircuitBreaker[Result]),
		log:      log,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gosid_registry_calls_total",
			Help: "Registry checks through the gateway, by registry and outcome.",
		}, []string{"source", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gosid_registry_call_seconds",
			Help:    "Time a registry check through the gateway took, retries included, by registry.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"source"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gosid_registry_retries_total",
			Help: "Calls to the registry gateway repeated after a failed one, by registry.",
		}, []string{"source"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gosid_registry_circuit_open",
			Help: "1 while the circuit of a registry is open or half-open (calls refused or on trial).",
		}, []string{"source"}),
	}
	for _, source := range Sources() {
		g.breakers[source] = gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
			Name:    string(source),
			Timeout: cfg.BreakerOpen,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.ConsecutiveFailures >= uint32(cfg.BreakerFailures)
			},
			IsSuccessful:  func(err error) bool { return err == nil || errors.Is(err, ErrBadRequest) },
			IsExcluded:    func(err error) bool { return errors.Is(err, errAbandoned) },
			OnStateChange: g.stateChanged,
		})
		for _, outcome := range []string{string(Confirmed), string(Mismatch), string(NotFound), string(Invalid), outcomeUnavailable, outcomeBadRequest, outcomeCircuitOpen} {
			g.calls.WithLabelValues(string(source), outcome)
		}
		g.retries.WithLabelValues(string(source))
		g.open.WithLabelValues(string(source))
	}
	if metrics != nil {
		for _, c := range []prometheus.Collector{g.calls, g.duration, g.retries, g.open} {
			if err := metrics.Register(c); err != nil {
				return nil, fmt.Errorf("registry gateway: register metrics: %w", err)
			}
		}
	}
	return g, nil
}

func (cfg GatewayConfig) withDefaults() GatewayConfig {
	set := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	set(&cfg.Timeout, DefaultGatewayTimeout)
	set(&cfg.BackoffBase, DefaultBackoffBase)
	set(&cfg.BackoffMax, DefaultBackoffMax)
	set(&cfg.BreakerOpen, DefaultBreakerOpen)
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultGatewayAttempts
	}
	if cfg.BreakerFailures == 0 {
		cfg.BreakerFailures = DefaultBreakerFailures
	}
	return cfg
}

func gatewayBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("registry gateway: the URL must be https://host[:port][/path] with no user, query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func gatewayTLS(cfg GatewayConfig) (*tls.Config, error) {
	if cfg.ClientCertFile == "" || cfg.ClientKeyFile == "" {
		return nil, errors.New("registry gateway: a client certificate and its key are required (mutual TLS)")
	}
	cert, err := tls.LoadX509KeyPair(cfg.ClientCertFile, cfg.ClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("registry gateway: client certificate: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("registry gateway: CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry gateway: CA file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	return c, nil
}

// fullJitter is the wait before retry n (1, 2, …): uniformly random below
// min(base·2^(n-1), max).
func fullJitter(base, max time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		d := base
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		if d <= 0 {
			return 0
		}
		return rand.N(d)
	}
}

func (g *Gateway) stateChanged(name string, from, to gobreaker.State) {
	v := 0.0
	if to != gobreaker.StateClosed {
		v = 1
	}
	g.open.WithLabelValues(name).Set(v)
	g.log.Warn("registry circuit", "source", name, "from", from.String(), "to", to.String())
}

// errAbandoned marks a call cut short by its caller's context: no verdict
// on the gateway's health.
var errAbandoned = errors.New("abandoned by the caller")

// callError is a failed call: why (for logs and the error; never the
// citizen's data) and whether another attempt may help.
type callError struct {
	reason string
	retry  bool
}

func (e *callError) Error() string { return e.reason }

// Check asks the gateway; see Gateway.
func (g *Gateway) Check(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, outcome, err := g.check(ctx, req)
	source := string(req.Source)
	if _, known := g.breakers[req.Source]; !known {
		source = "unknown"
	}
	g.calls.WithLabelValues(source, outcome).Inc()
	g.duration.WithLabelValues(source).Observe(time.Since(start).Seconds())
	return res, err
}

func (g *Gateway) check(ctx context.Context, req Request) (Result, string, error) {
	if err := req.Validate(); err != nil {
		return Result{}, outcomeBadRequest, err
	}
	body, err := json.Marshal(wireRequestOf(req))
	if err != nil {
		return Result{}, outcomeBadRequest, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	breaker := g.breakers[req.Source]
	var last error
	for attempt := 1; attempt <= g.attempts; attempt++ {
		if attempt > 1 {
			g.retries.WithLabelValues(string(req.Source)).Inc()
			if err := sleep(ctx, g.backoff(attempt-1)); err != nil {
				return Result{}, outcomeUnavailable, fmt.Errorf("%w: %s: %w", ErrUnavailable, req.Source, err)
			}
		}
		res, err := breaker.Execute(func() (Result, error) { return g.call(ctx, req, body) })
		if err == nil {
			return res, string(res.Status), nil
		}
		if errors.Is(err, ErrBadRequest) {
			return Result{}, outcomeBadRequest, err
		}
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			outcome := outcomeUnavailable
			if attempt == 1 {
				outcome = outcomeCircuitOpen
			}
			return Result{}, outcome, fmt.Errorf("%w: %s: circuit open", ErrUnavailable, req.Source)
		}
		if errors.Is(err, errAbandoned) {
			return Result{}, outcomeUnavailable, fmt.Errorf("%w: %s: %w", ErrUnavailable, req.Source, ctx.Err())
		}
		last = err
		g.log.WarnContext(ctx, "registry call failed", "request", req, "attempt", attempt, "reason", err.Error())
		if ce, ok := errors.AsType[*callError](err); ok && !ce.retry {
			break
		}
	}
	return Result{}, outcomeUnavailable, fmt.Errorf("%w: %s: %w", ErrUnavailable, req.Source, last)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call makes one call to the gateway within the configured timeout.
func (g *Gateway) call(ctx context.Context, req Request, body []byte) (Result, error) {
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(cctx, http.MethodPost, g.base+"/v1/checks/"+string(req.Source), bytes.NewReader(body))
	if err != nil {
		return Result{}, &callError{reason: "build request: " + err.Error()}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("Idempotency-Key", req.ID)
	resp, err := g.client.Do(hreq)
	if err != nil {
		return Result{}, g.transportError(ctx, cctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return Result{}, g.transportError(ctx, cctx, err)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if len(data) > maxAnswer {
			return Result{}, &callError{reason: "malformed answer: longer than 64 KiB", retry: true}
		}
		res, err := parseAnswer(data)
		if err == nil {
			err = answers(req, res)
		}
		if err != nil {
			return Result{}, &callError{reason: "malformed answer: " + err.Error(), retry: true}
		}
		return res, nil
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return Result{}, fmt.Errorf("%w: the gateway refused it (HTTP %d)", ErrBadRequest, code)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return Result{}, &callError{reason: "HTTP " + strconv.Itoa(code), retry: true}
	default:
		return Result{}, &callError{reason: "unexpected HTTP " + strconv.Itoa(code)}
	}
}

// transportError classifies a failed exchange: the caller gave up, the
// call's own timeout, or a connection or TLS failure.
func (g *Gateway) transportError(ctx, cctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return errAbandoned
	case cctx.Err() != nil:
		return &callError{reason: "no answer within " + g.timeout.String(), retry: true}
	}
	return &callError{reason: err.Error(), retry: true}
}

// The wire request; see Gateway.
type wireRequest struct {
	RequestID string        `json:"request_id"`
	Person    wirePerson    `json:"person"`
	SNILS     string        `json:"snils,omitempty"`
	Passport  *wirePassport `json:"passport,omitempty"`
	INN       string        `json:"inn,omitempty"`
}

type wirePerson struct {
	FamilyName string `json:"family_name"`
	GivenName  string `json:"given_name"`
	MiddleName string `json:"middle_name,omitempty"`
	BirthDate  string `json:"birthdate"`
}

type wirePassport struct {
	Series       string `json:"series"`
	Number       string `json:"number"`
	IssueDate    string `json:"issue_date"`
	Issuer       string `json:"issuer,omitempty"`
	DivisionCode string `json:"division_code,omitempty"`
}

// wireRequestOf is the body for a valid req, with only what its source
// needs.
func wireRequestOf(req Request) wireRequest {
	w := wireRequest{
		RequestID: req.ID,
		Person: wirePerson{
			FamilyName: req.Person.FamilyName,
			GivenName:  req.Person.GivenName,
			MiddleName: req.Person.MiddleName,
			BirthDate:  isoDate(req.Person.BirthDate),
		},
	}
	if req.Source == SFR {
		w.SNILS = req.SNILS
		return w
	}
	p := req.Passport
	w.Passport = &wirePassport{Series: p.Series, Number: p.Number, IssueDate: isoDate(p.IssueDate), Issuer: p.Issuer, DivisionCode: p.DivisionCode}
	if req.Source == FNS {
		w.INN = req.INN
	}
	return w
}

// answers checks that a well-formed answer fits its request: an INN only
// in a confirmed ФНС answer, always there, and the one sent if any.
func answers(req Request, res Result) error {
	switch {
	case req.Source == FNS && res.Status == Confirmed && res.INN == "":
		return errors.New("a confirmed ru_fns answer without inn")
	case (req.Source != FNS || res.Status != Confirmed) && res.INN != "":
		return errors.New("inn outside a confirmed ru_fns answer")
	case req.INN != "" && res.INN != "" && res.INN != strings.TrimSpace(req.INN):
		return errors.New("confirmed an inn other than the one sent")
	}
	return nil
}
