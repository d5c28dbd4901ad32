package oidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestAuthorizationRefusalsArePages: an authorization request op cannot
// parse or will not carry out, from a known client with its registered
// redirect URI, goes back to the site as an RFC 6749 error with iss
// (RFC 9207), in Gosid's words — never op's plain text with its internal
// structure ("ErrorType=invalid_request … Parent=schema: error converting
// value").
func TestAuthorizationRefusalsArePages(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	c, _ := op.client(t, client.Client{})
	b := op.signedIn(t, op.citizen(t).ID)
	base := url.Values{"client_id": {c.ID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"openid"}}
	for _, tc := range []struct{ key, value, code string }{{"max_age", "abc", "invalid_request"}, {"response_type", "token", "unsupported_response_type"}} {
		r := b.do(t, http.MethodGet, pathAuthorize+"?"+with(base, tc.key, tc.value).Encode(), nil)
		to, err := url.Parse(r.Header.Get("Location"))
		if r.Status != http.StatusFound || err != nil || !strings.HasPrefix(to.String(), testRedirect+"?") {
			t.Errorf("%s=%s: %s, want a redirect to the site", tc.key, tc.value, r)
			continue
		}
		q := to.Query()
		if q.Get("error") != tc.code || q.Get("iss") != op.URL || strings.Contains(q.Get("error_description"), "Parent=") ||
			strings.Contains(q.Get("error_description"), "ErrorType") || strings.Contains(q.Get("error_description"), "schema") {
			t.Errorf("%s=%s: %v, want error=%s with iss and Gosid's own description", tc.key, tc.value, q, tc.code)
		}
	}
}
