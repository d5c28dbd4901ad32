package oidc

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestPKCERequired: every client sends an S256 code_challenge unless an
// operator made PKCE optional for a legacy confidential client; plain is
// never accepted; a public client cannot be made optional.
func TestPKCERequired(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		b := o.browser()
		b.signIn(o.citizen())
		confidential, secret := o.client(nil)
		legacy, legacySecret := o.client(func(c *client.Client) { c.PKCE = client.PKCEOptional })

		refused := func(what string, c *client.Client, change func(url.Values)) {
			t.Helper()
			q, _ := codeRequest(c, "openid")
			change(q)
			cb := o.callback(b.authorize(q))
			if cb.Get("error") != "invalid_request" || cb.Get("code") != "" || cb.Get("iss") != o.URL {
				t.Errorf("%s: %v, want invalid_request with iss and no code", what, cb)
			}
		}
		noChallenge := func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }
		refused("a confidential client without PKCE", confidential, noChallenge)
		refused("plain", confidential, func(q url.Values) { q.Set("code_challenge_method", "plain") })
		refused("a challenge without a method (plain)", confidential, func(q url.Values) { q.Del("code_challenge_method") })
		refused("plain, PKCE optional", legacy, func(q url.Values) { q.Set("code_challenge_method", "plain") })
		refused("a method without a challenge", legacy, func(q url.Values) { q.Del("code_challenge") })

		// The legacy client without PKCE: a code, redeemed without a
		// verifier; a verifier sent for a code without a challenge is a
		// downgrade attempt and refused.
		q, _ := codeRequest(legacy, "openid")
		noChallenge(q)
		o.exchange(legacy, legacySecret, o.callback(b.authorize(q)), "")
		q, _ = codeRequest(legacy, "openid")
		noChallenge(q)
		cb := o.callback(b.authorize(q))
		if tr := o.token(legacy.ID, legacySecret, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {rpRedirect}, "code_verifier": {"a-verifier-nobody-asked-for-0123456789abcdef"}}); tr.Status == 200 {
			t.Errorf("a code_verifier for a code issued without a challenge was accepted")
		}
		// With PKCE the legacy client works as any other.
		q, verifier := codeRequest(legacy, "openid")
		o.exchange(legacy, legacySecret, o.callback(b.authorize(q)), verifier)
		q, verifier = codeRequest(confidential, "openid")
		o.exchange(confidential, secret, o.callback(b.authorize(q)), verifier)

		// A public client can never go without PKCE.
		_, _, err := o.Clients.Create(context.Background(), client.Client{Name: "Приложение", AuthMethod: client.AuthNone, PKCE: client.PKCEOptional,
			RedirectURIs: []string{rpRedirect}, Scopes: []string{"openid"}, GrantTypes: []string{client.GrantAuthorizationCode}})
		if !errors.Is(err, client.ErrInvalid) {
			t.Errorf("a public client with PKCE optional: %v, want refused", err)
		}
		public, _ := o.client(func(c *client.Client) { c.AuthMethod = client.AuthNone })
		refused("a public client without PKCE", public, noChallenge)
	})
}
