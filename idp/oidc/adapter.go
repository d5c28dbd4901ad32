package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/account"
	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/idp/staff"
	"github.com/gosid/gosid/internal/sqldb"
	"github.com/gosid/gosid/keys"
)

// Clients looks registered clients up.
type Clients interface {
	Get(ctx context.Context, id string) (*client.Client, error)
	CheckSecret(ctx context.Context, id, secret string) (*client.Client, error)
	// HasRedirectOrigin reports whether some client has a redirect URI at
	// the origin (CORS preflights, which name no client).
	HasRedirectOrigin(ctx context.Context, origin string) (bool, error)
}

// Accounts reads accounts for claims.
type Accounts interface {
	Get(ctx context.Context, id string) (*account.Account, error)
}

// Signer gives the current signing keys.
type Signer interface {
	Signer(alg string) (keys.SigningKey, error)
	PublicKeys() []keys.PublicKey
}

// Lifetimes of what the provider issues.
type Lifetimes struct {
	AuthRequest  time.Duration // the sign-in may take this long (30m)
	Code         time.Duration // 60s
	AccessToken  time.Duration // 10m
	IDToken      time.Duration // 1h
	RefreshToken time.Duration // 30 days, sliding
	// RefreshGrace: a refresh token rotated less than this long ago still
	// yields its successor (DefaultRefreshGrace).
	RefreshGrace time.Duration
}

// adapter implements op.Storage over Gosid's stores. Business rules live
// in the stores and the packages they call; this only translates.
type adapter struct {
	store    *store
	clients  Clients
	accounts Accounts
	signer   Signer
	evidence Evidence
	roles    Roles
	life     Lifetimes
	loginURL func(id string) string
	keySets  *keySets
}

var (
	_ op.Storage                   = (*adapter)(nil)
	_ op.ClientCredentialsStorage  = (*adapter)(nil)
	_ op.CanSetUserinfoFromRequest = (*adapter)(nil)
)

// authReq presents a stored request to op. pre, for a request found by
// its code, is what its ID token needs from the database, read before
// the code is spent (AuthRequestByCode): once it is, nothing can fail for
// want of the database, whose failure would leave a spent code and an
// answer of 503, and the client's retry a verdict (invalid_grant).
type authReq struct {
	*AuthRequest
	pre *idTokenInputs
}

func (a authReq) GetID() string          { return a.ID }
func (a authReq) GetACR() string         { return a.ACR }
func (a authReq) GetAMR() []string       { return a.AMR }
func (a authReq) GetAudience() []string  { return []string{a.Request.ClientID} }
func (a authReq) GetAuthTime() time.Time { return a.AuthTime }
func (a authReq) GetClientID() string    { return a.Request.ClientID }
func (a authReq) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.Request.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.Request.CodeChallenge, Method: zoidc.CodeChallengeMethod(a.Request.CodeChallengeMethod)}
}
func (a authReq) GetNonce() string       { return a.Request.Nonce }
func (a authReq) GetRedirectURI() string { return a.Request.RedirectURI }
func (a authReq) GetResponseType() zoidc.ResponseType {
	return zoidc.ResponseType(a.Request.ResponseType)
}
func (a authReq) GetResponseMode() zoidc.ResponseMode {
	return zoidc.ResponseMode(a.Request.ResponseMode)
}
func (a authReq) GetScopes() []string { return a.Request.Scopes }
func (a authReq) GetState() string    { return a.Request.State }
func (a authReq) GetSubject() string  { return a.AccountID }
func (a authReq) Done() bool          { return a.AuthRequest.Done }

// CreateAuthRequest stores a validated authorization request. Gosid's own
// authorization endpoint (authorize.go) calls createAuthRequest with the
// claims parameter; this is op's entry to the same.
func (ad *adapter) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, userID string) (op.AuthRequest, error) {
	c, err := ad.clients.Get(ctx, r.ClientID)
	if err != nil {
		if !isVerdict(err) {
			return nil, unavailable(ctx, err)
		}
		return nil, zoidc.ErrInvalidClient()
	}
	ar, err := ad.createAuthRequest(ctx, c, r, userID, nil)
	if err != nil {
		return nil, err
	}
	return authReq{AuthRequest: ar}, nil
}

// pkceProblem is what is wrong with a request's PKCE for the client: S256
// only (an absent method means plain, RFC 7636 section 4.3, which is never
// accepted), and a code_challenge from every client that requires PKCE —
// all of them unless an operator made it optional for a legacy
// confidential client (RFC 9700 section 2.1.1).
func pkceProblem(c *client.Client, challenge string, method zoidc.CodeChallengeMethod) *zoidc.Error {
	switch {
	case challenge != "" && method != zoidc.CodeChallengeMethodS256:
		return zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case challenge == "" && method != "":
		return zoidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case challenge == "" && c.RequiresPKCE():
		return zoidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method S256")
	}
	return nil
}

func (ad *adapter) createAuthRequest(ctx context.Context, c *client.Client, r *zoidc.AuthRequest, userID string, claims *ClaimsRequest) (*AuthRequest, error) {
	if e := pkceProblem(c, r.CodeChallenge, r.CodeChallengeMethod); e != nil {
		return nil, e
	}
	req := Request{ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State, Nonce: r.Nonce,
		ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode), Prompt: r.Prompt, MaxAge: r.MaxAge,
		LoginHint: r.LoginHint, ACRValues: r.ACRValues, HintSubject: userID, Claims: claims}
	if r.CodeChallenge != "" {
		req.CodeChallenge, req.CodeChallengeMethod = r.CodeChallenge, string(r.CodeChallengeMethod)
	}
	for _, t := range r.UILocales {
		req.UILocales = append(req.UILocales, t.String())
	}
	return ad.store.createAuthRequest(ctx, req, ad.life.AuthRequest)
}

func (ad *adapter) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, err := ad.store.authRequest(ctx, id)
	if err != nil {
		return nil, zoidc.ErrInvalidRequest().WithDescription("unknown or expired authorization request").WithParent(err)
	}
	return authReq{AuthRequest: ar}, nil
}

// AuthRequestByCode finds a code's request; it does not spend the code
// (redeemCode does, when tokens are issued for it).
func (ad *adapter) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	ar, err := ad.store.codeRequest(ctx, code)
	switch {
	case errors.Is(err, sqldb.ErrExpired):
		return nil, zoidc.ErrInvalidGrant().WithDescription("the authorization code has expired")
	case err != nil && !isVerdict(err):
		return nil, unavailable(ctx, err)
	case err != nil:
		return nil, zoidc.ErrInvalidGrant().WithDescription("invalid authorization code")
	}
	req := authReq{AuthRequest: ar}
	if req.pre, err = ad.idTokenInputs(ctx, req); err != nil {
		return nil, unavailable(ctx, err)
	}
	return req, nil
}

// codeError answers a code the store did not redeem (redeemCode, which
// revoked a reused code's tokens).
func codeError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errCodeReused):
		return zoidc.ErrInvalidGrant().WithDescription("the authorization code has already been used")
	case errors.Is(err, sqldb.ErrExpired):
		return zoidc.ErrInvalidGrant().WithDescription("the authorization code has expired")
	}
	// Unknown commit outcome included: a retry finds the code spent or not.
	return unavailable(ctx, err)
}

// refreshError answers a refresh token the store did not honour
// (presentRefresh, refresh; a reused token's family is revoked by then).
func refreshError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errRefreshReused):
		return zoidc.ErrInvalidGrant().WithDescription("the refresh token has already been used")
	case !isVerdict(err):
		// Unknown commit outcome included: the retry finds the token
		// rotated within the refresh grace and gets the same successor.
		return unavailable(ctx, err)
	}
	return zoidc.ErrInvalidGrant().WithDescription("the refresh token is invalid or expired")
}

func (ad *adapter) SaveAuthCode(ctx context.Context, id, code string) error {
	return ad.store.saveCode(ctx, id, code, ad.life.Code)
}

// DeleteAuthRequest keeps the row: a spent code must stay recognisable
// until it expires, so that its reuse can be detected. Sweeping removes it.
func (ad *adapter) DeleteAuthRequest(context.Context, string) error { return nil }

// refreshReq presents a refresh token's grant to op.
type refreshReq struct {
	*presentedRefresh
	scopes []string
}

func (r *refreshReq) GetAMR() []string            { return r.AMR }
func (r *refreshReq) GetAudience() []string       { return []string{r.ClientID} }
func (r *refreshReq) GetAuthTime() time.Time      { return r.AuthTime }
func (r *refreshReq) GetClientID() string         { return r.ClientID }
func (r *refreshReq) GetScopes() []string         { return r.scopes }
func (r *refreshReq) GetSubject() string          { return r.AccountID }
func (r *refreshReq) SetCurrentScopes(s []string) { r.scopes = s }

// ccReq is a client_credentials token request: the subject is the client.
type ccReq struct {
	clientID string
	scopes   []string
}

func (c *ccReq) GetSubject() string    { return c.clientID }
func (c *ccReq) GetAudience() []string { return []string{c.clientID} }
func (c *ccReq) GetScopes() []string   { return c.scopes }

func (ad *adapter) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	exp := ad.store.now().Add(ad.life.AccessToken)
	clientID, claimsRef := "", ""
	switch t := r.(type) {
	case authReq:
		iss, err := ad.store.redeemCode(ctx, t.AuthRequest, exp, false)
		if err != nil {
			return "", time.Time{}, codeError(ctx, err)
		}
		return newTokenID(iss.FamilyID, t.Request.ClientID, t.Request.Scopes, exp, iss.ClaimsRef), exp, nil
	case *ccReq:
		clientID = t.clientID
	case *refreshReq:
		clientID, claimsRef = t.ClientID, t.ClaimsRef
	case *op.DeviceAuthorizationState:
		// Without it the token names no client: userinfo and
		// introspection would take it for a deleted client's.
		clientID = t.ClientID
	}
	return newTokenID("", clientID, r.GetScopes(), exp, claimsRef), exp, nil
}

func (ad *adapter) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, _ string) (string, string, time.Time, error) {
	exp := ad.store.now().Add(ad.life.AccessToken)
	var (
		iss      Issued
		err      error
		clientID string
	)
	switch t := r.(type) {
	case authReq:
		clientID = t.Request.ClientID
		if iss, err = ad.store.redeemCode(ctx, t.AuthRequest, exp, true); err != nil {
			return "", "", time.Time{}, codeError(ctx, err)
		}
	case *refreshReq:
		clientID = t.ClientID
		if iss, err = ad.store.refresh(ctx, t.presentedRefresh, t.scopes); err != nil {
			return "", "", time.Time{}, refreshError(ctx, err)
		}
	case *op.DeviceAuthorizationState:
		// offline_access on a device: a family of its own, no SSO session.
		clientID = t.ClientID
		rt := RefreshToken{ClientID: t.ClientID, AccountID: t.Subject, Scopes: t.Scopes, AMR: t.AMR, AuthTime: t.AuthTime}
		if iss, err = ad.store.startFamily(ctx, rt); err != nil {
			return "", "", time.Time{}, unavailable(ctx, err)
		}
	default:
		return "", "", time.Time{}, fmt.Errorf("unexpected token request %T", r)
	}
	return newTokenID(iss.FamilyID, clientID, r.GetScopes(), exp, iss.ClaimsRef), iss.RefreshToken, exp, nil
}

func (ad *adapter) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	p, err := ad.store.presentRefresh(ctx, token)
	switch {
	case err == nil:
		return &refreshReq{presentedRefresh: p, scopes: p.Scopes}, nil
	case errors.Is(err, errRefreshReused) || isVerdict(err):
		return nil, op.ErrInvalidRefreshToken
	}
	return nil, unavailable(ctx, err)
}

// TerminateSession revokes the client's refresh tokens of the account
// (RP-initiated logout); the SSO session itself is ended by the logout
// page.
func (ad *adapter) TerminateSession(ctx context.Context, userID, clientID string) error {
	return ad.store.deleteRefreshTokens(ctx, userID, clientID)
}

func (ad *adapter) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	rt, _, err := ad.store.refreshToken(ctx, ad.store.db, token)
	if err != nil && !isVerdict(err) && !errors.Is(err, errRefreshReused) {
		return "", "", unavailable(ctx, err)
	}
	if err != nil && !errors.Is(err, sqldb.ErrExpired) && !errors.Is(err, errRefreshReused) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if rt.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.AccountID, "family:" + rt.FamilyID, nil
}

func (ad *adapter) RevokeToken(ctx context.Context, tokenOrID, userID, clientID string) *zoidc.Error {
	until := ad.store.now().Add(max(ad.life.AccessToken, ad.life.IDToken))
	if family, ok := strings.CutPrefix(tokenOrID, "family:"); ok {
		err := revokeFamily(ctx, ad.store.db, family, until)
		ad.store.forgetTokens(family)
		if err != nil {
			_ = unavailable(ctx, err)
			return zoidc.ErrServerError()
		}
		return nil
	}
	tid, err := parseTokenID(tokenOrID)
	if err != nil {
		return nil // RFC 7009: an unknown token is not an error
	}
	if tid.ClientID != clientID {
		return zoidc.ErrInvalidClient().WithDescription("the token was issued to another client")
	}
	err = ad.store.revoke(ctx, ad.store.db, tid.ID, until)
	ad.store.forgetTokens(tid.ID)
	if err != nil {
		_ = unavailable(ctx, err)
		return zoidc.ErrServerError()
	}
	return nil
}

// signingKey adapts keys.SigningKey to op.SigningKey.
type signingKey struct{ k keys.SigningKey }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.k.Alg)
}
func (s signingKey) Key() any   { return s.k.Private }
func (s signingKey) ID() string { return s.k.ID }

// SigningKey is op's key for tokens op would sign itself. The token
// endpoint signs its tokens itself (tokens.go), so none reaches op today;
// should one, it gets the current RS256 key, one signature.
func (ad *adapter) SigningKey(ctx context.Context) (op.SigningKey, error) {
	opKeys.Add(1)
	k, err := ad.signer.Signer(keys.RS256)
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (ad *adapter) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, nil
}

// publicKey adapts keys.PublicKey to op.Key.
type publicKey struct{ k keys.PublicKey }

func (p publicKey) ID() string                         { return p.k.ID }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(p.k.Alg) }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.Key }

func (ad *adapter) KeySet(context.Context) ([]op.Key, error) {
	pk := ad.signer.PublicKeys()
	out := make([]op.Key, len(pk))
	for i, k := range pk {
		out[i] = publicKey{k}
	}
	return out, nil
}

// GetClientByClientID presents a client to op. The client the guard
// authenticated with credentials is presented as a client_secret_basic
// client, as presentToOp presents its request (clientauth.go).
func (ad *adapter) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := ad.clients.Get(ctx, id)
	if err != nil && !isVerdict(err) {
		return nil, unavailable(ctx, err)
	}
	if err != nil {
		return nil, zoidc.ErrInvalidClient().WithDescription("unknown client")
	}
	oc := &opClient{c: c, loginURL: ad.loginURL, idTTL: ad.life.IDToken}
	if ca := authenticatedClient(ctx); ca != nil && ca.Client.ID == id && ca.Method != client.AuthNone {
		oc.authMethod = zoidc.AuthMethodBasic
	}
	return oc, nil
}

// AuthorizeClientIDSecret confirms for op that the guard authenticated
// client id (clientauth.go): op authenticates no client on its own.
func (ad *adapter) AuthorizeClientIDSecret(ctx context.Context, id, _ string) error {
	if ca := authenticatedClient(ctx); ca != nil && ca.Client.ID == id && ca.Method != client.AuthNone {
		return nil
	}
	return zoidc.ErrInvalidClient().WithDescription("client authentication failed")
}

// ClientCredentials returns the client the guard authenticated, by any
// method: op's client_credentials path would check a secret, which a
// private_key_jwt client (what partners use) has not.
func (ad *adapter) ClientCredentials(ctx context.Context, id, _ string) (op.Client, error) {
	ca := authenticatedClient(ctx)
	if ca == nil || id != "" && id != ca.Client.ID {
		return nil, zoidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	// op itself refuses a client without the grant (unauthorized_client).
	return &opClient{c: ca.Client, loginURL: ad.loginURL, idTTL: ad.life.IDToken}, nil
}

func (ad *adapter) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := ad.clients.Get(ctx, id)
	if err != nil && !isVerdict(err) {
		return nil, unavailable(ctx, err)
	}
	if err != nil {
		return nil, zoidc.ErrInvalidClient()
	}
	var allowed []string
	for _, s := range scopes {
		if slices.Contains(c.Scopes, s) && s != "openid" {
			allowed = append(allowed, s)
		}
	}
	return &ccReq{clientID: id, scopes: allowed}, nil
}

// SetUserinfoFromScopes is unused: SetUserinfoFromRequest replaces it.
func (ad *adapter) SetUserinfoFromScopes(context.Context, *zoidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims beyond op's protocol
// claims: sid, and personal claims only when the client is registered
// for them (--id-token-claims) or the request's claims parameter named
// them — in either case only those the consented scopes release. Personal
// data otherwise comes from userinfo: an ID token travels back to Gosid in
// logout URLs, and it should not carry a SNILS there.
//
// verified_claims go into the ID token only when the claims parameter's
// id_token member asked for them (vclaims.go), on the first ID token and
// on every refreshed one (the refresh row names the stored request).
func (ad *adapter) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	info.Subject = r.GetSubject()
	in, err := ad.idTokenInputs(ctx, r)
	if err != nil {
		return unavailable(ctx, err)
	}
	if in.sid != "" {
		info.AppendClaims("sid", sessionSID(in.sid))
	}
	addStaffRoles(info, in.grants, in.account)
	c := in.client
	if !c.IDTokenClaims && len(in.named) == 0 && len(in.asked.VerifiedClaims) == 0 {
		return nil
	}
	if c.IDTokenClaims || len(in.named) > 0 {
		full := &zoidc.UserInfo{}
		setClaims(full, in.account, scopes)
		pickClaims(info, full, func(claim string) bool { return c.IDTokenClaims || slices.Contains(in.named, claim) })
	}
	// The grant's consented scopes, not scopes (which lack those whose
	// claims belong in userinfo): the id_token member asked for these
	// claims in the ID token by name.
	consented := scopes
	if g, ok := r.(interface{ GetScopes() []string }); ok {
		consented = g.GetScopes()
	}
	if vc := ad.verifiedClaimsFrom(in.asked, in.account, in.evidence, consented); len(vc) > 0 {
		info.AppendClaims("verified_claims", vc)
	}
	return nil
}

// idTokenInputs is what an ID token takes from the database beyond the
// request: the client, the session, the claims asked for by name, the
// account, its staff roles and its evidence, each read only when the
// token needs it.
type idTokenInputs struct {
	client   *client.Client
	sid      string
	named    []string
	asked    ClaimSet // the id_token member, for its verified_claims
	account  *account.Account
	grants   []staff.Grant
	evidence []assurance.Evidence
}

// idTokenInputs reads r's; for a code's request already read before the
// code was spent (authReq.pre), those.
func (ad *adapter) idTokenInputs(ctx context.Context, r op.IDTokenRequest) (*idTokenInputs, error) {
	in := &idTokenInputs{}
	switch t := r.(type) {
	case authReq:
		if t.pre != nil {
			return t.pre, nil
		}
		in.sid, in.named = t.SessionID, t.Request.Claims.IDTokenClaims()
		if t.Request.Claims != nil {
			in.asked = t.Request.Claims.IDToken
		}
	case *refreshReq:
		in.sid, in.named = t.SessionID, t.Claims
		cr, err := ad.store.claimsRequest(ctx, t.ClaimsRef)
		switch {
		case err == nil && cr != nil:
			in.asked = cr.IDToken
		case err != nil && !errors.Is(err, sqldb.ErrNotFound):
			return nil, err
		}
	}
	var err error
	if in.client, err = ad.clients.Get(ctx, r.GetClientID()); err != nil {
		return nil, err
	}
	if in.grants, err = ad.staffGrants(ctx, in.client, r.GetSubject()); err != nil {
		return nil, err
	}
	c := in.client
	if len(in.grants) > 0 || c.IDTokenClaims || len(in.named) > 0 || len(in.asked.VerifiedClaims) > 0 {
		if in.account, err = ad.accounts.Get(ctx, r.GetSubject()); err != nil {
			return nil, err
		}
	}
	if len(in.asked.VerifiedClaims) > 0 && ad.evidence != nil {
		if in.evidence, err = ad.evidence.Evidence(ctx, in.account.ID); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// SetUserinfoFromToken is op's userinfo; Gosid answers userinfo itself
// (userinfo.go), with the same checks.
func (ad *adapter) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, id, subject, origin string) error {
	tid, a, err := ad.tokenHolder(ctx, id, subject)
	if err != nil {
		return zoidc.ErrAccessDenied().WithDescription("the access token is not active")
	}
	if !slices.Contains(tid.Scopes, "openid") {
		return zoidc.ErrAccessDenied().WithDescription("the access token has no openid scope")
	}
	setClaims(info, a, tid.Scopes)
	return nil
}

func (ad *adapter) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, id, subject, clientID string) error {
	// An error makes op answer {"active": false}; a store failure is
	// answered 503 instead (outage.go).
	tid, err := ad.activeToken(ctx, id)
	if err != nil {
		if !errors.Is(err, errTokenInactive) {
			return unavailable(ctx, err)
		}
		return err
	}
	if _, err := ad.clients.Get(ctx, tid.ClientID); err != nil {
		if !isVerdict(err) {
			return unavailable(ctx, err)
		}
		return errors.New("client deleted")
	}
	// A client introspects only its own tokens: another client's would
	// release the citizen's data to a site they never consented to.
	if tid.ClientID != clientID {
		return errors.New("token of another client")
	}
	resp.Active = true
	resp.Scope = tid.Scopes
	resp.ClientID = tid.ClientID
	resp.Subject = subject
	resp.Audience = []string{tid.ClientID}
	resp.TokenType = zoidc.BearerToken
	if tid.ClientID != subject {
		a, err := ad.accounts.Get(ctx, subject)
		switch {
		case err == nil:
			info := &zoidc.UserInfo{}
			setClaims(info, a, tid.Scopes)
			resp.SetUserInfo(info)
		case !isVerdict(err):
			return unavailable(ctx, err)
		}
	}
	return nil
}

func (ad *adapter) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

// accessClaims are a JWT access token's claims: op's registered ones and
// RFC 9068's scope, with the level and time of the sign-in where there was
// one, marshalled in one pass (op's AccessTokenClaims with a Claims map
// marshals, decodes and marshals again).
type accessClaims struct {
	*zoidc.TokenClaims
	Scope    string  `json:"scope"`
	ACR      *string `json:"acr,omitempty"`
	AuthTime *int64  `json:"auth_time,omitempty"`
}

// accessTokenClaims adds Gosid's claims for r to registered.
func accessTokenClaims(registered *zoidc.TokenClaims, r op.TokenRequest) *accessClaims {
	c := &accessClaims{TokenClaims: registered, Scope: strings.Join(r.GetScopes(), " ")}
	var acr string
	var authTime time.Time
	switch t := r.(type) {
	case authReq:
		acr, authTime = t.ACR, t.AuthTime
	case *refreshReq:
		acr, authTime = t.ACR, t.AuthTime
	default:
		return c
	}
	at := authTime.Unix()
	c.ACR, c.AuthTime = &acr, &at
	return c
}

// GetKeyByIDAndClientID returns a client's public key for private_key_jwt.
func (ad *adapter) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := ad.clients.Get(ctx, clientID)
	if err != nil {
		return nil, err
	}
	set, err := ad.keySets.forClient(ctx, c, keyID)
	if err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if k.KeyID == keyID || (keyID == "" && len(set.Keys) == 1) {
			switch k.Key.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey:
				return &k, nil
			}
		}
	}
	return nil, fmt.Errorf("client key %q: %w", keyID, sqldb.ErrNotFound)
}

func (ad *adapter) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, zoidc.ErrUnauthorizedClient().WithDescription("the JWT profile grant is not supported")
}

func (ad *adapter) Health(ctx context.Context) error { return ad.store.db.Ping(ctx) }
