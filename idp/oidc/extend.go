package oidc

import (
	"github.com/gosid/gosid/idp/assurance"

	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/oidc/authz"
)

// provider is op's Provider with the parts Gosid does differently: op
// checks no client assertion (the guard does, clientauth.go) and op's CORS
// layer is off (cors.go).
type provider struct {
	*op.Provider
	p *Provider
}

// JWTProfileVerifier is what op would check a client assertion with. None
// reaches op (presentToOp removes them once the guard has verified them),
// so it refuses every one.
func (w provider) JWTProfileVerifier(ctx context.Context) *op.JWTProfileVerifier {
	return op.NewJWTProfileVerifierKeySet(refuseAll{}, op.IssuerFromContext(ctx), assertionMaxAge, assertionSkew)
}

type refuseAll struct{}

func (refuseAll) VerifySignature(context.Context, *jose.JSONWebSignature) ([]byte, error) {
	return nil, errors.New("client assertions are verified by the guard only")
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
	d.ACRValuesSupported = append(assurance.ACRValues(), authz.ACRMFA)
	// Client authentication: the same methods everywhere (clientauth.go),
	// none only where a public client may come.
	withKeys := []zoidc.AuthMethod{zoidc.AuthMethodBasic, zoidc.AuthMethodPost, zoidc.AuthMethodPrivateKeyJWT}
	d.TokenEndpointAuthMethodsSupported = append(slices.Clone(withKeys), zoidc.AuthMethodNone)
	d.RevocationEndpointAuthMethodsSupported = append(slices.Clone(withKeys), zoidc.AuthMethodNone)
	d.IntrospectionEndpointAuthMethodsSupported = withKeys
	algs := make([]string, len(assertionAlgs))
	for i, a := range assertionAlgs {
		algs[i] = string(a)
	}
	d.TokenEndpointAuthSigningAlgValuesSupported = algs
	d.RevocationEndpointAuthSigningAlgValuesSupported = algs
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = algs
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
	if p.deps.Evidence != nil {
		// OpenID Connect for Identity Assurance 1.0, section 8 (vclaims.go).
		m["verified_claims_supported"] = true
		m["trust_frameworks_supported"] = []string{TrustFramework}
		m["evidence_supported"] = evidenceSupported
		m["documents_supported"] = documentsSupported
		m["claims_in_verified_claims_supported"] = vcClaimNames
	}
	return json.Marshal(m)
}

// discovery serves the precomputed discovery document, to pages of any
// origin too (browser apps read it; it is public and needs no credentials).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(p.discoveryJSON)
}
