package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/keys"
)

// The token endpoint's answers are made here, on op's request parsing and
// validation: op parses and checks each grant (its exported Parse… and
// Validate… functions, with the client the guard authenticated), and
// Gosid creates the tokens and signs each exactly once, with the current
// key of the client's algorithm (id_token_signed_response_alg, RS256 when
// unset): the access token typed at+jwt (RFC 9068), the ID token typed JWT
// with at_hash over that access token. op's own CreateTokenResponse signs
// through op.SignerFromKey, which types every token JWT and has no hook in
// v3.52.0, so it is not used for the grants below. Grants Gosid does not
// offer (token exchange, the JWT profile) still go to op's Exchange, which
// refuses them.

// exchange answers a token request that the guard has authenticated.
func (p *Provider) exchange(w http.ResponseWriter, r *http.Request) {
	resp, err := p.grant(r)
	if err != nil {
		op.RequestError(w, r, err, p.deps.Log)
		return
	}
	if resp == nil {
		op.Exchange(w, r, p.exchanger)
		return
	}
	httphelper.MarshalJSON(w, resp)
}

// grant runs the request's grant; nil, nil for one op answers itself.
func (p *Provider) grant(r *http.Request) (*zoidc.AccessTokenResponse, error) {
	ctx, ex := r.Context(), p.exchanger
	switch gt := r.FormValue("grant_type"); zoidc.GrantType(gt) {
	case zoidc.GrantTypeCode:
		req, err := op.ParseAccessTokenRequest(r, ex.Decoder())
		if err != nil {
			return nil, err
		}
		if req.Code == "" {
			return nil, zoidc.ErrInvalidRequest().WithDescription("code missing")
		}
		ar, c, err := op.ValidateAccessTokenRequest(ctx, req, ex)
		if err != nil {
			return nil, err
		}
		return p.tokenResponse(ctx, ar, c, req.Code, "")
	case zoidc.GrantTypeRefreshToken:
		req, err := op.ParseRefreshTokenRequest(r, ex.Decoder())
		if err != nil {
			return nil, err
		}
		rr, c, err := op.ValidateRefreshTokenRequest(ctx, req, ex)
		if err != nil {
			return nil, err
		}
		return p.tokenResponse(ctx, rr, c, "", req.RefreshToken)
	case zoidc.GrantTypeClientCredentials:
		req, err := op.ParseClientCredentialsRequest(r, ex.Decoder())
		if err != nil {
			return nil, err
		}
		tr, c, err := op.ValidateClientCredentialsRequest(ctx, req, ex)
		if err != nil {
			return nil, err
		}
		k, err := p.clientKey(c)
		if err != nil {
			return nil, err
		}
		at, _, validity, err := p.accessToken(ctx, tr, c, k, "")
		if err != nil {
			return nil, err
		}
		return &zoidc.AccessTokenResponse{AccessToken: at, TokenType: zoidc.BearerToken, ExpiresIn: expiresIn(validity), Scope: tr.GetScopes()}, nil
	case zoidc.GrantTypeDeviceCode:
		return p.deviceGrant(r)
	case "":
		return nil, zoidc.ErrInvalidRequest().WithDescription("grant_type missing")
	default:
		return nil, nil
	}
}

// deviceGrant is RFC 8628 section 3.4 as op's DeviceAccessToken does it:
// a short deadline (below the 5 s polling interval), the client as the
// request names it, confidential clients authenticated.
func (p *Provider) deviceGrant(r *http.Request) (*zoidc.AccessTokenResponse, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 4*time.Second)
	defer cancel()
	r = r.WithContext(ctx)
	ex := p.exchanger
	clientID, authenticated, err := op.ClientIDFromRequest(r, ex)
	if err != nil {
		return nil, err
	}
	req, err := op.ParseDeviceAccessTokenRequest(r, ex)
	if err != nil {
		return nil, err
	}
	state, err := op.CheckDeviceAuthorizationState(ctx, clientID, req.DeviceCode, ex)
	if err != nil {
		return nil, err
	}
	c, err := ex.Storage().GetClientByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if authenticated != op.IsConfidentialType(c) {
		return nil, zoidc.ErrInvalidClient().WithParent(op.ErrNoClientCredentials).WithDescription("confidential client requires authentication")
	}
	k, err := p.clientKey(c)
	if err != nil {
		return nil, err
	}
	at, rt, validity, err := p.accessToken(ctx, state, c, k, "")
	if err != nil {
		return nil, err
	}
	resp := &zoidc.AccessTokenResponse{AccessToken: at, RefreshToken: rt, TokenType: zoidc.BearerToken, ExpiresIn: expiresIn(validity), Scope: state.GetScopes()}
	if slices.Contains(state.GetScopes(), zoidc.ScopeOpenID) {
		if resp.IDToken, err = p.idToken(ctx, state, c, k, at, ""); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// tokenRequest is what the code and refresh grants issue tokens for.
type tokenRequest interface {
	op.TokenRequest
	op.IDTokenRequest
}

// tokenResponse issues an access token (with a refresh token where the
// grant gives one) and an ID token.
func (p *Provider) tokenResponse(ctx context.Context, req tokenRequest, c op.Client, code, refreshToken string) (*zoidc.AccessTokenResponse, error) {
	k, err := p.clientKey(c)
	if err != nil {
		return nil, err
	}
	at, rt, validity, err := p.accessToken(ctx, req, c, k, refreshToken)
	if err != nil {
		return nil, err
	}
	idt, err := p.idToken(ctx, req, c, k, at, code)
	if err != nil {
		return nil, err
	}
	if ar, ok := req.(op.AuthRequest); ok {
		if err := p.adapter.DeleteAuthRequest(ctx, ar.GetID()); err != nil {
			return nil, err
		}
	}
	return &zoidc.AccessTokenResponse{AccessToken: at, IDToken: idt, RefreshToken: rt, TokenType: zoidc.BearerToken,
		ExpiresIn: expiresIn(validity), Scope: req.GetScopes()}, nil
}

func expiresIn(d time.Duration) uint64 { return uint64(max(d, 0).Seconds()) }

// clientKey is the current signing key of the client's algorithm.
func (p *Provider) clientKey(c op.Client) (keys.SigningKey, error) {
	alg := keys.RS256
	if oc, ok := c.(*opClient); ok {
		alg = oc.c.Alg()
	}
	return p.deps.Signer.Signer(alg)
}

// accessToken stores the grant's access token (and its refresh token,
// when the grant gives one) and returns it: a JWT signed with k, or op's
// encrypted opaque token for clients registered for those.
func (p *Provider) accessToken(ctx context.Context, req op.TokenRequest, c op.Client, k keys.SigningKey, refreshToken string) (token, nextRefresh string, validity time.Duration, err error) {
	var id string
	var exp time.Time
	if givesRefreshToken(req, c) {
		id, nextRefresh, exp, err = p.adapter.CreateAccessAndRefreshTokens(ctx, req, refreshToken)
	} else {
		id, exp, err = p.adapter.CreateAccessToken(ctx, req)
	}
	if err != nil {
		return "", "", 0, err
	}
	now := p.deps.Now()
	skew := c.ClockSkew()
	validity = exp.Add(skew).Sub(now)
	if c.AccessTokenType() != op.AccessTokenTypeJWT {
		token, err = op.CreateBearerToken(id, req.GetSubject(), p.op.Crypto())
		return token, nextRefresh, validity, err
	}
	registered := zoidc.NewAccessTokenClaims(p.issuer(ctx), req.GetSubject(), req.GetAudience(), exp, id, c.GetID(), skew)
	registered.IssuedAt = zoidc.FromTime(now.Add(-skew))
	registered.NotBefore = registered.IssuedAt
	token, err = signJWT(k, "at+jwt", accessTokenClaims(&registered.TokenClaims, req))
	return token, nextRefresh, validity, err
}

// givesRefreshToken is op's rule: a code flow asking offline_access of a
// client with the refresh grant, every refresh, a device flow likewise.
func givesRefreshToken(req op.TokenRequest, c op.Client) bool {
	switch t := req.(type) {
	case op.AuthRequest:
		return slices.Contains(t.GetScopes(), zoidc.ScopeOfflineAccess) && t.GetResponseType() == zoidc.ResponseTypeCode &&
			op.ValidateGrantType(c, zoidc.GrantTypeRefreshToken)
	case op.RefreshTokenRequest:
		return true
	case *op.DeviceAuthorizationState:
		return slices.Contains(t.GetScopes(), zoidc.ScopeOfflineAccess) && op.ValidateGrantType(c, zoidc.GrantTypeRefreshToken)
	}
	return false
}

// idToken makes the ID token, signed with k: op's protocol claims, at_hash
// of the access token and c_hash of the code when given, and the claims
// SetUserinfoFromRequest releases (sid, and personal claims only where the
// client is registered or asked for them).
func (p *Provider) idToken(ctx context.Context, req op.IDTokenRequest, c op.Client, k keys.SigningKey, accessToken, code string) (string, error) {
	now := p.deps.Now()
	skew := c.ClockSkew()
	var acr, nonce string
	if ar, ok := req.(op.AuthRequest); ok {
		acr, nonce = ar.GetACR(), ar.GetNonce()
	}
	claims := zoidc.NewIDTokenClaims(p.issuer(ctx), req.GetSubject(), req.GetAudience(), now.Add(skew).Add(c.IDTokenLifetime()),
		req.GetAuthTime(), nonce, acr, req.GetAMR(), req.GetClientID(), skew)
	claims.IssuedAt = zoidc.FromTime(now.Add(-skew))
	alg := jose.SignatureAlgorithm(k.Alg)
	scopes := c.RestrictAdditionalIdTokenScopes()(req.GetScopes())
	if accessToken != "" {
		h, err := zoidc.ClaimHash(accessToken, alg)
		if err != nil {
			return "", err
		}
		claims.AccessTokenHash = h
		if !c.IDTokenUserinfoClaimsAssertion() {
			scopes = withoutUserinfoScopes(scopes)
		}
	}
	if len(scopes) > 0 {
		info := new(zoidc.UserInfo)
		if err := p.adapter.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
			return "", err
		}
		claims.SetUserInfo(info)
		// sid has a field of its own: with no other claims beyond op's,
		// the token is marshalled in one pass.
		if sid, ok := claims.Claims["sid"].(string); ok && claims.SessionID == "" {
			claims.SessionID = sid
			delete(claims.Claims, "sid")
		}
	}
	if code != "" {
		h, err := zoidc.ClaimHash(code, alg)
		if err != nil {
			return "", err
		}
		claims.CodeHash = h
	}
	return signJWT(k, "JWT", claims)
}

// withoutUserinfoScopes drops the scopes whose claims OpenID Connect
// Core section 5.4 puts in userinfo when an access token is issued (as
// op does).
func withoutUserinfoScopes(scopes []string) []string {
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool {
		switch s {
		case zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeAddress, zoidc.ScopePhone:
			return true
		}
		return false
	})
}

// issuer is the issuer of the request (op's router puts it in the
// context), or the configured one.
func (p *Provider) issuer(ctx context.Context) string {
	if iss := op.IssuerFromContext(ctx); iss != "" {
		return iss
	}
	return p.cfg.Issuer
}

// signJWT signs claims with k as a compact JWS of type typ: the one
// signature a token gets.
func signJWT(k keys.SigningKey, typ string, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return sign(k, typ, payload)
}

// signatures counts the signatures sign made, and opKeys the keys op
// asked for to sign a token itself: TestEveryTokenSignedOnce holds a
// grant to one signature per token, all of them ours.
var signatures, opKeys atomic.Int64

// sign signs payload with k as a compact JWS of type typ.
func sign(k keys.SigningKey, typ string, payload []byte) (string, error) {
	signatures.Add(1)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: &jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
