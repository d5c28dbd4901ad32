package oidc

import (
	"context"
	"errors"
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

// refreshClient is a confidential client with refresh tokens.
func refreshClient(t *testing.T, op *testOP) (*client.Client, auth) {
	c, secret := op.client(t, client.Client{GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		Scopes: []string{"openid", "fullname", "offline_access"}})
	return c, auth{Method: client.AuthSecretBasic, Secret: secret}
}

func refresh(t *testing.T, op *testOP, c *client.Client, a auth, token string) reply {
	t.Helper()
	return op.call(t, pathToken, c, a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

// TestRefreshRetryAfterUnknownCommit (issue 11, point 22): the rotation
// commits but its answer is lost; the client's retry with the same token
// within RefreshGrace gets that same successor, not "reuse detected,
// family revoked". After the grace window the old token is reuse again.
func TestRefreshRetryAfterUnknownCommit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		c, a := refreshClient(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		first := op.tokens(t, b, c, a, "openid offline_access").Str("refresh_token")

		db.SetCommitFault(func() error { return errors.New("connection reset while committing") })
		lost := refresh(t, op, c, a, first)
		db.SetCommitFault(nil)
		wantError(t, "refresh whose commit outcome is unknown", lost, http.StatusServiceUnavailable, "temporarily_unavailable")
		if lost.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}

		retry := refresh(t, op, c, a, first)
		if retry.Status != http.StatusOK || retry.Str("refresh_token") == "" {
			t.Fatalf("the client's retry: %s, want the successor", retry)
		}
		second := retry.Str("refresh_token")
		if again := refresh(t, op, c, a, first); again.Status != http.StatusOK || again.Str("refresh_token") != second {
			t.Fatalf("another retry within the grace window: %s, want the same successor", again)
		}
		if !op.active(t, retry.Str("access_token"), nil, basic(c.ID, a.Secret)) {
			t.Fatal("the retry's access token is not active: the family was revoked")
		}
		third := refresh(t, op, c, a, second)
		if third.Status != http.StatusOK {
			t.Fatalf("the successor: %s", third)
		}

		// Past the grace window the first token is reused: its family goes.
		op.Clock.Advance(DefaultRefreshGrace + time.Second)
		wantError(t, "the first token after the grace window", refresh(t, op, c, a, first), http.StatusBadRequest, "invalid_grant")
		wantError(t, "the family after reuse", refresh(t, op, c, a, third.Str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	})
}

// TestRefreshRetryRacesItself: a client that retries before its first
// request finished sends the same token twice at once; both get the same
// successor and the family survives.
func TestRefreshRetryRacesItself(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		op := startOP(t, db)
		c, a := refreshClient(t, op)
		b := op.signedIn(t, op.citizen(t).ID)
		token := op.tokens(t, b, c, a, "openid offline_access").Str("refresh_token")
		const n = 6
		got := make([]reply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { got[i] = refresh(t, op, c, a, token) })
		}
		wg.Wait()
		successor := ""
		for i, r := range got {
			if r.Status != http.StatusOK {
				t.Fatalf("request %d: %s", i, r)
			}
			if successor == "" {
				successor = r.Str("refresh_token")
			}
			if r.Str("refresh_token") != successor {
				t.Fatalf("request %d got another successor", i)
			}
		}
		if r := refresh(t, op, c, a, successor); r.Status != http.StatusOK {
			t.Fatalf("the successor after the race: %s", r)
		}
	})
}

// TestDatabaseRestartIsNoVerdict (issue 11, point 22): while PostgreSQL is
// down every protocol endpoint answers 503 temporarily_unavailable with
// Retry-After and a generic description — never invalid_grant, "revoked",
// invalid_token or active:false — and the same credentials work once it
// is back.
func TestDatabaseRestartIsNoVerdict(t *testing.T) {
	ctx := context.Background()
	cluster := sqldbtest.Restartable(t)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: cluster.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := startOP(t, db)
	c, a := refreshClient(t, op)
	b := op.signedIn(t, op.citizen(t).ID)
	tokens := op.tokens(t, b, c, a, "openid fullname offline_access")
	verifier, challenge := pkce()
	code := op.code(t, b, c, challenge, "scope", "openid")
	// An authorization request begun before the restart, at its
	// /authorize/continue step.
	authURL := pathAuthorize + "?" + url.Values{"client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
	begun := b.do(t, http.MethodGet, authURL, nil)
	cont := begun.Header.Get("Location")
	if begun.Status != http.StatusFound || !strings.HasPrefix(cont, pathContinue) {
		t.Fatalf("a new authorization request: %s", begun)
	}

	cluster.Stop()
	// Past the client cache's check interval: nothing is served from memory.
	time.Sleep(client.CacheCheckInterval + 50*time.Millisecond)
	for _, tc := range []struct {
		what string
		do   func() reply
	}{
		{"refresh", func() reply { return refresh(t, op, c, a, tokens.Str("refresh_token")) }},
		{"code exchange", func() reply { return op.call(t, pathToken, c, a, codeExchange(code, verifier)) }},
		{"introspection", func() reply {
			return op.call(t, pathIntrospect, c, a, url.Values{"token": {tokens.Str("access_token")}})
		}},
		{"revocation", func() reply {
			return op.call(t, pathRevoke, c, a, url.Values{"token": {tokens.Str("refresh_token")}})
		}},
		{"userinfo", func() reply {
			return b.do(t, http.MethodGet, pathUserinfo, nil, header("Authorization", "Bearer "+tokens.Str("access_token")))
		}},
	} {
		r := tc.do()
		if r.Status != http.StatusServiceUnavailable || r.Str("error") != "temporarily_unavailable" || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s with the database down: %s, want 503 temporarily_unavailable with Retry-After", tc.what, r)
		}
		for _, leak := range []string{"dial", "connect", "postgres", "SQLSTATE", "127.0.0.1", "refused"} {
			if containsFold(r.Body, leak) {
				t.Errorf("%s: the answer reveals %q: %s", tc.what, leak, r.Body)
			}
		}
	}

	// The browser-facing steps: 503 with Retry-After and Gosid's page, not
	// error=server_error sent to the site (which would end the flow there)
	// nor "the request has expired".
	for what, path := range map[string]string{"continue": cont, "a new request": authURL,
		"consent": pathConsent + "?id=" + strings.TrimPrefix(cont, pathContinue+"?id=")} {
		r := b.do(t, http.MethodGet, path, nil)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || r.Header.Get("Location") != "" {
			t.Errorf("%s with the database down: %s, want 503 with Retry-After and no redirect", what, r)
		}
	}

	cluster.Start()
	deadline := time.Now().Add(15 * time.Second)
	for db.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if r := b.do(t, http.MethodGet, pathUserinfo, nil, header("Authorization", "Bearer "+tokens.Str("access_token"))); r.Status != http.StatusOK {
		t.Errorf("userinfo after the restart: %s", r)
	}
	if !op.active(t, tokens.Str("access_token"), nil, basic(c.ID, a.Secret)) {
		t.Error("the access token is inactive after the restart")
	}
	if r := op.call(t, pathToken, c, a, codeExchange(code, verifier)); r.Status != http.StatusOK {
		t.Errorf("the code after the restart: %s", r)
	}
	// The request begun before goes on where it stopped.
	if r := b.do(t, http.MethodGet, cont, nil); r.Status != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "code=") {
		t.Errorf("the request begun before the restart, continued: %s", r)
	}
	if r := refresh(t, op, c, a, tokens.Str("refresh_token")); r.Status != http.StatusOK {
		t.Errorf("the refresh token after the restart: %s", r)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
