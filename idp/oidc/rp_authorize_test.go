package oidc

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

var (
	inlineScript  = regexp.MustCompile(`(?i)<script\b[^>]*>\s*[^<\s]`)
	inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	formTagRE     = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	hiddenRE      = regexp.MustCompile(`(?i)<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE      = regexp.MustCompile(`(?i)\baction="([^"]*)"`)
)

// formPostResponse reads a form_post page: the form's action and its
// hidden fields. It fails the test unless the page works under Gosid's CSP
// (no inline script, no inline event handler, the script from /static/)
// and without JavaScript (a visible submit button).
func formPostResponse(t *testing.T, p rpPage) (action string, fields url.Values) {
	t.Helper()
	if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("form_post: %d %s, want a 200 HTML page\n%.400s", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	if inlineScript.MatchString(p.Body) || inlineHandler.MatchString(p.Body) || strings.Contains(p.Body, "javascript:") {
		t.Fatalf("form_post page has inline script, which the CSP (script-src 'self') blocks:\n%s", p.Body)
	}
	if !strings.Contains(p.Body, `<script src="/static/gosid.js"`) {
		t.Fatalf("form_post page does not load the script that submits it:\n%s", p.Body)
	}
	m := formTagRE.FindStringSubmatch(p.Body)
	if m == nil || !strings.Contains(m[1], `method="post"`) || !strings.Contains(m[1], "data-autosubmit") {
		t.Fatalf("form_post page: no auto-submitting POST form:\n%s", p.Body)
	}
	if !strings.Contains(m[2], `<button type="submit">`) {
		t.Fatalf("form_post page: no submit button for a browser without JavaScript:\n%s", p.Body)
	}
	a := actionRE.FindStringSubmatch(m[1])
	if a == nil {
		t.Fatalf("form_post page: form without action:\n%s", p.Body)
	}
	fields = url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		fields.Add(f[1], html.UnescapeString(f[2]))
	}
	return html.UnescapeString(a[1]), fields
}

// TestAuthorizationResponses: iss (RFC 9207) on every authorization
// response — the code and errors, from /authorize itself and from the
// later steps, in the query and in form_post — and form_post as a page
// that works under the CSP; an unknown response_mode is an error.
func TestAuthorizationResponses(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		a := o.citizen()
		c, secret := o.client(nil)
		site, _ := o.client(func(c *client.Client) { c.FirstParty = false; c.Name = "Чужой сайт" })
		wantQuery := func(what string, cb url.Values, want string) {
			t.Helper()
			if cb.Get("iss") != o.URL || cb.Get("state") != "st-1" {
				t.Errorf("%s: iss=%q state=%q, want iss=%s and the state", what, cb.Get("iss"), cb.Get("state"), o.URL)
			}
			if got := cb.Get("error"); got != want || (want == "" && cb.Get("code") == "") {
				t.Errorf("%s: error=%q code=%q, want error %q", what, got, cb.Get("code"), want)
			}
		}
		signedIn := o.browser()
		signedIn.signIn(a)
		anon := o.browser()

		// The code, in the query.
		q, verifier := codeRequest(c, "openid fullname")
		cb := o.callback(signedIn.authorize(q))
		wantQuery("code", cb, "")
		o.exchange(c, secret, cb, verifier)

		// Errors from the later steps: prompt=none without a session, and
		// consent refused.
		q, _ = codeRequest(c, "openid")
		q.Set("prompt", "none")
		wantQuery("prompt=none without a session", o.callback(anon.authorize(q)), "login_required")
		q, _ = codeRequest(site, "openid fullname")
		p := signedIn.get("/authorize?" + q.Encode())
		p = signedIn.get(p.Location)
		if !strings.HasPrefix(p.Location, "/authorize/consent") {
			t.Fatalf("want the consent page, got %d %q", p.Status, p.Location)
		}
		id, _ := url.QueryUnescape(strings.TrimPrefix(p.Location, "/authorize/consent?id="))
		wantQuery("consent refused", o.callback(signedIn.post("/authorize/consent", url.Values{"id": {id}, "decision": {"deny"}})), "access_denied")

		// Errors from /authorize itself.
		q, _ = codeRequest(c, "openid")
		q.Set("response_type", "token")
		wantQuery("response_type=token", o.callback(signedIn.get("/authorize?"+q.Encode())), "unsupported_response_type")
		for _, mode := range []string{"fragment", "query.jwt", "web_message", "x"} {
			q, _ = codeRequest(c, "openid")
			q.Set("response_mode", mode)
			wantQuery("response_mode="+mode, o.callback(signedIn.get("/authorize?"+q.Encode())), "invalid_request")
		}
		q, _ = codeRequest(c, "openid")
		q.Set("request", "eyJhbGciOiJub25lIn0.e30.")
		wantQuery("a request object", o.callback(signedIn.get("/authorize?"+q.Encode())), "request_not_supported")

		// form_post: the code, and an error, as a page that posts itself.
		q, verifier = codeRequest(c, "openid fullname")
		q.Set("response_mode", "form_post")
		action, fields := formPostResponse(t, signedIn.authorize(q))
		if action != rpRedirect {
			t.Errorf("form_post action %q, want the redirect URI %s", action, rpRedirect)
		}
		wantQuery("form_post code", fields, "")
		if len(fields) != 3 {
			t.Errorf("form_post fields %v, want code, state and iss only", fields)
		}
		o.exchange(c, secret, fields, verifier)
		q, _ = codeRequest(c, "openid")
		q.Set("response_mode", "form_post")
		q.Set("prompt", "none")
		_, fields = formPostResponse(t, anon.authorize(q))
		wantQuery("form_post error", fields, "login_required")
		q, _ = codeRequest(c, "openid")
		q.Set("response_mode", "form_post")
		q.Set("response_type", "code id_token")
		_, fields = formPostResponse(t, signedIn.get("/authorize?"+q.Encode()))
		wantQuery("form_post error at /authorize", fields, "unsupported_response_type")

		// The script that submits the page is the one it loads.
		if js := anon.get("/static/gosid.js"); js.Status != 200 || !strings.Contains(js.Body, "form[data-autosubmit]") {
			t.Errorf("/static/gosid.js: %d, does not submit form_post pages", js.Status)
		}
		// Never a redirect to an unregistered URI, whatever the mode.
		q, _ = codeRequest(c, "openid")
		q.Set("redirect_uri", rpRedirect+"x")
		q.Set("response_mode", "form_post")
		if p := signedIn.get("/authorize?" + q.Encode()); p.Status != 400 || p.Location != "" || strings.Contains(p.Body, rpRedirect+"x") {
			t.Errorf("unregistered redirect URI: %d %q", p.Status, p.Location)
		}
	})
}
