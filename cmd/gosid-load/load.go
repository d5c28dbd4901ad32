package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rowStats collects one row of a step: a kind of request or iteration.
type rowStats struct {
	ok, httpErrs, statusErrs, invalid, refused int64
	durs                                       []time.Duration // of successful ones
	firstErr                                   string
}

func (s *rowStats) record(d time.Duration, err error) {
	switch kindOf(err) {
	case kindOK:
		s.ok++
		s.durs = append(s.durs, d)
		return
	case kindHTTP:
		s.httpErrs++
	case kindStatus:
		s.statusErrs++
	case kindRefused:
		s.refused++
	default:
		s.invalid++
	}
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

func (s *rowStats) merge(o *rowStats) {
	s.ok += o.ok
	s.httpErrs += o.httpErrs
	s.statusErrs += o.statusErrs
	s.invalid += o.invalid
	s.refused += o.refused
	s.durs = append(s.durs, o.durs...)
	if s.firstErr == "" {
		s.firstErr = o.firstErr
	}
}

// recorder is one worker's rows.
type recorder map[string]*rowStats

func (r recorder) record(row string, d time.Duration, err error) {
	s := r[row]
	if s == nil {
		s = &rowStats{}
		r[row] = s
	}
	s.record(d, err)
}

// worker is one sequential client, with what it keeps between steps: a
// signed-in browser and its latest tokens.
type worker struct {
	id      int
	browser *http.Client
	tok     *tokens
}

// phase is one step: the rows it reports (the first is the step's own
// figure) and one iteration.
type phase struct {
	name string
	rows []rowSpec
	iter func(ctx context.Context, w *worker, rec recorder)
}

// rowSpec names a row and says what raw work bounds it.
type rowSpec struct {
	name  string
	limit func() *limit // nil: no limit
}

type loader struct {
	cfg *config
	q   *requester
	log io.Writer

	discovery []byte
	rsaBits   int
	cal       *calibration

	workers []*worker

	// algs of the tokens seen, per row, for the signature limits.
	mu   sync.Mutex
	algs map[string][]string
}

func newLoader(cfg *config, log io.Writer) *loader {
	return &loader{cfg: cfg, q: newRequester(cfg), log: log, algs: map[string][]string{}}
}

func (l *loader) close() { l.q.tr.CloseIdleConnections() }

func (l *loader) logf(format string, a ...any) { fmt.Fprintf(l.log, format+"\n", a...) }

// noteAlgs remembers, once per row, which signatures a token answer
// needed of the server: the ID token's and a JWT access token's.
func (l *loader) noteAlgs(row string, t *tokens) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.algs[row]; ok {
		return
	}
	var algs []string
	for _, tok := range []string{t.IDToken, t.AccessToken} {
		if a := jwtAlg(tok); a != "" {
			algs = append(algs, a)
		}
	}
	l.algs[row] = algs
}

func (l *loader) rowAlgs(row string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.algs[row]
}

// run checks the server, measures the limits, prepares the workers and
// runs the steps in order.
func (l *loader) run(ctx context.Context) (*report, error) {
	cfg := l.cfg
	if err := l.probe(ctx); err != nil {
		return nil, err
	}
	rep := &report{Issuer: l.q.base, Concurrency: cfg.Concurrency, Duration: cfg.Duration.String(), MaxRequests: cfg.MaxRequests,
		ServerCores: cfg.ServerCores, Started: time.Now().UTC().Format(time.RFC3339)}
	if cfg.Calibrate > 0 {
		l.logf("measuring raw limits (%s each)…", cfg.Calibrate)
		cal, err := calibrate(ctx, cfg, l.rsaBits, l.discovery)
		if err != nil {
			return nil, err
		}
		l.cal = cal
		rep.Calibration = cal
	}
	if slices.ContainsFunc(cfg.Steps, func(s string) bool { return slices.Contains(needsUser, s) }) {
		if err := l.setup(ctx); err != nil {
			return nil, err
		}
	}
	for _, name := range cfg.Steps {
		if ctx.Err() != nil {
			break
		}
		p := l.phase(name)
		l.logf("step %s: %d workers for %s…", name, cfg.Concurrency, cfg.Duration)
		rep.Steps = append(rep.Steps, l.runPhase(ctx, p))
	}
	if ctx.Err() != nil {
		l.applyLimits(rep.Steps)
		return rep, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if l.cal != nil && len(rep.Steps) > 0 {
		// Again after the load: on a shared machine either measurement
		// may be low. The limits use the higher of the two.
		l.logf("measuring raw limits again…")
		after, err := calibrate(ctx, cfg, l.rsaBits, l.discovery)
		if err != nil {
			return rep, err
		}
		l.cal.mergeMax(after)
	}
	l.applyLimits(rep.Steps)
	return rep, nil
}

// probe fetches the discovery document and the JWKS: the server answers,
// is the issuer asked for, and signs RS256 with a key of some size.
func (l *loader) probe(ctx context.Context) error {
	r, err := l.q.get(ctx, l.q.plain, "/.well-known/openid-configuration")
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("discovery: %w", statusErr("GET /.well-known/openid-configuration", r.status, r.body))
	}
	var d struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	if d.Issuer != l.q.base {
		return fmt.Errorf("the server's issuer is %q, not %q: pass --issuer exactly as the server's public URL", d.Issuer, l.q.base)
	}
	l.discovery = r.body
	r, err = l.q.get(ctx, l.q.plain, "/keys")
	if err != nil || r.status != http.StatusOK {
		return fmt.Errorf("GET /keys: %v", err)
	}
	var set struct {
		Keys []struct {
			Kty, N string
		} `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &set); err != nil {
		return fmt.Errorf("GET /keys: %w", err)
	}
	for _, k := range set.Keys {
		if k.Kty == "RSA" {
			if n, err := base64.RawURLEncoding.DecodeString(k.N); err == nil {
				l.rsaBits = max(l.rsaBits, 8*len(n))
			}
		}
	}
	return nil
}

// setup signs every worker in once (its own browser session) and gets it
// tokens, concurrently.
func (l *loader) setup(ctx context.Context) error {
	l.logf("setting up %d workers (one sign-in and code flow each)…", l.cfg.Concurrency)
	l.workers = make([]*worker, l.cfg.Concurrency)
	// One first, so that a wrong password fails once, not N times (and
	// does not lock the account).
	for i := range l.workers {
		l.workers[i] = &worker{id: i, browser: l.q.browser()}
	}
	if err := l.refreshWorker(ctx, l.workers[0], true); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(l.workers))
	for i, w := range l.workers[1:] {
		wg.Go(func() { errs[i] = l.refreshWorker(ctx, w, true) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	return nil
}

// refreshWorker gets a worker new tokens through a code flow in its
// browser, signing in when needed and allowed.
func (l *loader) refreshWorker(ctx context.Context, w *worker, signIn bool) error {
	a, err := l.q.authorize(ctx, w.browser, signIn)
	if err != nil {
		return err
	}
	t, _, err := l.q.exchange(ctx, a)
	if err != nil {
		return err
	}
	w.tok = t
	return nil
}

func (l *loader) phase(name string) *phase {
	q := l.q
	cfg := l.cfg
	sig := func(row string) func() *limit { return func() *limit { return l.signLimit(row) } }
	verify := func() *limit {
		if len(l.workers) == 0 {
			return nil
		}
		if a := jwtAlg(l.workers[0].tok.AccessToken); a != "" {
			return l.limitOf("verify:" + a)
		}
		return l.limitOf("http")
	}
	httpOnly := func() *limit { return l.limitOf("http") }
	switch name {
	case "signin":
		return &phase{name: name,
			rows: []rowSpec{{"signin+code", func() *limit { return l.limitOf("argon2id") }},
				{"└ POST /login", func() *limit { return l.limitOf("argon2id") }},
				{"└ code exchange", sig("└ code exchange")}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				start := time.Now()
				a, err := q.authorize(ctx, q.browser(), true)
				if err != nil {
					rec.record("signin+code", 0, err)
					return
				}
				if !a.signedIn {
					rec.record("signin+code", 0, invalid("a fresh browser was not asked to sign in"))
					return
				}
				rec.record("└ POST /login", a.login, nil)
				t, r, err := q.exchange(ctx, a)
				if err != nil {
					rec.record("└ code exchange", 0, err)
					rec.record("signin+code", 0, err)
					return
				}
				l.noteAlgs("└ code exchange", t)
				rec.record("└ code exchange", r.dur, nil)
				rec.record("signin+code", time.Since(start), nil)
			}}
	case "code":
		return &phase{name: name,
			rows: []rowSpec{{"code", sig("code")}, {"└ authorize (SSO)", httpOnly}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				start := time.Now()
				a, err := q.authorize(ctx, w.browser, false)
				rec.record("└ authorize (SSO)", time.Since(start), err)
				if err != nil {
					return
				}
				t, r, err := q.exchange(ctx, a)
				if err != nil {
					rec.record("code", 0, err)
					return
				}
				l.noteAlgs("code", t)
				rec.record("code", r.dur, nil)
			}}
	case "refresh":
		return &phase{name: name,
			rows: []rowSpec{{"refresh", sig("refresh")}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				if w.tok == nil || w.tok.RefreshToken == "" {
					// Lost the chain to an error: start a new one (not measured).
					if err := l.refreshWorker(ctx, w, false); err != nil {
						rec.record("refresh", 0, fmt.Errorf("new refresh token: %w", err))
						return
					}
				}
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.tok.RefreshToken}}
				t, r, err := q.token(ctx, form, cfg.ClientID, cfg.ClientSecret, true, false, true)
				if err != nil {
					w.tok.RefreshToken = ""
					rec.record("refresh", 0, err)
					return
				}
				if t.RefreshToken == form.Get("refresh_token") {
					rec.record("refresh", 0, invalid("refresh token not rotated"))
					return
				}
				l.noteAlgs("refresh", t)
				w.tok = t
				rec.record("refresh", r.dur, nil)
			}}
	case "userinfo":
		return &phase{name: name,
			rows: []rowSpec{{"userinfo", verify}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				req, _ := http.NewRequestWithContext(ctx, "GET", q.base+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+w.tok.AccessToken)
				r, err := q.do(q.plain, req)
				if err == nil && r.status != http.StatusOK {
					err = statusErr("userinfo", r.status, r.body)
				}
				if err == nil {
					var info struct {
						Sub string `json:"sub"`
					}
					if json.Unmarshal(r.body, &info) != nil || info.Sub == "" {
						err = invalid("userinfo: no sub in %s", snippet(r.body))
					}
				}
				recordResp(rec, "userinfo", r, err)
			}}
	case "introspect":
		return &phase{name: name,
			rows: []rowSpec{{"introspect", verify}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				r, err := q.post(ctx, q.plain, "/oauth/introspect", url.Values{"token": {w.tok.AccessToken}}, cfg.ClientID, cfg.ClientSecret)
				if err == nil && r.status != http.StatusOK {
					err = statusErr("introspect", r.status, r.body)
				}
				if err == nil {
					var m struct {
						Active bool `json:"active"`
					}
					if json.Unmarshal(r.body, &m) != nil || !m.Active {
						err = invalid("introspect: not active: %s", snippet(r.body))
					}
				}
				recordResp(rec, "introspect", r, err)
			}}
	case "client_credentials":
		return &phase{name: name,
			rows: []rowSpec{{"client_credentials", sig("client_credentials")}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				form := url.Values{"grant_type": {"client_credentials"}}
				if cfg.CCScope != "" {
					form.Set("scope", cfg.CCScope)
				}
				t, r, err := q.token(ctx, form, cfg.CCClientID, cfg.CCClientSecret, !cfg.CCAuthPost, false, false)
				if err == nil {
					l.noteAlgs("client_credentials", t)
				}
				recordResp(rec, "client_credentials", r, err)
			}}
	case "discovery", "jwks":
		path := "/.well-known/openid-configuration"
		if name == "jwks" {
			path = "/keys"
		}
		return &phase{name: name,
			rows: []rowSpec{{name, httpOnly}},
			iter: func(ctx context.Context, w *worker, rec recorder) {
				r, err := q.get(ctx, q.plain, path)
				if err == nil && r.status != http.StatusOK {
					err = statusErr("GET "+path, r.status, r.body)
				}
				if err == nil && !json.Valid(r.body) {
					err = invalid("GET %s: not JSON", path)
				}
				recordResp(rec, name, r, err)
			}}
	}
	panic("unknown step " + name)
}

func recordResp(rec recorder, row string, r *response, err error) {
	var d time.Duration
	if r != nil {
		d = r.dur
	}
	rec.record(row, d, err)
}

// runPhase runs p on every worker until the duration is over or the
// request cap is reached; requests under way then finish.
func (l *loader) runPhase(ctx context.Context, p *phase) *stepResult {
	cfg := l.cfg
	var requests atomic.Int64
	l.q.counter.Store(&requests)
	defer l.q.counter.Store(nil)
	workers := l.workers
	if len(workers) == 0 {
		workers = make([]*worker, cfg.Concurrency)
		for i := range workers {
			workers[i] = &worker{id: i}
		}
	}
	recs := make([]recorder, len(workers))
	var iterations atomic.Int64
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i, w := range workers {
		recs[i] = recorder{}
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) && requests.Load() < cfg.MaxRequests {
				p.iter(ctx, w, recs[i])
				iterations.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := &stepResult{Step: p.name, Seconds: elapsed.Seconds(), Requests: requests.Load(), Iterations: iterations.Load(),
		Capped: requests.Load() >= cfg.MaxRequests}
	for _, spec := range p.rows {
		all := &rowStats{}
		for _, r := range recs {
			if s := r[spec.name]; s != nil {
				all.merge(s)
			}
		}
		row := rowResult{Row: spec.name, OK: all.ok, HTTPErrors: all.httpErrs, Non2xx: all.statusErrs, Invalid: all.invalid, Refused: all.refused,
			PerSecond: float64(all.ok) / elapsed.Seconds(), FirstError: all.firstErr}
		if len(all.durs) > 0 {
			slices.Sort(all.durs)
			row.P50ms = ms(percentile(all.durs, 50))
			row.P90ms = ms(percentile(all.durs, 90))
			row.P99ms = ms(percentile(all.durs, 99))
			row.Maxms = ms(all.durs[len(all.durs)-1])
		}
		res.Rows = append(res.Rows, row)
	}
	res.specs = p.rows
	return res
}

// applyLimits sets every row's limit and ratio from the calibration.
func (l *loader) applyLimits(steps []*stepResult) {
	if l.cal == nil {
		return
	}
	for _, s := range steps {
		for i, spec := range s.specs {
			if spec.limit == nil {
				continue
			}
			if lim := spec.limit(); lim != nil && lim.PerSecond > 0 {
				s.Rows[i].Limit = lim
				s.Rows[i].Ratio = s.Rows[i].PerSecond / lim.PerSecond
			}
		}
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// limit is what a row is compared with.
type limit struct {
	Desc      string  `json:"desc"`
	PerCore   float64 `json:"per_core_per_s"`
	PerSecond float64 `json:"per_s"` // the figure the ratio uses
	Basis     string  `json:"basis"`
}

// limitOf is the limit of requests that need one operation key: the rate
// with GOMAXPROCS goroutines, or the one-goroutine rate × --server-cores.
func (l *loader) limitOf(key string) *limit {
	return l.combined([]string{key})
}

// combined is the limit of requests that each need every operation of
// keys (repeated keys count as often): 1 / Σ 1/rate.
func (l *loader) combined(keys []string) *limit {
	if l.cal == nil || len(keys) == 0 {
		return nil
	}
	var invCore, invAll float64
	var names []string
	count := map[string]int{}
	for _, k := range keys {
		r := l.cal.Rates[k]
		if r == nil || r.Single <= 0 || r.Parallel <= 0 {
			return nil
		}
		// Per core: the better of the one-goroutine rate and the parallel
		// rate per P (the same thing, measured twice).
		invCore += 1 / max(r.Single, r.Parallel/float64(l.cal.GOMAXPROCS))
		invAll += 1 / r.Parallel
		if count[k]++; count[k] == 1 {
			names = append(names, k)
		}
	}
	for i, k := range names {
		names[i] = l.cal.Rates[k].Name
		if count[k] > 1 {
			names[i] = fmt.Sprintf("%d × %s", count[k], names[i])
		}
	}
	lim := &limit{PerCore: 1 / invCore}
	lim.Desc = strings.Join(names, " + ")
	switch {
	case keys[0] == "http":
		// Not per core: the trivial handler's round trips at --concurrency.
		lim.PerSecond = 1 / invAll
		lim.Basis = fmt.Sprintf("measured with %d clients", l.cfg.Concurrency)
	case l.cfg.ServerCores > 0:
		lim.PerSecond = lim.PerCore * float64(l.cfg.ServerCores)
		lim.Basis = fmt.Sprintf("per core × %d server cores", l.cfg.ServerCores)
	default:
		lim.PerSecond = 1 / invAll
		lim.Basis = fmt.Sprintf("measured with %d goroutines", l.cal.GOMAXPROCS)
	}
	return lim
}

// signLimit: the signatures a token answer of row needed (an ID token and
// a JWT access token: two), as seen in the answers.
func (l *loader) signLimit(row string) *limit {
	algs := l.rowAlgs(row)
	if len(algs) == 0 {
		return nil
	}
	keys := make([]string, len(algs))
	for i, a := range algs {
		keys[i] = "sign:" + a
	}
	return l.combined(keys)
}
