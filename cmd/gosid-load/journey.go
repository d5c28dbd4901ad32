package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gosid/gosid/internal/httpx"
	"github.com/gosid/gosid/verification/registry"
)

// A virtual citizen's journey, without a browser: authorize → sign in
// (password, and an authenticator code for a share of the citizens) →
// consent → code exchange → userinfo → refresh ×k → the citizen portal
// (sign-in with the session already held, home, an application draft,
// sign-out: portal_journey.go) → sign out. Every request goes through the
// cluster's proxies, so any may land on another replica.

// The steps of a journey, in order, as the report lists them.
var journeySteps = []string{"authorize", "login", "mfa", "consent", "token", "userinfo", "refresh",
	"portal_signin", "portal_home", "draft", "portal_logout", "logout"}

// Kinds of failure. A verdict is the server judging valid credentials
// wrong (invalid_grant for a live refresh token, "revoked" for a live
// access token, «Неверный логин или пароль» for the right password): the
// failure a relying party or a citizen acts on wrongly. unavailable is a
// clean 503 that stayed after the retries; server is any other 5xx.
const (
	failTransport   = "transport"
	failServer      = "server_error"
	failUnavailable = "unavailable"
	failVerdict     = "verdict"
	failStatus      = "unexpected_status"
	failInvalid     = "invalid_answer"
)

// kindRestart ends a journey that the citizen starts again after an
// answer lost with a killed replica: not a failure.
const kindRestart = "restart"

// citizen is one virtual citizen's account.
type citizen struct {
	login, password string
	// totp is the authenticator secret, for the share that has one.
	totp string
	// mu serialises its journeys' use of the authenticator (one code per
	// 30-second step: the server refuses a code used before).
	mu       sync.Mutex
	lastStep int64
	// person is the generated identity the account claims and the
	// registries confirmed (its level is standard).
	person *registry.Identity
}

// soakClient is the relying party the citizens sign in to.
type soakClient struct {
	id, secret, redirect string
}

// stepStats is one step's figures across all journeys: the time of each
// answered request (the server's latency) and of each step with its
// retries after 503s (what the citizen waited).
type stepStats struct {
	ok     int64
	durs   []time.Duration
	totals []time.Duration
	// answers are the step's answers one by one (a portal step sends
	// several; durs has their sum): the latency a browser waits for.
	answers  []time.Duration
	fails    map[string]int64
	firstErr string
}

// journeyError is a failed step.
type journeyError struct {
	step, kind, msg string
}

func (e *journeyError) Error() string { return e.step + ": " + e.kind + ": " + e.msg }

// soakRun is the state of one soak: the figures every journey adds to.
type soakRun struct {
	q      *requester
	client soakClient
	// portal is the portal's public URL (its proxy); nil: the journey
	// leaves the portal out.
	portal  *url.URL
	mu      sync.Mutex
	steps   map[string]*stepStats
	retries map[string]int64
	// timeline counts finished journeys and failures per second since
	// the start, for the fault verdicts.
	start    time.Time
	okPerSec map[int]int64
	errAt    []errAt
	// spent is what the journeys spent, for the consistency checks.
	spent spentTokens
	// sms is the slow-sms scenario's SMS side (sms.go); nil in others.
	sms *smsRun
	// failLog, if set, gets the first maxLoggedFailures failures whole
	// (the report keeps one per step).
	failLog    io.Writer
	failLogged int
}

const maxLoggedFailures = 50

type errAt struct {
	at   time.Duration
	kind string
	step string
}

func (s *soakRun) note(step string, total time.Duration, r *response, jerr *journeyError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.steps[step]
	if st == nil {
		st = &stepStats{fails: map[string]int64{}}
		s.steps[step] = st
	}
	if jerr == nil {
		st.ok++
		st.durs = append(st.durs, r.dur)
		st.totals = append(st.totals, total)
		if r.answers != nil {
			st.answers = append(st.answers, r.answers...)
		} else {
			st.answers = append(st.answers, r.dur)
		}
		return
	}
	if jerr.kind == "cancelled" || jerr.kind == kindRestart {
		return // the run's end, or a sign-in the citizen starts again
	}
	st.fails[jerr.kind]++
	if st.firstErr == "" {
		st.firstErr = jerr.msg
	}
	if s.failLog != nil && s.failLogged < maxLoggedFailures {
		s.failLogged++
		fmt.Fprintf(s.failLog, "soak: %.1fs %s %s: %s\n", time.Since(s.start).Seconds(), step, jerr.kind, jerr.msg)
	}
	s.errAt = append(s.errAt, errAt{at: time.Since(s.start), kind: jerr.kind, step: step})
}

func (s *soakRun) retried(kind string) {
	s.mu.Lock()
	s.retries[kind]++
	s.mu.Unlock()
}

func (s *soakRun) journeyDone() {
	s.mu.Lock()
	s.okPerSec[int(time.Since(s.start)/time.Second)]++
	s.mu.Unlock()
}

// maxRetries bounds a request's retries after a transport failure or a
// gateway error; maxRefused bounds the time a request may keep being
// refused with 503 (a citizen told to come back comes back).
const (
	maxRetries = 20
	maxRefused = 2 * time.Minute
)

// lostPause is call's wait before sending a lost request again, and
// maxRefusedPause its longest wait for a 503's Retry-After (variables for
// the tests).
var lostPause, maxRefusedPause = 200 * time.Millisecond, 2 * time.Second

// call sends one request of a step (send makes it afresh for each try):
// a 503 is waited out for its Retry-After (at most 2 s) and sent again, a
// transport failure or the proxy's 502 is retried after 200 ms, up to
// maxRetries times — counted apart from the 503s: a sign-in refused
// twenty times by the hashing budget still gets its retries when its
// replica dies. The answer's duration is the last try's.
func (s *soakRun) call(ctx context.Context, step string, send func() (*response, error)) (*response, *journeyError) {
	first := time.Now()
	for lost := 0; ; {
		r, err := send()
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, &journeyError{step, "cancelled", err.Error()}
		case err != nil || r.status == http.StatusBadGateway:
			if lost < maxRetries {
				lost++
				s.retried("transport")
				sleepCtx(ctx, lostPause)
				continue
			}
			msg := "502 from the proxy: " + snippet(r.body)
			if err != nil {
				msg = err.Error()
			}
			return nil, &journeyError{step, failTransport, fmt.Sprintf("%s (%d retries in %.1f s)", msg, lost, time.Since(first).Seconds())}
		case r.status == http.StatusServiceUnavailable:
			if time.Since(first) < maxRefused {
				s.retried("503")
				wait := 1
				if v, err := strconv.Atoi(r.header.Get("Retry-After")); err == nil && v > 0 {
					wait = v
				} else {
					return nil, &journeyError{step, failStatus, "503 without Retry-After"}
				}
				sleepCtx(ctx, min(time.Duration(wait)*time.Second, maxRefusedPause))
				continue
			}
			return nil, &journeyError{step, failUnavailable, "503 for " + maxRefused.String()}
		case r.status >= 500:
			return nil, &journeyError{step, failServer, fmt.Sprintf("%d %s", r.status, snippet(r.body))}
		}
		return r, nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

var secretRe = regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`)

// journey runs one citizen's journey; it returns the first failed step.
func (s *soakRun) journey(ctx context.Context, c *citizen, refreshes int) *journeyError {
	s.smsPace(ctx, c)
	b := s.browserFor(c)
	cl := s.client
	verifier := randomToken()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := randomToken()[:22], randomToken()[:22]
	params := url.Values{"client_id": {cl.id}, "redirect_uri": {cl.redirect}, "response_type": {"code"}, "scope": {"openid fullname offline_access"},
		"state": {state}, "nonce": {nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"prompt": {"consent"}}
	// trail is the sign-in's answers so far (step, status, where to and
	// the replica's request id), for a failure's message: the replica
	// logs tell the rest.
	var trail []string
	timed := func(step string, send func() (*response, error)) (*response, *journeyError) {
		start := time.Now()
		r, jerr := s.call(ctx, step, send)
		s.note(step, time.Since(start), r, jerr)
		if r != nil {
			trail = append(trail, fmt.Sprintf("%s %d %s [%s]", step, r.status, pathOf(r.location), r.header.Get(httpx.RequestIDHeader)))
		}
		return r, jerr
	}
	r, jerr := timed("authorize", func() (*response, error) { return s.q.get(ctx, b, "/authorize?"+params.Encode()) })
	var code string
	for hop := 0; jerr == nil && code == ""; hop++ {
		if hop > 12 {
			return s.fail("authorize", failInvalid, "more than 12 redirects: "+strings.Join(trail, ", "))
		}
		if r.status != http.StatusFound && r.status != http.StatusSeeOther {
			return s.fail("authorize", failStatus, fmt.Sprintf("hop %d: %d %s; %s", hop, r.status, snippet(r.body), strings.Join(trail, ", ")))
		}
		loc := r.location
		if strings.HasPrefix(loc, cl.redirect+"?") {
			u, _ := url.Parse(loc)
			cb := u.Query()
			switch {
			case cb.Get("error") != "":
				return s.fail("authorize", failInvalid, "error="+cb.Get("error")+" "+cb.Get("error_description"))
			case cb.Get("state") != state:
				return s.fail("authorize", failInvalid, "state mismatch")
			case cb.Get("code") == "":
				return s.fail("authorize", failInvalid, "no code")
			}
			code = cb.Get("code")
			continue
		}
		u, err := s.q.local(loc)
		if err != nil {
			return s.fail("authorize", failInvalid, err.Error())
		}
		switch u.Path {
		case "/login":
			form := url.Values{"login": {c.login}, "password": {c.password}, "next": {u.Query().Get("next")}}
			r, jerr = timed("login", func() (*response, error) { return s.q.post(ctx, b, "/login", form, "", "") })
			if jerr == nil && r.status == http.StatusUnauthorized {
				return s.fail("login", failVerdict, "the right password refused: "+snippet(r.body))
			}
		case "/login/2fa":
			if s.smsOf(c) != nil {
				r, jerr = s.smsMFA(ctx, b, c, timed)
				break
			}
			if c.totp == "" {
				return s.fail("mfa", failInvalid, "a second factor asked of a citizen without one")
			}
			r, jerr = s.mfa(ctx, b, c, timed)
		case "/authorize/consent":
			form := url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}}
			lost := false
			r, jerr = timed("consent", func() (*response, error) {
				r, err := s.q.post(ctx, b, "/authorize/consent", form, "", "")
				lost = lost || err != nil || r.status == http.StatusBadGateway
				return r, err
			})
			if jerr == nil && lost && r.status == http.StatusBadRequest {
				// The first consent's answer was lost (a replica killed
				// after it completed the request): the request is done
				// and the page calls it stale. The citizen starts the
				// sign-in again, as the site's link would.
				s.retried("consent_lost_answer")
				return &journeyError{"consent", kindRestart, "the consent's answer was lost"}
			}
		default:
			r, jerr = timed("authorize", func() (*response, error) { return s.q.get(ctx, b, u.RequestURI()) })
		}
	}
	if jerr != nil {
		return jerr
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cl.redirect}, "code_verifier": {verifier}}
	tok, jerr := s.token(ctx, "token", form)
	if jerr != nil {
		return jerr
	}
	s.spent.code(form)
	idToken := tok.IDToken
	if jerr := s.userinfo(ctx, tok.AccessToken); jerr != nil {
		return jerr
	}
	for range refreshes {
		next, jerr := s.token(ctx, "refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if jerr != nil {
			return jerr
		}
		s.spent.rotated(tok.RefreshToken)
		tok = next
	}
	if s.portal != nil {
		if jerr := s.portalJourney(ctx, b, c); jerr != nil {
			return jerr
		}
	}
	r, jerr = timed("logout", func() (*response, error) { return s.q.post(ctx, b, "/logout", url.Values{}, "", "") })
	if jerr != nil {
		return jerr
	}
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		return s.fail("logout", failStatus, fmt.Sprintf("%d", r.status))
	}
	s.spent.ended(idToken)
	s.journeyDone()
	return nil
}

// fail records a failure found in an answer (not by call).
func (s *soakRun) fail(step, kind, msg string) *journeyError {
	e := &journeyError{step, kind, msg}
	s.note(step, 0, nil, e)
	return e
}

// mfa posts the authenticator's code. A code serves once: a citizen whose
// code of this 30-second step was used waits for the next step.
func (s *soakRun) mfa(ctx context.Context, b *http.Client, c *citizen, timed func(string, func() (*response, error)) (*response, *journeyError)) (*response, *journeyError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The server takes a code of the step before, this one or the next
	// (skew 1), if its step is later than the last it took: use the first
	// such step, waiting (as a citizen would for the app's next code)
	// while it is more than one step ahead.
	target := max(time.Now().Unix()/30, c.lastStep+1)
	if ahead := time.Unix((target-1)*30, 0); time.Now().Before(ahead) {
		sleepCtx(ctx, time.Until(ahead)+50*time.Millisecond)
	}
	code, err := totp.GenerateCode(c.totp, time.Unix(target*30, 0))
	if err != nil {
		return nil, s.fail("mfa", failInvalid, err.Error())
	}
	c.lastStep = target
	r, jerr := timed("mfa", func() (*response, error) {
		return s.q.post(ctx, b, "/login/2fa", url.Values{"code": {code}}, "", "")
	})
	if jerr == nil && r.status == http.StatusUnauthorized {
		return nil, s.fail("mfa", failVerdict, "a right authenticator code refused")
	}
	return r, jerr
}

// token posts a grant; a 400 invalid_grant for a live code or refresh
// token is a verdict.
func (s *soakRun) token(ctx context.Context, step string, form url.Values) (*tokens, *journeyError) {
	start := time.Now()
	lost := false
	r, jerr := s.call(ctx, step, func() (*response, error) {
		r, err := s.q.post(ctx, s.q.plain, "/oauth/token", form, s.client.id, s.client.secret)
		if err != nil || r.status == http.StatusBadGateway {
			lost = true
		}
		return r, err
	})
	if jerr != nil {
		s.note(step, 0, nil, jerr)
		return nil, jerr
	}
	var t tokens
	_ = json.Unmarshal(r.body, &t)
	switch {
	case r.status == http.StatusBadRequest && t.Error == "invalid_grant" && lost && form.Get("grant_type") == "authorization_code":
		// The first exchange's answer was lost (a replica killed after
		// its commit): the code is spent, as RFC 6749 wants, and the
		// site starts the sign-in again, as a citizen's would.
		s.retried("token_lost_answer")
		return nil, &journeyError{step, kindRestart, "the code exchange's answer was lost"}
	case r.status == http.StatusBadRequest && t.Error == "invalid_grant":
		return nil, s.fail(step, failVerdict, "invalid_grant: "+t.Description)
	case r.status != http.StatusOK:
		return nil, s.fail(step, failStatus, fmt.Sprintf("%d %s", r.status, snippet(r.body)))
	case t.AccessToken == "" || t.RefreshToken == "":
		return nil, s.fail(step, failInvalid, "no access or refresh token")
	}
	s.note(step, time.Since(start), r, nil)
	return &t, nil
}

// userinfo reads the claims; 401 or 403 for a live token is a verdict.
func (s *soakRun) userinfo(ctx context.Context, access string) *journeyError {
	start := time.Now()
	r, jerr := s.call(ctx, "userinfo", func() (*response, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", s.q.base+"/userinfo", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		return s.q.do(s.q.plain, req)
	})
	switch {
	case jerr != nil:
		s.note("userinfo", 0, nil, jerr)
		return jerr
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return s.fail("userinfo", failVerdict, fmt.Sprintf("%d for a live access token: %s", r.status, snippet(r.body)))
	case r.status != http.StatusOK:
		return s.fail("userinfo", failStatus, fmt.Sprintf("%d", r.status))
	}
	var claims map[string]any
	if json.Unmarshal(r.body, &claims) != nil || claims["sub"] == nil {
		return s.fail("userinfo", failInvalid, "no sub")
	}
	s.note("userinfo", time.Since(start), r, nil)
	return nil
}

// setupSignIn signs c in with b for the set-up, which is not measured: a
// 503 (the hashing budget, busy with the other citizens' set-up on a
// loaded machine) is waited out for its Retry-After and the form sent
// again, for up to a minute.
func (s *soakRun) setupSignIn(ctx context.Context, b *http.Client, c *citizen, next string) error {
	form := url.Values{"login": {c.login}, "password": {c.password}, "next": {next}}
	for deadline := time.Now().Add(time.Minute); ; {
		r, err := s.q.post(ctx, b, "/login", form, "", "")
		switch {
		case err == nil && r.status == http.StatusSeeOther:
			return nil
		case err == nil && r.status == http.StatusServiceUnavailable && time.Now().Before(deadline):
			wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
			sleepCtx(ctx, time.Duration(min(max(wait, 1), 2))*time.Second)
		default:
			return fmt.Errorf("%v %v", statusOf(r), err)
		}
	}
}

// enrolTOTP signs the citizen in and sets up an authenticator app from
// the security page, as a citizen would: the secret read from the page,
// the first code confirmed.
func (s *soakRun) enrolTOTP(ctx context.Context, c *citizen) error {
	b := s.q.browser()
	if err := s.setupSignIn(ctx, b, c, "/account"); err != nil {
		return fmt.Errorf("sign in to enrol: %w", err)
	}
	r, err := s.q.postFollow(ctx, b, "/account/security/totp")
	if err != nil {
		return err
	}
	m := secretRe.FindSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		return fmt.Errorf("the authenticator page: %d, no secret", r.status)
	}
	c.totp = strings.ReplaceAll(string(m[1]), " ", "")
	code, err := totp.GenerateCode(c.totp, time.Now())
	if err != nil {
		return err
	}
	c.lastStep = time.Now().Unix() / 30
	r, err = s.q.post(ctx, b, "/account/security/totp/confirm", url.Values{"code": {code}}, "", "")
	if err != nil || r.status/100 != 2 && r.status/100 != 3 {
		return fmt.Errorf("confirm the authenticator: %v %v", statusOf(r), err)
	}
	_, _ = s.q.post(ctx, b, "/logout", url.Values{}, "", "")
	return nil
}

func statusOf(r *response) any {
	if r == nil {
		return "no answer"
	}
	return r.status
}

// stepRows turns the figures into the report's rows, in journey order.
func (s *soakRun) stepRows() []soakStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []soakStep
	for _, name := range slices.Concat(journeySteps, smsSteps) {
		st := s.steps[name]
		if st == nil {
			continue
		}
		row := stepRow(name, st.ok, st.durs, st.totals, st.fails, st.firstErr)
		if len(st.answers) > 0 {
			answers := slices.Sorted(slices.Values(st.answers))
			row.AnswerP99ms, row.AnswerMaxms = ms(percentile(answers, 99)), ms(answers[len(answers)-1])
		}
		out = append(out, row)
	}
	return out
}

// stepRow is a report's row: ok answers, the p50, p99 and longest of durs
// (each answer, or each multi-request step's sum), the p99 of totals
// (with the retries before it); each answer's p99 and longest the same as
// durs' (stepRows sets them apart for the portal's steps).
func stepRow(name string, ok int64, durs, totals []time.Duration, fails map[string]int64, firstErr string) soakStep {
	row := soakStep{Step: name, OK: ok, Failures: fails, FirstError: firstErr}
	if len(durs) > 0 {
		durs, totals = slices.Clone(durs), slices.Clone(totals)
		slices.Sort(durs)
		slices.Sort(totals)
		row.P50ms, row.P99ms, row.Maxms = ms(percentile(durs, 50)), ms(percentile(durs, 99)), ms(durs[len(durs)-1])
		row.AnswerP99ms, row.AnswerMaxms = row.P99ms, row.Maxms
		row.WaitP99ms = ms(percentile(totals, 99))
	}
	return row
}

var errNoJourneys = errors.New("no journey completed")

// pathOf is a location without its query (which may carry a code).
func pathOf(loc string) string {
	if i := strings.IndexByte(loc, '?'); i >= 0 {
		return loc[:i]
	}
	return loc
}
