package oidc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// The claims parameter (OpenID Connect Core 1.0, section 5.5) lets a site
// ask for individual claims in the ID token and from userinfo. Gosid's
// rules, so that it never widens what the citizen agreed to:
//
//   - a claim is released only by a scope the request carries and the
//     citizen consented to (claimScopes); the parameter chooses among
//     those claims, it never adds data on its own;
//   - "id_token": the named claims go into the ID token too (by default the
//     ID token holds the protocol claims only, because it travels back to
//     Gosid in logout URLs as id_token_hint);
//   - "userinfo": userinfo already returns every claim of the consented
//     scopes, so the named ones are there;
//   - "essential": an essential claim whose scope the client may ask for
//     but did not adds that scope to the request, so that the consent
//     page asks for it; a voluntary claim never does. A claim that cannot
//     be released is left out, which is not an error (section 5.5.1);
//   - verified_claims (OpenID Connect for Identity Assurance) is parsed and
//     checked (vcrequest.go), and kept with the request as sent; what it
//     releases is decided when a token or userinfo answer is made
//     (vclaims.go), by the same scope rule.
//
// Values and values members are accepted and kept, but Gosid does not
// filter on them: a claim's value is the citizen's, not the site's wish.

// ClaimsRequest is a parsed claims parameter.
type ClaimsRequest struct {
	IDToken  ClaimSet `json:"id_token,omitzero"`
	UserInfo ClaimSet `json:"userinfo,omitzero"`
}

// ClaimSet is one member of the claims parameter: individual claims by
// name, and an Identity Assurance request.
type ClaimSet struct {
	// Claims maps a claim's name to its request; nil for a plain request
	// ("name": null).
	Claims map[string]*ClaimRequest `json:"claims,omitempty"`
	// VerifiedClaims is the verified_claims member as sent (compacted).
	VerifiedClaims json.RawMessage `json:"verified_claims,omitempty"`
}

// ClaimRequest is what the site says about one claim. Value and Values
// are kept as sent (compacted JSON): stored with the request, they must
// read back exactly, whatever numbers they hold.
type ClaimRequest struct {
	Essential bool              `json:"essential,omitempty"`
	Value     json.RawMessage   `json:"value,omitempty"`
	Values    []json.RawMessage `json:"values,omitempty"`
}

// Limits on a claims parameter: it arrives in a URL, and whatever it holds
// is stored with the authorization request.
const (
	maxClaimsParam  = 8 << 10
	maxClaimsPerSet = 64
	maxClaimName    = 100
)

var errClaimsParam = errors.New("claims parameter")

// ClaimsParamError says what is wrong with a claims parameter in Gosid's
// own words (never echoing the request), fit for error_description.
type ClaimsParamError struct{ Reason string }

func (e *ClaimsParamError) Error() string { return "invalid claims parameter: " + e.Reason }
func (e *ClaimsParamError) Unwrap() error { return errClaimsParam }

func claimsErr(format string, args ...any) error {
	return &ClaimsParamError{Reason: fmt.Sprintf(format, args...)}
}

// ParseClaimsRequest parses and validates a claims parameter. Members
// other than id_token and userinfo, and members of a claim's request other
// than essential, value and values, are ignored as section 5.5 says; what
// is there must have the types the specification gives. An empty string
// is no request (nil).
func ParseClaimsRequest(s string) (*ClaimsRequest, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxClaimsParam {
		return nil, claimsErr("longer than %d bytes", maxClaimsParam)
	}
	if !utf8.ValidString(s) {
		return nil, claimsErr("not UTF-8")
	}
	var top map[string]json.RawMessage
	if err := decodeStrict(s, &top); err != nil || top == nil {
		return nil, claimsErr("not a JSON object")
	}
	out := &ClaimsRequest{}
	for name, dst := range map[string]*ClaimSet{"id_token": &out.IDToken, "userinfo": &out.UserInfo} {
		raw, ok := top[name]
		if !ok {
			continue
		}
		set, err := parseClaimSet(raw)
		if err != nil {
			return nil, claimsErr("%s: %v", name, err)
		}
		*dst = set
	}
	return out, nil
}

func parseClaimSet(raw json.RawMessage) (ClaimSet, error) {
	var members map[string]json.RawMessage
	if err := decodeStrict(string(raw), &members); err != nil || members == nil {
		return ClaimSet{}, errors.New("not a JSON object")
	}
	if len(members) > maxClaimsPerSet {
		return ClaimSet{}, fmt.Errorf("more than %d claims", maxClaimsPerSet)
	}
	var set ClaimSet
	for name, v := range members {
		if name == "" || len(name) > maxClaimName {
			return ClaimSet{}, errors.New("a claim name is empty or too long")
		}
		if name == "verified_claims" {
			if _, err := parseVerifiedClaimsRequest(v); err != nil {
				return ClaimSet{}, err
			}
			var err error
			if set.VerifiedClaims, err = compactJSON(v); err != nil {
				return ClaimSet{}, errors.New("verified_claims is not JSON")
			}
			continue
		}
		cr, err := parseClaimRequest(v)
		if err != nil {
			return ClaimSet{}, fmt.Errorf("a claim's request: %w", err)
		}
		if set.Claims == nil {
			set.Claims = map[string]*ClaimRequest{}
		}
		set.Claims[name] = cr
	}
	return set, nil
}

func parseClaimRequest(raw json.RawMessage) (*ClaimRequest, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := decodeStrict(string(raw), &m); err != nil || m == nil {
		return nil, errors.New("neither null nor an object")
	}
	cr := &ClaimRequest{}
	if v, ok := m["essential"]; ok {
		if err := decodeStrict(string(v), &cr.Essential); err != nil {
			return nil, errors.New("essential is not a boolean")
		}
	}
	if v, ok := m["value"]; ok {
		var err error
		if cr.Value, err = compactJSON(v); err != nil {
			return nil, errors.New("value is not JSON")
		}
	}
	if v, ok := m["values"]; ok {
		var list []json.RawMessage
		if err := decodeStrict(string(v), &list); err != nil || list == nil {
			return nil, errors.New("values is not an array")
		}
		for _, e := range list {
			c, err := compactJSON(e)
			if err != nil {
				return nil, errors.New("values is not an array of JSON values")
			}
			cr.Values = append(cr.Values, c)
		}
	}
	return cr, nil
}

// compactJSON checks one JSON value and returns it compacted.
func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := decodeStrict(string(raw), &v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeStrict decodes one JSON value and refuses anything after it.
// Numbers stay json.Number, so that a value survives storage unchanged.
func decodeStrict(s string, v any) error {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// names returns the set's claim names, sorted.
func (s ClaimSet) names() []string {
	out := make([]string, 0, len(s.Claims))
	for n := range s.Claims {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// IDTokenClaims returns the names of the claims asked for in the ID token
// (nil for a nil request).
func (c *ClaimsRequest) IDTokenClaims() []string {
	if c == nil {
		return nil
	}
	return c.IDToken.names()
}

// claimScopes lists, for each personal claim, the scopes that release it
// (setClaims), narrowest first: an essential claim adds the first.
var claimScopes = map[string][]string{
	"name":                  {"fullname", "profile"},
	"family_name":           {"fullname", "profile"},
	"given_name":            {"fullname", "profile"},
	"middle_name":           {"fullname", "profile"},
	"birthdate":             {"birthdate", "profile"},
	"gender":                {"gender", "profile"},
	"email":                 {"email"},
	"email_verified":        {"email"},
	"phone_number":          {"mobile"},
	"phone_number_verified": {"mobile"},
	"snils":                 {"snils"},
	"inn":                   {"inn"},
	"id_doc":                {"id_doc"},
}

// withEssentialScopes adds to scopes, for each essential claim (either
// member) that no scope of the request releases, the narrowest scope that
// does, when the client may ask for it.
func withEssentialScopes(scopes []string, c *ClaimsRequest, allowed func(scope string) bool) []string {
	if c == nil {
		return scopes
	}
	out := slices.Clone(scopes)
	add := func(name string) {
		rel := claimScopes[name]
		if len(rel) == 0 || slices.ContainsFunc(rel, func(s string) bool { return slices.Contains(out, s) }) {
			return
		}
		if allowed(rel[0]) {
			out = append(out, rel[0])
		}
	}
	for _, set := range []ClaimSet{c.IDToken, c.UserInfo} {
		for _, name := range set.names() {
			if cr := set.Claims[name]; cr != nil && cr.Essential {
				add(name)
			}
		}
		// Essential claims inside verified_claims likewise: the consent
		// page then asks for them, and they are released only if
		// verified.
		reqs, _ := parseVerifiedClaimsRequest(set.VerifiedClaims)
		for _, r := range reqs {
			for _, name := range r.names {
				if vc := r.Claims[name]; vc != nil && vc.Essential {
					add(name)
				}
			}
		}
	}
	return out
}

// pickClaims copies into info the claims of full that keep allows: the
// personal part of an ID token.
func pickClaims(info, full *zoidc.UserInfo, keep func(claim string) bool) {
	p, e, ph := full.UserInfoProfile, full.UserInfoEmail, full.UserInfoPhone
	for _, c := range []struct {
		claim string
		copy  func()
	}{
		{"name", func() { info.Name = p.Name }},
		{"family_name", func() { info.FamilyName = p.FamilyName }},
		{"given_name", func() { info.GivenName = p.GivenName }},
		{"middle_name", func() { info.MiddleName = p.MiddleName }},
		{"birthdate", func() { info.Birthdate = p.Birthdate }},
		{"gender", func() { info.Gender = p.Gender }},
		{"email", func() { info.Email = e.Email }},
		{"email_verified", func() {
			if e.Email != "" {
				info.EmailVerified = e.EmailVerified
			}
		}},
		{"phone_number", func() { info.PhoneNumber = ph.PhoneNumber }},
		{"phone_number_verified", func() {
			if ph.PhoneNumber != "" {
				info.PhoneNumberVerified = ph.PhoneNumberVerified
			}
		}},
	} {
		if keep(c.claim) {
			c.copy()
		}
	}
	for k, v := range full.Claims {
		if keep(k) {
			info.AppendClaims(k, v)
		}
	}
}
