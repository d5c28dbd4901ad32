package client

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Settings are a client's settings as an operator gives them — the command
// line today, an admin API later —: values as typed, and Given saying which
// ones were given (by Field* name; nil: all, as when creating). Scopes are
// separated by spaces or commas, grant types by commas (device_code is
// short for its URN); a list given replaces the whole list.
type Settings struct {
	Name, AuthMethod, Scopes, GrantTypes          string
	RedirectURIs, PostLogoutRedirectURIs          []string
	BackchannelLogoutURI, JWKS, JWKSURI           string
	MinLevel, IDTokenAlg, AccessTokenFormat, PKCE string
	Partner                                       string
	FirstParty, IDTokenClaims, StaffRoles         bool
	Given                                         func(field string) bool
}

// Field names of the settings without a validation problem of their own.
const (
	FieldFirstParty    = "first_party"
	FieldIDTokenClaims = "id_token_claims"
)

// Apply copies the given settings onto c. Keys (JWKS, JWKSURI) come from
// one place: giving either replaces both; a client leaving
// private_key_jwt loses its keys. Apply does not validate: Validate (or the
// store) does.
func (st Settings) Apply(c *Client) {
	given := func(field string) bool { return st.Given == nil || st.Given(field) }
	oldMethod := c.AuthMethod
	for _, f := range []struct {
		field string
		apply func()
	}{
		{FieldName, func() { c.Name = strings.TrimSpace(st.Name) }},
		{FieldRedirectURIs, func() { c.RedirectURIs = st.RedirectURIs }},
		{FieldPostLogoutRedirectURIs, func() { c.PostLogoutRedirectURIs = st.PostLogoutRedirectURIs }},
		{FieldBackchannelLogoutURI, func() { c.BackchannelLogoutURI = st.BackchannelLogoutURI }},
		{FieldScopes, func() {
			c.Scopes = strings.FieldsFunc(st.Scopes, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		}},
		{FieldGrantTypes, func() { c.GrantTypes = parseGrantTypes(st.GrantTypes) }},
		{FieldAuthMethod, func() { c.AuthMethod = st.AuthMethod }},
		{FieldFirstParty, func() { c.FirstParty = st.FirstParty }},
		{FieldMinLevel, func() { c.MinLevel = st.MinLevel }},
		{FieldIDTokenAlg, func() { c.IDTokenAlg = st.IDTokenAlg }},
		{FieldAccessTokenFormat, func() { c.AccessTokenFormat = st.AccessTokenFormat }},
		{FieldPKCE, func() { c.PKCE = st.PKCE }},
		{FieldIDTokenClaims, func() { c.IDTokenClaims = st.IDTokenClaims }},
		{FieldPartner, func() { c.Partner = st.Partner }},
		{FieldStaffRoles, func() { c.StaffRoles = st.StaffRoles }},
	} {
		if given(f.field) {
			f.apply()
		}
	}
	// After the method: keys follow it.
	switch {
	case given(FieldJWKS) || given(FieldJWKSURI):
		c.JWKS, c.JWKSURI = strings.TrimSpace(st.JWKS), st.JWKSURI
	case oldMethod == AuthPrivateKeyJWT && c.AuthMethod != AuthPrivateKeyJWT:
		c.JWKS, c.JWKSURI = "", ""
	}
}

// parseGrantTypes splits a comma-separated list; device_code is short for
// its URN.
func parseGrantTypes(v string) []string {
	var out []string
	for g := range strings.SplitSeq(v, ",") {
		switch g = strings.TrimSpace(g); g {
		case "":
			continue
		case "device_code":
			g = GrantDeviceCode
		}
		out = append(out, g)
	}
	return out
}

// Change applies the given settings to client id and stores them, refusing
// (sqldb.ErrConflict) when someone else changed the client since it was
// read here. A client switched to a secret method gets a new secret, which
// is returned once; validation problems come back as *ValidationError.
func (s *Store) Change(ctx context.Context, id string, st Settings) (*Client, string, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	next := *cur
	st.Apply(&next)
	if err := s.Update(ctx, next); err != nil {
		return nil, "", err
	}
	var secret string
	if next.UsesSecret() && cur.SecretHash == nil {
		if secret, err = s.RotateSecret(ctx, id); err != nil {
			return nil, "", err
		}
	}
	changed, err := s.Get(ctx, id)
	return changed, secret, err
}

// Metadata is a client as an operator sees it, with the client
// registration metadata names of RFC 7591 where there is one; the secret
// only once, when it was just made.
type Metadata struct {
	ClientID               string          `json:"client_id"`
	ClientSecret           string          `json:"client_secret,omitempty"`
	Name                   string          `json:"client_name"`
	AuthMethod             string          `json:"token_endpoint_auth_method"`
	HasSecret              bool            `json:"has_secret"`
	RedirectURIs           []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string          `json:"backchannel_logout_uri,omitempty"`
	Scope                  string          `json:"scope"`
	GrantTypes             []string        `json:"grant_types"`
	JWKS                   json.RawMessage `json:"jwks,omitempty"`
	JWKSURI                string          `json:"jwks_uri,omitempty"`
	FirstParty             bool            `json:"first_party"`
	MinLevel               string          `json:"min_level"`
	IDTokenAlg             string          `json:"id_token_signed_response_alg"`
	AccessTokenFormat      string          `json:"access_token_format"`
	PKCE                   string          `json:"pkce"`
	IDTokenClaims          bool            `json:"id_token_claims"`
	Partner                string          `json:"partner,omitempty"`
	StaffRoles             bool            `json:"staff_roles"`
	CreatedAt              time.Time       `json:"created_at"`
	UpdatedAt              time.Time       `json:"updated_at"`
}

// Metadata describes c, with secret when it was just made.
func (c *Client) Metadata(secret string) Metadata {
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	m := Metadata{
		ClientID: c.ID, ClientSecret: secret, Name: c.Name, AuthMethod: c.AuthMethod, HasSecret: c.SecretHash != nil,
		RedirectURIs: nonNil(c.RedirectURIs), PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		BackchannelLogoutURI: c.BackchannelLogoutURI, Scope: strings.Join(c.Scopes, " "), GrantTypes: nonNil(c.GrantTypes),
		JWKSURI: c.JWKSURI, FirstParty: c.FirstParty, MinLevel: string(c.Level()), IDTokenAlg: c.Alg(), AccessTokenFormat: c.TokenFormat(),
		PKCE: c.PKCEPolicy(), IDTokenClaims: c.IDTokenClaims, Partner: c.Partner, StaffRoles: c.StaffRoles, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.JWKS != "" && json.Valid([]byte(c.JWKS)) {
		m.JWKS = json.RawMessage(c.JWKS)
	}
	return m
}

// ShortGrantType writes device_code for the device grant's URN.
func ShortGrantType(g string) string {
	if g == GrantDeviceCode {
		return "device_code"
	}
	return g
}
