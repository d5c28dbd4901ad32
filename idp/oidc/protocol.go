package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
)

// The client-authenticating endpoints (token, introspection, revocation,
// device authorization) go through serveClientEndpoint, which answers what
// op would get wrong and then runs op with the request authenticated:
//
//	OPTIONS (token, revocation)   CORS preflight (cors.go)
//	any method but POST           405, Allow: POST
//	a query string                400: parameters only in the body (RFC 6749
//	                              section 3.2; a secret in a URL ends up in logs)
//	not a form, a repeated        400 invalid_request
//	parameter
//	client authentication         clientauth.go; failure: 401 invalid_client
//	the grant                     token: tokens.go, on op's request parsing;
//	                              the others: op; buffered, an error is
//	                              rewritten as below
//
// Every error is RFC 6749 section 5.2 JSON ({"error", "error_description"})
// with Cache-Control: no-store. op answers some errors in plain text
// ("ErrorType=invalid_client Parent=…") and puts Go error strings (a parse
// error, a database error) into descriptions; cleanError keeps op's error
// code and status and replaces any description that is not plain prose.

// oauthErr is an RFC 6749 section 5.2 error response.
type oauthErr struct {
	Status      int
	Code        string
	Description string
}

func writeOAuthError(w http.ResponseWriter, e *oauthErr) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Del("Content-Length")
	// No WWW-Authenticate challenge on invalid_client, although RFC 6749
	// section 5.2 asks for one after Basic: certified clients
	// (openid-client) then report the challenge instead of the JSON error.
	if e.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(e.Status)
	_ = jsonEncode(w, map[string]string{"error": e.Code, "error_description": e.Description})
}

// maxProtocolBody bounds a protocol request's body: token requests are
// small, and the body is read in full before anything is checked.
const maxProtocolBody = 64 << 10

// serveClientEndpoint fronts op's handler (next) for a client-
// authenticating endpoint.
func (p *Provider) serveClientEndpoint(w http.ResponseWriter, r *http.Request, next http.Handler, ep endpoint) {
	if ep.cors {
		w.Header().Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			p.preflight(w, r, http.MethodPost)
			return
		}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, &oauthErr{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "this endpoint takes POST requests only"})
		return
	}
	if r.URL.RawQuery != "" {
		writeOAuthError(w, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "parameters must be sent in the request body, not in the URL"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "the request body must be application/x-www-form-urlencoded"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxProtocolBody)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the request body is not a valid form"})
		return
	}
	for _, v := range r.PostForm {
		if len(v) > 1 {
			writeOAuthError(w, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request", Description: "a parameter is repeated"})
			return
		}
	}
	if ep.cors {
		p.allowOrigin(w, r, requestClientID(r))
	}
	ca, fail := p.authenticate(r, ep)
	if fail != nil {
		writeOAuthError(w, fail)
		return
	}
	ctx, out := withOutage(r.Context())
	ctx = context.WithValue(ctx, authCtxKey{}, ca)
	r = r.Clone(ctx)
	presentToOp(r, ca)

	buf := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	if ep.path == pathToken {
		p.exchange(buf, r)
	} else {
		next.ServeHTTP(buf, r)
	}
	if err := out.failed(); err != nil {
		// Whatever op made of it (invalid_grant, active:false), a store
		// failure is no verdict on the client's credentials.
		p.deps.Log.ErrorContext(ctx, "protocol endpoint: store unavailable", "path", ep.path, "err", err)
		writeOAuthError(w, errUnavailable)
		return
	}
	if buf.status >= 400 {
		e := cleanError(buf.status, buf.header, buf.body.Bytes())
		if e.Code == "server_error" {
			p.deps.Log.ErrorContext(ctx, "protocol endpoint failed", "path", ep.path, "status", buf.status)
		}
		writeOAuthError(w, e)
		return
	}
	h := w.Header()
	for k, v := range buf.header {
		if k != "Content-Length" {
			h[k] = v
		}
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

// bufferedWriter holds a response until serveClientEndpoint (or
// authorizePage) has looked at it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }

// oauthErrorCodes are the error codes of RFC 6749, 7009, 8628 and 8707.
var oauthErrorCodes = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true, "server_error": true, "temporarily_unavailable": true,
	"access_denied": true, "unsupported_token_type": true, "authorization_pending": true, "slow_down": true,
	"expired_token": true, "invalid_target": true,
}

// genericDescriptions replace a description that cleanError will not pass
// on.
var genericDescriptions = map[string]string{
	"invalid_request":         "the request is malformed",
	"invalid_client":          "client authentication failed",
	"invalid_grant":           "the grant is invalid, expired, revoked or was issued to another client",
	"unauthorized_client":     "the client is not registered for this grant type",
	"unsupported_grant_type":  "the grant type is not supported",
	"invalid_scope":           "the requested scope is invalid",
	"server_error":            "the server could not complete the request",
	"temporarily_unavailable": "the server is temporarily unavailable",
	"access_denied":           "access denied",
	"unsupported_token_type":  "the token type is not supported",
	"authorization_pending":   "the user has not completed the authorization yet",
	"slow_down":               "poll less often",
	"expired_token":           "the device code has expired",
	"invalid_target":          "the requested resource is invalid",
}

// cleanError turns op's error answer (any status at or above 400, any
// body) into an RFC 6749 error: op's code when it sent one of the known
// codes, else one for the status; op's description only when it is plain
// prose (no colon, equals sign or other markup of a Go error chain or of
// op's "ErrorType=… Parent=…"), else a generic one.
func cleanError(status int, header http.Header, body []byte) *oauthErr {
	var m struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "application/json" || json.Unmarshal(body, &m) != nil || !oauthErrorCodes[m.Error] {
		m.Error, m.Description = codeForStatus(status), ""
	}
	e := &oauthErr{Status: status, Code: m.Error, Description: m.Description}
	switch {
	case e.Code == "invalid_client":
		e.Status = http.StatusUnauthorized
	case e.Code == "server_error":
		e.Status, e.Description = http.StatusInternalServerError, ""
	case e.Code == "temporarily_unavailable":
		e.Status = http.StatusServiceUnavailable
	case e.Status < 400 || e.Status > 499:
		e.Status = http.StatusBadRequest
	}
	if !plainProse(e.Description) {
		e.Description = genericDescriptions[e.Code]
	}
	return e
}

func codeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "invalid_client"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request"
}

// plainProse reports whether s is a short sentence of letters, digits,
// spaces and ordinary punctuation: what op's and our own fixed
// descriptions are, and what a Go error chain or op's internal structure
// is not.
func plainProse(s string) bool {
	if s == "" || len(s) > 200 || strings.Contains(s, "Parent") {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(" _-.,'\"()/", c):
		default:
			return false
		}
	}
	return true
}
