package oidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/migrations/sqldb/sqldbtest"
)

// TestAuthorizationRefusalsArePages: an authorization request op cannot
// parse or will not carry out gets Gosid's error page in the citizen's
// language, not op's plain text with its internal structure
// ("ErrorType=invalid_request … Parent=schema: error converting value").
func TestAuthorizationRefusalsArePages(t *testing.T) {
	op := startOP(t, sqldbtest.SQLite(t))
	c, _ := op.client(t, client.Client{})
	b := op.signedIn(t, op.citizen(t).ID)
	base := url.Values{"client_id": {c.ID}, "redirect_uri": {testRedirect}, "response_type": {"code"}, "scope": {"openid"}}
	for _, kv := range [][2]string{{"max_age", "abc"}, {"response_type", "token"}} {
		r := b.do(t, http.MethodGet, pathAuthorize+"?"+with(base, kv[0], kv[1]).Encode(), nil)
		if r.Status != http.StatusBadRequest || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(r.Body, "Gosid не может выполнить") || strings.Contains(r.Body, "Parent=") || strings.Contains(r.Body, "ErrorType") {
			t.Errorf("%s=%s: %s, want 400 and Gosid's page", kv[0], kv[1], r)
		}
	}
}
