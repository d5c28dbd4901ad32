package oidc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gosid/gosid/keys"
)

// Tokens are signed in two passes. op signs every token it issues with a
// fixed "JWT" type header, but RFC 9068 wants access tokens typed
// "at+jwt". So at the token endpoint op signs with a draft key (an ES256
// key of this process only, kid "draft"), and resignResponse re-signs each
// token with the real key of the client's algorithm: the access token as
// at+jwt, the ID token as JWT with its at_hash recomputed over the final
// access token. The real cost stays one signature per token; a draft token
// can never leave the process (an unfinished response becomes a 500).

const draftKID = "draft"

var draftKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

type draftCtxKey struct{}

// draftSigningKey is op's signing key at the token endpoint.
type draftSigningKey struct{}

func (draftSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (draftSigningKey) Key() any                                    { return draftKey }
func (draftSigningKey) ID() string                                  { return draftKID }

// bufferedWriter holds op's response for serveClientEndpoint.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }

// resignResponse re-signs the draft tokens of op's token response with
// the real key of alg (the client's ID-token algorithm; RS256 when empty).
func (p *Provider) resignResponse(body []byte, alg string) ([]byte, error) {
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	if alg == "" {
		alg = keys.RS256
	}
	k, err := p.deps.Signer.Signer(alg)
	if err != nil {
		return nil, err
	}
	at, _ := resp["access_token"].(string)
	if isDraft(at) {
		payload, err := draftPayload(at)
		if err != nil {
			return nil, err
		}
		if at, err = sign(k, "at+jwt", payload); err != nil {
			return nil, err
		}
		resp["access_token"] = at
	}
	if idt, _ := resp["id_token"].(string); idt != "" {
		if !isDraft(idt) {
			return nil, errors.New("ID token not signed by op's draft key")
		}
		payload, err := draftPayload(idt)
		if err != nil {
			return nil, err
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		if _, ok := claims["at_hash"]; ok {
			claims["at_hash"] = leftHalfHash(at)
			if payload, err = json.Marshal(claims); err != nil {
				return nil, err
			}
		}
		if resp["id_token"], err = sign(k, "JWT", payload); err != nil {
			return nil, err
		}
	}
	return json.Marshal(resp)
}

// isDraft reports whether a token is a JWS from the draft key. The tokens
// come from op's response in this process, never from a client, so the
// header suffices; the draft signature need not be checked.
func isDraft(token string) bool {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	return json.Unmarshal(raw, &hdr) == nil && hdr.Kid == draftKID
}

// draftPayload returns a draft token's payload.
func draftPayload(token string) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed draft token")
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

func sign(k keys.SigningKey, typ string, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: &jose.JSONWebKey{Key: k.Private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// leftHalfHash is the OpenID at_hash: the left half of SHA-256, base64url
// (every algorithm Gosid signs with uses SHA-256).
func leftHalfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
