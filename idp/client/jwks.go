package client

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
)

const (
	maxJWKSLen  = 64 << 10
	maxJWKSKeys = 20
	minRSABits  = 2048
)

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 section 6): a client registers public keys only.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ecCurves maps the curves accepted for EC keys to their curve and the
// algorithm a key on it signs with.
var ecCurves = map[string]struct {
	curve ecdh.Curve
	size  int
	alg   string
}{
	"P-256": {ecdh.P256(), 32, "ES256"},
	"P-384": {ecdh.P384(), 48, "ES384"},
	"P-521": {ecdh.P521(), 66, "ES512"},
}

var rsaAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// checkJWKS returns what is wrong with an inline JWKS (RFC 7517): it must be
// a JSON object with a non-empty "keys" array of RSA (at least 2048 bits) or
// EC (P-256, P-384, P-521) public signing keys whose key material is
// well-formed, and no private or symmetric members.
func checkJWKS(raw string) []string {
	if len(raw) > maxJWKSLen {
		return []string{fmt.Sprintf("larger than %d KiB", maxJWKSLen>>10)}
	}
	var set map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return []string{"not a JSON object (a JWKS is {\"keys\": [...]})"}
	}
	var keys []json.RawMessage
	if err := json.Unmarshal(set["keys"], &keys); err != nil || set["keys"] == nil {
		return []string{"has no \"keys\" array"}
	}
	if len(keys) == 0 {
		return []string{"has no keys"}
	}
	if len(keys) > maxJWKSKeys {
		return []string{fmt.Sprintf("more than %d keys", maxJWKSKeys)}
	}
	var problems []string
	var kids []string
	for i, rawKey := range keys {
		var k map[string]json.RawMessage
		if err := json.Unmarshal(rawKey, &k); err != nil {
			problems = append(problems, fmt.Sprintf("key %d: not a JSON object", i+1))
			continue
		}
		name := fmt.Sprintf("key %d", i+1)
		kid, ok := member(k, "kid")
		if ok && kid != "" {
			name = fmt.Sprintf("key %d (kid %q)", i+1, kid)
			if slices.Contains(kids, kid) {
				problems = append(problems, name+": kid used twice")
			}
			kids = append(kids, kid)
		}
		for _, msg := range checkJWK(k) {
			problems = append(problems, name+": "+msg)
		}
	}
	return problems
}

// member returns a string member of a JWK; ok is false when it is absent
// or not a string.
func member(k map[string]json.RawMessage, name string) (string, bool) {
	raw, present := k[name]
	if !present {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func checkJWK(k map[string]json.RawMessage) []string {
	var problems []string
	for _, m := range privateMembers {
		if _, ok := k[m]; ok {
			problems = append(problems, fmt.Sprintf("has the private member %q: register public keys only", m))
		}
	}
	if len(problems) > 0 {
		// Say nothing more about a private key: the operator must replace
		// it, and the message must not echo any of it.
		return problems
	}
	if _, present := k["use"]; present {
		if use, _ := member(k, "use"); use != "sig" {
			problems = append(problems, `"use" must be "sig"`)
		}
	}
	alg, hasAlg := member(k, "alg")
	if _, present := k["alg"]; present && !hasAlg {
		problems = append(problems, `"alg" must be a string`)
	}
	kty, _ := member(k, "kty")
	switch kty {
	case "RSA":
		n, errN := b64Member(k, "n")
		e, errE := b64Member(k, "e")
		if errN != "" {
			problems = append(problems, errN)
		} else if bits := new(big.Int).SetBytes(n).BitLen(); bits < minRSABits {
			problems = append(problems, fmt.Sprintf("RSA modulus has %d bits; at least %d are needed", bits, minRSABits))
		}
		if errE != "" {
			problems = append(problems, errE)
		} else if ev := new(big.Int).SetBytes(e); ev.BitLen() > 31 || ev.Int64() < 3 || ev.Bit(0) == 0 {
			problems = append(problems, "RSA exponent is not a valid public exponent")
		}
		if hasAlg && !slices.Contains(rsaAlgs, alg) {
			problems = append(problems, fmt.Sprintf("alg %q does not fit an RSA key (%v)", alg, rsaAlgs))
		}
	case "EC":
		crv, _ := member(k, "crv")
		c, ok := ecCurves[crv]
		if !ok {
			problems = append(problems, fmt.Sprintf("curve %q is not supported: use P-256, P-384 or P-521", crv))
			break
		}
		x, errX := b64Member(k, "x")
		y, errY := b64Member(k, "y")
		switch {
		case errX != "":
			problems = append(problems, errX)
		case errY != "":
			problems = append(problems, errY)
		case len(x) != c.size || len(y) != c.size:
			problems = append(problems, fmt.Sprintf("coordinates of a %s key must be %d bytes each", crv, c.size))
		default:
			point := append(append([]byte{4}, x...), y...)
			if _, err := c.curve.NewPublicKey(point); err != nil {
				problems = append(problems, "the point is not on the curve")
			}
		}
		if hasAlg && alg != c.alg {
			problems = append(problems, fmt.Sprintf("alg %q does not fit a %s key (%s)", alg, crv, c.alg))
		}
	case "":
		problems = append(problems, `"kty" is missing`)
	default:
		problems = append(problems, fmt.Sprintf("key type %q is not supported: use RSA or EC", kty))
	}
	return problems
}

// b64Member decodes a base64url (unpadded) member, or says what is wrong.
func b64Member(k map[string]json.RawMessage, name string) ([]byte, string) {
	s, ok := member(k, name)
	if !ok || s == "" {
		return nil, fmt.Sprintf("%q is missing", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Sprintf("%q is not base64url without padding", name)
	}
	return b, ""
}

// compactJWKS removes insignificant white space from a JWKS, so that a
// pretty-printed file is stored compactly; invalid JSON is left as is for
// Validate to report.
func compactJWKS(raw string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return raw
	}
	return b.String()
}
