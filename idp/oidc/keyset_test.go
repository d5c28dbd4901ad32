package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// TestClientKeysRefetchedOnUnknownKID: a private_key_jwt client with a
// jwks_uri that rotates its key is accepted with the new key at once (its
// set is fetched again, not after the cache's five minutes), and
// assertions naming unknown keys make Gosid fetch the set at most once per
// keySetRefetch, however many come.
func TestClientKeysRefetchedOnUnknownKID(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		o := startOP(t, db)
		var jwks atomic.Pointer[string]
		var fetches atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(*jwks.Load()))
		}))
		t.Cleanup(srv.Close)
		k1, set1 := newClientKey(t, "k1")
		jwks.Store(&set1)
		c, _ := o.client(t, client.Client{AuthMethod: client.AuthPrivateKeyJWT, JWKSURI: srv.URL,
			GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"openid"}})
		grant := func(k clientKey) reply {
			t.Helper()
			return o.call(t, pathToken, c, auth{Method: client.AuthPrivateKeyJWT, Key: k}, url.Values{"grant_type": {"client_credentials"}})
		}
		wantFetches := func(what string, n int32) {
			t.Helper()
			if got := fetches.Load(); got != n {
				t.Fatalf("%s: %d fetches of the jwks_uri, want %d", what, got, n)
			}
		}

		if r := grant(k1); r.Status != http.StatusOK {
			t.Fatalf("first key: %s", r)
		}
		if r := grant(k1); r.Status != http.StatusOK {
			t.Fatalf("first key again: %s", r)
		}
		wantFetches("first key, twice", 1)

		// The client rotates; a minute later its new key works.
		k2, set2 := newClientKey(t, "k2")
		jwks.Store(&set2)
		o.Clock.Advance(time.Minute)
		if r := grant(k2); r.Status != http.StatusOK {
			t.Fatalf("rotated key: %s", r)
		}
		wantFetches("rotated key", 2)
		if r := grant(k1); r.Status != http.StatusUnauthorized {
			t.Fatalf("the removed key is still accepted: %s", r)
		}

		// Unknown kids, unauthenticated: one fetch per keySetRefetch.
		stranger, _ := newClientKey(t, "unknown")
		for range 5 {
			wantError(t, "unknown kid", grant(stranger), http.StatusUnauthorized, "invalid_client")
		}
		wantFetches("unknown kids right after a fetch", 2)
		o.Clock.Advance(keySetRefetch + time.Second)
		for range 5 {
			wantError(t, "unknown kid", grant(stranger), http.StatusUnauthorized, "invalid_client")
		}
		wantFetches("unknown kids after the refetch interval", 3)
		if r := grant(k2); r.Status != http.StatusOK {
			t.Fatalf("current key after the refetches: %s", r)
		}
		wantFetches("current key", 3)
	})
}
