package oidc

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/webui"
)

// The authorization endpoint is Gosid's own, not op's, so that every
// answer it sends back to a site is right:
//
//   - every authorization response carries iss (RFC 9207), the code and
//     every error alike, in the query and in form_post;
//   - response_mode is query (the default for code) or form_post; anything
//     else is invalid_request, answered in the query;
//   - form_post is a page of Gosid's own that works under Gosid's CSP
//     (no inline script: /static/gosid.js submits it) and with JavaScript
//     off (a visible button);
//   - PKCE S256 is required (pkceProblem), the claims parameter is parsed
//     (ParseClaimsRequest), and the request and request_uri parameters are
//     refused.
//
// guard has already checked the client and the exact redirect URI and
// shown Gosid's own page when either is wrong: an error goes to the
// redirect URI only once it is known to be registered.

// formPostPage is a page of its own, without the layout: it is on screen
// for an instant, and the layout's links (language, sign-out) would only
// lead away from the answer the site waits for.
var formPostPage = template.Must(webui.ParseStandalone(pages, "templates/form_post.html"))

// destination is where, and how, an authorization response goes.
type destination struct {
	redirectURI string
	state       string
	mode        zoidc.ResponseMode // query or form_post
}

// responseMode validates response_mode: query (also when absent) or
// form_post.
func responseMode(v string) (zoidc.ResponseMode, bool) {
	switch zoidc.ResponseMode(v) {
	case "", zoidc.ResponseModeQuery:
		return zoidc.ResponseModeQuery, true
	case zoidc.ResponseModeFormPost:
		return zoidc.ResponseModeFormPost, true
	}
	return zoidc.ResponseModeQuery, false
}

func destinationOf(ar *AuthRequest) destination {
	mode, _ := responseMode(ar.Request.ResponseMode)
	return destination{redirectURI: ar.Request.RedirectURI, state: ar.Request.State, mode: mode}
}

// authorize handles GET and POST /authorize (OpenID Connect Core section
// 3.1.2.1) after guard.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.badRequest(w, r, "authz.err.request")
		return
	}
	form := r.Form
	dest := destination{redirectURI: form.Get("redirect_uri"), state: form.Get("state"), mode: zoidc.ResponseModeQuery}
	c, err := p.deps.Clients.Get(ctx, form.Get("client_id"))
	switch {
	case errors.Is(err, sqldb.ErrNotFound): // deleted since guard looked
		p.badRequest(w, r, "authz.err.client")
		return
	case err != nil:
		p.deps.Log.ErrorContext(ctx, "authorize: client", "err", err)
		p.unavailablePage(w, r)
		return
	}
	oc := &opClient{c: c, loginURL: p.adapter.loginURL, idTTL: p.cfg.Lifetimes.IDToken}
	// op's rules for the URI (a public client's loopback and app schemes);
	// the response type is checked below, with an error to the site.
	if err := op.ValidateAuthReqRedirectURI(oc, dest.redirectURI, zoidc.ResponseTypeCode); err != nil {
		p.badRequest(w, r, "authz.err.redirect")
		return
	}
	// The mode first: every later error travels by it.
	mode, ok := responseMode(form.Get("response_mode"))
	if !ok {
		p.authError(w, r, dest, zoidc.ErrInvalidRequest().WithDescription("unsupported response_mode: use query or form_post"))
		return
	}
	dest.mode = mode
	req, err := op.ParseAuthorizeRequest(r, p.op.Decoder())
	if err != nil {
		p.authError(w, r, dest, zoidc.ErrInvalidRequest().WithDescription("malformed authorization request"))
		return
	}
	switch {
	case req.RequestParam != "":
		p.authError(w, r, dest, zoidc.ErrRequestNotSupported().WithDescription("the request parameter is not supported"))
		return
	case form.Has("request_uri"):
		p.authError(w, r, dest, oauthError("request_uri_not_supported", "the request_uri parameter is not supported"))
		return
	case req.ResponseType != zoidc.ResponseTypeCode:
		p.authError(w, r, dest, oauthError("unsupported_response_type", "only response_type=code is supported"))
		return
	}
	if req.MaxAge, err = op.ValidateAuthReqPrompt(req.Prompt, req.MaxAge); err != nil {
		p.authError(w, r, dest, err)
		return
	}
	if req.Scopes, err = op.ValidateAuthReqScopes(oc, req.Scopes); err != nil {
		p.authError(w, r, dest, err)
		return
	}
	if e := pkceProblem(c, req.CodeChallenge, req.CodeChallengeMethod); e != nil {
		p.authError(w, r, dest, e)
		return
	}
	claims, err := ParseClaimsRequest(form.Get("claims"))
	if err != nil {
		reason := "malformed"
		if ce := (*ClaimsParamError)(nil); errors.As(err, &ce) {
			reason = ce.Reason // Gosid's own words, no part of the request
		}
		p.authError(w, r, dest, zoidc.ErrInvalidRequest().WithDescription("invalid claims parameter: %s", reason))
		return
	}
	req.Scopes = withEssentialScopes(req.Scopes, claims, c.AllowsScope)
	hintCtx := op.ContextWithIssuer(ctx, p.cfg.Issuer)
	sub, err := op.ValidateAuthReqIDTokenHint(hintCtx, req.IDTokenHint, p.op.IDTokenHintVerifier(hintCtx))
	if err != nil {
		p.authError(w, r, dest, err)
		return
	}
	ar, err := p.adapter.createAuthRequest(ctx, c, req, sub, claims)
	if err != nil {
		var e *zoidc.Error
		if !errors.As(err, &e) {
			// Not stored: the citizen retries the same address.
			p.retryPage(w, r, "store the request", err)
			return
		}
		p.authError(w, r, dest, e)
		return
	}
	http.Redirect(w, r, p.adapter.loginURL(ar.ID), http.StatusFound)
}

// authError sends an OAuth error back to a registered redirect URI, with
// state and iss, in the request's response mode. Descriptions are Gosid's
// own fixed texts, never an internal error's.
func (p *Provider) authError(w http.ResponseWriter, r *http.Request, dest destination, err error) {
	e := zoidc.DefaultToServerError(err, "internal error")
	if e.ErrorType == zoidc.ServerError {
		p.deps.Log.ErrorContext(r.Context(), "authorization request", "err", err)
		e = zoidc.ErrServerError().WithDescription("internal error")
	}
	params := url.Values{"error": {string(e.ErrorType)}}
	if d := descriptionChars(e.Description); d != "" {
		params.Set("error_description", d)
	}
	p.deliver(w, r, dest, params)
}

// deliver sends an authorization response's parameters (and state and
// iss) to the redirect URI: in its query, or by a form the browser posts.
func (p *Provider) deliver(w http.ResponseWriter, r *http.Request, dest destination, params url.Values) {
	if dest.state != "" {
		params.Set("state", dest.state)
	}
	params.Set("iss", p.cfg.Issuer)
	if dest.mode == zoidc.ResponseModeFormPost {
		p.formPost(w, r, dest.redirectURI, params)
		return
	}
	to, err := url.Parse(dest.redirectURI)
	if err != nil {
		// Registered URIs parse (client.Validate); never redirect blind.
		p.badRequest(w, r, "authz.err.redirect")
		return
	}
	q := to.Query()
	for k, v := range params {
		q[k] = v
	}
	to.RawQuery = q.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

type formField struct{ Name, Value string }

type formPostView struct {
	Lang, Title, Lead, Button string
	Action                    template.URL
	Fields                    []formField
}

// formPost renders the response_mode=form_post page (OAuth 2.0 Form Post
// Response Mode): a form to the redirect URI that /static/gosid.js submits
// at once, and that a citizen without JavaScript submits with its button.
func (p *Provider) formPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	l := p.render.Localizer(r)
	v := formPostView{Lang: l.Lang, Title: l.T("formpost.title"), Lead: l.T("formpost.lead"), Button: l.T("formpost.continue"),
		// A registered redirect URI (https, http on loopback, or a native
		// app's scheme; client.Validate), checked exactly by guard.
		Action: template.URL(redirectURI)}
	for _, k := range []string{"code", "error", "error_description", "state", "iss"} {
		if val := params.Get(k); val != "" {
			v.Fields = append(v.Fields, formField{k, val})
		}
	}
	var buf bytes.Buffer
	if err := formPostPage.Execute(&buf, v); err != nil {
		p.deps.Log.ErrorContext(r.Context(), "form_post page", "err", err)
		p.render.ErrorPage(w, r, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
}

// descriptionChars keeps the characters RFC 6749 section 4.1.2.1 allows
// in error_description (printable ASCII but '"' and '\').
func descriptionChars(s string) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return -1
		}
		return c
	}, s)
}

var authorizeCatalog = webui.Catalog{
	"authz.err.unavailable": {"Сервис временно недоступен. Вернитесь на сайт и попробуйте войти ещё раз через минуту.", "The service is temporarily unavailable. Go back to the site and try to sign in again in a minute."},
	"formpost.title":        {"Возвращение на сайт", "Returning to the site"},
	"formpost.lead":         {"Передаём ответ сайту. Если ничего не происходит, нажмите «Продолжить».", "Sending the answer to the site. If nothing happens, press “Continue”."},
	"formpost.continue":     {"Продолжить", "Continue"},
}
