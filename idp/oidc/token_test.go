package oidc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestFailedTokenRequestLeavesCodeUsable: a token request that fails for
// any reason (the client's authentication, the PKCE verifier, the redirect
// URI, another client's code) gets its error and changes nothing: the same
// code, redeemed properly afterwards, gives tokens. Before, op read the
// code (and our storage marked it used) before it authenticated the client,
// so each of these burnt the citizen's code, and the proper request then
// "reused" it and revoked what it had issued.
func TestFailedTokenRequestLeavesCodeUsable(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		conf, secret := op.client(t, client.Client{})
		other, otherSecret := op.client(t, client.Client{})
		keyed, key := op.keyedClient(t, client.Client{})
		public, _ := op.client(t, client.Client{AuthMethod: client.AuthNone})
		wrongKey, _ := newClientKey(t, "k1")
		b := op.signedIn(t, op.citizen(t).ID)

		// good redeems the code as its client should.
		good := func(c *client.Client, form url.Values) reply {
			switch c {
			case conf:
				return op.post(t, pathToken, form, basic(conf.ID, secret))
			case keyed:
				return op.post(t, pathToken, withAssertion(with(form, "client_id", keyed.ID), op.assertion(t, key, keyed.ID, nil)))
			default:
				return op.post(t, pathToken, with(form, "client_id", c.ID))
			}
		}
		cases := []struct {
			name   string
			c      *client.Client
			bad    func(form url.Values) reply
			status int
			code   string
		}{
			{"wrong secret (basic)", conf, func(f url.Values) reply { return op.post(t, pathToken, f, basic(conf.ID, secret+"x")) },
				401, "invalid_client"},
			{"wrong secret (post)", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", conf.ID, "client_secret", secret+"x"))
			}, 401, "invalid_client"},
			{"confidential client with client_id only", conf, func(f url.Values) reply { return op.post(t, pathToken, with(f, "client_id", conf.ID)) },
				401, "invalid_client"},
			{"no client at all", conf, func(f url.Values) reply { return op.post(t, pathToken, f) }, 401, "invalid_client"},
			{"another client's credentials", conf, func(f url.Values) reply { return op.post(t, pathToken, f, basic(other.ID, otherSecret)) },
				400, "invalid_grant"},
			{"another client's id only", conf, func(f url.Values) reply { return op.post(t, pathToken, with(f, "client_id", other.ID)) },
				401, "invalid_client"},
			{"a public client's id on a confidential client's code", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", public.ID))
			}, 400, "invalid_grant"},
			{"Basic id differs from client_id", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", other.ID), basic(conf.ID, secret))
			}, 400, "invalid_request"},
			{"Basic and client_secret at once", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", conf.ID, "client_secret", secret), basic(conf.ID, secret))
			}, 400, "invalid_request"},
			{"wrong PKCE verifier", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "code_verifier", strings.Repeat("A", 43)), basic(conf.ID, secret))
			}, 400, "invalid_grant"},
			{"no PKCE verifier", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "code_verifier", ""), basic(conf.ID, secret))
			},
				400, "invalid_request"},
			{"another redirect_uri", conf, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "redirect_uri", "http://127.0.0.1:9/other"), basic(conf.ID, secret))
			}, 400, "invalid_grant"},
			{"assertion signed with another key", keyed, func(f url.Values) reply {
				return op.post(t, pathToken, withAssertion(f, op.assertion(t, wrongKey, keyed.ID, nil)))
			}, 401, "invalid_client"},
			{"unsigned assertion (alg none)", keyed, func(f url.Values) reply {
				return op.post(t, pathToken, withAssertion(f, unsigned(map[string]any{"iss": keyed.ID, "sub": keyed.ID, "aud": op.URL,
					"jti": "j1", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})))
			}, 401, "invalid_client"},
			{"expired assertion", keyed, func(f url.Values) reply {
				return op.post(t, pathToken, withAssertion(f, op.assertion(t, key, keyed.ID, map[string]any{
					"iat": time.Now().Add(-5 * time.Minute).Unix(), "exp": time.Now().Add(-time.Minute).Unix()})))
			}, 401, "invalid_client"},
			{"assertion for another audience", keyed, func(f url.Values) reply {
				return op.post(t, pathToken, withAssertion(f, op.assertion(t, key, keyed.ID, map[string]any{"aud": "https://elsewhere.example"})))
			}, 401, "invalid_client"},
			{"assertion and client_secret at once", keyed, func(f url.Values) reply {
				return op.post(t, pathToken, withAssertion(with(f, "client_id", keyed.ID, "client_secret", "x"), op.assertion(t, key, keyed.ID, nil)))
			}, 400, "invalid_request"},
			{"public client, wrong verifier", public, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", public.ID, "code_verifier", strings.Repeat("B", 43)))
			}, 400, "invalid_grant"},
			{"public client with a secret", public, func(f url.Values) reply {
				return op.post(t, pathToken, with(f, "client_id", public.ID, "client_secret", "guess"))
			}, 401, "invalid_client"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				verifier, challenge := pkce()
				code := op.code(t, b, tc.c, challenge)
				form := codeExchange(code, verifier)
				wantError(t, "the failed request", tc.bad(form), tc.status, tc.code)
				if r := good(tc.c, form); r.Status != http.StatusOK || r.Str("access_token") == "" {
					t.Fatalf("the same code redeemed properly after the failed request: %s", r)
				}
			})
		}
	})
}

// unsigned is a JWT with alg none.
func unsigned(claims map[string]any) string {
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."
}

// TestCodeExchangeRace: several valid exchanges of one code at once give
// exactly one success; the others get invalid_grant, and what the winner
// got is revoked (RFC 9700 section 4.5: a code used twice revokes its
// tokens), on both dialects.
func TestCodeExchangeRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		conf, secret := op.client(t, client.Client{Scopes: []string{"openid", "fullname", "offline_access"},
			GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}})
		b := op.signedIn(t, op.citizen(t).ID)
		for round := range 10 {
			verifier, challenge := pkce()
			code := op.code(t, b, conf, challenge, "scope", "openid offline_access")
			const n = 4
			type result struct {
				status int
				body   string
				err    error
			}
			results := make([]result, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					req, _ := http.NewRequest(http.MethodPost, op.URL+pathToken, strings.NewReader(codeExchange(code, verifier).Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					basic(conf.ID, secret)(req)
					resp, err := plainClient.Do(req)
					if err != nil {
						results[i].err = err
						return
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					results[i] = result{status: resp.StatusCode, body: string(body)}
				})
			}
			close(start)
			wg.Wait()
			var won []reply
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("round %d, request %d: %v", round, i, r.err)
				}
				rp := reply{Status: r.status, Header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}, Body: r.body}
				if r.status == http.StatusOK {
					won = append(won, rp)
					continue
				}
				if rp.Str("error") != "invalid_grant" || r.status != http.StatusBadRequest {
					t.Errorf("round %d, a losing exchange: %s, want 400 invalid_grant", round, rp)
				}
			}
			if len(won) != 1 {
				t.Fatalf("round %d: %d of %d racing exchanges of one code succeeded, want exactly 1", round, len(won), n)
			}
			w := won[0]
			if op.active(t, w.Str("access_token"), nil, basic(conf.ID, secret)) {
				t.Errorf("round %d: the winner's access token is still active after the code was used again", round)
			}
			r := op.post(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.Str("refresh_token")}}, basic(conf.ID, secret))
			wantError(t, fmt.Sprintf("round %d: the winner's refresh token", round), r, 400, "invalid_grant")
		}
	})
}

// TestTokenEndpointTakesBodiesByPOSTOnly: the token, introspection and
// revocation endpoints answer other methods with 405 and Allow: POST, and
// a request with any parameter in the query string with invalid_request;
// neither spends the code.
func TestTokenEndpointTakesBodiesByPOSTOnly(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		conf, secret := op.client(t, client.Client{})
		b := op.signedIn(t, op.citizen(t).ID)
		verifier, challenge := pkce()
		code := op.code(t, b, conf, challenge)
		form := with(codeExchange(code, verifier), "client_id", conf.ID, "client_secret", secret)

		for _, path := range []string{pathToken, pathIntrospect, pathRevoke} {
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead} {
				r := do(t, plainClient, m, op.URL+path+"?"+form.Encode(), nil, basic(conf.ID, secret))
				if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != http.MethodPost {
					t.Errorf("%s %s: %s (Allow %q), want 405 with Allow: POST", m, path, r, r.Header.Get("Allow"))
				}
				if m != http.MethodHead {
					wantError(t, m+" "+path, r, 405, "invalid_request")
				}
			}
		}
		// Any parameter in the query string, with the rest in the body.
		for _, moved := range []string{"client_secret", "code", "code_verifier", "grant_type", "unrelated"} {
			q := url.Values{moved: {form.Get(moved)}}
			if moved == "unrelated" {
				q = url.Values{"x": {"1"}}
			}
			r := op.post(t, pathToken+"?"+q.Encode(), with(form, moved, ""))
			wantError(t, moved+" in the query string", r, 400, "invalid_request")
		}
		for _, path := range []string{pathIntrospect, pathRevoke} {
			r := op.post(t, path+"?token=x", url.Values{}, basic(conf.ID, secret))
			wantError(t, "token in the query string of "+path, r, 400, "invalid_request")
		}
		if r := op.post(t, pathToken, form); r.Status != http.StatusOK || r.Str("access_token") == "" {
			t.Fatalf("the code after the refused requests: %s", r)
		}
	})
}

// TestContinueSentAgain: the answer to /authorize/continue carrying the
// code is lost (the replica that sent it died; browsers and load
// balancers send such a GET again). The same session's repeat gets a new
// code that works, and the lost one is dead; another session of the same
// account, or a repeat after the exchange, gets «Запрос устарел». The
// consent form sent twice likewise ends with a working code.
func TestContinueSentAgain(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		c, a := refreshClient(t, op)
		citizen := op.citizen(t).ID
		b := op.signedIn(t, citizen)
		verifier, challenge := pkce()
		op.code(t, b, c, challenge) // the consent, given once
		begun := b.do(t, http.MethodGet, pathAuthorize+"?"+url.Values{"client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode(), nil)
		cont := begun.Header.Get("Location")
		if begun.Status != http.StatusFound || !strings.HasPrefix(cont, pathContinue) {
			t.Fatalf("a new authorization request: %s", begun)
		}
		codeOf := func(what string, r reply) string {
			t.Helper()
			loc, _ := url.Parse(r.Header.Get("Location"))
			if r.Status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" {
				t.Fatalf("%s: %s %s, want a redirect with a code", what, r, r.Header.Get("Location"))
			}
			return loc.Query().Get("code")
		}
		lost := codeOf("continue", b.do(t, http.MethodGet, cont, nil))
		again := codeOf("continue sent again", b.do(t, http.MethodGet, cont, nil))
		if again == lost {
			t.Fatal("the repeat answered the lost code again")
		}
		expired := func(what string, r reply) {
			t.Helper()
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(r.Body, "Запрос устарел") {
				t.Errorf("%s: %s, want the page «Запрос устарел» and no redirect", what, r)
			}
		}
		expired("continue from another session of the account", op.signedIn(t, citizen).do(t, http.MethodGet, cont, nil))
		wantError(t, "the lost code", op.call(t, pathToken, c, a, codeExchange(lost, verifier)), http.StatusBadRequest, "invalid_grant")
		if r := op.call(t, pathToken, c, a, codeExchange(again, verifier)); r.Status != http.StatusOK || r.Str("id_token") == "" {
			t.Fatalf("the repeat's code: %s", r)
		}
		expired("continue after the exchange", b.do(t, http.MethodGet, cont, nil))

		// The consent form sent twice (a double click without script, or
		// a resend after a lost answer): the browser shows the second
		// answer, whose code works.
		c2, a2 := refreshClient(t, op)
		verifier, challenge = pkce()
		begun = b.do(t, http.MethodGet, pathAuthorize+"?"+url.Values{"client_id": {c2.ID}, "redirect_uri": {c2.RedirectURIs[0]},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode(), nil)
		asked := b.do(t, http.MethodGet, begun.Header.Get("Location"), nil)
		consent, _ := url.Parse(asked.Header.Get("Location"))
		if consent == nil || consent.Path != pathConsent {
			t.Fatalf("the new client's request: %s %s, want the consent page", asked, asked.Header.Get("Location"))
		}
		allow := url.Values{"id": {consent.Query().Get("id")}, "decision": {"allow"}}
		first := codeOf("consent", b.do(t, http.MethodPost, pathConsent, allow))
		second := codeOf("consent sent again", b.do(t, http.MethodPost, pathConsent, allow))
		wantError(t, "the first consent's code", op.call(t, pathToken, c2, a2, codeExchange(first, verifier)), http.StatusBadRequest, "invalid_grant")
		if r := op.call(t, pathToken, c2, a2, codeExchange(second, verifier)); r.Status != http.StatusOK {
			t.Fatalf("the second consent's code: %s", r)
		}
	})
}
