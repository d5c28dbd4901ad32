package oidc

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gosid/gosid/internal/bearer"
	"github.com/gosid/gosid/internal/sqldb"
)

// Request is the part of a validated authorization request that Gosid
// keeps until the code is exchanged.
type Request struct {
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              *uint    `json:"max_age,omitempty"`
	UILocales           []string `json:"ui_locales,omitempty"`
	LoginHint           string   `json:"login_hint,omitempty"`
	ACRValues           []string `json:"acr_values,omitempty"`
	// HintSubject is the sub of a valid id_token_hint.
	HintSubject string `json:"hint_sub,omitempty"`
	// Claims is the validated claims parameter, if any.
	Claims *ClaimsRequest `json:"claims,omitempty"`
}

// AuthRequest is a stored authorization request with its outcome.
type AuthRequest struct {
	ID        string
	Request   Request
	AccountID string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	ACR       string
	Done      bool
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// store is the provider's database access, and the policy of what it
// issues: a code spent once (its reuse revokes what it issued), refresh
// tokens rotated once (a retry within the grace gets the same successor,
// reuse revokes the family). The adapter only translates to and from op.
type store struct {
	db  *sqldb.DB
	now func() time.Time
	// aead seals what must be recovered, not only recognised: a rotated
	// refresh token's successor during grace.
	aead cipher.AEAD
	// life gives the refresh tokens' lifetime and grace, and how long a
	// revoked family's access tokens stay revoked (AccessToken).
	life Lifetimes
	log  *slog.Logger
	// forget drops cache keys in this process at once (cache.Watcher.
	// Invalidate; nil without a cache): the replica that revokes a token
	// stops answering for it before its next poll of the invalidation log,
	// which the revocation's trigger writes for the other replicas.
	forget func(keys ...string)
}

// forgetTokens drops the cached answers for access token ids or families
// revoked by a committed change.
func (s *store) forgetTokens(ids ...string) {
	if s.forget == nil || len(ids) == 0 {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = tokenKey(id)
	}
	s.forget(keys...)
}

// seal encrypts plaintext bound to aad; open reverses it.
func (s *store) seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, aad)
}

func (s *store) open(blob, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(blob) < n {
		return nil, errors.New("sealed value too short")
	}
	return s.aead.Open(nil, blob[:n], blob[n:], aad)
}

// rotated marks the refresh token of hash rotated at now and keeps its
// successor, sealed, for the grace; false when another rotation won.
func (s *store) rotated(ctx context.Context, q sqldb.Querier, hash []byte, successor string, now time.Time) (bool, error) {
	res, err := q.Exec(ctx, `UPDATE oidc_refresh_tokens SET rotated_at = $2, successor_enc = $3 WHERE hash = $1 AND rotated_at IS NULL`,
		hash, sqldb.Micros(now), s.seal([]byte(successor), hash))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const authRequestColumns = `id, client_id, request, account_id, session_id, auth_time, amr, acr, done, family_id, created_at, expires_at`

func (s *store) createAuthRequest(ctx context.Context, r Request, ttl time.Duration) (*AuthRequest, error) {
	now := s.now()
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	id, _ := bearer.New() // an unguessable id: it travels in URLs
	ar := &AuthRequest{ID: id, Request: r, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err = s.db.Exec(ctx, `INSERT INTO oidc_auth_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		id, r.ClientID, string(raw), sqldb.Micros(now), sqldb.Micros(ar.ExpiresAt))
	if err != nil {
		return nil, fmt.Errorf("store auth request: %w", err)
	}
	return ar, nil
}

func (s *store) scanAuthRequest(row *sqldb.Row) (*AuthRequest, error) {
	var (
		ar                     AuthRequest
		raw                    string
		account, sid, amr, acr sql.NullString
		family                 sql.NullString
		authTime               sql.NullInt64
		created, expires       int64
	)
	if err := row.Scan(&ar.ID, &ar.Request.ClientID, &raw, &account, &sid, &authTime, &amr, &acr, &ar.Done, &family, &created, &expires); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &ar.Request); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", ar.ID, err)
	}
	ar.AccountID, ar.SessionID, ar.ACR, ar.FamilyID = account.String, sid.String, acr.String, family.String
	ar.AMR = splitList(amr.String)
	ar.AuthTime = sqldb.Time(authTime.Int64)
	ar.CreatedAt, ar.ExpiresAt = sqldb.Time(created), sqldb.Time(expires)
	if !s.now().Before(ar.ExpiresAt) {
		return nil, fmt.Errorf("auth request: %w", sqldb.ErrExpired)
	}
	return &ar, nil
}

func (s *store) authRequest(ctx context.Context, id string) (*AuthRequest, error) {
	return s.scanAuthRequest(s.db.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests WHERE id = $1`, id))
}

// completeAuthRequest records who authenticated, how, and when. A request
// that already has a code is completed again only by the session that
// completed it, while the code is unspent: the answer carrying that code
// may have been lost (a replica gone while sending it; a browser or a
// load balancer sends a GET again then), so the code is dropped and the
// caller issues a new one. The code the client never got dies with it.
func (s *store) completeAuthRequest(ctx context.Context, id, accountID, sessionID string, authTime time.Time, amr []string, acr string) error {
	res, err := s.db.Exec(ctx, `UPDATE oidc_auth_requests SET account_id = $2, session_id = $3, auth_time = $4, amr = $5, acr = $6, done = TRUE,
		code_hash = NULL, code_expires = NULL
		WHERE id = $1 AND (code_hash IS NULL OR (code_used_at IS NULL AND account_id = $2 AND session_id = $3))`,
		id, accountID, sessionID, sqldb.Micros(authTime), strings.Join(amr, " "), acr)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("auth request: %w", sqldb.ErrNotFound)
	}
	return nil
}

// saveCode binds the code to the request; a request gets one code only.
func (s *store) saveCode(ctx context.Context, id, code string, ttl time.Duration) error {
	now := s.now()
	res, err := s.db.Exec(ctx, `UPDATE oidc_auth_requests SET code_hash = $2, code_expires = $3 WHERE id = $1 AND done AND code_hash IS NULL`,
		id, codeHash(code), sqldb.Micros(now.Add(ttl)))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("auth request without a code: %w", sqldb.ErrConflict)
	}
	return nil
}

// errCodeReused: a code was presented after it had been exchanged.
var errCodeReused = errors.New("authorization code already used")

// codeRequest finds the request of a code without spending it, so that a
// token request that then fails (the client's authentication, PKCE, the
// redirect URI) leaves the code usable. An unknown code is
// sqldb.ErrNotFound, an unspent expired one sqldb.ErrExpired. A spent code
// is returned like an unspent one: the exchange is validated as any other,
// and spendCode then finds it spent. Reuse is detected there, so that only
// a request that would otherwise have succeeded (the right client, PKCE
// verifier and redirect URI) revokes what the code issued.
func (s *store) codeRequest(ctx context.Context, code string) (*AuthRequest, error) {
	var used, expires sql.NullInt64
	var id string
	err := s.db.QueryRow(ctx, `SELECT id, code_used_at, code_expires FROM oidc_auth_requests WHERE code_hash = $1`, codeHash(code)).
		Scan(&id, &used, &expires)
	if err != nil {
		return nil, err
	}
	ar, err := s.authRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if !used.Valid && expires.Int64 <= sqldb.Micros(s.now()) {
		return nil, fmt.Errorf("code: %w", sqldb.ErrExpired)
	}
	return ar, nil
}

// spendCode marks the code of request id used and records the token
// family its exchange starts, in one statement that only an unspent,
// unexpired code passes: of racing exchanges exactly one spends it. The
// others get errCodeReused (or sqldb.ErrExpired for a code that expired
// meanwhile). It also keeps the request (which names the session) at least
// until the family's first access token expires, until: ending the session
// finds the family through it. Run it in the transaction that stores what
// the exchange issues.
func (s *store) spendCode(ctx context.Context, q sqldb.Querier, id, familyID string, until time.Time) error {
	now := sqldb.Micros(s.now())
	res, err := q.Exec(ctx, `UPDATE oidc_auth_requests SET code_used_at = $2, family_id = $3,
			expires_at = CASE WHEN expires_at < $4 THEN $4 ELSE expires_at END
		WHERE id = $1 AND code_used_at IS NULL AND code_expires > $2`, id, now, familyID, sqldb.Micros(until))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var used sql.NullInt64
	if err := q.QueryRow(ctx, `SELECT code_used_at FROM oidc_auth_requests WHERE id = $1`, id).Scan(&used); err != nil {
		return err
	}
	if used.Valid {
		return errCodeReused
	}
	return fmt.Errorf("code: %w", sqldb.ErrExpired)
}

// codeFamily returns the token family the exchange of request id started
// ("" when none did).
func (s *store) codeFamily(ctx context.Context, id string) (string, error) {
	var family sql.NullString
	err := s.db.QueryRow(ctx, `SELECT family_id FROM oidc_auth_requests WHERE id = $1`, id).Scan(&family)
	return family.String, err
}

func codeHash(code string) []byte {
	h, ok := bearer.Hash(code)
	if !ok {
		// Codes are sealed auth-request ids, not bare tokens; hash them
		// all the same.
		h = sha256Sum(code)
	}
	return h
}

// RefreshToken is a stored refresh token's grant.
type RefreshToken struct {
	FamilyID  string
	ClientID  string
	AccountID string
	SessionID string
	Scopes    []string
	AMR       []string
	ACR       string
	AuthTime  time.Time
	ExpiresAt time.Time
	// Claims are the personal claims the claims parameter asked for in the
	// ID token: refreshed ID tokens carry them too.
	Claims []string
	// ClaimsRef names the grant's stored claims request (store_claims.go),
	// "" for none: refreshed ID tokens and userinfo honour its
	// verified_claims request too.
	ClaimsRef string
}

// addRefreshToken stores a new token of a family and returns it; its
// claims request is kept at least as long as the token.
func addRefreshToken(ctx context.Context, q sqldb.Querier, now time.Time, ttl time.Duration, rt RefreshToken) (string, error) {
	token, hash := bearer.New()
	_, err := q.Exec(ctx, `INSERT INTO oidc_refresh_tokens (hash, family_id, client_id, account_id, session_id, scopes, amr, acr, auth_time, created_at, expires_at, claims, claims_ref)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		hash, rt.FamilyID, rt.ClientID, rt.AccountID, rt.SessionID, strings.Join(rt.Scopes, " "), strings.Join(rt.AMR, " "), rt.ACR,
		sqldb.Micros(rt.AuthTime), sqldb.Micros(now), sqldb.Micros(now.Add(ttl)), strings.Join(rt.Claims, " "), rt.ClaimsRef)
	if err != nil {
		return "", err
	}
	return token, extendClaimsRequest(ctx, q, rt.ClaimsRef, now.Add(ttl))
}

// exchangeCode spends the code of auth request id for the family of rt,
// stores the request's claims (store_claims.go) and, when ttl is not
// zero, the family's first refresh token, rt, living ttl, in one
// transaction; the access tokens of the family expire at until (see
// spendCode). It returns the refresh token ("" for none) and the claims
// request's ref ("" for none).
func (s *store) exchangeCode(ctx context.Context, id string, until time.Time, rt RefreshToken, ttl time.Duration, claims *ClaimsRequest) (token, ref string, err error) {
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if ref, err = s.saveClaimsRequest(ctx, tx, claims, until); err != nil {
			return err
		}
		if err := s.spendCode(ctx, tx, id, rt.FamilyID, until); err != nil || ttl == 0 {
			return err
		}
		rt.ClaimsRef = ref
		token, err = addRefreshToken(ctx, tx, s.now(), ttl, rt)
		return err
	})
	return token, ref, err
}

// newFamily is the id of a new token family: what a code exchange or a
// device's offline_access starts, and what revoking its tokens names.
func newFamily() string {
	family, _ := bearer.New()
	return family[:22]
}

// Issued is what the store issued for a grant: the token family of its
// access token, the refresh token to hand out ("" when none), and the ref
// of the grant's stored claims request ("" when none).
type Issued struct {
	FamilyID     string
	RefreshToken string
	ClaimsRef    string
}

// redeemCode spends the code of request ar for the tokens of a new family,
// whose access tokens expire at until; with refresh it stores the
// family's first refresh token too, in the same transaction. A code used
// before (or by a racing exchange that won) is errCodeReused, and what its
// first exchange issued is revoked (RFC 9700 section 4.5): the family,
// read now, after the winner's commit. A code that expired meanwhile is
// sqldb.ErrExpired. Any other error is a failure, an unknown commit
// outcome included: a retry finds the code spent or not.
func (s *store) redeemCode(ctx context.Context, ar *AuthRequest, until time.Time, refresh bool) (Issued, error) {
	iss := Issued{FamilyID: newFamily()}
	// A family even without a refresh token, so that a reused code or the
	// end of the session can revoke this access token.
	var ttl time.Duration
	if refresh {
		ttl = s.life.RefreshToken
	}
	var err error
	iss.RefreshToken, iss.ClaimsRef, err = s.exchangeCode(ctx, ar.ID, until, ar.refreshGrant(iss.FamilyID), ttl, ar.Request.Claims)
	if errors.Is(err, errCodeReused) {
		s.revokeCodeFamily(ctx, ar)
	}
	if err != nil {
		return Issued{}, err
	}
	return iss, nil
}

// revokeCodeFamily revokes the family the first exchange of ar's code
// started.
func (s *store) revokeCodeFamily(ctx context.Context, ar *AuthRequest) {
	family, err := s.codeFamily(ctx, ar.ID)
	if err == nil {
		err = revokeFamily(ctx, s.db, family, s.now().Add(s.life.AccessToken))
		s.forgetTokens(family)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "revoke tokens of a reused code", "client", ar.Request.ClientID, "err", err)
		return
	}
	s.log.WarnContext(ctx, "authorization code reused; its tokens are revoked", "client", ar.Request.ClientID)
}

// refreshGrant is the grant of the first refresh token of family, which
// the exchange of ar's code starts.
func (ar *AuthRequest) refreshGrant(family string) RefreshToken {
	return RefreshToken{FamilyID: family, ClientID: ar.Request.ClientID, AccountID: ar.AccountID, SessionID: ar.SessionID,
		Scopes: ar.Request.Scopes, AMR: ar.AMR, ACR: ar.ACR, AuthTime: ar.AuthTime, Claims: ar.Request.Claims.IDTokenClaims()}
}

// startFamily stores the first refresh token of a new family of rt's
// grant (rt.FamilyID is ignored): a device's offline_access, which starts
// from no code and no SSO session.
func (s *store) startFamily(ctx context.Context, rt RefreshToken) (Issued, error) {
	rt.FamilyID = newFamily()
	token, err := addRefreshToken(ctx, s.db, s.now(), s.life.RefreshToken, rt)
	if err != nil {
		return Issued{}, err
	}
	return Issued{FamilyID: rt.FamilyID, RefreshToken: token}, nil
}

// errLostRotation: another rotation of the token committed first.
var errLostRotation = errors.New("refresh token rotated by a concurrent request")

// rotate replaces the refresh token of hash, read as current moments
// ago, with a new token of next's grant, in one transaction: the
// successor is stored and the old token marked rotated (its successor
// sealed for the grace) only if no other rotation did so first
// (errLostRotation). A token revoked or swept meanwhile is lost likewise.
func (s *store) rotate(ctx context.Context, hash []byte, next RefreshToken, ttl time.Duration) (string, error) {
	now := s.now()
	var token string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if token, err = addRefreshToken(ctx, tx, now, ttl, next); err != nil {
			return err
		}
		won, err := s.rotated(ctx, tx, hash, token, now)
		if err == nil && !won {
			err = errLostRotation
		}
		return err
	})
	return token, err
}

// errRefreshReused: a rotated refresh token was presented again.
var errRefreshReused = errors.New("refresh token reused")

// DefaultRefreshGrace is how long after a rotation the rotated token still
// yields its successor instead of counting as reuse (Lifetimes.
// RefreshGrace): a client whose refresh succeeded but whose answer was
// lost (a database or network blip) retries with the same token and must
// get the same successor, not a revoked family. A thief racing the owner
// within it gains nothing the owner does not also hold, and the next
// rotation detects the reuse.
const DefaultRefreshGrace = 10 * time.Second

// graceError: the token was rotated within the grace; successor
// is the token that replaced it. It is errRefreshReused to every caller
// but the refresh grant.
type graceError struct{ successor string }

func (e *graceError) Error() string { return "refresh token rotated moments ago" }
func (e *graceError) Unwrap() error { return errRefreshReused }

// refreshToken reads a current (not rotated, not expired, family not
// revoked) refresh token. A rotated one gives errRefreshReused, as a
// *graceError with its successor within the grace of the rotation.
func (s *store) refreshToken(ctx context.Context, q sqldb.Querier, token string) (*RefreshToken, []byte, error) {
	hash, ok := bearer.Hash(token)
	if !ok {
		return nil, nil, fmt.Errorf("refresh token: %w", sqldb.ErrNotFound)
	}
	rt, err := s.refreshTokenByHash(ctx, q, hash)
	return rt, hash, err
}

// refreshTokenByHash is refreshToken for the token stored under hash.
func (s *store) refreshTokenByHash(ctx context.Context, q sqldb.Querier, hash []byte) (*RefreshToken, error) {
	var (
		rt                  RefreshToken
		scopes, amr, claims string
		authTime, exp       int64
		rotated             sql.NullInt64
		successor           []byte
	)
	err := q.QueryRow(ctx, `SELECT family_id, client_id, account_id, session_id, scopes, amr, acr, auth_time, expires_at, rotated_at, claims, successor_enc, claims_ref
		FROM oidc_refresh_tokens WHERE hash = $1`, hash).Scan(&rt.FamilyID, &rt.ClientID, &rt.AccountID, &rt.SessionID, &scopes, &amr, &rt.ACR,
		&authTime, &exp, &rotated, &claims, &successor, &rt.ClaimsRef)
	if err != nil {
		return nil, err
	}
	rt.Scopes, rt.AMR, rt.Claims = splitList(scopes), splitList(amr), splitList(claims)
	rt.AuthTime, rt.ExpiresAt = sqldb.Time(authTime), sqldb.Time(exp)
	if rotated.Valid {
		if successor != nil && s.now().Sub(sqldb.Time(rotated.Int64)) <= s.life.RefreshGrace {
			if next, err := s.open(successor, hash); err == nil {
				return &rt, &graceError{successor: string(next)}
			}
		}
		return &rt, errRefreshReused
	}
	if !s.now().Before(rt.ExpiresAt) {
		return &rt, fmt.Errorf("refresh token: %w", sqldb.ErrExpired)
	}
	return &rt, nil
}

// revokeFamily deletes a family's refresh tokens and marks the family
// revoked until its access tokens must have expired.
func revokeFamily(ctx context.Context, q sqldb.Querier, familyID string, until time.Time) error {
	if familyID == "" {
		return nil
	}
	if _, err := q.Exec(ctx, `DELETE FROM oidc_refresh_tokens WHERE family_id = $1`, familyID); err != nil {
		return err
	}
	return insertRevocation(ctx, q, familyID, until)
}

// revoke marks an access token id revoked until it must have expired.
func (s *store) revoke(ctx context.Context, q sqldb.Querier, id string, until time.Time) error {
	return insertRevocation(ctx, q, id, until)
}

func insertRevocation(ctx context.Context, q sqldb.Querier, id string, until time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO oidc_revocations (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, sqldb.Micros(until))
	return err
}

// deleteRefreshTokens deletes the account's refresh tokens of a client.
func (s *store) deleteRefreshTokens(ctx context.Context, accountID, clientID string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM oidc_refresh_tokens WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
	return err
}

// families lists the token families of the account's refresh tokens of a
// client, read through q (the database or a transaction).
func (s *store) families(ctx context.Context, q sqldb.Querier, accountID, clientID string) ([]string, error) {
	return sqldb.Strings(ctx, q, `SELECT DISTINCT family_id FROM oidc_refresh_tokens WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
}

// revoked reports whether an access token's id or family was revoked.
func (s *store) revoked(ctx context.Context, ids ...string) (bool, error) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		var n int
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM oidc_revocations WHERE id = $1`, id).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Grant is what a citizen allowed a site.
type Grant struct {
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

func (s *store) grant(ctx context.Context, accountID, clientID string) (*Grant, error) {
	var scopes string
	var at int64
	err := s.db.QueryRow(ctx, `SELECT scopes, granted_at FROM oidc_grants WHERE account_id = $1 AND client_id = $2`, accountID, clientID).Scan(&scopes, &at)
	if err != nil {
		return nil, err
	}
	return &Grant{ClientID: clientID, Scopes: splitList(scopes), GrantedAt: sqldb.Time(at)}, nil
}

// saveGrant records consent to scopes, adding to what was granted before.
func (s *store) saveGrant(ctx context.Context, accountID, clientID string, scopes []string) error {
	old, err := s.grant(ctx, accountID, clientID)
	if err != nil && !errors.Is(err, sqldb.ErrNotFound) {
		return err
	}
	all := scopes
	if old != nil {
		all = union(old.Scopes, scopes)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO oidc_grants (account_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		accountID, clientID, strings.Join(all, " "), sqldb.Micros(s.now()))
	return err
}

// deleteGrant withdraws the account's grant to a client through q;
// sqldb.ErrNotFound when there was none.
func (s *store) deleteGrant(ctx context.Context, q sqldb.Querier, accountID, clientID string) error {
	res, err := q.Exec(ctx, `DELETE FROM oidc_grants WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("grant: %w", sqldb.ErrNotFound)
	}
	return nil
}

// useJTI records a client assertion id; false if it was seen before.
func (s *store) useJTI(ctx context.Context, clientID, jti string, exp time.Time) (bool, error) {
	_, err := s.db.Exec(ctx, `INSERT INTO oidc_assertion_jtis (jti_hash, expires_at) VALUES ($1, $2)`, sha256Sum(clientID+"\x00"+jti), sqldb.Micros(exp))
	if errors.Is(err, sqldb.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// sweep deletes what has expired.
func (s *store) sweep(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for _, q := range []struct {
		sql    string
		cutoff time.Time
	}{
		{`DELETE FROM oidc_auth_requests WHERE expires_at < $1`, now},
		{`DELETE FROM oidc_refresh_tokens WHERE expires_at < $1`, now},
		// Successors are needed during the grace only.
		{`UPDATE oidc_refresh_tokens SET successor_enc = NULL WHERE successor_enc IS NOT NULL AND rotated_at < $1`, now.Add(-s.life.RefreshGrace)},
		{`DELETE FROM oidc_revocations WHERE expires_at < $1`, now},
		{`DELETE FROM oidc_assertion_jtis WHERE expires_at < $1`, now},
		{`DELETE FROM oidc_device_codes WHERE expires_at < $1`, now},
		{`DELETE FROM oidc_claims_requests WHERE expires_at < $1`, now},
	} {
		res, err := s.db.Exec(ctx, q.sql, sqldb.Micros(q.cutoff))
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// grants lists what the account allowed, newest first.
func (s *store) grants(ctx context.Context, accountID string) ([]Grant, error) {
	rows, err := s.db.Query(ctx, `SELECT client_id, scopes, granted_at FROM oidc_grants WHERE account_id = $1 ORDER BY granted_at DESC`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var scopes string
		var at int64
		if err := rows.Scan(&g.ClientID, &scopes, &at); err != nil {
			return nil, sqldb.Classify(err)
		}
		g.Scopes, g.GrantedAt = splitList(scopes), sqldb.Time(at)
		out = append(out, g)
	}
	return out, sqldb.Classify(rows.Err())
}
