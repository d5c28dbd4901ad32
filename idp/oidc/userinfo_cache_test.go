package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/cache"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// withCache gives the provider a userinfo cache invalidated through w.
func withCache(w *cache.Watcher) func(*Config, *Deps) {
	return func(_ *Config, d *Deps) { d.Cache = w }
}

// runWatcher runs w until the test ends, and waits for its first poll.
func runWatcher(t testing.TB, w *cache.Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !w.Trusted() {
		time.Sleep(5 * time.Millisecond)
	}
}

// cachedOP is a provider on db with a cache whose Watcher runs.
func cachedOP(t *testing.T, db *sqldb.DB) (*testOP, *cache.Watcher) {
	t.Helper()
	w := cache.NewWatcher(db, cache.Config{})
	runWatcher(t, w)
	return startOP(t, db, withCache(w)), w
}

// cachedFor reports whether the provider holds an answer for token.
func (o *testOP) cachedFor(t testing.TB, token string) bool {
	t.Helper()
	_, hit := o.P.userinfos.Get(tokenCacheKey(token))
	return hit
}

func (o *testOP) userinfo(t testing.TB, token string) reply {
	t.Helper()
	return do(t, http.DefaultClient, http.MethodGet, o.URL+pathUserinfo, nil, header("Authorization", "Bearer "+token))
}

// Replica A answers userinfo from its cache; every change that must change
// or refuse the answer, made through replica B's own database handle (the
// triggers log it), stops A answering the old one within the bound.
func TestUserinfoCacheAcrossReplicas(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		op, wa := cachedOP(t, a)
		bClients := client.NewStore(b, op.Clock.Now)
		cl, secret := op.client(t, client.Client{Scopes: []string{"openid", "fullname", "mobile"}})
		basicAuth := auth{Method: client.AuthSecretBasic, Secret: secret}

		// fresh signs a new citizen in and returns an access token whose
		// answer A has cached.
		fresh := func(t *testing.T, c *client.Client, a auth) (accountID, token string) {
			t.Helper()
			who := op.citizen(t)
			tok := op.tokens(t, op.signedIn(t, who.ID), c, a, "openid fullname mobile").Str("access_token")
			// The account's creation is itself logged (its contacts): let
			// A apply it first, so that only the change under test can
			// drop the answer.
			if err := wa.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if r := op.userinfo(t, tok); r.Status != http.StatusOK || r.Str("family_name") != "Иванов" {
				t.Fatalf("userinfo: %s", r)
			}
			if !op.cachedFor(t, tok) {
				t.Fatal("the answer was not cached")
			}
			return who.ID, tok
		}
		// gone waits until A no longer holds the answer, within the bound
		// of B's commit (at committed).
		gone := func(t *testing.T, tok string, committed time.Time) {
			t.Helper()
			// Untrusted, the cache answers nothing, whatever it holds:
			// wait for a verdict from a trusted one.
			for op.cachedFor(t, tok) || !wa.Trusted() {
				if time.Since(committed) > wa.Bound() {
					t.Fatalf("A still answers from its cache %v after B's change", time.Since(committed))
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		tokenIDs := func(tok string) tokenID {
			id, _, _ := op.P.accessTokenID(ctx, tok)
			tid, err := parseTokenID(id)
			if err != nil {
				t.Fatal(err)
			}
			return tid
		}
		exec := func(t *testing.T, q string, args ...any) time.Time {
			t.Helper()
			if _, err := b.Exec(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
			return time.Now()
		}

		t.Run("account change", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `UPDATE accounts SET family_name = 'Петров' WHERE id = $1`, id))
			if r := op.userinfo(t, tok); r.Str("family_name") != "Петров" {
				t.Fatalf("after the change: %s", r)
			}
		})
		t.Run("contact change", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `UPDATE contacts SET verified_at = NULL WHERE account_id = $1`, id))
			if r := op.userinfo(t, tok); r.Status != http.StatusOK || r.JSON()["phone_number_verified"] == true {
				t.Fatalf("after the change: %s", r)
			}
		})
		t.Run("level", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `UPDATE accounts SET level = 'standard' WHERE id = $1`, id))
		})
		t.Run("evidence", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `INSERT INTO evidence (id, account_id, method, verifier_kind, claims, verified_at, created_at)
				VALUES ($1, $2, 'registry', 'registry', 'snils', 1, 1)`, "ev-"+id, id))
		})
		t.Run("staff role", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			exec(t, `INSERT INTO orgs (code, kind, name_ru, region, created_at, updated_at) VALUES ($1, 'mfc', 'МФЦ', '77', 1, 1)`, "org-"+id)
			gone(t, tok, exec(t, `INSERT INTO staff_roles (account_id, role, org_code, granted_at) VALUES ($1, 'operator', $2, 1)`, id, "org-"+id))
		})
		t.Run("token revoked", func(t *testing.T) {
			_, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2)`, tokenIDs(tok).ID, sqldb.Micros(time.Now().Add(time.Hour))))
			if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
				t.Fatalf("a revoked token: %s", r)
			}
		})
		t.Run("family revoked", func(t *testing.T) {
			_, tok := fresh(t, cl, basicAuth)
			fam := tokenIDs(tok).Family
			if fam == "" {
				t.Fatal("the token has no family: the code flow issues every token in one")
			}
			gone(t, tok, exec(t, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2)`, fam, sqldb.Micros(time.Now().Add(time.Hour))))
			if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
				t.Fatalf("a token of a revoked family: %s", r)
			}
		})
		t.Run("account erased", func(t *testing.T) {
			id, tok := fresh(t, cl, basicAuth)
			gone(t, tok, exec(t, `DELETE FROM accounts WHERE id = $1`, id))
			if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
				t.Fatalf("the token of an erased account: %s", r)
			}
		})
		t.Run("client removed", func(t *testing.T) {
			c2, s2 := op.client(t, client.Client{Scopes: []string{"openid", "fullname", "mobile"}})
			_, tok := fresh(t, c2, auth{Method: client.AuthSecretBasic, Secret: s2})
			if err := bClients.Delete(ctx, c2.ID); err != nil {
				t.Fatal(err)
			}
			gone(t, tok, time.Now())
			// A's client cache follows within its own check interval (on
			// the provider's clock, which the test moves).
			op.Clock.Advance(client.CacheCheckInterval)
			if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
				t.Fatalf("the token of a removed client: %s", r)
			}
		})
		t.Run("other tokens stay cached", func(t *testing.T) {
			_, keep := fresh(t, cl, basicAuth)
			_, drop := fresh(t, cl, basicAuth)
			gone(t, drop, exec(t, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2)`, tokenIDs(drop).ID, sqldb.Micros(time.Now().Add(time.Hour))))
			if !op.cachedFor(t, keep) {
				t.Fatal("another account's answer was dropped")
			}
		})
		// The replica that revokes stops answering at once, before any poll.
		t.Run("revoked here", func(t *testing.T) {
			_, tok := fresh(t, cl, basicAuth)
			if r := op.call(t, pathRevoke, cl, basicAuth, map[string][]string{"token": {tok}, "token_type_hint": {"access_token"}}); r.Status != http.StatusOK {
				t.Fatalf("revoke: %s", r)
			}
			if op.cachedFor(t, tok) {
				t.Fatal("the revoking replica still holds the answer")
			}
			if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
				t.Fatalf("a token just revoked here: %s", r)
			}
		})
		t.Run("session ended here", func(t *testing.T) {
			who := op.citizen(t)
			br := op.signedIn(t, who.ID)
			tok := op.tokens(t, br, cl, basicAuth, "openid fullname").Str("access_token")
			if r := op.userinfo(t, tok); r.Status != http.StatusOK || !op.cachedFor(t, tok) {
				t.Fatalf("userinfo: %s", r)
			}
			sess, err := op.Sessions.List(ctx, who.ID)
			if err != nil || len(sess) != 1 {
				t.Fatalf("sessions: %v, %v", sess, err)
			}
			if err := op.P.SessionEnded(ctx, who.ID, sess[0].ID); err != nil {
				t.Fatal(err)
			}
			if op.cachedFor(t, tok) {
				t.Fatal("the replica that ended the session still holds the answer")
			}
		})
	})
}

// A hit answers with no database use at all; a miss uses it several
// times. The Watcher is not running here (its polls would be counted);
// one manual poll vouches for the cache for the hour of its bound.
func TestUserinfoHitMakesNoQuery(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := cache.NewWatcher(db, cache.Config{Interval: time.Hour, Bound: time.Hour})
		if err := w.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		op := startOP(t, db, withCache(w))
		cl, secret := op.client(t, client.Client{Scopes: []string{"openid", "fullname"}})
		who := op.citizen(t)
		tok := op.tokens(t, op.signedIn(t, who.ID), cl, auth{Method: client.AuthSecretBasic, Secret: secret}, "openid fullname").Str("access_token")

		before := db.Uses()
		miss := op.userinfo(t, tok)
		missUses := db.Uses() - before
		if miss.Status != http.StatusOK || missUses == 0 {
			t.Fatalf("miss: %s, %d database uses", miss, missUses)
		}
		before = db.Uses()
		hit := op.userinfo(t, tok)
		if n := db.Uses() - before; n != 0 {
			t.Fatalf("a hit used the database %d times", n)
		}
		if hit.Status != http.StatusOK || hit.Body != miss.Body || hit.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("hit %s, miss %s", hit, miss)
		}
		t.Logf("miss: %d database uses; hit: 0", missUses)

		// Discovery and the JWKS never touch the database.
		before = db.Uses()
		for _, path := range []string{"/.well-known/openid-configuration", pathKeys} {
			if r := do(t, http.DefaultClient, http.MethodGet, op.URL+path, nil); r.Status != http.StatusOK {
				t.Fatalf("%s: %s", path, r)
			}
		}
		if n := db.Uses() - before; n != 0 {
			t.Fatalf("discovery and the JWKS used the database %d times", n)
		}

		// Expiry is judged on every hit, from the token itself.
		op.Clock.Advance(time.Hour)
		if r := op.userinfo(t, tok); r.Status != http.StatusUnauthorized {
			t.Fatalf("an expired token answered from the cache: %s", r)
		}
	})
}

// A replica whose Watcher cannot poll stops answering from its cache
// after the bound and reads the database (which, here, still answers).
func TestUserinfoCacheFailsClosed(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := cache.NewWatcher(db, cache.Config{Interval: time.Second, Bound: time.Second})
		op := startOP(t, db, withCache(w))
		cl, secret := op.client(t, client.Client{Scopes: []string{"openid", "fullname"}})
		who := op.citizen(t)
		tok := op.tokens(t, op.signedIn(t, who.ID), cl, auth{Method: client.AuthSecretBasic, Secret: secret}, "openid fullname").Str("access_token")
		// The last successful poll.
		if err := w.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := op.userinfo(t, tok); r.Status != http.StatusOK || !op.cachedFor(t, tok) {
			t.Fatalf("userinfo: %s", r)
		}
		// No poll succeeds from now on (none runs): past the bound, the
		// answer comes from the database again.
		time.Sleep(w.Bound() + 50*time.Millisecond)
		before := db.Uses()
		if r := op.userinfo(t, tok); r.Status != http.StatusOK {
			t.Fatalf("userinfo: %s", r)
		}
		if db.Uses() == before {
			t.Fatal("answered from memory past the bound without a poll")
		}
	})
}

// BenchmarkUserinfo compares an answer from the cache (hit) with one read
// from the database and cached again (miss: the account's key is
// invalidated locally before each call), in process.
func BenchmarkUserinfo(b *testing.B) {
	sqldbtest.Bench(b, func(b *testing.B, db *sqldb.DB) {
		w := cache.NewWatcher(db, cache.Config{Interval: time.Hour, Bound: time.Hour})
		op := startOP(b, db, withCache(w))
		cl, secret := op.client(b, client.Client{Scopes: []string{"openid", "fullname", "mobile"}})
		who := op.citizen(b)
		tok := op.tokens(b, op.signedIn(b, who.ID), cl, auth{Method: client.AuthSecretBasic, Secret: secret}, "openid fullname mobile").Str("access_token")
		if err := w.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
		call := func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, pathUserinfo, nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			op.P.userinfo(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("userinfo: %d %s", rec.Code, rec.Body)
			}
		}
		b.Run("miss", func(b *testing.B) {
			for b.Loop() {
				w.Invalidate(accountKey(who.ID))
				call(b)
			}
		})
		b.Run("hit", func(b *testing.B) {
			call(b)
			for b.Loop() {
				call(b)
			}
		})
	})
}

// A resource API's check of an access token (the partner API) is kept
// like a userinfo answer: a hit uses no database; a revocation made on
// another replica, or a change of the token's client there, stops it
// within the bound; a revocation made here, at once; expiry is judged on
// every hit.
func TestAccessTokenCacheAcrossReplicas(t *testing.T) {
	sqldbtest.RunReplicas(t, func(t *testing.T, a, b *sqldb.DB) {
		ctx := context.Background()
		op, wa := cachedOP(t, a)
		bank, key := op.keyedClient(t, client.Client{Name: "Банк-партнёр", GrantTypes: []string{client.GrantClientCredentials},
			Scopes: []string{client.ScopePartnerConfirmations}, Partner: "sber"})
		ka := auth{Method: client.AuthPrivateKeyJWT, Key: key}
		// fresh is a new token whose check A has cached.
		fresh := func(t *testing.T) string {
			t.Helper()
			r := op.call(t, pathToken, bank, ka, url.Values{"grant_type": {"client_credentials"}, "scope": {client.ScopePartnerConfirmations}})
			if r.Status != http.StatusOK {
				t.Fatalf("token: %s", r)
			}
			tok := r.Str("access_token")
			if info, err := op.P.AccessToken(ctx, tok); err != nil || info.Client.ID != bank.ID {
				t.Fatalf("a fresh token: %+v, %v", info, err)
			}
			if _, ok := op.P.accessInfos.Get(tokenCacheKey(tok)); !ok {
				t.Fatal("the check was not cached")
			}
			return tok
		}
		refusedWithin := func(t *testing.T, tok string, committed time.Time) {
			t.Helper()
			for {
				_, err := op.P.AccessToken(ctx, tok)
				if errors.Is(err, ErrInvalidAccessToken) {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if time.Since(committed) > wa.Bound()+100*time.Millisecond {
					t.Fatalf("A still accepts the token %v after B's change", time.Since(committed))
				}
				time.Sleep(2 * time.Millisecond)
			}
		}

		t.Run("a hit uses no database", func(t *testing.T) {
			tok := fresh(t)
			before := a.Uses()
			if _, err := op.P.AccessToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if n := a.Uses() - before; n != 0 {
				t.Fatalf("a hit used the database %d times", n)
			}
		})
		t.Run("revoked on another replica", func(t *testing.T) {
			tok := fresh(t)
			id, _, _ := op.P.accessTokenID(ctx, tok)
			tid, err := parseTokenID(id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Exec(ctx, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2)`, tid.ID, sqldb.Micros(time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			refusedWithin(t, tok, time.Now())
		})
		t.Run("revoked here", func(t *testing.T) {
			tok := fresh(t)
			if r := op.call(t, pathRevoke, bank, ka, url.Values{"token": {tok}}); r.Status != http.StatusOK {
				t.Fatalf("revoke: %s", r)
			}
			if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
				t.Fatalf("a token just revoked here: %v", err)
			}
		})
		t.Run("expired", func(t *testing.T) {
			tok := fresh(t)
			op.Clock.Advance(2 * time.Hour)
			if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
				t.Fatalf("an expired token: %v", err)
			}
		})
		t.Run("client removed on another replica", func(t *testing.T) {
			tok := fresh(t)
			if err := client.NewStore(b, op.Clock.Now).Delete(ctx, bank.ID); err != nil {
				t.Fatal(err)
			}
			committed := time.Now()
			for {
				if _, ok := op.P.accessInfos.Get(tokenCacheKey(tok)); !ok {
					break
				}
				if time.Since(committed) > wa.Bound()+100*time.Millisecond {
					t.Fatalf("A still holds the check %v after B removed the client", time.Since(committed))
				}
				time.Sleep(2 * time.Millisecond)
			}
			// A's client cache follows within its own check interval.
			op.Clock.Advance(client.CacheCheckInterval)
			if _, err := op.P.AccessToken(ctx, tok); !errors.Is(err, ErrInvalidAccessToken) {
				t.Fatalf("the token of a removed client: %v", err)
			}
		})
	})
}
