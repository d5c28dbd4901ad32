package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/client"
)

// provider is op's Provider with the parts Gosid does differently: client
// assertions are verified by assertionKeys (which refuses a replayed jti).
type provider struct {
	*op.Provider
	p *Provider
}

// JWTProfileVerifier verifies private_key_jwt client assertions.
func (w provider) JWTProfileVerifier(ctx context.Context) *op.JWTProfileVerifier {
	return op.NewJWTProfileVerifierKeySet(&assertionKeys{p: w.p}, op.IssuerFromContext(ctx), time.Hour, 5*time.Second)
}

// assertionKeys verifies a client assertion's signature with the client's
// registered keys and then records its jti: the second presentation of one
// assertion is refused. The jti is recorded only after the signature is
// verified, so nobody can burn another client's assertion ids.
type assertionKeys struct{ p *Provider }

var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512}

func (k *assertionKeys) VerifySignature(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	c, payload, jti, err := k.verify(ctx, jws)
	if err != nil {
		return nil, err
	}
	fresh, err := k.p.store.useJTI(ctx, c.ID, jti, k.expiry(payload))
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, errors.New("client assertion: jti already used (replay)")
	}
	return payload, nil
}

// verify checks the assertion's algorithm and signature with the keys of
// the client it names, and returns that client, the payload and the jti.
func (k *assertionKeys) verify(ctx context.Context, jws *jose.JSONWebSignature) (*client.Client, []byte, string, error) {
	if len(jws.Signatures) != 1 || !slices.Contains(assertionAlgs, jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)) {
		return nil, nil, "", errors.New("client assertion: unsupported signature algorithm")
	}
	var claims struct {
		Iss string `json:"iss"`
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return nil, nil, "", fmt.Errorf("client assertion: %w", err)
	}
	c, err := k.p.deps.Clients.Get(ctx, claims.Iss)
	if err != nil || c.AuthMethod != "private_key_jwt" {
		return nil, nil, "", errors.New("client assertion: unknown client or not a private_key_jwt client")
	}
	set, err := clientKeys(ctx, c)
	if err != nil {
		return nil, nil, "", err
	}
	kid := jws.Signatures[0].Header.KeyID
	var payload []byte
	for _, key := range set.Keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err = jws.Verify(key.Key); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, nil, "", errors.New("client assertion: signature does not verify with the client's keys")
	}
	if claims.JTI == "" {
		return nil, nil, "", errors.New("client assertion: no jti")
	}
	return c, payload, claims.JTI, nil
}

// expiry is how long a jti must be remembered: until the assertion
// expires, plus the clock skew allowed.
func (k *assertionKeys) expiry(payload []byte) time.Time {
	var c struct {
		Exp int64 `json:"exp"`
	}
	_ = json.Unmarshal(payload, &c)
	if c.Exp == 0 {
		return time.Now().Add(time.Hour)
	}
	return time.Unix(c.Exp, 0).Add(time.Minute)
}

// discoveryDocument builds the discovery document once: op's, corrected to
// what Gosid supports (code flow only, S256 only, the iss response
// parameter, the levels as acr values). It depends on nothing that changes
// while the process runs.
func (p *Provider) discoveryDocument() ([]byte, error) {
	ctx := op.ContextWithIssuer(context.Background(), p.cfg.Issuer)
	d := op.CreateDiscoveryConfig(ctx, p.op, p.adapter)
	d.ResponseTypesSupported = []string{string(zoidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{"query", "form_post"}
	d.GrantTypesSupported = []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken, zoidc.GrantTypeClientCredentials, zoidc.GrantTypeDeviceCode}
	d.CodeChallengeMethodsSupported = []zoidc.CodeChallengeMethod{zoidc.CodeChallengeMethodS256}
	d.ACRValuesSupported = []string{"urn:gosid:loa:simplified", "urn:gosid:loa:standard", "urn:gosid:loa:confirmed", acrMFA}
	d.TokenEndpointAuthSigningAlgValuesSupported = []string{"RS256", "PS256", "ES256"}
	d.RevocationEndpointAuthSigningAlgValuesSupported = d.TokenEndpointAuthSigningAlgValuesSupported
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = d.TokenEndpointAuthSigningAlgValuesSupported
	d.ClaimsSupported = supportedClaims
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	// Fields the op's type does not have.
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["authorization_response_iss_parameter_supported"] = true
	m["claims_parameter_supported"] = true
	m["backchannel_logout_supported"] = true
	m["ui_locales_supported"] = []string{"ru", "en"}
	return json.Marshal(m)
}

// discovery serves the precomputed discovery document.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(p.discoveryJSON)
}
