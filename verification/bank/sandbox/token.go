package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// tokenError is an RFC 6749 §5.2 error of the token endpoint.
func tokenError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox-bank"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// exchangeCode is the token endpoint: the authorization_code grant for the
// one client, with PKCE S256.
func (s *Sandbox) exchangeCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	f := r.PostForm
	for k, v := range f {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return
		}
	}
	if !s.authenticateClient(w, r) {
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	g, ok := take(s.codes, f.Get("code")) // single use, even when the rest is wrong
	s.mu.Unlock()
	switch {
	case !ok || !now.Before(g.expires):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is unknown, used or expired")
		return
	case f.Get("redirect_uri") != g.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case !verifierMatches(f.Get("code_verifier"), g.challenge):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
		return
	}
	customer, ok := customerBySub(g.sub)
	if !ok {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown customer")
		return
	}
	at := &grant{sub: g.sub, scope: g.scope, authTime: g.authTime, expires: now.Add(tokenTTL)}
	s.mu.Lock()
	access, ok := put(s.tokens, at, func(g *grant) bool { return !now.Before(g.expires) })
	s.mu.Unlock()
	if !ok {
		tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "too many tokens")
		return
	}
	claims := customer.claims()
	claims["iss"] = s.cfg.Issuer
	claims["aud"] = s.cfg.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(tokenTTL).Unix()
	claims["auth_time"] = g.authTime.Unix()
	claims["at_hash"] = atHash(access)
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	idToken, err := s.sign(claims)
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "sandbox bank: signing the ID token", "error", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "cannot sign the ID token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(tokenTTL.Seconds()),
		"id_token": idToken, "scope": g.scope,
	})
}

// authenticateClient checks client_secret_basic or client_secret_post
// (exactly one of them) and answers invalid_client itself.
func (s *Sandbox) authenticateClient(w http.ResponseWriter, r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	post := r.PostForm.Has("client_secret")
	switch {
	case basic && post:
		tokenError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method")
		return false
	case basic:
		// RFC 6749 §2.3.1: both are form-encoded inside Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "malformed Basic credentials")
			return false
		}
		if f := r.PostForm.Get("client_id"); f != "" && f != id {
			tokenError(w, http.StatusBadRequest, "invalid_request", "client_id differs from the Basic credentials")
			return false
		}
	case post:
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	default:
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication is required")
		return false
	}
	// Both compared, so that the time does not tell which was wrong.
	okID, okSecret := equalSecret(id, s.cfg.ClientID), equalSecret(secret, s.cfg.ClientSecret)
	if !okID || !okSecret {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return false
	}
	return true
}

// verifierMatches is RFC 7636's S256 check.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return equalSecret(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
}

// atHash is the ID token's at_hash for an RS256 token.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func (s *Sandbox) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// showUserinfo answers the customer's claims for a Bearer access token.
func (s *Sandbox) showUserinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox-bank"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "a Bearer access token is required"})
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	g, ok := s.tokens[token]
	s.mu.Unlock()
	var customer Customer
	if ok && now.Before(g.expires) {
		customer, ok = customerBySub(g.sub)
	} else {
		ok = false
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox-bank", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is unknown or expired"})
		return
	}
	writeJSON(w, http.StatusOK, customer.claims())
}
