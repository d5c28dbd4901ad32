package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Outcome kinds of a request, reported separately.
const (
	kindOK      = iota
	kindHTTP    // transport error: refused, reset, timeout
	kindStatus  // an HTTP status other than the expected one
	kindInvalid // the expected status with an unusable answer
	kindRefused // 503: the server refused for overload (with Retry-After), not an error
)

// reqError is a failed request or flow, classified.
type reqError struct {
	kind int
	msg  string
}

func (e *reqError) Error() string { return e.msg }

func httpErr(err error) error { return &reqError{kindHTTP, err.Error()} }
func statusErr(what string, status int, body []byte) error {
	kind := kindStatus
	if status == http.StatusServiceUnavailable {
		// Gosid refuses what it cannot do within its budgets with 503 and
		// Retry-After: back-pressure, counted apart from failures.
		kind = kindRefused
	}
	return &reqError{kind, fmt.Sprintf("%s: HTTP %d %s", what, status, snippet(body))}
}
func invalid(format string, a ...any) error { return &reqError{kindInvalid, fmt.Sprintf(format, a...)} }

func kindOf(err error) int {
	if err == nil {
		return kindOK
	}
	var re *reqError
	if errors.As(err, &re) {
		return re.kind
	}
	return kindHTTP
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// newTransport is the one transport of a run: keep-alive connections, at
// least conns idle ones per host so that no worker pays connection set-up
// after the first request, no proxy from the environment, and, unless
// remote is allowed, dials to loopback addresses only.
func newTransport(conns int, loopbackOnly bool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if loopbackOnly {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to connect to %s: not loopback (see --allow-remote)", address)
			}
			return nil
		}
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
}

// requester sends requests to the issuer and counts them.
type requester struct {
	cfg     *config
	base    string // issuer without a trailing slash
	tr      *http.Transport
	plain   *http.Client // no cookies, redirects not followed
	counter atomic.Pointer[atomic.Int64]
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newRequester(cfg *config) *requester {
	tr := newTransport(cfg.Concurrency, !cfg.AllowRemote)
	return &requester{cfg: cfg, base: cfg.Issuer.String(), tr: tr,
		plain: &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: noRedirect}}
}

// browser is a client with a cookie jar that does not follow redirects.
func (q *requester) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: q.tr, Jar: jar, Timeout: q.cfg.Timeout, CheckRedirect: noRedirect}
}

// response is a read answer.
type response struct {
	status   int
	location string
	header   http.Header
	body     []byte
	dur      time.Duration
	// answers, for a step of several requests (dur their sum): each one's.
	answers []time.Duration
}

const maxBody = 4 << 20

// do sends req with c and reads the whole answer.
func (q *requester) do(c *http.Client, req *http.Request) (*response, error) {
	if n := q.counter.Load(); n != nil {
		n.Add(1)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, httpErr(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, httpErr(err)
	}
	return &response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: body, dur: time.Since(start)}, nil
}

func (q *requester) get(ctx context.Context, c *http.Client, path string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", q.base+path, nil)
	if err != nil {
		return nil, invalid("%v", err)
	}
	return q.do(c, req)
}

// post sends a form; id and secret, when given, as HTTP Basic
// authentication (form-encoded first, RFC 6749 §2.3.1).
func (q *requester) post(ctx context.Context, c *http.Client, path string, form url.Values, id, secret string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", q.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, invalid("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return q.do(c, req)
}

// tokens is a token endpoint answer.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	TokenType    string `json:"token_type"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// token posts to the token endpoint and wants a 200 with an access token
// (and an ID token and a refresh token when asked for).
// postFollow posts an empty form to path and follows up to three local
// redirects (an account-centre button and the page it leads to).
func (q *requester) postFollow(ctx context.Context, c *http.Client, path string) (*response, error) {
	r, err := q.post(ctx, c, path, nil, "", "")
	for hop := 0; err == nil && (r.status == http.StatusSeeOther || r.status == http.StatusFound) && hop < 3; hop++ {
		u, lerr := q.local(r.location)
		if lerr != nil {
			return nil, lerr
		}
		r, err = q.get(ctx, c, u.RequestURI())
	}
	return r, err
}

func (q *requester) token(ctx context.Context, form url.Values, id, secret string, basic, wantID, wantRefresh bool) (*tokens, *response, error) {
	if !basic {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
		id, secret = "", ""
	}
	r, err := q.post(ctx, q.plain, "/oauth/token", form, id, secret)
	if err != nil {
		return nil, nil, err
	}
	if r.status != http.StatusOK {
		return nil, r, statusErr("token "+form.Get("grant_type"), r.status, r.body)
	}
	var t tokens
	if err := json.Unmarshal(r.body, &t); err != nil {
		return nil, r, invalid("token %s: %v", form.Get("grant_type"), err)
	}
	switch {
	case t.AccessToken == "":
		return nil, r, invalid("token %s: no access_token", form.Get("grant_type"))
	case wantID && t.IDToken == "":
		return nil, r, invalid("token %s: no id_token", form.Get("grant_type"))
	case wantRefresh && t.RefreshToken == "":
		return nil, r, invalid("token %s: no refresh_token (is offline_access in --scope and granted to the client?)", form.Get("grant_type"))
	}
	return &t, r, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authResult is a finished authorization request.
type authResult struct {
	code, verifier string
	login          time.Duration // the POST /login, when there was one
	signedIn       bool
}

// authorize runs the browser part of an authorization-code request with
// PKCE in b: /authorize, /authorize/continue, the sign-in form when there
// is no session and signIn is true, consent when asked, until the redirect
// to the client, which is not followed.
func (q *requester) authorize(ctx context.Context, b *http.Client, signIn bool) (*authResult, error) {
	cfg := q.cfg
	verifier := randomToken()
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := randomToken()[:22], randomToken()[:22]
	params := url.Values{"client_id": {cfg.ClientID}, "redirect_uri": {cfg.RedirectURI}, "response_type": {"code"}, "scope": {cfg.Scope},
		"state": {state}, "nonce": {nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	res := &authResult{verifier: verifier}
	r, err := q.get(ctx, b, "/authorize?"+params.Encode())
	for hop := 0; ; hop++ {
		if err != nil {
			return nil, err
		}
		if hop > 10 {
			return nil, invalid("authorize: more than 10 redirects")
		}
		if r.status != http.StatusFound && r.status != http.StatusSeeOther {
			return nil, statusErr("authorize hop "+fmt.Sprint(hop), r.status, r.body)
		}
		loc := r.location
		if strings.HasPrefix(loc, cfg.RedirectURI) && len(loc) > len(cfg.RedirectURI) && strings.ContainsRune("?#", rune(loc[len(cfg.RedirectURI)])) {
			u, err := url.Parse(loc)
			if err != nil {
				return nil, invalid("authorize: callback %q: %v", loc, err)
			}
			cb := u.Query()
			switch {
			case cb.Get("error") != "":
				return nil, invalid("authorize: error=%s %s", cb.Get("error"), cb.Get("error_description"))
			case cb.Get("state") != state:
				return nil, invalid("authorize: state %q, want %q", cb.Get("state"), state)
			case cb.Get("iss") != "" && cb.Get("iss") != q.base:
				return nil, invalid("authorize: iss %q, want %q", cb.Get("iss"), q.base)
			case cb.Get("code") == "":
				return nil, invalid("authorize: no code in the callback")
			}
			res.code = cb.Get("code")
			return res, nil
		}
		// Not `:=`: the answer of the next hop must reach the err checked at
		// the top of the loop, or a failed request is read as a nil answer.
		u, lerr := q.local(loc)
		if lerr != nil {
			return nil, lerr
		}
		switch u.Path {
		case "/login":
			if !signIn {
				return nil, invalid("authorize: asked to sign in again (session lost)")
			}
			if res.signedIn {
				return nil, invalid("authorize: asked to sign in again right after signing in")
			}
			form := url.Values{"login": {cfg.Login}, "password": {cfg.Password}, "next": {u.Query().Get("next")}}
			r, err = q.post(ctx, b, "/login", form, "", "")
			if err == nil {
				res.login, res.signedIn = r.dur, true
				if r.status == http.StatusUnauthorized || r.status == http.StatusTooManyRequests {
					return nil, statusErr("login (wrong --login/--password, or locked out)", r.status, nil)
				}
			}
		case "/authorize/consent":
			r, err = q.post(ctx, b, "/authorize/consent", url.Values{"id": {u.Query().Get("id")}, "decision": {"allow"}}, "", "")
		default:
			r, err = q.get(ctx, b, u.RequestURI())
		}
	}
}

// local resolves a redirect against the issuer and refuses one that
// leaves it: the load goes nowhere else.
func (q *requester) local(loc string) (*url.URL, error) {
	u, err := q.cfg.Issuer.Parse(loc)
	if err != nil {
		return nil, invalid("redirect %q: %v", loc, err)
	}
	if u.Scheme != q.cfg.Issuer.Scheme || u.Host != q.cfg.Issuer.Host {
		return nil, invalid("redirect to %s, outside the issuer: not followed", loc)
	}
	p := strings.TrimPrefix(u.Path, q.cfg.Issuer.Path)
	if !strings.HasPrefix(p, "/") {
		return nil, invalid("redirect to %s, outside the issuer: not followed", loc)
	}
	u.Path = p
	u.RawPath = ""
	return u, nil
}

func (q *requester) exchange(ctx context.Context, a *authResult) (*tokens, *response, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {a.code}, "redirect_uri": {q.cfg.RedirectURI}, "code_verifier": {a.verifier}}
	wantRefresh := strings.Contains(" "+q.cfg.Scope+" ", " offline_access ")
	return q.token(ctx, form, q.cfg.ClientID, q.cfg.ClientSecret, true, true, wantRefresh)
}

// jwtAlg returns the alg of a compact JWS's header, or "" for anything
// else (an opaque token).
func jwtAlg(tok string) string {
	if strings.Count(tok, ".") != 2 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.Alg
}
