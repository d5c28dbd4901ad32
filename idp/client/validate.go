package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field names used in Problems: the client registration metadata names of
// RFC 7591 and OpenID Connect where one exists.
const (
	FieldID                     = "client_id"
	FieldName                   = "client_name"
	FieldAuthMethod             = "token_endpoint_auth_method"
	FieldRedirectURIs           = "redirect_uris"
	FieldPostLogoutRedirectURIs = "post_logout_redirect_uris"
	FieldBackchannelLogoutURI   = "backchannel_logout_uri"
	FieldScopes                 = "scope"
	FieldPartner                = "partner"
	FieldStaffRoles             = "staff_roles"
	FieldGrantTypes             = "grant_types"
	FieldJWKS                   = "jwks"
	FieldJWKSURI                = "jwks_uri"
	FieldMinLevel               = "min_level"
	FieldIDTokenAlg             = "id_token_signed_response_alg"
	FieldAccessTokenFormat      = "access_token_format"
	FieldPKCE                   = "pkce"
)

// ErrInvalid is matched (errors.Is) by the *ValidationError that Validate,
// Create and Update return.
var ErrInvalid = errors.New("invalid client")

// Problem is one thing wrong with a client's settings.
type Problem struct {
	Field   string // one of the Field… constants
	Message string // English, without the field name; quotes the bad value where it helps
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// ValidationError lists every problem Validate found, in field order.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid client: " + strings.Join(lines, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

const (
	maxNameLen = 100
	maxURILen  = 2000
	maxURIs    = 50
)

var (
	operatorID  = regexp.MustCompile(`^[a-z0-9_-]{3,64}$`)
	generatedID = regexp.MustCompile(`^gsd_[A-Za-z0-9_-]{22}$`)
	// partnerID is verification/bank's bank id.
	partnerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,31}$`)
)

// ValidID reports whether id has the form of a generated client id or of one
// chosen by an operator.
func ValidID(id string) bool { return operatorID.MatchString(id) || generatedID.MatchString(id) }

// Validate checks the client's settings and returns a *ValidationError
// listing every problem, or nil. An empty ID is accepted (Create assigns
// one); empty MinLevel, IDTokenAlg, AccessTokenFormat and PKCE mean their
// defaults.
func (c *Client) Validate() error {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	if c.ID != "" && !ValidID(c.ID) {
		add(FieldID, "must be 3 to 64 characters from a-z, 0-9, _ and -")
	}

	name := strings.TrimSpace(c.Name)
	switch {
	case name == "":
		add(FieldName, "required")
	case !utf8.ValidString(name):
		add(FieldName, "is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		add(FieldName, "must be at most %d characters", maxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		add(FieldName, "must not contain control characters")
	}

	hasGrant := func(g string) bool { return slices.Contains(c.GrantTypes, g) }
	switch {
	case c.AuthMethod == "":
		add(FieldAuthMethod, "required: one of %s", strings.Join(authMethods, ", "))
	case !slices.Contains(authMethods, c.AuthMethod):
		add(FieldAuthMethod, "%q is not one of %s", c.AuthMethod, strings.Join(authMethods, ", "))
	case !usesSecret(c.AuthMethod) && c.SecretHash != nil:
		add(FieldAuthMethod, "a client authenticating with %s has no secret", c.AuthMethod)
	}

	for _, l := range []struct {
		field  string
		uris   []string
		native bool
	}{{FieldRedirectURIs, c.RedirectURIs, true}, {FieldPostLogoutRedirectURIs, c.PostLogoutRedirectURIs, true}} {
		if len(l.uris) > maxURIs {
			add(l.field, "at most %d", maxURIs)
		}
		for i, u := range l.uris {
			if msg := checkURI(u, l.native); msg != "" {
				add(l.field, "%q: %s", u, msg)
			} else if slices.Index(l.uris, u) < i {
				add(l.field, "%q: listed twice", u)
			}
		}
	}
	if hasGrant(GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		add(FieldRedirectURIs, "at least one is needed for the %s grant", GrantAuthorizationCode)
	}
	if c.BackchannelLogoutURI != "" {
		if msg := checkURI(c.BackchannelLogoutURI, false); msg != "" {
			add(FieldBackchannelLogoutURI, "%q: %s", c.BackchannelLogoutURI, msg)
		}
	}

	for i, s := range c.Scopes {
		switch {
		case AgencyScope(s):
			if !hasGrant(GrantClientCredentials) || hasGrant(GrantAuthorizationCode) {
				add(FieldScopes, "%q is for an agency's system: the %s grant only", s, GrantClientCredentials)
			}
		case !knownScope(s):
			add(FieldScopes, "unknown scope %q (known: %s, and agency:CODE for agencies' systems)", s, strings.Join(scopeNames(), " "))
		case slices.Index(c.Scopes, s) < i:
			add(FieldScopes, "%q listed twice", s)
		}
	}
	for _, s := range c.Scopes {
		if PartnerScope(s) && c.Partner == "" {
			add(FieldScopes, "%q is for bank partners only (--partner)", s)
		}
	}
	if c.Partner != "" {
		if !partnerID.MatchString(c.Partner) {
			add(FieldPartner, "%q is not a bank id (2–32 lower-case letters, digits and hyphens)", c.Partner)
		}
		if !hasGrant(GrantClientCredentials) {
			add(FieldPartner, "a bank partner needs the %s grant", GrantClientCredentials)
		}
	}
	if c.StaffRoles && !c.FirstParty {
		add(FieldStaffRoles, "only a first-party client (--first-party) may receive staff roles")
	}
	if hasGrant(GrantAuthorizationCode) && !slices.Contains(c.Scopes, "openid") {
		add(FieldScopes, "must include openid for the %s grant", GrantAuthorizationCode)
	}
	if slices.Contains(c.Scopes, "offline_access") && !hasGrant(GrantRefreshToken) {
		add(FieldScopes, "offline_access needs the %s grant", GrantRefreshToken)
	}

	if len(c.GrantTypes) == 0 {
		add(FieldGrantTypes, "at least one is needed: %s", strings.Join(grantTypes, ", "))
	}
	for i, g := range c.GrantTypes {
		switch {
		case !slices.Contains(grantTypes, g):
			add(FieldGrantTypes, "%q is not one of %s", g, strings.Join(grantTypes, ", "))
		case slices.Index(c.GrantTypes, g) < i:
			add(FieldGrantTypes, "%q listed twice", g)
		}
	}
	if hasGrant(GrantRefreshToken) && !hasGrant(GrantAuthorizationCode) && !hasGrant(GrantDeviceCode) {
		add(FieldGrantTypes, "%s needs %s or %s", GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode)
	}
	if hasGrant(GrantClientCredentials) && c.AuthMethod == AuthNone {
		add(FieldGrantTypes, "%s needs a client that authenticates (auth method other than none)", GrantClientCredentials)
	}

	switch {
	case c.AuthMethod == AuthPrivateKeyJWT && c.JWKS == "" && c.JWKSURI == "":
		add(FieldJWKS, "private_key_jwt needs the client's public keys, inline (jwks) or by URL (jwks_uri)")
	case c.AuthMethod == AuthPrivateKeyJWT && c.JWKS != "" && c.JWKSURI != "":
		add(FieldJWKS, "give the keys inline (jwks) or by URL (jwks_uri), not both")
	case c.AuthMethod != AuthPrivateKeyJWT && c.JWKS != "":
		add(FieldJWKS, "only used with private_key_jwt")
	case c.AuthMethod != AuthPrivateKeyJWT && c.JWKSURI != "":
		add(FieldJWKSURI, "only used with private_key_jwt")
	}
	if c.JWKS != "" {
		for _, msg := range checkJWKS(c.JWKS) {
			add(FieldJWKS, "%s", msg)
		}
	}
	if c.JWKSURI != "" {
		if msg := checkURI(c.JWKSURI, false); msg != "" {
			add(FieldJWKSURI, "%q: %s", c.JWKSURI, msg)
		}
	}

	for _, e := range []struct {
		field, value string
		allowed      []string
	}{{FieldMinLevel, c.MinLevel, Levels()}, {FieldIDTokenAlg, c.IDTokenAlg, idTokenAlgs}, {FieldAccessTokenFormat, c.AccessTokenFormat, accessFormats},
		{FieldPKCE, c.PKCE, pkcePolicies}} {
		if e.value != "" && !slices.Contains(e.allowed, e.value) {
			add(e.field, "%q is not one of %s", e.value, strings.Join(e.allowed, ", "))
		}
	}
	if c.PKCE == PKCEOptional && c.AuthMethod == AuthNone {
		// A public client has no secret: PKCE is all that binds its code
		// to the app that asked for it (RFC 9700 section 2.1.1).
		add(FieldPKCE, "a public client (auth method none) must use PKCE: only confidential clients may have it optional")
	}

	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

func knownScope(name string) bool { _, ok := LookupScope(name); return ok }

func scopeNames() []string {
	names := make([]string, len(knownScopes))
	for i, s := range knownScopes {
		names[i] = s.Name
	}
	return names
}

// checkURI returns what is wrong with a registered URI, or "". Allowed:
// https URIs with a host; http only on loopback hosts (a native app's
// loopback redirect, and tests); and, where native is true, private-use
// schemes of native apps in reverse-DNS form (com.example.app:/callback,
// RFC 8252 section 7.1). Never fragments, wildcards or user information.
func checkURI(raw string, native bool) string {
	switch {
	case len(raw) > maxURILen:
		return fmt.Sprintf("longer than %d characters", maxURILen)
	case strings.Contains(raw, "*"):
		return "wildcards are not allowed: register every URI exactly"
	case strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not contain spaces or control characters"
	case strings.Contains(raw, "#"):
		return "must not have a fragment (#…)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "not a valid URI"
	}
	if u.Scheme == "" {
		return "must be absolute (https://…)"
	}
	if u.User != nil {
		return "must not carry user information"
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return "has no host"
		}
	case "http":
		if u.Hostname() == "" {
			return "has no host"
		}
		if !isLoopbackHost(u.Hostname()) {
			return "http is allowed only on loopback hosts (localhost, 127.0.0.1, [::1]): use https"
		}
	default:
		if !native {
			return "scheme must be https (http only on loopback hosts)"
		}
		if !strings.Contains(u.Scheme, ".") {
			return "scheme must be https, http on a loopback host, or a native app's reverse-DNS scheme such as com.example.app:/callback"
		}
		if u.Opaque != "" || u.Path == "" {
			return "write a native app's URI as " + u.Scheme + ":/path"
		}
	}
	return ""
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
