package oidc

import (
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gosid/gosid/idp/client"
)

// opClient presents a registered client to the op package.
type opClient struct {
	c        *client.Client
	loginURL func(authRequestID string) string
	idTTL    time.Duration
	// authMethod, when set, replaces the registered method for op (see
	// adapter.GetClientByClientID).
	authMethod zoidc.AuthMethod
}

var _ op.Client = (*opClient)(nil)

func (c *opClient) GetID() string                    { return c.c.ID }
func (c *opClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *opClient) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

func (c *opClient) ApplicationType() op.ApplicationType {
	if c.c.AuthMethod == "none" {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *opClient) AuthMethod() zoidc.AuthMethod {
	if c.authMethod != "" {
		return c.authMethod
	}
	return zoidc.AuthMethod(c.c.AuthMethod)
}

func (c *opClient) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c *opClient) GrantTypes() []zoidc.GrantType {
	out := make([]zoidc.GrantType, len(c.c.GrantTypes))
	for i, g := range c.c.GrantTypes {
		out[i] = zoidc.GrantType(g)
	}
	return out
}

func (c *opClient) LoginURL(id string) string { return c.loginURL(id) }

func (c *opClient) AccessTokenType() op.AccessTokenType {
	if c.c.AccessTokenFormat == "opaque" {
		return op.AccessTokenTypeBearer
	}
	return op.AccessTokenTypeJWT
}

func (c *opClient) IDTokenLifetime() time.Duration { return c.idTTL }

// DevMode would relax redirect-URI checks; never.
func (c *opClient) DevMode() bool { return false }

func (c *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *opClient) IsScopeAllowed(scope string) bool { return slices.Contains(c.c.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion keeps op from dropping scopes before it
// asks the adapter for the ID token's claims: SetUserinfoFromRequest
// decides which personal claims an ID token carries (by default none).
func (c *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *opClient) ClockSkew() time.Duration { return 0 }
