package client

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/gosid/gosid/idp/assurance"
	"github.com/gosid/gosid/internal/cmdline"
)

// Flags are the command-line options that set a client's settings,
// shared by `gosid clients create` and `update`.
type Flags struct {
	Settings
	jwksFile string
	flagOf   map[string]string // client problem field → the option that sets it
}

// Field records that the option name sets the field of client problems.
func (f *Flags) Field(field, name string) string {
	if f.flagOf == nil {
		f.flagOf = map[string]string{}
	}
	f.flagOf[field] = name
	return name
}

// Register adds the settings options; for update they have no defaults,
// since only those given change.
func (f *Flags) Register(s *cmdline.Set, update bool) {
	def := func(v string) string {
		if update {
			return ""
		}
		return v
	}
	scopeNames := make([]string, 0, len(KnownScopes()))
	for _, sc := range KnownScopes() {
		scopeNames = append(scopeNames, sc.Name)
	}
	s.String(&f.Name, f.Field(FieldName, "name"), "", `Name shown to citizens on the consent page, 1 to 100 characters ("Госуслуги Портал").`)
	s.StringList(&f.RedirectURIs, f.Field(FieldRedirectURIs, "redirect-uri"), nil, "Redirect URI, matched exactly; repeat the flag for several. https; http only on localhost, 127.0.0.1 or [::1]; or a native app's reverse-DNS scheme (com.example.app:/callback).")
	s.StringList(&f.PostLogoutRedirectURIs, f.Field(FieldPostLogoutRedirectURIs, "post-logout-redirect-uri"), nil, "Where RP-initiated logout may send the citizen back to; repeatable, same rules as --redirect-uri.")
	s.String(&f.BackchannelLogoutURI, f.Field(FieldBackchannelLogoutURI, "backchannel-logout-uri"), "", "URI that receives back-channel logout tokens (https; http only on loopback hosts).")
	s.String(&f.Scopes, f.Field(FieldScopes, "scopes"), def("openid"), "Scopes the client may ask for, separated by spaces or commas: "+strings.Join(scopeNames, " ")+". authorization_code clients need openid.")
	s.String(&f.GrantTypes, f.Field(FieldGrantTypes, "grant-types"), def(GrantAuthorizationCode), "Grant types, comma-separated: authorization_code, refresh_token, client_credentials, device_code (short for "+GrantDeviceCode+").")
	s.String(&f.AuthMethod, f.Field(FieldAuthMethod, "auth-method"), def(AuthSecretBasic), "How the client authenticates at the token endpoint: client_secret_basic, client_secret_post, private_key_jwt (with --jwks-file or --jwks-uri), or none (public clients: native and browser apps, PKCE required).")
	s.String(&f.jwksFile, f.Field(FieldJWKS, "jwks-file"), "", "File holding the client's public keys as a JWKS, for private_key_jwt.")
	s.String(&f.JWKSURI, f.Field(FieldJWKSURI, "jwks-uri"), "", "URL of the client's JWKS, for private_key_jwt, instead of --jwks-file.")
	s.Bool(&f.FirstParty, f.Field(FieldFirstParty, "first-party"), false, "Gosid's own application: citizens are not asked for consent.")
	s.String(&f.MinLevel, f.Field(FieldMinLevel, "min-level"), def(string(assurance.Simplified)), "Lowest assurance level of accounts that may sign in: simplified, standard or confirmed.")
	s.String(&f.IDTokenAlg, f.Field(FieldIDTokenAlg, "id-token-alg"), def(AlgRS256), "ID token signature algorithm: RS256 or ES256.")
	s.String(&f.AccessTokenFormat, f.Field(FieldAccessTokenFormat, "access-token-format"), def(FormatJWT), "Access tokens: jwt (RFC 9068, verifiable by resource servers) or opaque (checked by introspection).")
	s.String(&f.PKCE, f.Field(FieldPKCE, "pkce"), def(PKCERequired), "PKCE (S256 code_challenge) in authorization requests: required, or optional for a legacy confidential client that cannot send one (never for --auth-method none).")
	s.String(&f.Partner, f.Field(FieldPartner, "partner"), "", "Id of the bank (gosid banks list) this client acts for at the partner API /partner/v1; only a partner client may hold the scopes "+ScopePartnerConfirmations+" and "+ScopePartnerRegistrations+" (client_credentials, private_key_jwt). Empty on update: no longer a partner.")
	s.Bool(&f.StaffRoles, f.Field(FieldStaffRoles, "staff-roles"), false, "Put the account's staff roles (role and organisation code, gosid staff list) into ID tokens and userinfo as the gosid_roles claim; first-party clients only.")
	s.Bool(&f.IDTokenClaims, f.Field(FieldIDTokenClaims, "id-token-claims"), false, "Put the personal data of the consented scopes into ID tokens too (by default they carry only protocol claims, and the data comes from userinfo or the claims parameter): ID tokens come back in logout URLs.")
}

// Values are the options as client settings: all of them for create,
// only those given for update. Problems reading the JWKS file are added to
// p.
func (f *Flags) Values(s *cmdline.Set, all bool, p *cmdline.Problems) Settings {
	st := f.Settings
	if !all {
		st.Given = func(field string) bool { return s.IsSet(f.flagOf[field]) }
	}
	if f.jwksFile != "" {
		st.JWKS = string(p.ReadFile(s, "jwks-file", f.jwksFile, false))
	}
	return st
}

// Problems turns a client validation error into problems naming
// the options. For update, a problem with a setting that was not given is
// about its current value.
func (f *Flags) Problems(s *cmdline.Set, err error, p *cmdline.Problems, update bool) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		p.Add("%v", err)
		return
	}
	for _, pr := range ve.Problems {
		flag := f.flagOf[pr.Field]
		var where string
		switch {
		case flag == "" || (flag == "id" && update):
			where = pr.Field
		case s.IsSet(flag):
			where = s.Source(flag)
		case update:
			where = "--" + flag + " (current value)"
		default:
			where = "--" + flag
		}
		p.Add("%s: %s", where, pr.Message)
	}
}

// Names are the options' names, sorted.
func (f *Flags) Names() []string { return slices.Sorted(maps.Values(f.flagOf)) }
