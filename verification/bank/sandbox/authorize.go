package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// cookieName holds the browser's half of the anti-forgery binding.
const cookieName = "sandbox_bank_af"

// authError is an authorization error to send back to the client.
type authError struct{ code, description string }

// showAuthorize validates an authorization request and shows the test
// customers.
func (s *Sandbox) showAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			s.badRequest(w, "parameter "+k+" is repeated")
			return
		}
	}
	// RFC 6749 §4.1.2.1: with a missing or wrong client or redirect URI,
	// tell the person, never redirect.
	if q.Get("client_id") == "" || !equalSecret(q.Get("client_id"), s.cfg.ClientID) {
		s.badRequest(w, "unknown client_id")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(s.cfg.RedirectURIs, redirectURI) {
		s.badRequest(w, "redirect_uri is not registered for the client")
		return
	}
	state := q.Get("state")
	if e := validateAuthorize(q); e != nil {
		s.cfg.Log.InfoContext(r.Context(), "sandbox bank: authorization request refused", "error", e.code, "reason", e.description)
		s.redirect(w, r, redirectURI, state, url.Values{"error": {e.code}, "error_description": {e.description}}, http.StatusFound)
		return
	}
	now := s.cfg.Now()
	// One value per browser, so that two tabs' pages both stay valid.
	browser := randomString(32)
	if c, err := r.Cookie(cookieName); err == nil && len(c.Value) == len(browser) {
		browser = c.Value
	}
	req := &authRequest{
		redirectURI: redirectURI, state: state, nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"),
		browser: browser, expires: now.Add(requestTTL),
	}
	s.mu.Lock()
	token, ok := put(s.requests, req, func(a *authRequest) bool { return !now.Before(a.expires) })
	s.mu.Unlock()
	if !ok {
		s.redirect(w, r, redirectURI, state, url.Values{"error": {"temporarily_unavailable"}}, http.StatusFound)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: browser, Path: s.prefix + "/authorize",
		MaxAge: int(requestTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil,
	})
	s.pages.render(w, r, http.StatusOK, "authorize", pickView{Token: token, Customers: customerViews()},
		formAction(redirectURI))
}

// validateAuthorize checks what follows a valid client and redirect URI,
// in the order RFC 6749 and RFC 7636 name them.
func validateAuthorize(q url.Values) *authError {
	switch {
	case q.Get("request") != "":
		return &authError{"request_not_supported", "request objects are not supported"}
	case q.Get("request_uri") != "":
		return &authError{"request_uri_not_supported", "request_uri is not supported"}
	case q.Get("response_type") == "":
		return &authError{"invalid_request", "response_type is required"}
	case q.Get("response_type") != "code":
		return &authError{"unsupported_response_type", "only response_type=code is supported"}
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		return &authError{"invalid_request", "only response_mode=query is supported"}
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return &authError{"invalid_scope", "scope must contain openid"}
	case q.Get("code_challenge") == "":
		return &authError{"invalid_request", "code_challenge is required (PKCE)"}
	case q.Get("code_challenge_method") != "S256":
		return &authError{"invalid_request", "code_challenge_method must be S256"}
	case !validChallenge(q.Get("code_challenge")):
		return &authError{"invalid_request", "code_challenge must be 43 base64url characters"}
	case slices.Contains(strings.Fields(q.Get("prompt")), "none"):
		return &authError{"login_required", "the sandbox bank always asks which customer signs in"}
	}
	return nil
}

// validChallenge: an S256 challenge is a SHA-256 in unpadded base64url.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// submitAuthorize takes the customer's choice and sends the browser back
// with a code, or with access_denied for «Отменить».
func (s *Sandbox) submitAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badRequest(w, "unreadable form")
		return
	}
	token := r.PostForm.Get("request")
	cookie, err := r.Cookie(cookieName)
	now := s.cfg.Now()
	s.mu.Lock()
	req, ok := s.requests[token]
	bound := ok && err == nil && equalSecret(cookie.Value, req.browser) && now.Before(req.expires)
	if bound {
		delete(s.requests, token) // the token is used up, whatever was chosen
	}
	s.mu.Unlock()
	if !bound {
		// Unknown, expired, used, or not this browser's: we cannot
		// trust the redirect URI, so tell the person.
		s.badRequest(w, "the page has expired or was not opened in this browser; start again from the site")
		return
	}
	if r.PostForm.Has("cancel") {
		s.redirect(w, r, req.redirectURI, req.state, url.Values{"error": {"access_denied"}, "error_description": {"the customer cancelled"}}, http.StatusSeeOther)
		return
	}
	customer, ok := customerBySub(r.PostForm.Get("customer"))
	if !ok {
		s.badRequest(w, "unknown test customer")
		return
	}
	g := &grant{
		sub: customer.Sub, redirectURI: req.redirectURI, nonce: req.nonce, challenge: req.challenge,
		scope: req.scope, authTime: now, expires: now.Add(codeTTL),
	}
	s.mu.Lock()
	code, ok := put(s.codes, g, func(g *grant) bool { return !now.Before(g.expires) })
	s.mu.Unlock()
	if !ok {
		s.redirect(w, r, req.redirectURI, req.state, url.Values{"error": {"temporarily_unavailable"}}, http.StatusSeeOther)
		return
	}
	s.cfg.Log.InfoContext(r.Context(), "sandbox bank: customer signed in", "sub", customer.Sub)
	s.redirect(w, r, req.redirectURI, req.state, url.Values{"code": {code}}, http.StatusSeeOther)
}

// redirect sends the browser to the client's redirect URI with params,
// state (when the client sent one) and iss (RFC 9207).
func (s *Sandbox) redirect(w http.ResponseWriter, r *http.Request, redirectURI, state string, params url.Values, status int) {
	u, err := url.Parse(redirectURI) // registered, so parseable
	if err != nil {
		s.badRequest(w, "redirect_uri is not a URL")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", s.cfg.Issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), status)
}

// badRequest shows the 400 page; detail (English, no personal data) goes
// to the log and, as a hint, to the page.
func (s *Sandbox) badRequest(w http.ResponseWriter, detail string) {
	s.cfg.Log.Info("sandbox bank: bad request", "reason", detail)
	s.pages.render(w, nil, http.StatusBadRequest, "error", errorView{Detail: detail}, "")
}

// formAction is the origin the page's form may end up at after its
// redirect (CSP form-action applies to redirects too).
func formAction(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
