package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gosid/gosid/idp/client"
	"github.com/gosid/gosid/internal/sqldb"
)

// Client authentication. Every endpoint that authenticates clients (token,
// introspection, revocation, device authorization) authenticates them here,
// completely, before op sees the request: op reads an authorization code
// before it checks the client, accepts different methods at different
// endpoints (no client_secret_post at introspection, no authentication at
// all at device authorization) and a client assertion only with aud = the
// issuer. The methods, the same at every endpoint:
//
//	client_secret_basic  Authorization: Basic, id and secret form-encoded (RFC 6749 section 2.3.1)
//	client_secret_post   client_id and client_secret in the body
//	private_key_jwt      client_assertion_type jwt-bearer and client_assertion (RFC 7523, OIDC Core section 9)
//	none                 client_id only, for public clients, and not at introspection
//
// A client with a secret may send it either way (openid-client sends it in
// the body by default, `gosid clients create` registers Basic by default;
// both carry the same secret over the same TLS). Two methods at once, or a
// client_id in the body naming another client than the credentials, are
// invalid_request. op then runs with the authenticated client in the
// context (authenticatedClient) and the request rewritten so that op's
// checks only confirm it (presentToOp).

// clientAuth is a client authenticated by the guard for one request.
type clientAuth struct {
	Client *client.Client
	// Method is one of client.AuthSecretBasic, AuthSecretPost,
	// AuthPrivateKeyJWT or AuthNone: what the request used.
	Method string
	// assertion is the verified client assertion (private_key_jwt).
	assertion *verifiedAssertion
}

type authCtxKey struct{}

// authenticatedClient returns the client the guard authenticated for the
// request of ctx, or nil.
func authenticatedClient(ctx context.Context) *clientAuth {
	ca, _ := ctx.Value(authCtxKey{}).(*clientAuth)
	return ca
}

// endpoint is a client-authenticating endpoint.
type endpoint struct {
	path string
	// public: clients without credentials (none) may use it.
	public bool
	// cors: browser apps call it (see cors.go).
	cors bool
}

var clientEndpoints = map[string]endpoint{
	pathToken:      {path: pathToken, public: true, cors: true},
	pathRevoke:     {path: pathRevoke, public: true, cors: true},
	pathIntrospect: {path: pathIntrospect},
	pathDevice:     {path: pathDevice, public: true},
}

// audiences are the aud values a client assertion may carry at ep: the
// issuer, the token endpoint's URL (OpenID Connect Core section 9 says a
// client SHOULD use it), and the endpoint's own URL. Nothing else: an
// assertion made for another server must not be replayable here.
func (p *Provider) audiences(ep endpoint) []string {
	out := []string{p.cfg.Issuer, p.cfg.Issuer + pathToken}
	if ep.path != pathToken {
		out = append(out, p.cfg.Issuer+ep.path)
	}
	return out
}

// authFailure is an RFC 6749 section 5.2 error of client authentication.
func authFailure(desc string) *oauthErr {
	return &oauthErr{Status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

var errTwoMethods = &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the client must authenticate with exactly one method"}

// authenticate authenticates the client of r (a POST whose body is
// parsed) at ep. A failure is the error to answer; a database failure is
// temporarily_unavailable (503), never a verdict on the client.
func (p *Provider) authenticate(r *http.Request, ep endpoint) (*clientAuth, *oauthErr) {
	ctx := r.Context()
	form := r.PostForm
	formID := form.Get("client_id")
	hasSecret := form.Get("client_secret") != ""
	hasAssertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	basicID, basicSecret, hasBasic := r.BasicAuth()
	if r.Header.Get("Authorization") != "" && !hasBasic {
		return nil, authFailure("unsupported client authentication scheme")
	}
	n := 0
	for _, has := range []bool{hasBasic, hasSecret, hasAssertion} {
		if has {
			n++
		}
	}
	if n > 1 {
		return nil, errTwoMethods
	}
	switch {
	case hasBasic:
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, authFailure("malformed Basic credentials")
		}
		if formID != "" && formID != id {
			return nil, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request", Description: "client_id differs from the authenticated client"}
		}
		c, fail := p.checkSecret(ctx, id, secret)
		if fail != nil {
			return nil, fail
		}
		return &clientAuth{Client: c, Method: client.AuthSecretBasic}, nil
	case hasSecret:
		if formID == "" {
			return nil, authFailure("client_secret without client_id")
		}
		c, fail := p.checkSecret(ctx, formID, form.Get("client_secret"))
		if fail != nil {
			return nil, fail
		}
		return &clientAuth{Client: c, Method: client.AuthSecretPost}, nil
	case hasAssertion:
		if form.Get("client_assertion_type") != zoidc.ClientAssertionTypeJWTAssertion {
			return nil, authFailure("unsupported client_assertion_type")
		}
		a, err := p.verifyAssertion(ctx, form.Get("client_assertion"), p.audiences(ep))
		if err != nil {
			if errors.Is(err, errClientLookup) {
				p.deps.Log.ErrorContext(ctx, "client assertion: client look-up", "err", err)
				return nil, errUnavailable
			}
			p.deps.Log.InfoContext(ctx, "client assertion refused", "reason", err)
			return nil, authFailure("the client assertion is invalid")
		}
		if formID != "" && formID != a.client.ID {
			return nil, &oauthErr{Status: http.StatusBadRequest, Code: "invalid_request", Description: "client_id differs from the authenticated client"}
		}
		// Recorded only now, after the signature: nobody can burn another
		// client's assertion ids.
		fresh, err := p.store.useJTI(ctx, a.client.ID, a.jti, a.expires.Add(time.Minute))
		if err != nil {
			p.deps.Log.ErrorContext(ctx, "client assertion: record jti", "err", err)
			return nil, errUnavailable
		}
		if !fresh {
			return nil, authFailure("the client assertion was used before")
		}
		return &clientAuth{Client: a.client, Method: client.AuthPrivateKeyJWT, assertion: a}, nil
	}
	if formID == "" {
		return nil, authFailure("client authentication is required")
	}
	c, err := p.deps.Clients.Get(ctx, formID)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, authFailure("client authentication failed")
	case err != nil:
		p.deps.Log.ErrorContext(ctx, "client look-up", "err", err)
		return nil, errUnavailable
	case !c.Public():
		return nil, authFailure("client authentication is required")
	case !ep.public:
		return nil, authFailure("a public client cannot use this endpoint")
	}
	return &clientAuth{Client: c, Method: client.AuthNone}, nil
}

// checkSecret authenticates a client by its secret.
func (p *Provider) checkSecret(ctx context.Context, id, secret string) (*client.Client, *oauthErr) {
	c, err := p.deps.Clients.CheckSecret(ctx, id, secret)
	switch {
	case errors.Is(err, client.ErrInvalidCredentials) || errors.Is(err, sqldb.ErrNotFound):
		return nil, authFailure("client authentication failed")
	case err != nil:
		p.deps.Log.ErrorContext(ctx, "client secret check", "err", err)
		return nil, errUnavailable
	}
	return c, nil
}

// presentToOp rewrites an authenticated request into the one shape of
// client authentication op checks the same way at every endpoint: the
// client's id in Basic, with its secret if it used one, and no client
// assertion; a public client keeps its client_id. op's checks then only
// confirm the guard's: adapter.AuthorizeClientIDSecret accepts exactly
// the client of the context, and adapter.GetClientByClientID presents it
// to op as a Basic client (op would otherwise insist on checking a
// private_key_jwt client's assertion itself, with aud = the issuer only
// and three algorithms).
func presentToOp(r *http.Request, ca *clientAuth) {
	if ca.Method == client.AuthNone {
		return
	}
	secret := ""
	if _, s, ok := r.BasicAuth(); ok {
		secret = s
	} else {
		secret = url.QueryEscape(r.PostForm.Get("client_secret"))
	}
	r.SetBasicAuth(url.QueryEscape(ca.Client.ID), secret)
	for _, f := range []url.Values{r.PostForm, r.Form} {
		f.Del("client_secret")
		f.Del("client_assertion")
		f.Del("client_assertion_type")
	}
}

// Client assertions (private_key_jwt).

// assertionAlgs are the signature algorithms accepted in client assertions
// (and advertised in discovery): those of the RSA and EC keys clients may
// register (client.Validate); never none or HMAC.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512}

const (
	// maxAssertionLen bounds what is parsed: a client assertion is a few
	// hundred bytes.
	maxAssertionLen = 8 << 10
	// assertionSkew is the clock difference allowed either way;
	// assertionMaxAge how old iat may be.
	assertionSkew   = 5 * time.Second
	assertionMaxAge = time.Hour
)

// errClientLookup: the assertion's client could not be read (a database
// failure, not a verdict).
var errClientLookup = errors.New("client assertion: client look-up failed")

// verifiedAssertion is a client assertion whose signature and claims
// checked out.
type verifiedAssertion struct {
	client  *client.Client
	jti     string
	expires time.Time
}

// assertionClaims are a client assertion's claims (RFC 7523 section 3).
type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	JTI string          `json:"jti"`
	Exp *json.Number    `json:"exp"`
	Iat *json.Number    `json:"iat"`
	Nbf *json.Number    `json:"nbf"`
}

// verifyAssertion checks a client assertion: a compact JWS with one
// signature of an accepted algorithm by a key the client (a
// private_key_jwt client, iss = sub) registered, an aud of only accepted
// values, a jti, exp in the future, iat (not in the future, at most an
// hour old) and nbf if present. It records nothing: the caller records the
// jti once the rest of the request is known to be this client's.
func (p *Provider) verifyAssertion(ctx context.Context, raw string, audiences []string) (*verifiedAssertion, error) {
	if raw == "" || len(raw) > maxAssertionLen || strings.Count(raw, ".") != 2 {
		return nil, errors.New("not a compact JWS of reasonable size")
	}
	jws, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil {
		return nil, errors.New("not a JWS with an accepted algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	sig := jws.Signatures[0]
	var c assertionClaims
	dec := json.NewDecoder(strings.NewReader(string(jws.UnsafePayloadWithoutVerification())))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, errors.New("claims are not a JSON object")
	}
	if c.Iss == "" || c.Sub != c.Iss {
		return nil, errors.New("iss and sub must both name the client")
	}
	if !client.ValidID(c.Iss) {
		return nil, errors.New("unknown client")
	}
	cl, err := p.deps.Clients.Get(ctx, c.Iss)
	switch {
	case errors.Is(err, sqldb.ErrNotFound):
		return nil, errors.New("unknown client")
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errClientLookup, err)
	case cl.AuthMethod != client.AuthPrivateKeyJWT:
		return nil, errors.New("not a private_key_jwt client")
	}
	set, err := p.keySets.forClient(ctx, cl, sig.Header.KeyID)
	if err != nil {
		return nil, fmt.Errorf("client keys: %w", err)
	}
	var payload []byte
	for _, key := range set.Keys {
		if sig.Header.KeyID != "" && key.KeyID != sig.Header.KeyID || key.Use != "" && key.Use != "sig" ||
			key.Algorithm != "" && key.Algorithm != sig.Header.Algorithm || !key.IsPublic() {
			continue
		}
		if payload, err = jws.Verify(key.Key); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, errors.New("the signature does not verify with the client's keys")
	}
	aud, ok := audienceList(c.Aud)
	if !ok || len(aud) == 0 {
		return nil, errors.New("no aud")
	}
	for _, a := range aud {
		if !slices.Contains(audiences, a) {
			return nil, errors.New("aud names another server or endpoint")
		}
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return nil, errors.New("no jti")
	}
	now := p.deps.Now()
	exp, ok1 := unixTime(c.Exp)
	iat, ok2 := unixTime(c.Iat)
	switch {
	case !ok1 || !now.Add(-assertionSkew).Before(exp):
		return nil, errors.New("expired or without exp")
	case !ok2 || iat.After(now.Add(assertionSkew)) || iat.Before(now.Add(-assertionMaxAge)):
		return nil, errors.New("iat missing, in the future or too old")
	}
	if c.Nbf != nil {
		if nbf, ok := unixTime(c.Nbf); !ok || nbf.After(now.Add(assertionSkew)) {
			return nil, errors.New("not valid yet")
		}
	}
	return &verifiedAssertion{client: cl, jti: c.JTI, expires: exp}, nil
}

// audienceList reads aud: a string or an array of strings.
func audienceList(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, one != ""
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return nil, false
	}
	return many, !slices.Contains(many, "")
}

// unixTime reads a NumericDate: seconds since the epoch, within a sane
// range.
func unixTime(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}
