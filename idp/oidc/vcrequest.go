package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// A verified_claims request (OpenID Connect for Identity Assurance 1.0,
// section 6, "Requesting Verified Claims"): the id_token or userinfo member
// of the claims parameter holds one request object or an array of them,
// each with
//
//   - verification: constraints on the evidence. trust_framework is
//     required (null, or {value | values}); assurance_level likewise; time
//     may carry max_age (seconds: evidence verified longer ago is left
//     out); evidence is a list of {type: {value | values}}; other members
//     (verification_process…) are accepted as null or {essential}.
//   - claims: the claims wanted, each null or {essential, purpose, value,
//     values}; value and values keep only a verified value that equals one
//     of them.
//
// The parser checks what verified_claims_request.json requires and a
// little more that the specification says in prose (purpose is 3 to 300
// characters; max_age is a non-negative integer). Whatever it refuses is
// an invalid_request at the authorization endpoint.

// vcRequest is one element of a verified_claims request.
type vcRequest struct {
	Verification vcVerification
	// Claims by name, in the order of names; nil for a claim asked with
	// null.
	Claims map[string]*vcClaim
	names  []string
}

// vcVerification are the constraints on the evidence.
type vcVerification struct {
	TrustFramework *vcConstraint
	AssuranceLevel *vcConstraint
	// MaxAge in seconds; nil when the request sets none.
	MaxAge *int64
	// EvidenceTypes the evidence must be of (any, when empty).
	EvidenceTypes []string
}

// vcConstraint is a constrainable element: nil for null, else its
// allowed values (none: any value).
type vcConstraint struct {
	Values []string
}

// allows reports whether v meets the constraint (a nil one allows all).
func (c *vcConstraint) allows(v string) bool {
	return c == nil || len(c.Values) == 0 || slices.Contains(c.Values, v)
}

// vcClaim is one claim's request inside verified_claims.
type vcClaim struct {
	Essential bool
	Purpose   string
	// Constrained: value or values was given, and the verified value
	// must equal one of Values (their string members).
	Constrained bool
	Values      []string
}

// allows reports whether the verified value v meets the claim's request.
func (c *vcClaim) allows(v string) bool {
	return c == nil || !c.Constrained || slices.Contains(c.Values, v)
}

// evidenceTypes are the evidence types of the specification.
var evidenceTypes = []string{"document", "electronic_record", "vouch", "electronic_signature"}

// maxVCRequests bounds the elements of one verified_claims request.
const maxVCRequests = 16

// parseVerifiedClaimsRequest parses a verified_claims member of the claims
// parameter (an object or an array of objects).
func parseVerifiedClaimsRequest(raw json.RawMessage) ([]vcRequest, error) {
	var v any
	if err := decodeStrict(string(raw), &v); err != nil {
		return nil, errors.New("verified_claims is not JSON")
	}
	var elems []any
	switch t := v.(type) {
	case map[string]any:
		elems = []any{t}
	case []any:
		if len(t) == 0 {
			return nil, errors.New("verified_claims is an empty array")
		}
		elems = t
	default:
		return nil, errors.New("verified_claims is neither an object nor an array")
	}
	if len(elems) > maxVCRequests {
		return nil, fmt.Errorf("verified_claims has more than %d elements", maxVCRequests)
	}
	out := make([]vcRequest, 0, len(elems))
	for _, e := range elems {
		r, err := parseVCElement(e)
		if err != nil {
			return nil, fmt.Errorf("verified_claims: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseVCElement(e any) (vcRequest, error) {
	m, ok := e.(map[string]any)
	if !ok {
		return vcRequest{}, errors.New("an element is not an object")
	}
	for k := range m {
		if k != "verification" && k != "claims" {
			return vcRequest{}, errors.New("an element has a member other than verification and claims")
		}
	}
	var r vcRequest
	ver, ok := m["verification"].(map[string]any)
	if !ok {
		return vcRequest{}, errors.New("verification is missing or not an object")
	}
	var err error
	if r.Verification, err = parseVerification(ver); err != nil {
		return vcRequest{}, err
	}
	cl, present := m["claims"]
	if !present {
		return vcRequest{}, errors.New("claims is missing")
	}
	if cl == nil {
		return r, nil
	}
	claims, ok := cl.(map[string]any)
	if !ok || len(claims) == 0 {
		return vcRequest{}, errors.New("claims is neither null nor a non-empty object")
	}
	if len(claims) > maxClaimsPerSet {
		return vcRequest{}, fmt.Errorf("claims has more than %d members", maxClaimsPerSet)
	}
	r.Claims = map[string]*vcClaim{}
	for name, c := range claims {
		if name == "" || len(name) > maxClaimName {
			return vcRequest{}, errors.New("a claim name is empty or too long")
		}
		vc, err := parseVCClaim(c)
		if err != nil {
			return vcRequest{}, fmt.Errorf("a claim's request: %w", err)
		}
		r.Claims[name] = vc
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
	return r, nil
}

func parseVerification(m map[string]any) (vcVerification, error) {
	var v vcVerification
	tf, present := m["trust_framework"]
	if !present {
		return v, errors.New("verification.trust_framework is missing")
	}
	var err error
	if v.TrustFramework, err = parseConstraint(tf); err != nil {
		return v, fmt.Errorf("verification.trust_framework: %w", err)
	}
	if v.AssuranceLevel, err = parseConstraint(m["assurance_level"]); err != nil {
		return v, fmt.Errorf("verification.assurance_level: %w", err)
	}
	if t, ok := m["time"]; ok && t != nil {
		tm, ok := t.(map[string]any)
		if !ok {
			return v, errors.New("verification.time is neither null nor an object")
		}
		if err := checkEssential(tm); err != nil {
			return v, fmt.Errorf("verification.time: %w", err)
		}
		if ma, ok := tm["max_age"]; ok {
			n, ok := ma.(json.Number)
			age, err := n.Int64()
			if !ok || err != nil || age < 0 {
				return v, errors.New("verification.time.max_age is not a non-negative integer")
			}
			v.MaxAge = &age
		}
	}
	if vp, ok := m["verification_process"]; ok {
		if err := checkSimple(vp); err != nil {
			return v, fmt.Errorf("verification.verification_process: %w", err)
		}
	}
	if ev, ok := m["evidence"]; ok {
		list, ok := ev.([]any)
		if !ok || len(list) == 0 {
			return v, errors.New("verification.evidence is not a non-empty array")
		}
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				return v, errors.New("verification.evidence holds a non-object")
			}
			tm, ok := em["type"].(map[string]any)
			if !ok {
				return v, errors.New("an evidence request's type is missing or not an object")
			}
			c, err := parseConstraint(tm)
			if err != nil {
				return v, fmt.Errorf("an evidence request's type: %w", err)
			}
			for _, t := range c.Values {
				if !slices.Contains(evidenceTypes, t) {
					return v, errors.New("an evidence request names an unknown evidence type")
				}
			}
			if len(c.Values) == 0 {
				// Any type: no constraint from this entry.
				v.EvidenceTypes = slices.Clone(evidenceTypes)
				continue
			}
			for _, t := range c.Values {
				if !slices.Contains(v.EvidenceTypes, t) {
					v.EvidenceTypes = append(v.EvidenceTypes, t)
				}
			}
		}
	}
	return v, nil
}

// parseConstraint parses a constrainable element: null (nil, nil), or an
// object with essential, value (a string) and values (a non-empty array of
// strings).
func parseConstraint(v any) (*vcConstraint, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("neither null nor an object")
	}
	if err := checkEssential(m); err != nil {
		return nil, err
	}
	c := &vcConstraint{}
	if val, ok := m["value"]; ok {
		s, ok := val.(string)
		if !ok {
			return nil, errors.New("value is not a string")
		}
		c.Values = append(c.Values, s)
	}
	if vals, ok := m["values"]; ok {
		list, err := stringList(vals)
		if err != nil {
			return nil, err
		}
		c.Values = append(c.Values, list...)
	}
	return c, nil
}

// stringList is a non-empty JSON array of strings.
func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("values is not a non-empty array")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errors.New("values holds a non-string")
		}
		out = append(out, s)
	}
	return out, nil
}

func checkEssential(m map[string]any) error {
	if e, ok := m["essential"]; ok {
		if _, ok := e.(bool); !ok {
			return errors.New("essential is not a boolean")
		}
	}
	return nil
}

// checkSimple checks a simple element: null or {essential}.
func checkSimple(v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("neither null nor an object")
	}
	return checkEssential(m)
}

// Bounds of a claim's purpose (section 6.1).
const (
	minPurpose = 3
	maxPurpose = 300
)

func parseVCClaim(v any) (*vcClaim, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("neither null nor an object")
	}
	c := &vcClaim{}
	if e, ok := m["essential"]; ok {
		if c.Essential, ok = e.(bool); !ok {
			return nil, errors.New("essential is not a boolean")
		}
	}
	if p, ok := m["purpose"]; ok {
		s, ok := p.(string)
		if n := utf8.RuneCountInString(s); !ok || n < minPurpose || n > maxPurpose {
			return nil, fmt.Errorf("purpose is not a string of %d to %d characters", minPurpose, maxPurpose)
		}
		c.Purpose = s
	}
	// A claim's value may be of any JSON type in the specification; Gosid's
	// verified values are strings, so only a string can ever match.
	if val, ok := m["value"]; ok {
		c.Constrained = true
		if s, ok := val.(string); ok {
			c.Values = append(c.Values, s)
		}
	}
	if vals, ok := m["values"]; ok {
		list, ok := vals.([]any)
		if !ok || len(list) == 0 {
			return nil, errors.New("values is not a non-empty array")
		}
		c.Constrained = true
		for _, e := range list {
			if s, ok := e.(string); ok {
				c.Values = append(c.Values, s)
			}
		}
	}
	return c, nil
}

// purposes returns the purposes of the set's verified_claims request, by
// claim name (the consent page shows them).
func (s ClaimSet) purposes() map[string]string {
	if len(s.VerifiedClaims) == 0 {
		return nil
	}
	reqs, err := parseVerifiedClaimsRequest(s.VerifiedClaims)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, r := range reqs {
		for _, n := range r.names {
			if c := r.Claims[n]; c != nil && c.Purpose != "" {
				out[n] = c.Purpose
			}
		}
	}
	return out
}
