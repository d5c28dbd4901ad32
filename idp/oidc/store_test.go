package oidc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/oidc/authz"
	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
)

// The store's conformance suite: every statement of store.go and
// store_device.go, and the policy of store.go and store_refresh.go
// (redeemed codes, rotated refresh tokens, revoked families), directly,
// on both dialects, with the races the protocol depends on (one exchange
// per code, one rotation per refresh token and the same successor for
// every racing retry, one token answer per device code).

// newTestStore is the store of a provider over db (with its clock), and
// account ids of real accounts (grants reference them; ids are UUIDs).
func newTestStore(t *testing.T, db *sqldb.DB) (*store, *sqldbtest.Clock, []string) {
	t.Helper()
	o := startOP(t, db)
	return o.P.store, o.Clock, []string{o.citizen(t).ID, o.citizen(t).ID}
}

// withCode stores a completed request of account with code (a minute).
func withCode(t *testing.T, s *store, account, code string) *AuthRequest {
	t.Helper()
	ctx := context.Background()
	ar, err := s.createAuthRequest(ctx, Request{ClientID: "site"}, 30*time.Minute)
	must(t, "create", err)
	must(t, "complete", s.completeAuthRequest(ctx, ar.ID, account, "sess", s.now(), nil, ""))
	must(t, "code", s.saveCode(ctx, ar.ID, code, time.Minute))
	return ar
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestStoreAuthRequests(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		maxAge := uint(60)
		req := Request{ClientID: "site", RedirectURI: "https://site.example/cb", Scopes: []string{"openid", "fullname"}, State: "st",
			Nonce: "n", ResponseType: "code", CodeChallenge: "ch", CodeChallengeMethod: "S256", Prompt: []string{"login"}, MaxAge: &maxAge,
			UILocales: []string{"ru"}, ACRValues: []string{authz.ACRMFA}, HintSubject: acc[0]}
		ar, err := s.createAuthRequest(ctx, req, 30*time.Minute)
		must(t, "create", err)
		got, err := s.authRequest(ctx, ar.ID)
		must(t, "read", err)
		if got.Request.ClientID != "site" || got.Request.Nonce != "n" || *got.Request.MaxAge != 60 || !slices.Equal(got.Request.Scopes, req.Scopes) ||
			got.Done || got.AccountID != "" || !got.ExpiresAt.Equal(ar.ExpiresAt.Truncate(time.Microsecond)) || !got.CreatedAt.Equal(ar.CreatedAt.Truncate(time.Microsecond)) {
			t.Fatalf("read back %+v, stored %+v", got, ar)
		}
		_, err = s.authRequest(ctx, "unknown")
		wantIs(t, "unknown request", err, sqldb.ErrNotFound)

		// A code before the sign-in completes: refused.
		wantIs(t, "code before completion", s.saveCode(ctx, ar.ID, "code-1", time.Minute), sqldb.ErrConflict)
		authTime := clock.Now().Add(-time.Minute).Truncate(time.Microsecond)
		must(t, "complete", s.completeAuthRequest(ctx, ar.ID, acc[0], "sess-1", authTime, []string{"pwd", "otp"}, "urn:gosid:loa:2"))
		got, err = s.authRequest(ctx, ar.ID)
		must(t, "read completed", err)
		if !got.Done || got.AccountID != acc[0] || got.SessionID != "sess-1" || !got.AuthTime.Equal(authTime) ||
			!slices.Equal(got.AMR, []string{"pwd", "otp"}) || got.ACR != "urn:gosid:loa:2" {
			t.Fatalf("completed request %+v", got)
		}
		wantIs(t, "complete unknown", s.completeAuthRequest(ctx, "unknown", acc[0], "s", authTime, nil, ""), sqldb.ErrNotFound)

		must(t, "save code", s.saveCode(ctx, ar.ID, "code-1", time.Minute))
		wantIs(t, "second code", s.saveCode(ctx, ar.ID, "code-2", time.Minute), sqldb.ErrConflict)
		wantIs(t, "complete after the code", s.completeAuthRequest(ctx, ar.ID, acc[1], "s", authTime, nil, ""), sqldb.ErrNotFound)
		wantIs(t, "complete after the code, another session", s.completeAuthRequest(ctx, ar.ID, acc[0], "sess-2", authTime, nil, ""), sqldb.ErrNotFound)
		// The same session again (the answer with code-1 was lost): code-1
		// is dropped and one new code may be issued.
		must(t, "complete again", s.completeAuthRequest(ctx, ar.ID, acc[0], "sess-1", authTime, []string{"pwd", "otp"}, "urn:gosid:loa:2"))
		_, err = s.codeRequest(ctx, "code-1")
		wantIs(t, "the lost answer's code", err, sqldb.ErrNotFound)
		must(t, "the new code", s.saveCode(ctx, ar.ID, "code-1b", time.Minute))
		wantIs(t, "a second new code", s.saveCode(ctx, ar.ID, "code-2", time.Minute), sqldb.ErrConflict)

		byCode, err := s.codeRequest(ctx, "code-1b")
		must(t, "code request", err)
		if byCode.ID != ar.ID || byCode.AccountID != acc[0] {
			t.Fatalf("code request %+v", byCode)
		}
		_, err = s.codeRequest(ctx, "code-2")
		wantIs(t, "unknown code", err, sqldb.ErrNotFound)
		family, err := s.codeFamily(ctx, ar.ID)
		if err != nil || family != "" {
			t.Fatalf("family before the exchange: %q, %v", family, err)
		}

		// The exchange: once, and the request kept until its tokens expire.
		until := clock.Now().Add(2 * time.Hour)
		must(t, "spend", s.spendCode(ctx, db, ar.ID, "fam-1", until))
		wantIs(t, "spend again", s.spendCode(ctx, db, ar.ID, "fam-2", until), errCodeReused)
		wantIs(t, "complete after the exchange", s.completeAuthRequest(ctx, ar.ID, acc[0], "sess-1", authTime, nil, ""), sqldb.ErrNotFound)
		if family, err = s.codeFamily(ctx, ar.ID); err != nil || family != "fam-1" {
			t.Fatalf("family after the exchange: %q, %v", family, err)
		}
		// A spent code is still found (reuse is detected when spending), after
		// it would have expired too, while the request lives.
		clock.Advance(time.Hour)
		if _, err := s.codeRequest(ctx, "code-1b"); err != nil {
			t.Fatalf("spent code an hour later: %v", err)
		}
		got, err = s.authRequest(ctx, ar.ID)
		must(t, "request kept for the family", err)
		if got.FamilyID != "fam-1" || !got.ExpiresAt.Equal(until.Truncate(time.Microsecond)) {
			t.Fatalf("spent request: family %q, expires %v, want %v", got.FamilyID, got.ExpiresAt, until)
		}
		clock.Advance(2 * time.Hour)
		_, err = s.authRequest(ctx, ar.ID)
		wantIs(t, "request past its expiry", err, sqldb.ErrExpired)
	})
}

func TestStoreCodeExpiry(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		ar := withCode(t, s, acc[0], "code")
		clock.Advance(time.Minute + time.Second)
		_, err := s.codeRequest(ctx, "code")
		wantIs(t, "expired code", err, sqldb.ErrExpired)
		wantIs(t, "spend expired code", s.spendCode(ctx, db, ar.ID, "fam", clock.Now().Add(time.Hour)), sqldb.ErrExpired)
	})
}

// TestStoreCodeRace: of exchanges racing for one code, exactly one spends
// it.
func TestStoreCodeRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		ar := withCode(t, s, acc[0], "code")
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = db.InTx(ctx, func(tx *sqldb.Tx) error {
					return s.spendCode(ctx, tx, ar.ID, "fam", clock.Now().Add(time.Hour))
				})
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errCodeReused):
				t.Errorf("a losing exchange: %v, want errCodeReused", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d exchanges spent the code, want 1", won)
		}
	})
}

func TestStoreRefreshTokens(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		authTime := clock.Now().Add(-time.Hour).Truncate(time.Microsecond)
		rt := RefreshToken{FamilyID: "fam-1", ClientID: "site", AccountID: acc[0], SessionID: "sess-1", Scopes: []string{"openid", "offline_access"},
			AMR: []string{"pwd"}, ACR: "urn:gosid:loa:1", AuthTime: authTime, Claims: []string{"snils"}}
		token, err := addRefreshToken(ctx, db, clock.Now(), 24*time.Hour, rt)
		must(t, "add", err)
		got, hash, err := s.refreshToken(ctx, db, token)
		must(t, "read", err)
		if got.FamilyID != "fam-1" || got.ClientID != "site" || got.AccountID != acc[0] || got.SessionID != "sess-1" || got.ACR != rt.ACR ||
			!slices.Equal(got.Scopes, rt.Scopes) || !slices.Equal(got.AMR, rt.AMR) || !slices.Equal(got.Claims, rt.Claims) || !got.AuthTime.Equal(authTime) || len(hash) == 0 {
			t.Fatalf("read back %+v, stored %+v", got, rt)
		}
		_, _, err = s.refreshToken(ctx, db, "not-a-token")
		wantIs(t, "malformed token", err, sqldb.ErrNotFound)
		unknown, _ := bearer.New()
		_, _, err = s.refreshToken(ctx, db, unknown)
		wantIs(t, "unknown token", err, sqldb.ErrNotFound)

		// Rotation: once; the successor is recovered within the grace only.
		next, err := addRefreshToken(ctx, db, clock.Now(), 24*time.Hour, rt)
		must(t, "add successor", err)
		won, err := s.rotated(ctx, db, hash, next, clock.Now())
		if err != nil || !won {
			t.Fatalf("first rotation: %v, %v", won, err)
		}
		if won, err = s.rotated(ctx, db, hash, "other", clock.Now()); err != nil || won {
			t.Fatalf("second rotation: %v, %v, want false", won, err)
		}
		_, _, err = s.refreshToken(ctx, db, token)
		var grace *graceError
		if !errors.As(err, &grace) || grace.successor != next {
			t.Fatalf("rotated token within the grace: %v, want its successor", err)
		}
		clock.Advance(DefaultRefreshGrace + time.Second)
		_, _, err = s.refreshToken(ctx, db, token)
		if !errors.Is(err, errRefreshReused) || errors.As(err, &grace) {
			t.Fatalf("rotated token after the grace: %v, want errRefreshReused without a successor", err)
		}

		// The sweep forgets successors after the grace, and expired tokens.
		n, err := s.sweep(ctx)
		must(t, "sweep", err)
		if n != 1 {
			t.Errorf("sweep after the grace: %d rows, want 1 (the successor)", n)
		}
		clock.Advance(25 * time.Hour)
		_, _, err = s.refreshToken(ctx, db, next)
		wantIs(t, "expired token", err, sqldb.ErrExpired)
		if n, err = s.sweep(ctx); err != nil || n != 2 {
			t.Errorf("sweep after expiry: %d rows, %v; want 2 tokens", n, err)
		}
		_, _, err = s.refreshToken(ctx, db, next)
		wantIs(t, "swept token", err, sqldb.ErrNotFound)
	})
}

// TestStoreRotationRace: of rotations racing for one refresh token,
// exactly one wins.
func TestStoreRotationRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		token, err := addRefreshToken(ctx, db, clock.Now(), time.Hour, RefreshToken{FamilyID: "fam", ClientID: "site", AccountID: acc[0]})
		must(t, "add", err)
		_, hash, err := s.refreshToken(ctx, db, token)
		must(t, "read", err)
		const n = 8
		wins := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					var err error
					wins[i], err = s.rotated(ctx, tx, hash, "successor", clock.Now())
					return err
				})
				if err != nil {
					t.Errorf("rotation: %v", err)
				}
			})
		}
		wg.Wait()
		if won := len(slices.DeleteFunc(wins, func(w bool) bool { return !w })); won != 1 {
			t.Fatalf("%d rotations won, want 1", won)
		}
	})
}

func TestStoreRevocations(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		add := func(family, account, client string) string {
			t.Helper()
			tok, err := addRefreshToken(ctx, db, clock.Now(), time.Hour, RefreshToken{FamilyID: family, ClientID: client, AccountID: account})
			must(t, "add", err)
			return tok
		}
		a1 := add("fam-a", acc[0], "site")
		add("fam-a", acc[0], "site")
		b := add("fam-b", acc[0], "site")
		other := add("fam-c", acc[0], "other-site")

		fams, err := s.families(ctx, s.db, acc[0], "site")
		must(t, "families", err)
		slices.Sort(fams)
		if !slices.Equal(fams, []string{"fam-a", "fam-b"}) {
			t.Fatalf("families = %v", fams)
		}
		if r, err := s.revoked(ctx, "", "fam-a", "tok-1"); err != nil || r {
			t.Fatalf("revoked before any revocation: %v, %v", r, err)
		}
		until := clock.Now().Add(10 * time.Minute)
		must(t, "revoke family", revokeFamily(ctx, db, "fam-a", until))
		must(t, "revoke family again", revokeFamily(ctx, db, "fam-a", until))
		must(t, "revoke no family", revokeFamily(ctx, db, "", until))
		_, _, err = s.refreshToken(ctx, db, a1)
		wantIs(t, "token of a revoked family", err, sqldb.ErrNotFound)
		if r, err := s.revoked(ctx, "tok-1", "fam-a"); err != nil || !r {
			t.Fatalf("revoked family: %v, %v", r, err)
		}
		must(t, "revoke token id", s.revoke(ctx, db, "tok-1", until))
		must(t, "revoke token id again", s.revoke(ctx, db, "tok-1", until))
		if r, err := s.revoked(ctx, "tok-1", ""); err != nil || !r {
			t.Fatalf("revoked token id: %v, %v", r, err)
		}

		// RP-initiated logout: the client's tokens of the account go.
		must(t, "delete tokens", s.deleteRefreshTokens(ctx, acc[0], "site"))
		_, _, err = s.refreshToken(ctx, db, b)
		wantIs(t, "deleted token", err, sqldb.ErrNotFound)
		if _, _, err := s.refreshToken(ctx, db, other); err != nil {
			t.Fatalf("another client's token: %v", err)
		}

		clock.Advance(11 * time.Minute)
		n, err := s.sweep(ctx)
		if err != nil || n != 2 {
			t.Fatalf("sweep: %d rows, %v; want the 2 revocations", n, err)
		}
		if r, err := s.revoked(ctx, "tok-1", "fam-a"); err != nil || r {
			t.Fatalf("revoked after the sweep: %v, %v", r, err)
		}
	})
}

func TestStoreGrants(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		_, err := s.grant(ctx, acc[0], "site")
		wantIs(t, "no grant", err, sqldb.ErrNotFound)
		must(t, "grant", s.saveGrant(ctx, acc[0], "site", []string{"openid", "fullname"}))
		clock.Advance(time.Minute)
		must(t, "grant more", s.saveGrant(ctx, acc[0], "site", []string{"openid", "email"}))
		g, err := s.grant(ctx, acc[0], "site")
		must(t, "read", err)
		if !slices.Equal(g.Scopes, []string{"openid", "fullname", "email"}) || !g.GrantedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
			t.Fatalf("grant %+v: want the union, granted now", g)
		}
		clock.Advance(time.Minute)
		must(t, "another site", s.saveGrant(ctx, acc[0], "other", []string{"openid"}))
		must(t, "another account", s.saveGrant(ctx, acc[1], "site", []string{"openid"}))
		gs, err := s.grants(ctx, acc[0])
		must(t, "list", err)
		if len(gs) != 2 || gs[0].ClientID != "other" || gs[1].ClientID != "site" {
			t.Fatalf("grants = %+v, want other then site", gs)
		}
		must(t, "delete", s.deleteGrant(ctx, s.db, acc[0], "site"))
		wantIs(t, "delete again", s.deleteGrant(ctx, s.db, acc[0], "site"), sqldb.ErrNotFound)
		if _, err := s.grant(ctx, acc[1], "site"); err != nil {
			t.Fatalf("another account's grant: %v", err)
		}
	})
}

func TestStoreAssertionJTIs(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, _ := newTestStore(t, db)
		exp := clock.Now().Add(time.Minute)
		for _, c := range []struct {
			client, jti string
			fresh       bool
		}{{"bank", "j1", true}, {"bank", "j1", false}, {"other", "j1", true}, {"bank", "j2", true}} {
			fresh, err := s.useJTI(ctx, c.client, c.jti, exp)
			if err != nil || fresh != c.fresh {
				t.Fatalf("useJTI(%s, %s) = %v, %v; want %v", c.client, c.jti, fresh, err, c.fresh)
			}
		}
		clock.Advance(2 * time.Minute)
		if n, err := s.sweep(ctx); err != nil || n != 3 {
			t.Fatalf("sweep: %d rows, %v; want 3", n, err)
		}
		if fresh, err := s.useJTI(ctx, "bank", "j1", clock.Now().Add(time.Minute)); err != nil || !fresh {
			t.Fatalf("jti after its sweep: %v, %v", fresh, err)
		}
	})
}

func TestStoreDeviceCodes(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		exp := clock.Now().Add(10 * time.Minute)
		must(t, "add", s.addDeviceCode(ctx, "tv", "device-1", "BCDF-GHJK", exp, []string{"openid", "offline_access"}))
		wantIs(t, "same user code", s.addDeviceCode(ctx, "tv", "device-2", "bcdfghjk", exp, nil), sqldb.ErrConflict)

		d, err := s.deviceCode(ctx, "device-1")
		must(t, "read", err)
		if d.ClientID != "tv" || d.State != "pending" || !slices.Equal(d.Scopes, []string{"openid", "offline_access"}) || !d.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) {
			t.Fatalf("device code %+v", d)
		}
		_, err = s.deviceCode(ctx, "device-2")
		wantIs(t, "unknown device code", err, sqldb.ErrNotFound)
		p, err := s.pendingDeviceCode(ctx, "bcdf ghjk")
		must(t, "pending by user code", err)
		if p.ClientID != "tv" {
			t.Fatalf("pending %+v", p)
		}
		wantIs(t, "use before approval", s.useDeviceCode(ctx, "device-1"), sqldb.ErrConflict)

		authTime := clock.Now().Truncate(time.Microsecond)
		must(t, "approve", s.decideDeviceCode(ctx, "BCDFGHJK", "approved", acc[0], []string{"pwd"}, "urn:gosid:loa:1", authTime))
		wantIs(t, "decide again", s.decideDeviceCode(ctx, "BCDFGHJK", "denied", acc[0], nil, "", authTime), sqldb.ErrNotFound)
		_, err = s.pendingDeviceCode(ctx, "BCDFGHJK")
		wantIs(t, "pending after approval", err, sqldb.ErrNotFound)
		d, err = s.deviceCode(ctx, "device-1")
		must(t, "read approved", err)
		if d.State != "approved" || d.AccountID != acc[0] || !slices.Equal(d.AMR, []string{"pwd"}) || !d.AuthTime.Equal(authTime) {
			t.Fatalf("approved device code %+v", d)
		}

		// Racing polls: one gets the tokens.
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = s.useDeviceCode(ctx, "device-1") })
		}
		wg.Wait()
		used := 0
		for _, err := range errs {
			switch {
			case err == nil:
				used++
			case !errors.Is(err, sqldb.ErrConflict):
				t.Errorf("a losing poll: %v", err)
			}
		}
		if used != 1 {
			t.Fatalf("%d polls used the device code, want 1", used)
		}

		// Expiry: not pending any more, no decision; the sweep removes it.
		must(t, "add second", s.addDeviceCode(ctx, "tv", "device-3", "MNPQ-RSTV", exp, nil))
		clock.Advance(11 * time.Minute)
		_, err = s.pendingDeviceCode(ctx, "MNPQRSTV")
		wantIs(t, "expired pending", err, sqldb.ErrExpired)
		wantIs(t, "decide expired", s.decideDeviceCode(ctx, "MNPQRSTV", "approved", acc[0], nil, "", authTime), sqldb.ErrNotFound)
		if n, err := s.sweep(ctx); err != nil || n != 2 {
			t.Fatalf("sweep: %d rows, %v; want the 2 device codes", n, err)
		}
	})
}

// TestStoreExchangeAndRotate: a code exchange spends the code and stores
// the family's first refresh token together; a rotation stores the
// successor and marks the token rotated together, and a lost rotation
// stores nothing.
func TestStoreExchangeAndRotate(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		ar := withCode(t, s, acc[0], "code")
		rt := RefreshToken{FamilyID: "fam", ClientID: "site", AccountID: acc[0], Scopes: []string{"openid", "offline_access"}}
		first, _, err := s.exchangeCode(ctx, ar.ID, clock.Now().Add(time.Hour), rt, time.Hour, nil)
		must(t, "exchange", err)
		_, _, err = s.exchangeCode(ctx, ar.ID, clock.Now().Add(time.Hour), rt, time.Hour, nil)
		wantIs(t, "second exchange", err, errCodeReused)
		fams, err := s.families(ctx, s.db, acc[0], "site")
		if err != nil || !slices.Equal(fams, []string{"fam"}) {
			t.Fatalf("families after a reused code: %v, %v", fams, err)
		}

		cur, hash, err := s.refreshToken(ctx, db, first)
		must(t, "read first", err)
		next := *cur
		next.Scopes = []string{"openid"}
		second, err := s.rotate(ctx, hash, next, time.Hour)
		must(t, "rotate", err)
		got, _, err := s.refreshToken(ctx, db, second)
		must(t, "read successor", err)
		if !slices.Equal(got.Scopes, []string{"openid"}) || got.FamilyID != "fam" {
			t.Fatalf("successor %+v", got)
		}
		_, err = s.rotate(ctx, hash, next, time.Hour)
		wantIs(t, "second rotation", err, errLostRotation)
		var n int
		must(t, "count", db.QueryRow(ctx, `SELECT count(*) FROM oidc_refresh_tokens WHERE family_id = 'fam'`).Scan(&n))
		if n != 2 {
			t.Fatalf("%d tokens in the family after a lost rotation, want 2", n)
		}
	})
}

// familySize counts the refresh tokens stored in a family.
func familySize(t *testing.T, db *sqldb.DB, family string) int {
	t.Helper()
	var n int
	must(t, "count the family", db.QueryRow(context.Background(), `SELECT count(*) FROM oidc_refresh_tokens WHERE family_id = $1`, family).Scan(&n))
	return n
}

// wantRevoked checks that family is revoked (its access tokens with it)
// and its refresh tokens gone.
func wantRevoked(t *testing.T, s *store, family string, tokens ...string) {
	t.Helper()
	ctx := context.Background()
	if r, err := s.revoked(ctx, "", family); err != nil || !r {
		t.Fatalf("family %s revoked: %v, %v; want its access tokens revoked", family, r, err)
	}
	for _, tok := range tokens {
		_, _, err := s.refreshToken(ctx, s.db, tok)
		wantIs(t, "a refresh token of a revoked family", err, sqldb.ErrNotFound)
	}
	if n := familySize(t, s.db, family); n != 0 {
		t.Fatalf("%d refresh tokens left in a revoked family", n)
	}
}

// presentCode stores a completed request of account with code and reads
// it back by the code, as the token endpoint does.
func presentCode(t *testing.T, s *store, account, code string) *AuthRequest {
	t.Helper()
	withCode(t, s, account, code)
	ar, err := s.codeRequest(context.Background(), code)
	must(t, "read by code", err)
	return ar
}

// TestStoreRedeemCode: a code is redeemed once, for a new family (with its
// first refresh token, or without one); redeeming it again revokes that
// family.
func TestStoreRedeemCode(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)
		until := clock.Now().Add(10 * time.Minute)
		for _, refresh := range []bool{false, true} {
			ar := presentCode(t, s, acc[0], "code-"+map[bool]string{false: "a", true: "r"}[refresh])
			iss, err := s.redeemCode(ctx, ar, until, refresh)
			must(t, "redeem", err)
			if len(iss.FamilyID) != 22 || (iss.RefreshToken != "") != refresh {
				t.Fatalf("redeemed (refresh %v): %+v", refresh, iss)
			}
			if family, err := s.codeFamily(ctx, ar.ID); err != nil || family != iss.FamilyID {
				t.Fatalf("the code's family: %q, %v; want %q", family, err, iss.FamilyID)
			}
			if refresh {
				rt, _, err := s.refreshToken(ctx, db, iss.RefreshToken)
				must(t, "the first refresh token", err)
				if rt.FamilyID != iss.FamilyID || rt.AccountID != acc[0] || rt.SessionID != "sess" || rt.ClientID != "site" {
					t.Fatalf("the first refresh token's grant: %+v", rt)
				}
			}
			if r, err := s.revoked(ctx, "", iss.FamilyID); err != nil || r {
				t.Fatalf("a fresh family revoked: %v, %v", r, err)
			}
			again, err := s.redeemCode(ctx, ar, until, refresh)
			wantIs(t, "redeem again", err, errCodeReused)
			if again != (Issued{}) {
				t.Fatalf("a reused code issued %+v", again)
			}
			wantRevoked(t, s, iss.FamilyID, iss.RefreshToken)
		}

		ar := presentCode(t, s, acc[0], "code-late")
		clock.Advance(time.Minute + time.Second)
		_, err := s.redeemCode(ctx, ar, until, true)
		wantIs(t, "redeem an expired code", err, sqldb.ErrExpired)
	})
}

// TestStoreStartFamily: a device's offline_access starts a family of its
// own each time.
func TestStoreStartFamily(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _, acc := newTestStore(t, db)
		grant := RefreshToken{FamilyID: "ignored", ClientID: "tv", AccountID: acc[0], Scopes: []string{"openid", "offline_access"}}
		a, err := s.startFamily(ctx, grant)
		must(t, "start", err)
		b, err := s.startFamily(ctx, grant)
		must(t, "start another", err)
		if len(a.FamilyID) != 22 || a.FamilyID == b.FamilyID || a.RefreshToken == b.RefreshToken {
			t.Fatalf("two families: %+v, %+v", a, b)
		}
		rt, _, err := s.refreshToken(ctx, db, a.RefreshToken)
		must(t, "read", err)
		if rt.FamilyID != a.FamilyID || rt.ClientID != "tv" || !slices.Equal(rt.Scopes, grant.Scopes) {
			t.Fatalf("a device family's token: %+v", rt)
		}
	})
}

// startRefresh redeems a fresh code of account for a family with a
// refresh token.
func startRefresh(t *testing.T, s *store, account, code string) Issued {
	t.Helper()
	iss, err := s.redeemCode(context.Background(), presentCode(t, s, account, code), s.now().Add(10*time.Minute), true)
	must(t, "redeem", err)
	return iss
}

// refreshOnce presents token and rotates it with scopes.
func refreshOnce(s *store, token string, scopes []string) (Issued, error) {
	p, err := s.presentRefresh(context.Background(), token)
	if err != nil {
		return Issued{}, err
	}
	return s.refresh(context.Background(), p, scopes)
}

// TestStoreRefreshPolicy: a refresh token is rotated once; a retry within
// the grace gets the same successor, whether it presents the token after
// the rotation or lost the rotation's race; any other use of a rotated
// token revokes its family.
func TestStoreRefreshPolicy(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, clock, acc := newTestStore(t, db)

		// Rotation: a successor of the same family, with the scopes asked.
		iss := startRefresh(t, s, acc[0], "code-1")
		stale, err := s.presentRefresh(ctx, iss.RefreshToken)
		must(t, "present", err)
		if stale.successor != "" || stale.FamilyID != iss.FamilyID {
			t.Fatalf("a current token presented: %+v", stale)
		}
		rot, err := s.refresh(ctx, stale, []string{"openid"})
		must(t, "rotate", err)
		if rot.FamilyID != iss.FamilyID || rot.RefreshToken == "" || rot.RefreshToken == iss.RefreshToken {
			t.Fatalf("rotation of %+v: %+v", iss, rot)
		}
		next, _, err := s.refreshToken(ctx, db, rot.RefreshToken)
		must(t, "read the successor", err)
		if !slices.Equal(next.Scopes, []string{"openid"}) || next.FamilyID != iss.FamilyID {
			t.Fatalf("successor %+v", next)
		}

		// Retries within the grace: presented again, or the rotation lost
		// to the first attempt (read before it committed).
		clock.Advance(s.life.RefreshGrace / 2)
		retry, err := refreshOnce(s, iss.RefreshToken, []string{"openid"})
		must(t, "retry within the grace", err)
		lost, err := s.refresh(ctx, stale, []string{"openid"})
		must(t, "a rotation that lost the race", err)
		if retry != rot || lost != rot {
			t.Fatalf("retries within the grace: %+v and %+v, want the same successor %+v", retry, lost, rot)
		}
		if n := familySize(t, db, iss.FamilyID); n != 2 {
			t.Fatalf("%d refresh tokens in the family after retries, want 2", n)
		}

		// Reuse after the grace: the family goes, access tokens included.
		clock.Advance(s.life.RefreshGrace)
		_, err = refreshOnce(s, iss.RefreshToken, []string{"openid"})
		wantIs(t, "reuse after the grace", err, errRefreshReused)
		wantRevoked(t, s, iss.FamilyID, rot.RefreshToken)

		// The same, found by a rotation that lost its race after the grace.
		iss = startRefresh(t, s, acc[0], "code-2")
		stale, err = s.presentRefresh(ctx, iss.RefreshToken)
		must(t, "present", err)
		rot, err = s.refresh(ctx, stale, nil)
		must(t, "rotate", err)
		clock.Advance(s.life.RefreshGrace + time.Second)
		_, err = s.refresh(ctx, stale, nil)
		wantIs(t, "a lost rotation after the grace", err, errRefreshReused)
		wantRevoked(t, s, iss.FamilyID, rot.RefreshToken)

		// Within the grace, but the successor was rotated in turn: reuse.
		iss = startRefresh(t, s, acc[0], "code-3")
		second, err := refreshOnce(s, iss.RefreshToken, nil)
		must(t, "rotate", err)
		third, err := refreshOnce(s, second.RefreshToken, nil)
		must(t, "rotate the successor", err)
		_, err = refreshOnce(s, iss.RefreshToken, nil)
		wantIs(t, "the first token once its successor moved on", err, errRefreshReused)
		wantRevoked(t, s, iss.FamilyID, third.RefreshToken)

		// Unknown and expired tokens are verdicts, not reuse.
		unknown, _ := bearer.New()
		_, err = s.presentRefresh(ctx, unknown)
		wantIs(t, "unknown token", err, sqldb.ErrNotFound)
		iss = startRefresh(t, s, acc[0], "code-4")
		clock.Advance(s.life.RefreshToken)
		_, err = s.presentRefresh(ctx, iss.RefreshToken)
		wantIs(t, "expired token", err, sqldb.ErrExpired)
		if r, err := s.revoked(ctx, "", iss.FamilyID); err != nil || r {
			t.Fatalf("an expired token's family revoked: %v, %v", r, err)
		}
	})
}

// TestStoreRefreshRace: refreshes racing with one token (a client retrying
// before its first attempt answered) all get the same successor, and no
// third token is stored; whether each read the token before any rotation
// committed (shared) or on its own.
func TestStoreRefreshRace(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, _, acc := newTestStore(t, db)
		for i, shared := range []bool{true, false} {
			iss := startRefresh(t, s, acc[0], fmt.Sprintf("code-%d", i))
			p, err := s.presentRefresh(ctx, iss.RefreshToken)
			must(t, "present", err)
			const n = 6
			got := make([]Issued, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if shared {
						got[i], errs[i] = s.refresh(ctx, p, p.Scopes)
					} else {
						got[i], errs[i] = refreshOnce(s, iss.RefreshToken, p.Scopes)
					}
				})
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("shared %v: refresh %d: %v", shared, i, errs[i])
				}
				if got[i] != got[0] || got[i].RefreshToken == iss.RefreshToken {
					t.Fatalf("shared %v: refresh %d got %+v, refresh 0 %+v: want one successor", shared, i, got[i], got[0])
				}
			}
			if size := familySize(t, db, iss.FamilyID); size != 2 {
				t.Fatalf("shared %v: %d refresh tokens in the family, want 2 (no third)", shared, size)
			}
			if _, _, err := s.refreshToken(ctx, db, got[0].RefreshToken); err != nil {
				t.Fatalf("shared %v: the successor: %v", shared, err)
			}
		}
	})
}

// TestPresentedRefreshLogValue: the refresh grant's request, logged,
// does not show the successor it carries, a live token.
func TestPresentedRefreshLogValue(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := &presentedRefresh{RefreshToken: RefreshToken{ClientID: "site"}, successor: "SUCCESSOR-TOKEN"}
	log.Info("request", "req", &refreshReq{presentedRefresh: p})
	if out := buf.String(); strings.Contains(out, "SUCCESSOR-TOKEN") || !strings.Contains(out, "site") {
		t.Fatalf("logged %s", out)
	}
}
