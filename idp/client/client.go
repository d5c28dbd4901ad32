package client

import (
	"regexp"
	"strings"

	"github.com/gosid/gosid/idp/assurance"

	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Client authentication methods at the token endpoint
// (token_endpoint_auth_method).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none" // public clients: native and browser apps, PKCE required
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// ID token signing algorithms.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Access token formats.
const (
	FormatJWT    = "jwt"    // RFC 9068 JWT access tokens, verifiable by resource servers
	FormatOpaque = "opaque" // random tokens, checked by introspection
)

// PKCE policies: whether an authorization request must carry an S256
// code_challenge (RFC 9700 section 2.1.1, OAuth 2.1).
const (
	PKCERequired = "required"
	// PKCEOptional lets a legacy confidential client that cannot send a
	// code_challenge go without one; public clients never may.
	PKCEOptional = "optional"
)

var (
	authMethods   = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT, AuthNone}
	grantTypes    = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}
	idTokenAlgs   = []string{AlgRS256, AlgES256}
	accessFormats = []string{FormatJWT, FormatOpaque}
	pkcePolicies  = []string{PKCERequired, PKCEOptional}
)

// AuthMethods, GrantTypes, Levels, IDTokenAlgs and AccessTokenFormats list
// the accepted values of the corresponding Client fields.
func AuthMethods() []string { return slices.Clone(authMethods) }
func GrantTypes() []string  { return slices.Clone(grantTypes) }

// Levels lists the accepted minimum levels.
func Levels() []string {
	var out []string
	for _, l := range assurance.Levels() {
		out = append(out, string(l))
	}
	return out
}

func IDTokenAlgs() []string        { return slices.Clone(idTokenAlgs) }
func AccessTokenFormats() []string { return slices.Clone(accessFormats) }

// PKCEPolicies lists the accepted values of Client.PKCE.
func PKCEPolicies() []string { return slices.Clone(pkcePolicies) }

// Client is a relying party registered with Gosid.
type Client struct {
	// ID is the client_id: "gsd_" and 22 random base64url characters, or
	// one the operator chose ([a-z0-9_-]{3,64}). Empty before Create.
	ID string
	// Name is shown on the consent page, 1 to 100 characters.
	Name string
	// SecretHash is the SHA-256 of the client secret; nil for the methods
	// without a secret (none, private_key_jwt), and until RotateSecret for a
	// client switched to a secret method by Update. Set by the store only.
	SecretHash []byte
	// AuthMethod is how the client authenticates at the token endpoint.
	AuthMethod string
	// RedirectURIs are matched exactly; at least one is needed with the
	// authorization_code grant.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string
	// Scopes are those the client may ask for, from KnownScopes.
	Scopes     []string
	GrantTypes []string
	// JWKS (inline public keys, JSON) or JWKSURI (where to fetch them): one
	// of them for private_key_jwt, neither otherwise.
	JWKS    string
	JWKSURI string
	// FirstParty clients (Gosid's own portal) skip the consent screen.
	FirstParty bool
	// MinLevel is the assurance level an account needs to sign in here.
	// Empty means simplified.
	MinLevel string
	// IDTokenAlg signs the ID tokens; empty means RS256.
	IDTokenAlg string
	// AccessTokenFormat: empty means jwt.
	AccessTokenFormat string
	// PKCE is PKCERequired (also when empty) or PKCEOptional.
	PKCE string
	// IDTokenClaims puts the personal claims of the consented scopes into
	// the client's ID tokens. Without it the ID token holds the protocol
	// claims only, and personal data comes from userinfo (or from the ID
	// token when the request's claims parameter asks for it): ID tokens
	// travel back to Gosid in logout URLs as id_token_hint.
	IDTokenClaims bool
	// Partner is the id of the bank (verification/bank) this client acts
	// for at the partner API (/partner/v1), or "": only a partner client
	// may hold the partner scopes.
	Partner string
	// StaffRoles puts the staff roles of the account (idp/staff) into the
	// client's ID tokens and userinfo as the gosid_roles claim; only a
	// first-party client (the portal's back-office) may have it.
	StaffRoles bool

	CreatedAt, UpdatedAt time.Time
}

// LogValue implements slog.LogValuer without the secret hash and the
// client's keys.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("name", c.Name),
		slog.String("auth_method", c.AuthMethod), slog.Bool("first_party", c.FirstParty))
}

// String is LogValue's content, for %v.
func (c Client) String() string {
	return fmt.Sprintf("Client(%s %q %s)", c.ID, c.Name, c.AuthMethod)
}

// UsesSecret reports whether the client authenticates with a client secret.
func (c *Client) UsesSecret() bool { return usesSecret(c.AuthMethod) }

func usesSecret(method string) bool { return method == AuthSecretBasic || method == AuthSecretPost }

// Public reports whether the client cannot keep a credential (auth method
// none): it must use PKCE.
func (c *Client) Public() bool { return c.AuthMethod == AuthNone }

// AllowsGrant reports whether the client may use the grant type.
func (c *Client) AllowsGrant(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// AllowsScope reports whether the client may ask for the scope.
func (c *Client) AllowsScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// HasRedirectURI reports whether uri is one of the registered redirect URIs,
// compared exactly (no normalisation, no wildcard, no loopback port
// leniency).
func (c *Client) HasRedirectURI(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// HasPostLogoutRedirectURI is HasRedirectURI for the logout redirects.
func (c *Client) HasPostLogoutRedirectURI(uri string) bool {
	return slices.Contains(c.PostLogoutRedirectURIs, uri)
}

// Level returns MinLevel with its default applied.
func (c *Client) Level() assurance.Level {
	return assurance.Level(orDefault(c.MinLevel, string(assurance.Simplified)))
}

// Alg returns IDTokenAlg with its default applied.
func (c *Client) Alg() string { return orDefault(c.IDTokenAlg, AlgRS256) }

// TokenFormat returns AccessTokenFormat with its default applied.
func (c *Client) TokenFormat() string { return orDefault(c.AccessTokenFormat, FormatJWT) }

// PKCEPolicy returns PKCE with its default applied.
func (c *Client) PKCEPolicy() string { return orDefault(c.PKCE, PKCERequired) }

// RequiresPKCE reports whether the client's authorization requests must
// carry a code_challenge: always for public clients, and for the others
// unless an operator made it optional.
func (c *Client) RequiresPKCE() bool { return c.Public() || c.PKCEPolicy() != PKCEOptional }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// clone returns a deep copy, so that a cached client cannot be changed
// through a returned one.
func (c *Client) clone() *Client {
	d := *c
	d.SecretHash = slices.Clone(c.SecretHash)
	d.RedirectURIs = slices.Clone(c.RedirectURIs)
	d.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	d.Scopes = slices.Clone(c.Scopes)
	d.GrantTypes = slices.Clone(c.GrantTypes)
	return &d
}

// Scope is a scope a client may ask for, with what the citizen is told on
// the consent page.
type Scope struct {
	Name string
	RU   string // «Фамилия, имя и отчество»
	EN   string
}

var knownScopes = []Scope{
	{"openid", "Идентификатор вашей учётной записи", "Your account identifier"},
	{"profile", "Основные сведения: фамилия, имя и отчество, дата рождения и пол", "Basic profile: your name, date of birth and sex"},
	{"fullname", "Фамилия, имя и отчество", "Full name"},
	{"birthdate", "Дата рождения", "Date of birth"},
	{"gender", "Пол", "Sex"},
	{"snils", "СНИЛС", "SNILS"},
	{"inn", "ИНН", "Taxpayer number (INN)"},
	{"id_doc", "Паспорт гражданина РФ", "Passport"},
	{"email", "Адрес электронной почты", "E-mail address"},
	{"mobile", "Мобильный телефон", "Mobile phone"},
	{"addresses", "Адреса регистрации и проживания", "Registered and home addresses"},
	{"offline_access", "Доступ к данным, когда вас нет на сайте", "Access while you are away"},
	{ScopePartnerConfirmations, "Подтверждение личности клиентов банка", "Confirming the identity of the bank's customers"},
	{ScopePartnerRegistrations, "Регистрация клиентов банка", "Registering the bank's customers"},
}

// The partner API's scopes (/partner/v1): only partner clients may hold
// them, and only with the client_credentials grant.
const (
	ScopePartnerConfirmations = "partner:confirmations"
	ScopePartnerRegistrations = "partner:registrations"
)

// AgencyScope reports whether scope is an agency's at the portal's agency
// API (/agency/v1): "agency:" and the agency's code, as in the portal's
// catalogue ("agency:mvd"). Only client_credentials clients (an agency's
// own system) may hold one; it limits the client to that agency.
func AgencyScope(scope string) bool {
	code, ok := strings.CutPrefix(scope, "agency:")
	return ok && agencyCode.MatchString(code)
}

var agencyCode = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// PartnerScope reports whether scope is one of the partner API's.
func PartnerScope(scope string) bool {
	return scope == ScopePartnerConfirmations || scope == ScopePartnerRegistrations
}

// KnownScopes lists the scopes clients may be allowed, in the order the
// consent page shows them.
func KnownScopes() []Scope { return slices.Clone(knownScopes) }

// profileParts are the scopes whose data "profile" releases too
// (idp/oidc's claims).
var profileParts = []string{"fullname", "birthdate", "gender"}

// ShownScopes returns the scopes to list to the citizen (the consent page,
// the account centre's sites), in the given order: without "openid" (the
// account identifier, which every site gets), and without a scope whose
// data "profile", also asked for, already covers — so the name is listed
// once when a site asks for both "profile" and "fullname".
func ShownScopes(scopes []string) []string {
	profile := slices.Contains(scopes, "profile")
	var out []string
	for _, s := range scopes {
		if s == "openid" || profile && slices.Contains(profileParts, s) || slices.Contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// LookupScope returns the known scope called name.
func LookupScope(name string) (Scope, bool) {
	for _, s := range knownScopes {
		if s.Name == name {
			return s, true
		}
	}
	return Scope{}, false
}
