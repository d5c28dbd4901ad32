package oidc

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gosid/gosid/idp/oidc/authz"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/internal/sqldb/sqldbtest"
	"github.com/gosid/gosid/keys"
)

// The store's conformance suite: every statement of store.go and
// store_device.go, directly, on both dialects, with the races the
// protocol depends on (one exchange per code, one rotation per refresh
// token, one token answer per device code).

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

		byCode, err := s.codeRequest(ctx, "code-1")
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
		if family, err = s.codeFamily(ctx, ar.ID); err != nil || family != "fam-1" {
			t.Fatalf("family after the exchange: %q, %v", family, err)
		}
		// A spent code is still found (reuse is detected when spending), after
		// it would have expired too, while the request lives.
		clock.Advance(time.Hour)
		if _, err := s.codeRequest(ctx, "code-1"); err != nil {
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
		unknown, _ := keys.NewToken()
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
		first, err := s.exchangeCode(ctx, ar.ID, clock.Now().Add(time.Hour), rt, time.Hour)
		must(t, "exchange", err)
		_, err = s.exchangeCode(ctx, ar.ID, clock.Now().Add(time.Hour), rt, time.Hour)
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
