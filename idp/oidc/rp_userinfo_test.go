package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// wantBearerError checks an RFC 6750 refusal: the status, the
// WWW-Authenticate challenge (Bearer, with error= unless want is "") and a
// JSON body naming the error.
func wantBearerError(t *testing.T, what string, p rpPage, status int, want string) {
	t.Helper()
	challenge := p.Header.Get("WWW-Authenticate")
	var body struct {
		Error string `json:"error"`
	}
	jsonErr := json.Unmarshal([]byte(p.Body), &body)
	switch {
	case p.Status != status:
		t.Errorf("%s: status %d, want %d (%s %q)", what, p.Status, status, challenge, p.Body)
	case !strings.HasPrefix(challenge, "Bearer"):
		t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge", what, challenge)
	case want == "" && strings.Contains(challenge, "error="):
		t.Errorf("%s: WWW-Authenticate %q, want no error attribute (no token was sent)", what, challenge)
	case want != "" && !strings.Contains(challenge, `error="`+want+`"`):
		t.Errorf("%s: WWW-Authenticate %q, want error=%q", what, challenge, want)
	case jsonErr != nil || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json"):
		t.Errorf("%s: body %q (%s), want JSON", what, p.Body, p.Header.Get("Content-Type"))
	case want != "" && body.Error != want:
		t.Errorf("%s: body error %q, want %q", what, body.Error, want)
	}
}

// TestUserinfoBearerErrors: RFC 6750 section 3 at the userinfo endpoint,
// for JWT and opaque access tokens.
func TestUserinfoBearerErrors(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := newRPOP(t, db, nil)
		a := o.citizen()
		for _, format := range []string{client.FormatJWT, client.FormatOpaque} {
			t.Run(format, func(t *testing.T) {
				o := o.in(t)
				c, secret := o.client(func(c *client.Client) { c.AccessTokenFormat = format })
				_, tok := o.signedInTokens(a, c, secret, "openid fullname mobile")
				b := o.browser()

				// The token in the header, and in a form body.
				p := o.userinfo(tok.AccessToken)
				var info map[string]any
				if p.Status != 200 || json.Unmarshal([]byte(p.Body), &info) != nil || info["sub"] != a.ID || info["family_name"] != "Иванов" {
					t.Fatalf("userinfo: %d %s", p.Status, p.Body)
				}
				if p := b.post("/userinfo", url.Values{"access_token": {tok.AccessToken}}); p.Status != 200 || !strings.Contains(p.Body, a.ID) {
					t.Fatalf("userinfo with the token in a form body: %d %s", p.Status, p.Body)
				}

				wantBearerError(t, "no token", b.get("/userinfo"), 401, "")
				wantBearerError(t, "another scheme", b.do("GET", "/userinfo", nil, map[string]string{"Authorization": "Basic eDp5"}), 401, "")
				wantBearerError(t, "empty bearer", b.do("GET", "/userinfo", nil, map[string]string{"Authorization": "Bearer "}), 401, "invalid_token")
				wantBearerError(t, "garbage", o.userinfo("not-a-token"), 401, "invalid_token")
				wantBearerError(t, "altered", o.userinfo(tok.AccessToken[:len(tok.AccessToken)-4]+"AAAA"), 401, "invalid_token")
				wantBearerError(t, "in the query", b.get("/userinfo?access_token="+url.QueryEscape(tok.AccessToken)), 400, "invalid_request")
				wantBearerError(t, "header and body", b.do("POST", "/userinfo", url.Values{"access_token": {tok.AccessToken}},
					map[string]string{"Authorization": "Bearer " + tok.AccessToken}), 400, "invalid_request")

				// Expired: ten minutes by the provider's clock.
				o.Clock.Advance(10*time.Minute + time.Second)
				wantBearerError(t, "expired", o.userinfo(tok.AccessToken), 401, "invalid_token")
				o.Clock.Advance(-(10*time.Minute + time.Second))

				// Revoked (RFC 7009).
				form := url.Values{"token": {tok.AccessToken}}
				req, _ := http.NewRequest("POST", o.URL+"/oauth/revoke", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(c.ID, secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("revoke: %v %v", resp, err)
				}
				resp.Body.Close()
				wantBearerError(t, "revoked", o.userinfo(tok.AccessToken), 401, "invalid_token")
			})
		}

		// A token without the openid scope: 403 insufficient_scope.
		c, secret := o.client(nil)
		_, tok := o.signedInTokens(a, c, secret, "fullname")
		p := o.userinfo(tok.AccessToken)
		wantBearerError(t, "no openid scope", p, 403, "insufficient_scope")
		if !strings.Contains(p.Header.Get("WWW-Authenticate"), `scope="openid"`) {
			t.Errorf("insufficient_scope challenge %q does not name the scope", p.Header.Get("WWW-Authenticate"))
		}
		// A client's own token (client_credentials) has no openid either.
		m, mSecret := o.client(func(c *client.Client) {
			c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes = nil, nil, []string{"openid", "snils"}
			c.GrantTypes = []string{client.GrantClientCredentials}
		})
		cc := o.token(m.ID, mSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid snils"}})
		if cc.Status != 200 {
			t.Fatalf("client_credentials: %+v", cc)
		}
		wantBearerError(t, "client's own token", o.userinfo(cc.AccessToken), 403, "insufficient_scope")

		// The token's client or account gone: invalid_token.
		gone, goneSecret := o.client(nil)
		_, tok = o.signedInTokens(a, gone, goneSecret, "openid fullname")
		if err := o.Clients.Delete(context.Background(), gone.ID); err != nil {
			t.Fatal(err)
		}
		o.Clock.Advance(client.CacheCheckInterval)
		wantBearerError(t, "deleted client", o.userinfo(tok.AccessToken), 401, "invalid_token")
	})
}

// TestUserinfoStoreFailure: a store that cannot answer is not a verdict on
// the token: 503 temporarily_unavailable with Retry-After, never 401 or
// 403, and the same token works once the store is back.
func TestUserinfoStoreFailure(t *testing.T) {
	for dialect, cfg := range map[string]func(t *testing.T) sqldb.Config{
		"sqlite":   func(t *testing.T) sqldb.Config { return sqldb.Config{SQLitePath: sqldbtest.SQLitePath(t)} },
		"postgres": func(t *testing.T) sqldb.Config { return sqldb.Config{URL: sqldbtest.PostgresURL(t)} },
	} {
		t.Run(dialect, func(t *testing.T) {
			db, err := sqldb.Open(context.Background(), cfg(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o := newRPOP(t, db, nil)
			a := o.citizen()
			c, secret := o.client(nil)
			_, tok := o.signedInTokens(a, c, secret, "openid fullname")

			wantUnavailable := func(what string) {
				t.Helper()
				p := o.userinfo(tok.AccessToken)
				var body struct{ Error string }
				_ = json.Unmarshal([]byte(p.Body), &body)
				if p.Status != 503 || p.Header.Get("Retry-After") != "1" || body.Error != "temporarily_unavailable" {
					t.Errorf("%s: %d Retry-After=%q %s, want 503, Retry-After 1, temporarily_unavailable", what, p.Status, p.Header.Get("Retry-After"), p.Body)
				}
				if strings.Contains(p.Body, "refused") || strings.Contains(p.Body, "closed") {
					t.Errorf("%s: the store's error reached the client: %s", what, p.Body)
				}
			}
			o.FailAccounts.Store(true)
			wantUnavailable("accounts unreachable")
			o.FailAccounts.Store(false)
			if p := o.userinfo(tok.AccessToken); p.Status != 200 {
				t.Fatalf("after the outage: %d %s", p.Status, p.Body)
			}
			db.Close() // the database is gone for this replica
			wantUnavailable("database closed")
		})
	}
}
